"""Client-side rate limiting that is safe against a server's rolling window.

A :class:`RateLimit` ``RateLimit(5, per=1.0)`` promises that in *every* interval of ``per``
seconds at most ``limit`` requests leave, measured where the server measures: on arrival. Each
bucket keeps the send times of its last ``limit`` requests and lets a request go only when the
``limit``-th most recent one is at least ``per + guard`` seconds old. ``guard`` absorbs network
jitter: two requests sent ``per + guard`` apart arrive at least ``per`` apart unless their
latencies differ by more than ``guard``. Bursts up to ``limit`` are allowed, as the server
allows them, so a long batch runs at ``limit / (per + guard)``: 97% of the limit with the
default 30 ms guard. (A leaky bucket ``AsyncLimiter(N, 1)`` admits up to 2N in one rolling
second, which is why it is not used here.)

Waiters are served first come, first served, per bucket. A request that needs several buckets
(an endpoint and the IP-wide pool) queues for each in turn, most specific first, and takes
them all at one instant or none, so it never holds capacity while it waits.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import attrs

from ._clock import Clock
from .errors import ConfigurationError

__all__ = ["InProcessLimiter", "LimiterHalted", "RateLimit", "RateLimiter", "shared_limiter"]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class RateLimit:
    """At most ``limit`` requests in any rolling window of ``per`` seconds.

    ``guard`` (seconds) widens the window the client enforces so that network jitter up to
    ``guard`` cannot put more than ``limit`` arrivals in one server window.
    """

    limit: int = attrs.field(validator=_positive_int)
    per: float = attrs.field(default=1.0, validator=_positive)
    guard: float = attrs.field(default=0.03, validator=_not_negative, kw_only=True)

    @property
    def window(self) -> float:
        """The window the client enforces: ``per + guard`` seconds."""
        return self.per + self.guard


class LimiterHalted(Exception):
    """Raised by :meth:`RateLimiter.acquire` while a bucket is halted.

    The session turns it into :class:`asyncexch.TrafficHalted`.
    """

    def __init__(self, code: int, reason: str, remaining: float) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.remaining = remaining


class RateLimiter(Protocol):
    """Where requests take rate-limit capacity. Keys name buckets; one key, one quota."""

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> None:
        """Wait until every bucket in ``claims`` has ``cost`` free, then take it from all.

        ``claims`` lists the most specific bucket first and shared pools last. Raises
        :class:`LimiterHalted` if a bucket is halted.
        """
        ...

    def pause(self, key: str, seconds: float) -> None:
        """Let nothing take from bucket ``key`` for ``seconds`` (server feedback)."""
        ...

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        """Refuse every request on bucket ``key`` for ``seconds``: waiters fail at once."""
        ...


class _Bucket:
    __slots__ = ("busy", "log", "paused_until", "rate", "waiters", "wake")

    def __init__(self, rate: RateLimit) -> None:
        self.rate = rate
        self.log: deque[float] = deque(maxlen=rate.limit)
        self.paused_until = -math.inf
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.busy = False
        #: Resolved to interrupt the head's sleep (a halt).
        self.wake: asyncio.Future[None] | None = None

    def delay(self, now: float, cost: int) -> float:
        """Seconds until ``cost`` requests may leave at once (0 if now)."""
        wait = self.paused_until - now
        keep = self.rate.limit - cost
        if len(self.log) > keep:
            wait = max(wait, self.log[len(self.log) - keep - 1] + self.rate.window - now)
        return max(wait, 0.0)

    def take(self, now: float, cost: int) -> None:
        self.log.extend([now] * cost)


class InProcessLimiter:
    """Rate-limit buckets shared by every session of this event loop that uses it.

    Use :func:`shared_limiter` to get the process-wide instance for a clock; make your own
    only to isolate a group of clients.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        # Halts are kept by key, so a halt also covers buckets not used yet.
        self._halts: dict[str, tuple[float, int, str]] = {}

    def _bucket(self, key: str, rate: RateLimit) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate)
        elif bucket.rate != rate:
            raise ConfigurationError(
                f"bucket {key!r} is already in use in this process with {bucket.rate!r}; "
                f"a second client of the same key asked for {rate!r}. Clients that share a key "
                "share its limits, so give them the same limits."
            )
        return bucket

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> None:
        buckets = [self._bucket(key, rate) for key, rate in claims]
        for bucket in buckets:
            if cost > bucket.rate.limit:
                raise ConfigurationError(f"cost {cost} exceeds the limit {bucket.rate.limit}")
        self._check_halts(claims, self._clock.monotonic())
        entered: list[_Bucket] = []
        try:
            # Queue for each bucket in turn and wait for its own capacity before queueing for
            # the next, so a request held up by its endpoint never blocks a shared pool.
            for bucket in buckets:
                await self._enter(bucket)
                entered.append(bucket)
                await self._wait_for(claims, entered, [bucket], cost)
            await self._wait_for(claims, entered, entered, cost)
            now = self._clock.monotonic()
            for bucket in buckets:
                bucket.take(now, cost)
        finally:
            for bucket in entered:
                self._leave(bucket)

    async def _wait_for(
        self,
        claims: Sequence[tuple[str, RateLimit]],
        held: list[_Bucket],
        needed: list[_Bucket],
        cost: int,
    ) -> None:
        """Sleep until every bucket in ``needed`` has ``cost`` free; raise if halted."""
        while True:
            now = self._clock.monotonic()
            self._check_halts(claims, now)
            wait = max(bucket.delay(now, cost) for bucket in needed)
            if wait <= 0:
                return
            wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for bucket in held:
                bucket.wake = wake
            sleep = asyncio.ensure_future(self._clock.sleep(wait))
            try:
                await asyncio.wait((sleep, wake), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleep.cancel()
                for bucket in held:
                    bucket.wake = None

    def pause(self, key: str, seconds: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.paused_until = max(bucket.paused_until, self._clock.monotonic() + seconds)

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        self._halts[key] = (self._clock.monotonic() + seconds, code, reason)
        bucket = self._buckets.get(key)
        if bucket is None:
            return
        while bucket.waiters:  # queued waiters fail now; they never held the head
            future = bucket.waiters.popleft()
            if not future.done():
                future.set_exception(LimiterHalted(code, reason, seconds))
        if bucket.wake is not None and not bucket.wake.done():
            bucket.wake.set_result(None)  # the head re-checks and fails

    def _check_halts(self, claims: Sequence[tuple[str, RateLimit]], now: float) -> None:
        if not self._halts:
            return
        for key, _ in claims:
            halt = self._halts.get(key)
            if halt is not None:
                until, code, reason = halt
                if until > now:
                    raise LimiterHalted(code, reason, until - now)
                del self._halts[key]

    async def _enter(self, bucket: _Bucket) -> None:
        """Wait until this task is at the head of the bucket's queue."""
        if not bucket.busy:
            bucket.busy = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        bucket.waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._leave(bucket)  # handed the head just as we were cancelled: pass it on
            raise

    @staticmethod
    def _leave(bucket: _Bucket) -> None:
        """Hand the head of the queue to the next live waiter."""
        while bucket.waiters:
            future = bucket.waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        bucket.busy = False

    def __repr__(self) -> str:
        waiting = sum(len(b.waiters) for b in self._buckets.values())
        return f"<InProcessLimiter buckets={len(self._buckets)} waiting={waiting}>"


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Clock, InProcessLimiter]] = (
    weakref.WeakKeyDictionary()
)


def shared_limiter(clock: Clock) -> InProcessLimiter:
    """The limiter every session on the running event loop with this clock shares.

    Sharing it is what makes two clients of one API key stay within the key's limits together.
    """
    per_clock = _shared.setdefault(asyncio.get_running_loop(), {})
    limiter = per_clock.get(clock)
    if limiter is None:
        limiter = per_clock[clock] = InProcessLimiter(clock)
    return limiter
