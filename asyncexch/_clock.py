"""Clocks: the only source of time for the library.

Everything that waits or reads the time takes a :class:`Clock`, so tests and the simulator can
replace real time with :class:`VirtualClock` and run faster than real time.
:class:`ServerTime` tracks how far the venue's clock is from ours.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from datetime import datetime, timezone
from typing import Protocol

__all__ = ["Clock", "ServerTime", "SystemClock", "VirtualClock", "utc"]


def utc(seconds: float) -> datetime:
    """The aware UTC datetime of ``seconds`` since the Unix epoch (a clock's ``time()``)."""
    return datetime.fromtimestamp(seconds, timezone.utc)


class Clock(Protocol):
    """Where the library reads the time and how it waits."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch (wall clock)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Real time: :func:`time.monotonic`, :func:`time.time` and :func:`asyncio.sleep`."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    # Every SystemClock is the same clock, so clients built with separate instances still
    # share one rate limiter.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, SystemClock)

    def __hash__(self) -> int:
        return hash(SystemClock)

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """Virtual time that jumps ahead whenever every task is waiting on it.

    A sleeping task wakes as soon as no other task can run, with the clock set to its wake-up
    time, so a test of a one-minute rate-limit schedule takes milliseconds and gives the same
    times on every run. Only time spent in :meth:`sleep` passes; real I/O does not move it.
    With ``autojump=False`` time moves only through :meth:`advance`.
    """

    def __init__(self, start: float = 1_700_000_000.0, *, autojump: bool = True) -> None:
        self._now = 0.0
        self._epoch = start
        self._autojump = autojump
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._epoch + self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._sequence), future))
        if self._autojump and (self._driver is None or self._driver.done()):
            self._driver = asyncio.get_running_loop().create_task(self._drive())
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake every sleeper due by then."""
        self._set(self._now + seconds)

    def _set(self, now: float) -> None:
        self._now = max(self._now, now)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while self._sleepers:
            # Let every runnable task run until it blocks; then nothing but a sleeper can
            # make progress, so jump to the earliest wake-up time. Once nothing but this
            # task can run (nothing queued, no timer, no I/O watched), more turns of the
            # loop would run nothing else: stop yielding early.
            for _ in range(64):
                await asyncio.sleep(0)
                if _idle(loop):
                    break
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if self._sleepers:
                self._set(self._sleepers[0][0])

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now:.6f}, sleepers={len(self._sleepers)})"


def _idle(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether only the running task can run on ``loop`` before an outside event: no
    callback queued, no timer set, no file watched but the loop's own wake-up socket, and no
    thread of its default executor (``to_thread``, ``run_in_executor``, DNS) that could
    post a result back. Known only on asyncio's own selector loops (CPython's); any other
    loop is never idle."""
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    selector = getattr(loop, "_selector", None)
    wakeup = getattr(loop, "_ssock", None)
    if ready is None or scheduled is None or selector is None or wakeup is None:
        return False
    if ready or scheduled or getattr(loop, "_default_executor", None) is not None:
        return False
    return set(selector.get_map()) <= {wakeup.fileno()}


class ServerTime:
    """The venue's clock as seen from ours, learned from the times in its answers.

    Each answer stamped by the server at ``server_ms`` and received at ``received`` (our
    clock) bounds the offset between the two clocks: the server stamped it before we received
    it. :meth:`now_ms` uses the lower bound of the latest sample, so timestamps are never
    ahead of the server's clock (Bybit refuses those), only behind by at most the round trip.

    :meth:`arrived_by` turns a server stamp back into our monotonic clock with the tightest
    bound of the last :attr:`SPAN` seconds (the answer that came back fastest): the request
    stamped at ``server_ms`` was with the server no later than that.
    """

    __slots__ = ("_bounds", "_clock", "_offset")

    #: Seconds a sample keeps bounding the offset for :meth:`arrived_by`: long enough to hold
    #: a fast answer, short enough that the two clocks cannot drift apart meanwhile.
    SPAN = 10.0
    #: Seconds added to an arrival time read from a stamp by :meth:`arrived_ago`: the host
    #: that stamps answers and the one that counts requests may be a few milliseconds apart.
    MARGIN = 0.005

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._offset: float | None = None
        #: (received, server minus monotonic) with decreasing offsets: the first is the max.
        self._bounds: deque[tuple[float, float]] = deque()

    @property
    def offset(self) -> float | None:
        """Server time minus local time, in seconds; ``None`` until the first sample."""
        return self._offset

    def observe(self, server_ms: int, received: float, received_mono: float | None = None) -> bool:
        """Record that the server's clock read at least ``server_ms`` at local time ``received``
        (wall clock) and ``received_mono`` (monotonic clock, if known); whether it was used.

        Values outside the years 2001-2286 are ignored: no server's clock reads them.
        """
        if not 1_000_000_000_000 <= server_ms < 10_000_000_000_000:
            return False
        self._offset = server_ms / 1000.0 - received
        if received_mono is None:
            return True
        lower = server_ms / 1000.0 - received_mono
        bounds = self._bounds
        while bounds and bounds[-1][1] <= lower:
            bounds.pop()
        bounds.append((received_mono, lower))
        while bounds[0][0] < received_mono - self.SPAN:
            bounds.popleft()
        return True

    def restart_bounds(self) -> None:
        """Bound arrival times by the latest sample alone (the clocks changed)."""
        while len(self._bounds) > 1:
            self._bounds.popleft()

    def arrived_by(self, server_ms: int) -> float | None:
        """The latest monotonic time at which the server's clock can have read ``server_ms``;
        ``None`` before any sample with a monotonic time."""
        if not self._bounds:
            return None
        # + 1 ms: the server truncates its clock to the millisecond.
        return (server_ms + 1) / 1000.0 - self._bounds[0][1]

    def arrived_ago(self, server_ms: int, sent: float, received: float) -> float:
        """How long before ``received`` (monotonic) the server had the request sent at
        ``sent`` whose answer it stamped ``server_ms``, with :attr:`MARGIN` to spare; 0 when
        the stamp cannot be placed on our clock.

        A stamp that would place the request before it was sent means the server's clock
        stepped back, or its hosts disagree: it is not used, and only the latest sample
        bounds later stamps.
        """
        arrived_by = self.arrived_by(server_ms)
        if arrived_by is None:
            return 0.0
        arrived_by += self.MARGIN
        if arrived_by < sent:
            self.restart_bounds()
            return 0.0
        return max(received - arrived_by, 0.0)

    def now_ms(self) -> int:
        """The current server time in milliseconds, never ahead of it as far as we know."""
        return int((self._clock.time() + (self._offset or 0.0)) * 1000)
