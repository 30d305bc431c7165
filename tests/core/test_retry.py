"""When calls are retried, how long they wait, and what stops them.

Rate-limit feedback (a ban, a refusal with or without a reset time, a quota used up),
clock-skew re-synchronisation, attempt and deadline bounds and backoff, through a Session
over the fake venue on respx and the virtual clock: every wait below is virtual time,
measured exactly. (``tests/bybit/test_feedback.py`` checks the same rules through Bybit's
codes and headers.)
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    ClockSkew,
    ConfigurationError,
    InvalidRequest,
    MalformedResponse,
    OrderStatusUnknown,
    Outcome,
    RateLimit,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
    Session,
    TrafficHalted,
    TransportError,
    VirtualClock,
)
from asyncexch._retry import CallState, run_attempts, should_retry
from asyncexch.errors import (
    AuthenticationError,
    BadParameter,
    InsufficientBalance,
    OrderAlreadyExists,
)
from tests.builders.fake_venue import (
    BAN_SECONDS,
    KEYED_ORDER,
    KEYED_PATH,
    ORDER,
    ORDER_PATH,
    RATE_WAIT,
    READ,
    READ_PATH,
    SERVER_MS,
    TIME_PATH,
    TIMESTAMP_HEADER,
    Echo,
    bare,
    fail,
    now_ms,
    ok,
)


class Recorder:
    """A respx side effect that answers from a list and records when each request came."""

    def __init__(self, clock: VirtualClock, answers: list[Callable[[], Any]]) -> None:
        self.clock = clock
        self.answers = answers
        self.times: list[float] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock.monotonic())
        self.requests.append(request)
        index = min(len(self.times), len(self.answers)) - 1
        answer = self.answers[index]()
        if isinstance(answer, type) and issubclass(answer, httpx.RequestError):
            raise answer("mock failure", request=request)
        assert isinstance(answer, httpx.Response)
        return answer

    @property
    def gaps(self) -> list[float]:
        return [
            later - earlier for earlier, later in zip(self.times[:-1], self.times[1:], strict=True)
        ]


def stamped_ok(clock: VirtualClock, value: int = 1) -> Callable[[], httpx.Response]:
    """A success stamped with the venue's clock (which agrees with ours) when it is sent."""
    return lambda: ok({"value": value}, time=now_ms(clock))


# --- a ban: everything stops ----------------------------------------------------------------


