"""Pacing that keeps going when a shared limiter's store goes away.

A shared limiter (:class:`~asyncexch.RedisLimiter`) fails closed: when its store cannot be
reached, ``acquire`` raises :class:`~asyncexch.LimiterUnavailable` and nothing is sent. A
:class:`FailoverLimiter` trades that guarantee for availability, explicitly: while the primary
cannot be reached it paces this process alone with a fallback limiter, and tries the primary
again every ``recheck`` seconds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from ._clock import Clock, SystemClock
from ._limits import (
    BucketUsage,
    Halts,
    LimiterHalted,
    Permit,
    RateLimit,
    RateLimiter,
    ReportsUsage,
    check_cost,
)
from ._resource import AsyncResource
from .errors import ConfigurationError, LimiterUnavailable

__all__ = [
    "BucketHalted",
    "FailoverLimiter",
    "FailoverStats",
    "NoPermit",
    "check_failover_settings",
]

logger = logging.getLogger("asyncexch")


def check_failover_settings(share: float, recheck: float, *, share_name: str = "share") -> None:
    """Raise :class:`~asyncexch.ConfigurationError` unless ``0 < share <= 1`` and
    ``recheck > 0`` (``share_name``: what the caller calls the share)."""
    if not 0 < share <= 1:
        raise ConfigurationError(f"{share_name} must be in (0, 1], got {share!r}")
    if not recheck > 0:
        raise ConfigurationError(f"recheck must be > 0 seconds, got {recheck!r}")


class NoPermit:
    """The permit of a request that claims no bucket: nothing to settle."""

    __slots__ = ()

    def done(self, arrived_ago: float = 0.0) -> None:
        return None


class BucketHalted(LimiterHalted):
    """A :class:`~asyncexch.LimiterHalted` that names the halted bucket: a primary raises it
    for a halt it learnt by itself (another process's), so that a :class:`FailoverLimiter`
    holds the halt on its fallback too."""

    def __init__(self, key: str, code: int, reason: str, remaining: float) -> None:
        super().__init__(code, reason, remaining)
        self.key = key


@runtime_checkable
class _Flushes(Protocol):
    async def flush(self) -> None: ...


@runtime_checkable
class _Closes(Protocol):
    async def aclose(self) -> None: ...


@attrs.define
class FailoverStats:
    """What one :class:`FailoverLimiter` did, for monitoring.

    ``fallback_admitted``: requests paced by the fallback; ``switches``: times it went from
    the primary to the fallback (a failed recheck, already on the fallback, is not a switch).
    """

    fallback_admitted: int = 0
    switches: int = 0


class FailoverLimiter(AsyncResource):
    """A :class:`~asyncexch.RateLimiter` that goes through ``primary`` and, while the primary
    cannot be reached, through ``fallback``.

    **What it promises.** Every request goes through the primary while the primary answers.
    When the primary's ``acquire`` raises :class:`~asyncexch.LimiterUnavailable` (a shared
    limiter's store is down), that request is paced by ``fallback`` instead, and so is every
    request the failure reaches (the primary's queue, when it fails its waiters too); a
    warning is logged. For the next ``recheck`` seconds (on ``clock``) requests go straight to
    the fallback, then the next request tries the primary again (a warning each time it
    fails, one when it answers). So ``acquire`` never raises ``LimiterUnavailable``; while
    falling back, the key's limits hold for this process alone, not for every process of the
    key.

    * The fallback takes ``share`` of each limit (rounded down, at least 1 and at least the
      request's cost): N processes falling back together, each with ``share=1 / N``, stay
      within the key's limits.
    * After a switch from the primary, each bucket stays closed for its window
      (:attr:`~asyncexch.RateLimit.window`): the fallback does not know what went through the
      primary just before (a request waiting out that window meets a halt set meanwhile when
      the window ends). A failed recheck does not close them again (nothing went through the
      primary since). Requests paced by the fallback are not in the primary's log when it
      answers again.
    * :meth:`pause` and :meth:`halt` reach the primary at once and the fallback once it has
      been used; this limiter holds them itself meanwhile, so a pause or halt set before a
      switch still holds after it, and so does a halt the primary reported for a bucket it
      named (another process's). A halted bucket raises :class:`~asyncexch.LimiterHalted`.
    * A request whose ``cost`` exceeds a bucket's limit raises
      :class:`~asyncexch.ConfigurationError`, whichever way it would go.
    * :meth:`usage` is the primary's (while falling back: the fallback's, when it can say).
    * :meth:`flush` and :meth:`aclose` flush and close the primary and the fallback (those
      that can be); ``stats`` counts what the failover did.

    ``fallback`` is typically ``InProcessLimiter(clock)``. Use one failover for every client
    of the process, on one event loop.
    """

    def __init__(
        self,
        primary: RateLimiter,
        fallback: RateLimiter,
        *,
        share: float = 1.0,
        recheck: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        for name, limiter in (("primary", primary), ("fallback", fallback)):
            if not hasattr(limiter, "acquire"):
                raise ConfigurationError(f"{name} must be a RateLimiter, got {limiter!r}")
        check_failover_settings(share, recheck)
        self._primary = primary
        self._fallback = fallback
        self._share = share
        self._recheck = recheck
        self._clock: Clock = clock or SystemClock()
        self.stats: FailoverStats = FailoverStats()
        # This limiter's own record of pauses and halts (monotonic deadlines): they hold on
        # the fallback before it has been told, and whichever way a request goes.
        self._pauses: dict[str, float] = {}
        self._halts = Halts()
        #: Whether requests have gone to the fallback yet (before that, it is not told of
        #: pauses and halts: it may be a limiter other clients share).
        self._fallback_started = False
        #: While falling back: when to try the primary again (monotonic).
        self._retry_at: float | None = None
        #: Whether requests went through the fallback since the primary last answered.
        self._fell_back = False
        #: When this process last switched from the primary to the fallback (monotonic).
        self._switched_at = -math.inf
        self._closed = False

    @property
    def falling_back(self) -> bool:
        """Whether requests go to the fallback now (until the next recheck of the primary)."""
        return self._retry_at is not None

    # --- the RateLimiter protocol ----------------------------------------------------------

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> Permit:
        """Take ``cost`` from every bucket of ``claims``: through the primary, or while it
        cannot be reached through the fallback.

        Raises :class:`~asyncexch.LimiterHalted` if a bucket is halted,
        :class:`~asyncexch.ConfigurationError` for a cost above a limit (and whatever else the
        primary or the fallback raises, but ``LimiterUnavailable`` from the primary).
        """
        if self._closed:
            raise ConfigurationError("FailoverLimiter is closed: make a new one")
        check_cost(claims, cost)
        if not claims:
            return NoPermit()
        self._halts.check(claims, self._clock.monotonic())
        if not self._falling_back_now():
            try:
                permit = await self._primary.acquire(claims, cost)
            except LimiterUnavailable as unavailable:
                self._switch(unavailable)
            except LimiterHalted as halted:
                if isinstance(halted, BucketHalted):  # halted by another process: hold it
                    until = self._clock.monotonic() + halted.remaining
                    self._halts.set(halted.key, until, halted.code, halted.reason)
                    self._answered()  # the primary's store answered: it refused
                # Another halt is this process's own (a waiter failed at once): the store
                # may still be down, so it says nothing of the primary.
                raise
            except ConfigurationError:
                self._answered()
                raise
            else:
                self._answered()
                return permit
        return await self._acquire_fallback(claims, cost)

    async def usage(self, key: str, rate: RateLimit) -> BucketUsage:
        """Bucket ``key`` as the primary sees it (while falling back: as the fallback does,
        when it can say). Raises :class:`~asyncexch.ConfigurationError` when the limiter to
        ask cannot report usage, and what it raises (``LimiterUnavailable``) when it cannot
        answer."""
        if self._falling_back_now() and isinstance(self._fallback, ReportsUsage):
            return await self._fallback.usage(key, rate)
        if not isinstance(self._primary, ReportsUsage):
            raise ConfigurationError(f"{self._primary!r} cannot report a bucket's usage")
        return await self._primary.usage(key, rate)

    def pause(self, key: str, seconds: float) -> None:
        """Let nothing take from bucket ``key`` for ``seconds``, whichever way requests go."""
        self._pauses[key] = max(self._pauses.get(key, -math.inf), self._clock.monotonic() + seconds)
        self._primary.pause(key, seconds)
        if self._fallback_started:
            self._fallback.pause(key, seconds)

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        """Refuse every request on bucket ``key`` for ``seconds``, whichever way they go;
        the primary's and the fallback's waiters fail at once."""
        self._halts.set(key, self._clock.monotonic() + seconds, code, reason)
        self._primary.halt(key, seconds, code=code, reason=reason)
        if self._fallback_started:
            self._fallback.halt(key, seconds, code=code, reason=reason)

    # --- lifecycle --------------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait for the background writes of the primary and the fallback (those that have
        ``flush``)."""
        for limiter in (self._primary, self._fallback):
            if isinstance(limiter, _Flushes):
                await limiter.flush()

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Refuse every later request, and close the primary and the fallback (those that
        have ``aclose``)."""
        self._closed = True
        for limiter in (self._primary, self._fallback):
            if isinstance(limiter, _Closes):
                await limiter.aclose()

    # --- switching --------------------------------------------------------------------------

    def _falling_back_now(self) -> bool:
        if self._retry_at is None:
            return False
        if self._clock.monotonic() < self._retry_at:
            return True
        self._retry_at = None  # time to try the primary again
        return False

    def _switch(self, unavailable: LimiterUnavailable) -> None:
        if self._retry_at is not None:
            return  # already falling back: a request queued behind the failed one
        self._fallback_started = True
        if not self._fell_back:  # a switch from the primary, not a failed recheck
            self._switched_at = self._clock.monotonic()
            self.stats.switches += 1
        self._fell_back = True
        cause = unavailable.__cause__ or unavailable
        logger.warning(
            "the rate limiter %r cannot be reached (%s: %s): pacing this process alone with %r "
            "for the next %.1f s; other processes of the key are not counted",
            self._primary,
            type(cause).__name__,
            cause,
            self._fallback,
            self._recheck,
        )
        self._retry_at = self._clock.monotonic() + self._recheck

    def _answered(self) -> None:
        if self._fell_back:
            self._fell_back = False
            logger.warning("the rate limiter %r answers again: pacing is shared", self._primary)

    async def _acquire_fallback(self, claims: Sequence[tuple[str, RateLimit]], cost: int) -> Permit:
        # Pauses learnt before falling back still hold; and the fallback knows nothing of
        # what this process sent through the primary just before: each bucket stays closed
        # for its window after the switch, or the fallback would admit a whole burst on top.
        now = self._clock.monotonic()
        closed = max(self._switched_at + rate.window for _, rate in claims) - now
        paused = max(self._pauses.get(key, -math.inf) - now for key, _ in claims)
        wait = max(paused, closed)
        if wait > 0:
            await self._clock.sleep(wait)
            # A halt set while this request was in its last round trip to the primary, or
            # during the wait, reached no fallback queue this request is in: look again.
            self._halts.check(claims, self._clock.monotonic())
        if self._share < 1:
            claims = [
                (key, attrs.evolve(rate, limit=max(cost, math.floor(rate.limit * self._share), 1)))
                for key, rate in claims
            ]
        permit = await self._fallback.acquire(claims, cost)
        self.stats.fallback_admitted += 1
        return permit

    def __repr__(self) -> str:
        mode = "falling back" if self.falling_back else "on the primary"
        return f"<FailoverLimiter {mode} primary={self._primary!r} fallback={self._fallback!r}>"
