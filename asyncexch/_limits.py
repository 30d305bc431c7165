"""Client-side rate limiting that is safe against a server's rolling window.

A :class:`RateLimit` ``RateLimit(5, per=1.0)`` promises that in *every* interval of ``per``
seconds at most ``limit`` requests arrive at the server. Each bucket keeps one *slot time* per
recent request: the latest moment at which that request can have reached the server. A request
goes only when fewer than ``limit`` slot times fall within the last ``per`` seconds, so it is
sent at least ``per`` after the ``limit``-th previous request arrived: no server window, rolling
or fixed, can see more than ``limit``.

A slot time starts as ``send + guard`` (the request is assumed to arrive within ``guard`` of
being sent) and becomes exact when the answer comes back (:meth:`Permit.done`): a request
cannot reach the server after its answer left it, nor after the time the server stamped on
the answer, when the session can place that stamp on its own clock. Bursts up to ``limit`` go
at once, as the server allows; a long batch then runs at ``limit / (per + delay)``, where the
delay is the way there plus the fastest recent way back (the whole round trip without a
server stamp), above 97% of the limit on a fast link. The ``guard`` assumption matters only
for requests still unanswered ``per + guard`` after they left. (A leaky bucket
``AsyncLimiter(N, 1)`` admits up to 2N in one rolling second; bursts sent on
``AsyncLimiter(1, 1/N)`` spacing still collide when their latencies differ. That is why
neither is used here.)

Waiters are served first come, first served, per bucket. A request that needs several buckets
(an endpoint and the IP-wide pool) queues for each in turn, most specific first, and takes
them all at one instant or none, so it never holds capacity while it waits.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from ._clock import Clock
from ._turns import Turns, sleep_unless_woken
from ._validators import number, whole
from .errors import ConfigurationError

__all__ = [
    "BucketState",
    "BucketUsage",
    "InProcessLimiter",
    "LimiterHalted",
    "Permit",
    "RateLimit",
    "RateLimiter",
    "ReportsUsage",
    "check_cost",
    "shared_limiter",
]


_POSITIVE = number().setting()
_NOT_NEGATIVE = number(allow_zero=True).setting()
_WHOLE = whole().setting()


@attrs.frozen
class RateLimit:
    """At most ``limit`` requests in any rolling window of ``per`` seconds.

    ``guard`` (seconds) is how long after sending a request is assumed to reach the server
    while its answer has not come back yet.
    """

    limit: int = attrs.field(validator=_WHOLE)
    per: float = attrs.field(default=1.0, validator=_POSITIVE)
    guard: float = attrs.field(default=0.03, validator=_NOT_NEGATIVE, kw_only=True)

    @property
    def window(self) -> float:
        """The spacing enforced while answers are outstanding: ``per + guard`` seconds."""
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


class Permit(Protocol):
    """Capacity taken for one request."""

    def done(self, arrived_ago: float = 0.0) -> None:
        """The request was answered or abandoned: it can no longer reach the server.

        ``arrived_ago``: the server had the request at least this many seconds ago (from the
        time it stamped on its answer); its slot settles that much earlier than now.
        """
        ...


class RateLimiter(Protocol):
    """Where requests take rate-limit capacity. Keys name buckets; one key, one quota."""

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> Permit:
        """Wait until every bucket in ``claims`` has ``cost`` free, then take it from all.

        ``claims`` lists the most specific bucket first and shared pools last. Raises
        :class:`LimiterHalted` if a bucket is halted. Call ``done()`` on the permit when the
        answer arrives.
        """
        ...

    def pause(self, key: str, seconds: float) -> None:
        """Let nothing take from bucket ``key`` for ``seconds`` (server feedback)."""
        ...

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        """Refuse every request on bucket ``key`` for ``seconds``: waiters fail at once."""
        ...


@attrs.frozen(kw_only=True)
class BucketUsage:
    """What a limiter knows of one bucket at one moment."""

    #: Requests counted in the bucket's rolling window now, those still in flight included.
    in_window: int
    #: Requests of this process waiting for the bucket.
    waiting: int = 0
    #: Seconds before the bucket admits again after a pause the venue asked for (0: none).
    paused_for: float = 0.0
    #: Seconds of halt left (0: not halted), and why it was halted.
    halted_for: float = 0.0
    halt_reason: str = ""


@attrs.frozen(kw_only=True)
class BucketState:
    """One rate-limit bucket of a client, as :meth:`limits_state` reports it.

    ``in_window``, ``waiting``, ``paused_until``, ``halted_until`` and ``halt_reason`` come
    from the limiter (``None`` when it cannot say: a limiter of your own); ``venue_left`` and
    ``venue_limit`` are what the venue last said of the endpoint's quota (Bybit's
    ``X-Bapi-Limit-Status`` and ``X-Bapi-Limit``), at ``venue_seen_at``; ``None`` before it
    said anything.
    """

    name: str
    limit: int
    per: float
    in_window: int | None
    waiting: int | None
    paused_until: datetime | None
    halted_until: datetime | None
    halt_reason: str
    venue_left: int | None
    venue_limit: int | None
    venue_seen_at: datetime | None


@runtime_checkable
class ReportsUsage(Protocol):
    """A limiter that can say how full its buckets are (both of asyncexch's can)."""

    async def usage(self, key: str, rate: RateLimit) -> BucketUsage:
        """Bucket ``key``'s usage now (a bucket never used: all zero)."""
        ...


class _Bucket:
    __slots__ = ("paused_until", "rate", "slots", "turns")

    def __init__(self, rate: RateLimit) -> None:
        self.rate = rate
        #: Sorted slot times of the requests that may still count in a server window.
        self.slots: list[float] = []
        self.paused_until = -math.inf
        self.turns = Turns()

    def delay(self, now: float, cost: int) -> float:
        """Seconds until ``cost`` requests may leave at once (0 if now)."""
        slots = self.slots
        expired = bisect.bisect_right(slots, now - self.rate.per)
        if expired:
            del slots[:expired]
        wait = self.paused_until - now
        keep = self.rate.limit - cost
        if len(slots) > keep:
            wait = max(wait, slots[len(slots) - keep - 1] + self.rate.per - now)
        return max(wait, 0.0)

    def take(self, now: float, cost: int) -> float:
        """Take ``cost`` slots for requests sent now; returns their provisional slot time."""
        stamp = now + self.rate.guard
        # Still sorted: earlier provisional slots are <= now + guard, settled ones <= now.
        self.slots.extend([stamp] * cost)
        return stamp

    def settle(self, stamp: float, at: float, cost: int) -> None:
        """Replace ``cost`` provisional slots ``stamp`` with the exact time ``at``."""
        slots = self.slots
        for _ in range(cost):
            index = bisect.bisect_left(slots, stamp)
            if index < len(slots) and slots[index] == stamp:
                del slots[index]
            bisect.insort(slots, at)


class _InProcessPermit:
    __slots__ = ("_clock", "_cost", "_taken")

    def __init__(self, clock: Clock, taken: list[tuple[_Bucket, float]], cost: int) -> None:
        self._clock = clock
        self._taken: list[tuple[_Bucket, float]] | None = taken
        self._cost = cost

    def done(self, arrived_ago: float = 0.0) -> None:
        if self._taken is None:
            return
        at = self._clock.monotonic() - max(arrived_ago, 0.0)
        for bucket, stamp in self._taken:
            bucket.settle(stamp, at, self._cost)
            if at < stamp:  # capacity frees sooner than planned: let the head look
                bucket.turns.wake()
        self._taken = None


class Halts:
    """Buckets that refuse every request until a time, and why (a limiter's local record)."""

    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until: dict[str, tuple[float, int, str]] = {}

    def set(self, key: str, until: float, code: int, reason: str) -> None:
        """Halt bucket ``key`` until ``until`` (the limiter's monotonic clock)."""
        self._until[key] = (until, code, reason)

    def left(self, key: str, now: float) -> tuple[float, str]:
        """Seconds of halt left on ``key`` at ``now`` (0 when none), and why."""
        halt = self._until.get(key)
        if halt is None or halt[0] <= now:
            return 0.0, ""
        return halt[0] - now, halt[2]

    def check(self, claims: Sequence[tuple[str, RateLimit]], now: float) -> None:
        """Raise :class:`LimiterHalted` if one of the ``claims`` buckets is halted at ``now``."""
        if not self._until:
            return
        for key, _ in claims:
            halt = self._until.get(key)
            if halt is not None:
                until, code, reason = halt
                if until > now:
                    raise LimiterHalted(code, reason, until - now)
                del self._until[key]


class InProcessLimiter:
    """Rate-limit buckets shared by every session of this event loop that uses it.

    Use :func:`shared_limiter` to get the process-wide instance for a clock; make your own
    only to isolate a group of clients.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        # Halts are kept by key, so a halt also covers buckets not used yet.
        self._halts = Halts()

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

    async def acquire(
        self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1
    ) -> _InProcessPermit:
        check_cost(claims, cost)
        buckets = [self._bucket(key, rate) for key, rate in claims]
        self._halts.check(claims, self._clock.monotonic())
        entered: list[_Bucket] = []
        try:
            # Queue for each bucket in turn and wait for its own capacity before queueing for
            # the next, so a request held up by its endpoint never blocks a shared pool.
            for bucket in buckets:
                await bucket.turns.enter()
                entered.append(bucket)
                await self._wait_for(claims, entered, [bucket], cost)
            await self._wait_for(claims, entered, entered, cost)
            now = self._clock.monotonic()
            return _InProcessPermit(
                self._clock, [(bucket, bucket.take(now, cost)) for bucket in buckets], cost
            )
        finally:
            for bucket in entered:
                bucket.turns.leave()

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
            self._halts.check(claims, now)
            wait = max(bucket.delay(now, cost) for bucket in needed)
            if wait <= 0:
                return
            await sleep_unless_woken(self._clock, wait, [bucket.turns for bucket in held])

    async def usage(self, key: str, rate: RateLimit) -> BucketUsage:
        now = self._clock.monotonic()
        halted_for, reason = self._halts.left(key, now)
        bucket = self._buckets.get(key)
        if bucket is None:
            return BucketUsage(in_window=0, halted_for=halted_for, halt_reason=reason)
        start = bisect.bisect_right(bucket.slots, now - bucket.rate.per)
        return BucketUsage(
            in_window=len(bucket.slots) - start,
            waiting=bucket.turns.waiting,
            paused_for=max(bucket.paused_until - now, 0.0),
            halted_for=halted_for,
            halt_reason=reason,
        )

    def pause(self, key: str, seconds: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.paused_until = max(bucket.paused_until, self._clock.monotonic() + seconds)

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        self._halts.set(key, self._clock.monotonic() + seconds, code, reason)
        bucket = self._buckets.get(key)
        if bucket is None:
            return
        bucket.turns.halt(lambda: LimiterHalted(code, reason, seconds))

    def __repr__(self) -> str:
        waiting = sum(b.turns.waiting for b in self._buckets.values())
        return f"<InProcessLimiter buckets={len(self._buckets)} waiting={waiting}>"


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Clock, InProcessLimiter]] = (
    weakref.WeakKeyDictionary()
)


def check_cost(claims: Sequence[tuple[str, RateLimit]], cost: int) -> None:
    """Refuse a request that no bucket it claims could ever admit (its cost is above the
    bucket's limit): it would wait for ever."""
    for key, rate in claims:
        if cost > rate.limit:
            raise ConfigurationError(f"cost {cost} exceeds the limit {rate.limit} of {key!r}")


def shared_limiter(clock: Clock) -> InProcessLimiter:
    """The limiter every session on the running event loop with this clock shares.

    Sharing it is what makes two clients of one API key stay within the key's limits together.
    """
    per_clock = _shared.setdefault(asyncio.get_running_loop(), {})
    limiter = per_clock.get(clock)
    if limiter is None:
        limiter = per_clock[clock] = InProcessLimiter(clock)
    return limiter