async def test_a_ban_halts_every_call_of_the_key_without_sending(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    read = fake_mock.get(READ_PATH).mock(return_value=bare(403, "<html>403 Forbidden</html>"))
    order = fake_mock.post(ORDER_PATH).mock(return_value=ok())
    session = make_session()

    with pytest.raises(TrafficHalted) as info:
        await session.call(READ, {})

    assert read.call_count == 1  # never retried
    assert info.value.http_status == 403
    assert info.value.code == 403
    assert info.value.venue == "fake"
    assert info.value.outcome is Outcome.NOT_PROCESSED
    assert info.value.retry_after == BAN_SECONDS  # the venue's ban, on the virtual clock
    started = clock.monotonic()

    # The same session, on the same and on another endpoint: refused at once, nothing sent.
    with pytest.raises(TrafficHalted) as again:
        await session.call(READ, {})
    with pytest.raises(TrafficHalted):
        await session.call(ORDER, {})
    # A second session of the same key on the same loop shares the halt.
    other = make_session()
    with pytest.raises(TrafficHalted) as other_info:
        await other.call(READ, {})
    with pytest.raises(TrafficHalted):
        await other.call(ORDER, {})

    assert read.call_count == 1
    assert order.call_count == 0
    assert clock.monotonic() == started  # refused without waiting
    assert again.value.retry_after == BAN_SECONDS  # no time passed
    assert other_info.value.retry_after == BAN_SECONDS


async def test_a_ban_lifts_after_retry_after(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.get(READ_PATH).mock(side_effect=[bare(403, "Forbidden"), ok({"value": 5})])
    session = make_session()
    with pytest.raises(TrafficHalted):
        await session.call(READ, {})

    await clock.sleep(300)
    with pytest.raises(TrafficHalted) as info:
        await session.call(READ, {})
    assert info.value.retry_after == 300.0  # ten minutes less the five that passed
    assert route.call_count == 1

    await clock.sleep(301)
    assert await session.call(READ, {}) == Echo(5)
    assert route.call_count == 2


async def test_a_ban_answering_an_order_is_traffic_halted_not_status_unknown(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.post(ORDER_PATH).mock(return_value=bare(403, "Forbidden"))

    with pytest.raises(TrafficHalted) as info:
        await make_session().call(ORDER, {}, request=object())

    assert type(info.value) is TrafficHalted
    assert route.call_count == 1


# --- rate limited: wait until the server's reset time ---------------------------------------


def rate_limited(clock: VirtualClock, delay_ms: int, kind: str) -> Callable[[], httpx.Response]:
    """A rate-limit refusal (the venue's code, or a bare 429) resetting ``delay_ms`` from now,
    stamped with the venue's time."""

    def answer() -> httpx.Response:
        now = now_ms(clock)
        if kind == "code":
            return fail(3, "slow down", time=now, reset=now + delay_ms)
        return bare(429, "Too Many Requests", time=now, reset=now + delay_ms)

    return answer


@pytest.mark.parametrize("kind", ["code", "http-429"])
@pytest.mark.parametrize("delay_ms", [900, 2500])
async def test_rate_limited_retry_waits_until_reset(
    kind: str,
    delay_ms: int,
    clock: VirtualClock,
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
) -> None:
    recorder = Recorder(clock, [rate_limited(clock, delay_ms, kind), stamped_ok(clock, 2)])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    assert await make_session().call(READ, {}) == Echo(2)

    assert len(recorder.times) == 2
    wait = delay_ms / 1000
    assert wait <= recorder.gaps[0] <= wait + 0.05  # the reset, and at most 50 ms of jitter


@pytest.mark.parametrize("kind", ["code", "http-429"])
@pytest.mark.parametrize("delay_ms", [7000, 365 * 86_400_000], ids=["past-the-window", "a-year"])
async def test_a_venue_pause_lasts_the_buckets_window_at_most(
    kind: str,
    delay_ms: int,
    clock: VirtualClock,
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The read endpoint's widest bucket is the IP pool (5 s + a 30 ms guard): a reset time
    further ahead than that window and a second is cut short, and said so."""
    recorder = Recorder(clock, [rate_limited(clock, delay_ms, kind), stamped_ok(clock, 2)])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    assert await make_session().call(READ, {}) == Echo(2)

    assert 6.03 <= recorder.gaps[0] <= 6.03 + 0.05
    assert "the venue asked for a pause of" in caplog.text


@pytest.mark.parametrize(
    "answer",
    [lambda: fail(3, "slow down"), lambda: bare(429, "Too Many Requests")],
    ids=["code", "http-429"],
)
async def test_rate_limited_without_reset_waits_the_venues_default(
    answer: Callable[[], httpx.Response],
    clock: VirtualClock,
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
) -> None:
    recorder = Recorder(clock, [answer, lambda: ok({"value": 2})])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    assert await make_session().call(READ, {}) == Echo(2)

    assert len(recorder.times) == 2
    assert RATE_WAIT <= recorder.gaps[0] <= RATE_WAIT + 0.05  # the error table's rate_wait


async def test_a_reset_without_a_time_stamp_is_measured_on_the_servers_clock(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    """A reset timestamp is server time; without a stamp on the same answer, it is read on
    what the session knows of the server's clock, and the retry still waits until it."""

    def limited() -> httpx.Response:
        return bare(429, "Too Many Requests", reset=now_ms(clock) + 4000)

    recorder = Recorder(clock, [limited, stamped_ok(clock)])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    await make_session().call(READ, {})

    assert len(recorder.times) == 2
    assert 4.0 <= recorder.gaps[0] <= 4.25


@pytest.mark.parametrize("kind", ["code", "http-429"])
async def test_rate_limit_answer_pauses_the_bucket_for_the_next_call(
    kind: str,
    clock: VirtualClock,
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
) -> None:
    """Server feedback pauses the bucket until the reset (DESIGN.md, Limits): a later call of
    the same endpoint does not go out before it, even when the limited call gave up."""
    recorder = Recorder(clock, [rate_limited(clock, 3000, kind), stamped_ok(clock)])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimited):
        await session.call(READ, {})
    await session.call(READ, {})

    assert len(recorder.times) == 2
    assert 3.0 <= recorder.gaps[0] <= 3.25


@pytest.mark.parametrize(
    ("feedback", "paused"),
    [
        ({"left": 0, "reset": 3500}, True),
        ({"left": 0}, False),  # used up, but no time given: nothing to wait for
        ({"left": 7}, False),
    ],
    ids=["reset", "no-reset", "quota-left"],
)
async def test_a_success_with_a_reset_time_pauses_the_bucket(
    feedback: dict[str, int],
    paused: bool,
    clock: VirtualClock,
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
) -> None:
    def last_one() -> httpx.Response:
        now = now_ms(clock)
        reset = now + feedback["reset"] if "reset" in feedback else None
        return ok(time=now, reset=reset, left=feedback["left"], limit=50)

    recorder = Recorder(clock, [last_one, stamped_ok(clock)])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session()

    await session.call(READ, {})
    assert clock.monotonic() == 0.0
    await session.call(READ, {})

    assert len(recorder.times) == 2
    if paused:
        assert 3.5 <= recorder.gaps[0] <= 3.6
    else:
        assert recorder.gaps[0] < 0.01


async def test_an_honest_reset_beside_a_wrong_time_stamp_still_holds(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    """The answer's time is 25 years off; the reset (half a second ahead) is read on our
    clock, not on that stamp."""

    def limited() -> httpx.Response:
        now = now_ms(clock)
        return fail(3, time=now - 25 * 365 * 86_400_000, reset=now + 500)

    recorder = Recorder(clock, [limited, stamped_ok(clock)])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    await make_session().call(READ, {})

    assert 0.5 <= recorder.gaps[0] <= 0.75


# --- clock skew ---------------------------------------------------------------------------


def skewed() -> httpx.Response:
    """A refused timestamp with no server time in it: only a sync can tell the offset."""
    return fail(4, "timestamp outside the window")


def stamps(recorder: Recorder) -> list[int]:
    return [int(request.headers[TIMESTAMP_HEADER]) for request in recorder.requests]


async def test_a_refused_timestamp_resyncs_once_and_retries_with_the_new_offset(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    time_route = fake_mock.get(TIME_PATH).mock(
        side_effect=lambda request: ok(time=now_ms(clock, 8000))
    )
    recorder = Recorder(clock, [skewed, lambda: ok({"value": 2}, time=now_ms(clock, 8000))])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session()

    assert await session.call(READ, {}) == Echo(2)

    assert time_route.call_count == 1
    first, second = stamps(recorder)
    assert first == SERVER_MS  # nothing known yet: our clock
    assert second - first == 8000  # the server's clock, learned exactly on virtual time
    assert session.server_time.offset == 8.0
    assert clock.monotonic() == 0.0  # a clock-window refusal is retried without backoff


async def test_a_second_refused_timestamp_in_the_same_call_raises_clock_skew(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    time_route = fake_mock.get(TIME_PATH).mock(
        side_effect=lambda request: ok(time=now_ms(clock, 8000))
    )
    recorder = Recorder(clock, [skewed])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    with pytest.raises(ClockSkew) as info:
        await make_session().call(READ, {})

    assert info.value.code == 4
    assert info.value.outcome is Outcome.NOT_PROCESSED
    assert len(recorder.requests) == 2
    assert time_route.call_count == 1


async def test_a_refused_timestamp_is_retried_even_when_the_sync_fails(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    fake_mock.get(TIME_PATH).mock(return_value=bare(400, "nope"))
    recorder = Recorder(clock, [skewed, lambda: ok({"value": 2})])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    assert await make_session().call(READ, {}) == Echo(2)
    assert len(recorder.requests) == 2


async def test_a_refused_timestamp_from_the_time_endpoint_itself_never_deadlocks(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    """The re-sync's own call is refused for its timestamp: it is not re-synced again (that
    would wait for the lock the re-sync holds), and a later refusal still gets its re-sync."""
    time_route = fake_mock.get(TIME_PATH).mock(return_value=skewed())
    recorder = Recorder(clock, [skewed, lambda: ok({"value": 2}), skewed])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session()

    first = await asyncio.wait_for(session.call(READ, {}), timeout=10)  # real s: a hang fails
    with pytest.raises(ClockSkew):
        await asyncio.wait_for(session.call(READ, {}), timeout=10)

    assert first == Echo(2)
    assert time_route.call_count >= 2  # each call's refusal asked for the time again


async def test_concurrent_refused_timestamps_share_one_sync(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    """A server 8 s ahead with a 5 s window: the calls' first attempts are refused together
    (they are held until all arrived), then one sync serves them all."""
    calls = 3
    arrived = 0
    all_arrived = asyncio.Event()
    seen: list[int] = []

    def server_now() -> int:
        return now_ms(clock, 8000)

    async def server(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        stamp = int(request.headers[TIMESTAMP_HEADER])
        seen.append(stamp)
        arrived += 1
        if arrived <= calls:
            if arrived == calls:
                all_arrived.set()
            await all_arrived.wait()
        now = server_now()
        if not now - 5000 <= stamp < now + 1000:
            return fail(4, "timestamp outside the window", time=now)
        return ok({"value": 2}, time=now)

    time_route = fake_mock.get(TIME_PATH).mock(side_effect=lambda request: ok(time=server_now()))
    fake_mock.get(READ_PATH).mock(side_effect=server)
    session = make_session()

    results = await asyncio.gather(*(session.call(READ, {}) for _ in range(calls)))

    assert results == [Echo(2)] * calls
    assert time_route.call_count == 1
    assert len(seen) == 2 * calls
    assert all(stamp == SERVER_MS for stamp in seen[:calls])
    assert all(stamp >= SERVER_MS + 7900 for stamp in seen[calls:])


# --- attempts, deadline, backoff -------------------------------------------------------------


async def test_max_attempts_bounds_the_requests_and_raises_the_last_error(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    recorder = Recorder(
        clock,
        [
            lambda: fail(1, "restarting"),
            lambda: bare(502, "bad gateway"),
            lambda: bare(503, "unavailable"),
            lambda: ok(),
        ],
    )
    fake_mock.get(READ_PATH).mock(side_effect=recorder)

    with pytest.raises(ServiceUnavailable) as info:
        await make_session(retry=RetryPolicy(max_attempts=3)).call(READ, {})

    assert len(recorder.times) == 3
    assert info.value.code == 503


async def test_max_attempts_bounds_transport_failures(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.get(READ_PATH).mock(side_effect=httpx.ConnectError)

    with pytest.raises(TransportError) as info:
        await make_session(retry=RetryPolicy(max_attempts=4)).call(READ, {})

    assert route.call_count == 4
    assert info.value.outcome is Outcome.NOT_PROCESSED


async def test_max_attempts_one_turns_retries_off(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.get(READ_PATH).mock(side_effect=[fail(3), ok()])

    with pytest.raises(RateLimited):
        await make_session(retry=RetryPolicy(max_attempts=1)).call(READ, {})
    assert route.call_count == 1


async def test_deadline_bounds_rate_limit_retries(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    recorder = Recorder(clock, [rate_limited(clock, 2000, "code")])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session(retry=RetryPolicy(max_attempts=100, deadline=5.0))

    with pytest.raises(RateLimited):
        await session.call(READ, {})

    # attempts at ~0, ~2, ~4; a fourth at ~6 would pass the deadline, so none starts
    assert len(recorder.times) == 3
    assert all(at - recorder.times[0] <= 5.0 for at in recorder.times)
    assert clock.monotonic() <= 5.0  # gave up without sleeping past the deadline
    assert all(2.0 <= gap <= 2.2 for gap in recorder.gaps)


async def test_deadline_bounds_backoff_retries(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    recorder = Recorder(clock, [lambda: fail(1, "restarting")])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session(
        retry=RetryPolicy(max_attempts=1000, deadline=3.0, backoff=1.0, max_backoff=1.0)
    )

    with pytest.raises(ServiceUnavailable):
        await session.call(READ, {})

    assert len(recorder.times) >= 4  # waits are at most 1 s: at least 3 retries fit in 3 s
    assert recorder.times[-1] - recorder.times[0] <= 3.0
    assert clock.monotonic() <= 3.0


async def test_retry_of_an_order_is_never_sent_after_the_deadline(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    """The deadline holds when the retry is *sent*, not only before its backoff.

    A retry re-queues at the back of the rate-limit queue; behind a long batch it would leave
    far after ``deadline``, and a retry sent after the venue forgot the order's client id
    (venues remember it for 30 minutes) creates a second order.
    """
    session = make_session(
        limits={"order": RateLimit(1, per=1.0)}, retry=RetryPolicy(max_attempts=5, deadline=5.0)
    )
    requests = [object() for _ in range(20)]
    sent_at: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        n = json.loads(request.content)["n"]
        if n == 0:
            sent_at.append(clock.monotonic())
            if len(sent_at) == 1:
                raise httpx.ReadTimeout("answer lost", request=request)
        return ok({"value": n})

    fake_mock.post(KEYED_PATH).mock(side_effect=venue)
    results = await asyncio.gather(
        *(session.call(KEYED_ORDER, {"n": n}, request=requests[n]) for n in range(20)),
        return_exceptions=True,
    )

    # Its retry would have left at ~20 s, behind the other 19 orders: it never leaves, and the
    # order ends unknown (it may have been placed) instead of being sent too late.
    assert sent_at == [0.0]
    first_result = results[0]
    assert type(first_result) is OrderStatusUnknown
    assert first_result.request is requests[0]
    assert type(first_result.__cause__) is TransportError
    assert results[1:] == [Echo(n) for n in range(1, 20)]


async def test_backoff_waits_are_positive_and_capped(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    recorder = Recorder(clock, [lambda: fail(1, "restarting")])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session(
        retry=RetryPolicy(max_attempts=7, deadline=1000.0, backoff=0.5, max_backoff=2.0)
    )

    with pytest.raises(ServiceUnavailable):
        await session.call(READ, {})

    assert len(recorder.times) == 7
    caps = [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]  # doubling from `backoff`, capped at `max_backoff`
    for gap, cap in zip(recorder.gaps, caps, strict=True):
        assert 0.0 < gap <= cap + 1e-9
    assert clock.monotonic() <= sum(caps)


async def test_backoff_is_jittered(
    clock: VirtualClock, make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    recorder = Recorder(clock, [lambda: fail(1, "restarting")])
    fake_mock.get(READ_PATH).mock(side_effect=recorder)
    session = make_session(
        retry=RetryPolicy(max_attempts=12, deadline=1000.0, backoff=1.0, max_backoff=1.0)
    )

    with pytest.raises(ServiceUnavailable):
        await session.call(READ, {})

    # eleven waits drawn from (0, 1]: they are not all the same value
    assert len({round(gap, 9) for gap in recorder.gaps}) > 1


# --- non-idempotent requests ------------------------------------------------------------------


async def test_unknown_outcome_of_non_idempotent_request_is_not_retried(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.post(ORDER_PATH).mock(
        side_effect=[httpx.ReadTimeout("timed out"), ok({"value": 1})]
    )
    request = object()

    with pytest.raises(OrderStatusUnknown) as info:
        await make_session().call(ORDER, {"x": 1}, request=request)

    assert route.call_count == 1
    assert info.value.request is request
    assert isinstance(info.value.__cause__, TransportError)


async def test_not_processed_non_idempotent_request_is_retried(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.post(ORDER_PATH).mock(
        side_effect=[fail(3), httpx.ConnectError("refused"), ok({"value": 1})]
    )

    assert await make_session().call(ORDER, {"x": 1}) == Echo(1)
    assert route.call_count == 3


# --- the retry rule itself -------------------------------------------------------------------


def api(cls: type[Any], code: int = 1) -> Any:
    return cls(code, "m", "bybit")


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (api(RateLimited), False, True),
        (api(ServiceUnavailable), True, True),
        (api(ServiceUnavailable), False, False),
        (TransportError("t", outcome=Outcome.UNKNOWN), True, True),
        (TransportError("t", outcome=Outcome.UNKNOWN), False, False),
        (TransportError("t", outcome=Outcome.NOT_PROCESSED), False, True),
        (MalformedResponse("m"), True, True),
        (MalformedResponse("m"), False, False),
        (api(BadParameter), True, False),
        (api(AuthenticationError), True, False),
        (api(InsufficientBalance), True, False),
        (api(OrderAlreadyExists), True, False),
        (TrafficHalted(403, "m", "bybit", retry_after=600.0), True, False),
        (InvalidRequest("amount", "bad"), True, False),
        (ConfigurationError("bad"), True, False),
        (ValueError("not ours"), True, False),
        (asyncio.CancelledError(), True, False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_should_retry_follows_the_outcome(
    error: BaseException, idempotent: bool, expected: bool
) -> None:
    assert should_retry(error, CallState(idempotent=idempotent)) is expected


def test_clock_skew_is_retried_once() -> None:
    error = api(ClockSkew, 10002)
    assert should_retry(error, CallState(idempotent=False, clock_resyncs=1)) is True
    assert should_retry(error, CallState(idempotent=True, clock_resyncs=2)) is False


def test_retry_policy_validates_and_defaults_below_dedupe_window() -> None:
    with pytest.raises(ValueError, match=r"^max_attempts must be an integer >= 1, got 0$"):
        RetryPolicy(max_attempts=0)
    policy = RetryPolicy()
    assert policy == RetryPolicy(max_attempts=5, deadline=60.0, backoff=0.25, max_backoff=8.0)
    assert policy.deadline < 30 * 60  # venues remember orderLinkIds for 30 minutes


def test_retry_policy_refuses_a_deadline_beyond_the_dedupe_window() -> None:
    """Retries are bounded by a deadline shorter than the venue's 30-minute dedupe window."""
    with pytest.raises(ValueError, match=r"^deadline must be in \(0, 1500\] seconds, got 2700$"):
        RetryPolicy(deadline=45 * 60)


# --- the retry driver itself ------------------------------------------------------------------


def _scripted(results: list[BaseException | str]) -> tuple[Callable[[], Any], list[int]]:
    """An attempt that raises or returns the next scripted result; counts its runs."""
    runs: list[int] = []

    async def attempt() -> str:
        runs.append(len(runs) + 1)
        result = results[len(runs) - 1]
        if isinstance(result, BaseException):
            raise result
        return result

    return attempt, runs


async def run_scripted(
    attempt: Callable[[], Any], policy: RetryPolicy, clock: VirtualClock, state: CallState
) -> Any:
    """What Session.call does: the attempts through the retry loop."""
    return await run_attempts(attempt, policy, clock, state, random.Random(1))


async def test_each_failure_is_one_run_and_the_retries_wait_within_their_caps() -> None:
    clock = VirtualClock()
    busy = ServiceUnavailable(10016, "restarting", "bybit")
    attempt, runs = _scripted([busy, busy, "answer"])

    result = await run_scripted(
        attempt, RetryPolicy(backoff=1.0), clock, CallState(idempotent=True)
    )

    # three runs, two backoff waits within their caps
    assert (result, runs) == ("answer", [1, 2, 3])
    assert 0 < clock.monotonic() <= 1.0 + 2.0


async def test_the_first_failure_counts_as_attempt_one_of_max_attempts() -> None:
    busy = ServiceUnavailable(10016, "restarting", "bybit")
    attempt, runs = _scripted([busy, busy, busy, "never reached"])

    with pytest.raises(ServiceUnavailable):
        await run_scripted(
            attempt, RetryPolicy(max_attempts=3), VirtualClock(), CallState(idempotent=True)
        )

    assert runs == [1, 2, 3]


@pytest.mark.parametrize("max_attempts", [1, 5])
async def test_a_failure_that_may_not_be_retried_is_raised_after_one_run(max_attempts: int) -> None:
    unknown = TransportError("read timed out", outcome=Outcome.UNKNOWN)
    attempt, runs = _scripted([unknown, "never reached"])

    with pytest.raises(TransportError) as info:
        await run_scripted(
            attempt,
            RetryPolicy(max_attempts=max_attempts),
            VirtualClock(),
            CallState(idempotent=False),
        )

    assert info.value is unknown
    assert runs == [1]
