"""The retry loop (``run_attempts``) and its one decision (``pause_before_retry``), alone on
the virtual clock with a seeded rng, and through a Session with an injected rng: every wait
below is computed from the same seed and compared exactly."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import cattrs
import httpx
import pytest
import respx

from asyncexch import (
    ClockSkew,
    Endpoint,
    Outcome,
    RateLimit,
    RateLimited,
    Reply,
    RetryPolicy,
    ServiceUnavailable,
    Session,
    TrafficHalted,
    TransportError,
    VirtualClock,
    WireRequest,
)
from asyncexch._retry import CallState, pause_before_retry, run_attempts
from asyncexch.errors import BadParameter, ExchangeError

SEED = 11


def scripted(
    clock: VirtualClock, state: CallState, policy: RetryPolicy, results: list[BaseException | str]
) -> tuple[Callable[[], Awaitable[str]], list[float]]:
    """An attempt that marks its send as the session does, then raises or returns the next
    result (the last one repeats); the times it ran at."""
    times: list[float] = []

    async def attempt() -> str:
        times.append(clock.monotonic())
        state.may_send(clock, policy)
        result = results[min(len(times), len(results)) - 1]
        if isinstance(result, ClockSkew):
            state.first_resync()  # what the session counts before it raises one
        if isinstance(result, BaseException):
            raise result
        return result

    return attempt, times


def busy() -> ServiceUnavailable:
    return ServiceUnavailable(10016, "restarting", "fake")


async def test_backoff_waits_are_full_jitter_under_a_doubling_cap() -> None:
    clock, state = VirtualClock(), CallState(idempotent=True)
    policy = RetryPolicy(backoff=1.0, max_backoff=3.0)
    attempt, times = scripted(clock, state, policy, [busy(), busy(), busy(), "answer"])

    result = await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    draws = random.Random(SEED)
    first = draws.uniform(0, 1.0)
    second = first + draws.uniform(0, 2.0)
    third = second + draws.uniform(0, 3.0)  # 4.0 capped at max_backoff
    assert (result, times) == ("answer", [0.0, first, second, third])


async def test_a_rate_limit_waits_the_venues_time_and_a_little_jitter() -> None:
    clock, state = VirtualClock(), CallState(idempotent=False)
    policy = RetryPolicy()
    slow = RateLimited(10006, "slow down", "fake", retry_after=2.0)
    attempt, times = scripted(clock, state, policy, [slow, "answer"])

    assert await run_attempts(attempt, policy, clock, state, random.Random(SEED)) == "answer"

    assert times == [0.0, 2.0 + random.Random(SEED).uniform(0, 0.05)]


async def test_a_refused_timestamp_is_retried_at_once_and_only_once() -> None:
    clock, state = VirtualClock(), CallState(idempotent=False)
    policy = RetryPolicy()
    skew = ClockSkew(10002, "bad timestamp", "fake")
    attempt, times = scripted(clock, state, policy, [skew])

    with pytest.raises(ClockSkew) as caught:
        await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    assert caught.value is skew
    assert times == [0.0, 0.0]


async def test_the_last_failure_is_raised_when_the_attempts_are_used_up() -> None:
    clock, state = VirtualClock(), CallState(idempotent=True)
    policy = RetryPolicy(max_attempts=3)
    failures = [busy(), busy(), busy()]
    attempt, times = scripted(clock, state, policy, [*failures, "never"])

    with pytest.raises(ServiceUnavailable) as caught:
        await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    assert caught.value is failures[2]
    assert len(times) == 3
    # each failure stands alone: a retried one is not the context of the next
    assert caught.value.__context__ is None


async def test_no_retry_starts_past_the_deadline() -> None:
    clock, state = VirtualClock(), CallState(idempotent=True)
    policy = RetryPolicy(max_attempts=100, deadline=5.0)
    slow = RateLimited(10006, "slow down", "fake", retry_after=2.0)
    attempt, times = scripted(clock, state, policy, [slow])

    with pytest.raises(RateLimited):
        await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    draws = random.Random(SEED)
    second = 2.0 + draws.uniform(0, 0.05)
    third = second + (2.0 + draws.uniform(0, 0.05))
    assert times == [0.0, second, third]  # a fourth would start after 6 s
    assert clock.monotonic() == third  # it gave up without sleeping


@pytest.mark.parametrize(
    "failure",
    [
        TransportError("read timed out", outcome=Outcome.UNKNOWN),
        BadParameter(10001, "bad", "fake"),
        TrafficHalted(403, "banned", "fake", retry_after=60.0),
    ],
    ids=["unknown-not-idempotent", "failed", "halted"],
)
async def test_a_failure_that_may_not_be_retried_ends_the_call(failure: ExchangeError) -> None:
    clock, state = VirtualClock(), CallState(idempotent=False)
    policy = RetryPolicy()
    attempt, times = scripted(clock, state, policy, [failure, "never"])

    with pytest.raises(ExchangeError) as caught:
        await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    assert caught.value is failure
    assert times == [0.0]


async def test_an_error_that_is_not_the_venues_goes_straight_through() -> None:
    clock, state = VirtualClock(), CallState(idempotent=True)
    policy = RetryPolicy()
    attempt, times = scripted(clock, state, policy, [ValueError("a bug"), "never"])

    with pytest.raises(ValueError, match="a bug"):
        await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    assert times == [0.0]


async def test_a_call_cancelled_while_it_waits_sends_nothing_more() -> None:
    clock = VirtualClock(autojump=False)
    state, policy = CallState(idempotent=True), RetryPolicy(backoff=1.0)
    attempt, times = scripted(clock, state, policy, [busy(), "never"])
    task = asyncio.ensure_future(run_attempts(attempt, policy, clock, state, random.Random(SEED)))
    while not times:
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # into the backoff sleep

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    clock.advance(10.0)
    await asyncio.sleep(0)

    assert times == [0.0]


async def test_each_retry_is_announced_at_info(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock()
    state = CallState(idempotent=True, what="GET /read label=1")
    policy = RetryPolicy(max_attempts=3, backoff=1.0)
    attempt, _ = scripted(clock, state, policy, [busy(), busy(), busy()])

    with caplog.at_level(logging.INFO, logger="asyncexch"), pytest.raises(ServiceUnavailable):
        await run_attempts(attempt, policy, clock, state, random.Random(SEED))

    draws = random.Random(SEED)
    first, second = draws.uniform(0, 1.0), draws.uniform(0, 2.0)
    assert [record.getMessage() for record in caplog.records] == [
        "GET /read label=1: the 1st attempt failed (fake error 10016: restarting); "
        f"retrying in {first:.2f} s (the 2nd attempt of 3)",
        "GET /read label=1: the 2nd attempt failed (fake error 10016: restarting); "
        f"retrying in {second:.2f} s (the 3rd attempt of 3)",
    ]
    assert {record.levelno for record in caplog.records} == {logging.INFO}


def test_pause_before_retry_draws_nothing_for_a_call_that_stops() -> None:
    """Only a retry that may happen takes a draw from the rng, so a seeded session's waits
    do not depend on how its calls that stopped ended."""
    rng = random.Random(SEED)
    state = CallState(idempotent=True)
    policy = RetryPolicy(max_attempts=2)
    clock = VirtualClock()

    assert pause_before_retry(busy(), 2, policy, clock, state, rng) is None
    assert pause_before_retry(BadParameter(1, "m", "fake"), 1, policy, clock, state, rng) is None
    assert rng.random() == random.Random(SEED).random()


# --- through a Session: the injected rng decides every wait ----------------------------------


class BusyTwiceVenue:
    """Answers 503 (busy: unknown outcome) twice, then ``{"value": 1}``; no limits, so nothing
    but the retry waits moves the clock."""

    name = "busy-twice"
    converter = cattrs.Converter()
    default_limits: Mapping[str, RateLimit] = {}
    time_endpoint: Endpoint[Any] | None = None

    def bucket_key(self, bucket: str) -> str:
        return bucket

    def encode(self, endpoint: Endpoint[Any], params: Mapping[str, object]) -> WireRequest:
        return WireRequest(endpoint.method, endpoint.path)

    def sign(self, request: WireRequest, timestamp_ms: int) -> WireRequest:
        return request

    def read(self, endpoint: Endpoint[Any], response: httpx.Response) -> Reply:
        if response.status_code == 503:
            return Reply(error=ServiceUnavailable(503, "busy", self.name, http_status=503))
        return Reply(result=response.json())


@attrs.frozen
class Value:
    value: int


async def test_a_session_with_a_seeded_rng_waits_exactly_the_seeded_backoff() -> None:
    clock = VirtualClock()
    times: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        times.append(clock.monotonic())
        return (
            httpx.Response(503, json={})
            if len(times) <= 2
            else httpx.Response(200, json={"value": 1})
        )

    read = Endpoint("read", "GET", "/read", Value)
    with respx.mock(base_url="https://busy.test") as router:
        router.get("/read").mock(side_effect=answer)
        async with Session(
            BusyTwiceVenue(),
            base_url="https://busy.test",
            clock=clock,
            rng=random.Random(SEED),
            retry=RetryPolicy(backoff=0.5),
        ) as session:
            assert await session.call(read, {}) == Value(1)

    draws = random.Random(SEED)
    first = draws.uniform(0, 0.5)
    assert times == [0.0, first, first + draws.uniform(0, 1.0)]
