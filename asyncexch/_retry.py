"""When a failed attempt is tried again, and after how long.

The rule is the failure's :class:`~asyncexch.Outcome`, not guesswork:

* ``NOT_PROCESSED`` (rate limited, clock window, never connected): retry; the venue did nothing.
* ``UNKNOWN`` (timeout after sending, 5xx, dropped connection): retry only if the endpoint is
  idempotent (reads; orders with a client order id the venue deduplicates on).
* ``FAILED``: never retry.

A clock-window rejection is retried once, after the session re-learns the server's time. A
halted key (:class:`~asyncexch.TrafficHalted`) and an unreachable shared limiter
(:class:`~asyncexch.LimiterUnavailable`) are never retried. Waits use full jitter
(uniform between 0 and an exponentially growing cap) or the server's reset time when it gave
one, and every retry is bounded by ``max_attempts`` and by ``deadline`` seconds after the first
attempt left; the default deadline is far below the 30 minutes for which venues remember
client order ids.

The loop is this module's own (:func:`run_attempts`), and every decision in it is one function
(:func:`pause_before_retry`). Running the attempts through ``tenacity.AsyncRetrying`` instead
would cost every call 25-50 µs of CPU and 3 KB while in flight, even one that succeeds at once
(tenacity inspects its callbacks again at every decision, and needs an object per call: it
keeps its iteration state per thread, not per task); ``benchmarks/retry_form.py`` measures both.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from ._clock import Clock
from ._observe import AttemptEvent
from ._validators import Check, number, whole
from .errors import (
    ClockSkew,
    ConfigurationError,
    ExchangeError,
    InvalidRequest,
    LimiterUnavailable,
    Outcome,
    RateLimited,
    TrafficHalted,
)

__all__ = ["MAX_DEADLINE", "RetryPolicy"]

logger = logging.getLogger("asyncexch")

T = TypeVar("T")


#: Venues remember a client order id for at least 30 minutes (some permanently); a retry sent
#: after the venue forgot the id could place the order twice, so no deadline may come near it.
MAX_DEADLINE = 1500.0


_WHOLE = whole().setting()
_NOT_NEGATIVE = number(allow_zero=True).setting()
_DEADLINE = Check(
    lambda value: (
        None
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 < value <= MAX_DEADLINE
        else f"must be in (0, {MAX_DEADLINE:.0f}] seconds, got {value!r}"
    )
).setting()


@attrs.frozen
class RetryPolicy:
    """How hard a call tries. ``RetryPolicy(max_attempts=1)`` turns retries off."""

    #: Attempts per call, the first included.
    max_attempts: int = attrs.field(default=5, validator=_WHOLE)
    #: Seconds after the first attempt left beyond which no retry is sent, even one that was
    #: already waiting for rate-limit capacity (at most :data:`MAX_DEADLINE`).
    deadline: float = attrs.field(default=60.0, validator=_DEADLINE)
    #: Cap of the first backoff, in seconds; it doubles per attempt up to ``max_backoff``.
    backoff: float = attrs.field(default=0.25, validator=_NOT_NEGATIVE)
    max_backoff: float = attrs.field(default=8.0, validator=_NOT_NEGATIVE)


@attrs.define
class CallState:
    """What one call has seen so far; the retry decisions read it."""

    idempotent: bool
    #: What the call is, for log lines: method, path and the caller's label.
    what: str = ""
    label: str = ""
    #: The attempts that ended, when the session has observers.
    events: list[AttemptEvent] = attrs.Factory(list)
    attempts: int = 0
    #: The current attempt, for observers: its wait for capacity, when it left (wall and
    #: monotonic), and the HTTP status of its answer.
    waited: float = 0.0
    sent_wall: float | None = None
    sent_mono: float | None = None
    ended_mono: float | None = None
    http_status: int | None = None
    clock_resyncs: int = 0
    first_sent_at: float | None = None
    first_sent_wall: float | None = None
    outcomes: list[Outcome] = attrs.Factory(list)
    last_error: ExchangeError | None = None

    def begin_attempt(self) -> None:
        """A new attempt starts: count it, and forget what the one before did."""
        self.attempts += 1
        self.waited = 0.0
        self.sent_wall = self.sent_mono = self.ended_mono = self.http_status = None

    def may_send(self, clock: Clock, policy: RetryPolicy) -> bool:
        """Whether the attempt that has its capacity may leave. The first marks the call's
        start; a retry may not once the policy's deadline has passed (it waited for capacity
        that long, and could land after the venue forgot the request's id)."""
        if self.first_sent_at is None:
            self.first_sent_at = clock.monotonic()
            self.first_sent_wall = clock.time()
            return True
        return self.last_error is None or not self.past_deadline(clock, policy)

    def first_resync(self) -> bool:
        """Whether a refused timestamp now calls for the call's first (and only) re-sync."""
        self.clock_resyncs += 1
        return self.clock_resyncs == 1

    def past_deadline(self, clock: Clock, policy: RetryPolicy) -> bool:
        """Whether the policy's deadline has passed since the first attempt left."""
        return (
            self.first_sent_at is not None
            and clock.monotonic() - self.first_sent_at > policy.deadline
        )

    @property
    def unknown_seen(self) -> bool:
        """Whether some attempt may have been processed."""
        return Outcome.UNKNOWN in self.outcomes


def should_retry(error: BaseException, state: CallState) -> bool:
    """Whether the call may try again after ``error``."""
    if not isinstance(error, ExchangeError) or isinstance(
        error, (TrafficHalted, InvalidRequest, ConfigurationError, LimiterUnavailable)
    ):
        return False
    if isinstance(error, ClockSkew):
        return state.clock_resyncs <= 1
    if error.outcome is Outcome.NOT_PROCESSED:
        return True
    return error.outcome is Outcome.UNKNOWN and state.idempotent


async def run_attempts(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    clock: Clock,
    state: CallState,
    rng: random.Random,
) -> T:
    """Run ``attempt`` until it succeeds or :func:`pause_before_retry` says to stop, then
    re-raise the last failure. Before each retry it logs one INFO line and sleeps on ``clock``.

    Only an :class:`~asyncexch.ExchangeError` is a failure to decide on; anything else
    (a bug, a cancellation) goes straight through.
    """
    number = 1
    while True:
        try:
            return await attempt()
        except ExchangeError as error:
            pause = pause_before_retry(error, number, policy, clock, state, rng)
            if pause is None:
                raise
            logger.info(
                "%s: %s failed (%s); retrying in %.2f s (%s of %d)",
                state.what,
                ordinal(number, "attempt"),
                error,
                pause,
                ordinal(number + 1, "attempt"),
                policy.max_attempts,
            )
        # Outside the handler, so that the next attempt's failure is not chained to this one.
        await clock.sleep(pause)
        number += 1


def pause_before_retry(
    error: ExchangeError,
    number: int,
    policy: RetryPolicy,
    clock: Clock,
    state: CallState,
    rng: random.Random,
) -> float | None:
    """Seconds to wait before retrying a call whose attempt ``number`` (the first is 1)
    failed with ``error``; ``None`` when the call stops: the failure may not be retried
    (:func:`should_retry`), the attempts are used up, or the retry would start after the
    deadline.

    A refused timestamp is retried at once (the session has re-learned the clock); a rate
    limit waits the time the venue gave and up to 50 ms more, so that the calls it stopped
    do not all come back at once; anything else waits full jitter, uniform between 0 and a
    cap doubling from ``backoff`` up to ``max_backoff``.
    """
    if number >= policy.max_attempts or not should_retry(error, state):
        return None
    if isinstance(error, ClockSkew):
        pause = 0.0
    elif isinstance(error, RateLimited) and error.retry_after is not None:
        pause = error.retry_after + rng.uniform(0, 0.05)
    else:
        pause = rng.uniform(0, min(policy.max_backoff, policy.backoff * 2 ** (number - 1)))
    started = state.first_sent_at
    if started is not None and clock.monotonic() + pause - started > policy.deadline:
        return None
    return pause


def ordinal(number: int, noun: str) -> str:
    """``1, "attempt"`` -> ``"the 1st attempt"``; for log lines and messages."""
    teen = 10 <= number % 100 <= 20
    suffix = "th" if teen else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"the {number}{suffix} {noun}"


def counted(number: int, noun: str) -> str:
    """``1, "attempt"`` -> ``"1 attempt"``, ``2, "attempt"`` -> ``"2 attempts"``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
