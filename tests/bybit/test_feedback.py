"""What Bybit's answers tell the session, through a real BybitClient on respx and the virtual
clock: an HTTP 403 halts every bucket of the key for Bybit's ten minutes; 10006 and HTTP 429
wait until the reset time of the ``X-Bapi-Limit-*`` headers (read on ``Timenow`` or the
envelope's ``time``); ``X-Bapi-Limit-Status: 0`` pauses the bucket; a 10002 re-learns the
clock from ``/v5/market/time`` and re-signs ``X-BAPI-TIMESTAMP``; ``limits_state()`` reports
the quota of ``X-Bapi-Limit`` and ``X-Bapi-Limit-Status``.

The rules these rest on (pauses, halts, one re-sync per call) are the session's, tested over
the fake venue in ``tests/core/test_retry.py`` and ``tests/core/test_limits_state.py``; here
they are checked through Bybit's codes and headers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    BucketState,
    ClockSkew,
    Outcome,
    RateLimited,
    RetryPolicy,
    TrafficHalted,
    VirtualClock,
)
from asyncexch.bybit import BybitClient, StakeOrder
from tests.builders.bybit import PLACE, POSITION, QUOTE, SERVER_MS, TIME, fail, ok, stake_order

QUOTE_RESULT: dict[str, Any] = {"category": "SmartLeverage", "productId": "P1", "currentPrice": "1"}
EMPTY_PAGE: dict[str, Any] = {"category": "SmartLeverage", "nextPageCursor": "", "list": []}


def server_ms(clock: VirtualClock, ahead_ms: int = 0) -> int:
    return round(clock.time() * 1000) + ahead_ms


def time_answer(ms: int) -> httpx.Response:
    return ok({"timeSecond": str(ms // 1000), "timeNano": str(ms * 10**6)}, time=ms)


def limit_headers(status: int, reset_ms: int, *, now_ms: int | None = None) -> dict[str, str]:
    headers = {
        "X-Bapi-Limit": "50",
        "X-Bapi-Limit-Status": str(status),
        "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
    }
    if now_ms is not None:
        headers["Timenow"] = str(now_ms)
    return headers


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


async def positions(client: BybitClient) -> list[Any]:
    return [position async for position in client.advance_earn.positions()]


# --- HTTP 403: everything stops --------------------------------------------------------------


async def test_http_403_halts_every_call_of_the_key_without_sending(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    quote = bybit_mock.get(QUOTE).mock(
        return_value=httpx.Response(403, text="<html>403 Forbidden</html>")
    )
    position = bybit_mock.get(POSITION).mock(return_value=ok(EMPTY_PAGE))
    client = make_client()

    with pytest.raises(TrafficHalted) as info:
        await client.advance_earn.quote("P1")

    assert quote.call_count == 1  # never retried
    assert info.value.http_status == 403
    assert info.value.code == 403
    assert info.value.venue == "bybit"
    assert info.value.outcome is Outcome.NOT_PROCESSED
    assert info.value.retry_after == 600.0  # Bybit's ten-minute IP ban, on the virtual clock
    started = clock.monotonic()

    # The same client, on the same and on another endpoint: refused at once, nothing sent.
    with pytest.raises(TrafficHalted) as again:
        await client.advance_earn.quote("P1")
    with pytest.raises(TrafficHalted):
        await positions(client)
    # A second client of the same key on the same loop shares the halt.
    other = make_client()
    with pytest.raises(TrafficHalted) as other_info:
        await other.advance_earn.quote("P1")
    with pytest.raises(TrafficHalted):
        await positions(other)

    assert quote.call_count == 1
    assert position.call_count == 0
    assert clock.monotonic() == started  # refused without waiting
    assert again.value.retry_after == 600.0  # no time passed
    assert other_info.value.retry_after == 600.0


async def test_http_403_halt_lifts_after_retry_after(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.get(QUOTE).mock(
        side_effect=[httpx.Response(403, text="Forbidden"), ok(QUOTE_RESULT)]
    )
    client = make_client()
    with pytest.raises(TrafficHalted):
        await client.advance_earn.quote("P1")

    await clock.sleep(300)
    with pytest.raises(TrafficHalted) as info:
        await client.advance_earn.quote("P1")
    assert info.value.retry_after == 300.0  # ten minutes less the five that passed
    assert route.call_count == 1

    await clock.sleep(301)
    quote = await client.advance_earn.quote("P1")
    assert quote.product_id == "P1"
    assert route.call_count == 2


async def test_http_403_on_place_order_is_traffic_halted_not_status_unknown(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post("/v5/earn/advance/place-order").mock(
        return_value=httpx.Response(403, text="Forbidden")
    )
    client = make_client()
    order = StakeOrder(
        product_id="P1",
        coin="USDT",
        amount=Decimal("10"),
        initial_price=Decimal("1"),
        breakeven_price=Decimal("1"),
    )

    with pytest.raises(TrafficHalted):
        await client.advance_earn.place_order(order)
    assert route.call_count == 1


# --- 10006 / HTTP 429: wait until the server's reset time ------------------------------------


def rate_limited_10006(clock: VirtualClock, delay_ms: int) -> Callable[[], httpx.Response]:
    def answer() -> httpx.Response:
        now = server_ms(clock)
        return fail(10006, "Too many visits!", time=now, headers=limit_headers(0, now + delay_ms))

    return answer


def rate_limited_429(clock: VirtualClock, delay_ms: int) -> Callable[[], httpx.Response]:
    def answer() -> httpx.Response:
        now = server_ms(clock)
        return httpx.Response(
            429, text="Too Many Requests", headers=limit_headers(0, now + delay_ms, now_ms=now)
        )

    return answer


@pytest.mark.parametrize("kind", ["10006", "http-429"])
@pytest.mark.parametrize("delay_ms", [900, 2500])
async def test_rate_limited_retry_waits_until_reset(
    kind: str,
    delay_ms: int,
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    limited = (rate_limited_10006 if kind == "10006" else rate_limited_429)(clock, delay_ms)
    recorder = Recorder(clock, [limited, lambda: ok(QUOTE_RESULT, time=server_ms(clock))])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client()

    quote = await client.advance_earn.quote("P1")

    assert quote.product_id == "P1"
    assert len(recorder.times) == 2
    wait = delay_ms / 1000
    assert wait <= recorder.gaps[0] <= wait + 0.25


@pytest.mark.parametrize("kind", ["10006", "http-429"])
@pytest.mark.parametrize("delay_ms", [7000, 365 * 86_400_000], ids=["past-the-window", "a-year"])
async def test_a_venue_pause_lasts_the_buckets_window_at_most(
    kind: str,
    delay_ms: int,
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The quote endpoint's widest bucket is the IP pool (5 s + a 30 ms guard): a reset time
    further ahead than that window and a second is cut short, and said so."""
    limited = (rate_limited_10006 if kind == "10006" else rate_limited_429)(clock, delay_ms)
    recorder = Recorder(clock, [limited, lambda: ok(QUOTE_RESULT, time=server_ms(clock))])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client()

    quote = await client.advance_earn.quote("P1")

    assert quote.product_id == "P1"
    assert 6.03 <= recorder.gaps[0] <= 6.03 + 0.25
    assert "the venue asked for a pause of" in caplog.text


@pytest.mark.parametrize(
    "answer",
    [
        lambda: fail(10006, "Too many visits!"),
        lambda: httpx.Response(429, text="Too Many Requests"),
        lambda: fail(10006, headers={"X-Bapi-Limit-Reset-Timestamp": "soon", "Timenow": "x"}),
        lambda: httpx.Response(429, headers={"X-Bapi-Limit-Reset-Timestamp": "-5"}),
    ],
    ids=["10006-no-headers", "429-no-headers", "10006-garbage-headers", "429-garbage-headers"],
)
async def test_rate_limited_without_reset_uses_a_default_wait(
    answer: Callable[[], httpx.Response],
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    recorder = Recorder(clock, [answer, lambda: ok(QUOTE_RESULT)])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client()

    quote = await client.advance_earn.quote("P1")

    assert quote.product_id == "P1"
    assert len(recorder.times) == 2
    assert 0.2 <= recorder.gaps[0] <= 3.0


async def test_http_429_reset_without_timenow_is_measured_on_the_servers_clock(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """A reset timestamp is server time; the client knows the server's clock from earlier
    answers, so a 429 that lacks a ``Timenow`` header must still wait until the reset."""

    def limited() -> httpx.Response:
        reset = server_ms(clock) + 4000
        return httpx.Response(429, text="Too Many Requests", headers=limit_headers(0, reset))

    recorder = Recorder(clock, [limited, lambda: ok(QUOTE_RESULT, time=server_ms(clock))])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client()

    await client.advance_earn.quote("P1")

    assert len(recorder.times) == 2
    assert 4.0 <= recorder.gaps[0] <= 4.25


@pytest.mark.parametrize("kind", ["10006", "http-429"])
async def test_rate_limit_answer_pauses_the_bucket_for_the_next_call(
    kind: str,
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """Server feedback pauses the bucket until the reset (DESIGN.md, Limits): a later call of
    the same endpoint does not go out before it, even when the limited call gave up."""
    limited = (rate_limited_10006 if kind == "10006" else rate_limited_429)(clock, 3000)
    recorder = Recorder(clock, [limited, lambda: ok(QUOTE_RESULT, time=server_ms(clock))])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimited):
        await client.advance_earn.quote("P1")
    await client.advance_earn.quote("P1")

    assert len(recorder.times) == 2
    assert 3.0 <= recorder.gaps[0] <= 3.25


@pytest.mark.parametrize(("status", "paused"), [(0, True), (1, False), (37, False)])
async def test_limit_status_zero_on_success_pauses_the_bucket(
    status: int,
    paused: bool,
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    def last_one() -> httpx.Response:
        now = server_ms(clock)
        return ok(QUOTE_RESULT, time=now, headers=limit_headers(status, now + 3500))

    recorder = Recorder(clock, [last_one, lambda: ok(QUOTE_RESULT, time=server_ms(clock))])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client()

    await client.advance_earn.quote("P1")
    assert clock.monotonic() == 0.0
    await client.advance_earn.quote("P1")

    assert len(recorder.times) == 2
    if paused:
        assert 3.5 <= recorder.gaps[0] <= 3.6
    else:
        assert recorder.gaps[0] < 0.01


# --- clock skew (10002) ----------------------------------------------------------------------


def skew_envelope() -> httpx.Response:
    """A 10002 with no server time in it: only a sync can tell the client the offset."""
    body = {
        "retCode": 10002,
        "retMsg": "invalid request, please check your server timestamp or recv_window param",
        "result": {},
        "retExtInfo": {},
    }
    return httpx.Response(200, content=json.dumps(body).encode())


async def test_10002_resyncs_once_and_retries_with_the_new_offset(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    time_route = bybit_mock.get(TIME).mock(
        side_effect=lambda request: time_answer(server_ms(clock, 8000))
    )
    recorder = Recorder(clock, [skew_envelope, lambda: ok(EMPTY_PAGE, time=server_ms(clock, 8000))])
    bybit_mock.get(POSITION).mock(side_effect=recorder)
    client = make_client()

    assert await positions(client) == []

    assert time_route.call_count == 1
    assert len(recorder.requests) == 2
    first, second = (int(r.headers["X-BAPI-TIMESTAMP"]) for r in recorder.requests)
    assert first == SERVER_MS  # nothing known yet: our clock
    assert second - first == 8000  # the server's clock, learned exactly on virtual time
    assert client.session.server_time.offset == 8.0
    assert clock.monotonic() == 0.0  # a clock-window refusal is retried without backoff


async def test_second_10002_in_the_same_call_raises_clock_skew(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    time_route = bybit_mock.get(TIME).mock(
        side_effect=lambda request: time_answer(server_ms(clock, 8000))
    )
    recorder = Recorder(clock, [skew_envelope])
    bybit_mock.get(POSITION).mock(side_effect=recorder)
    client = make_client()

    with pytest.raises(ClockSkew) as info:
        await positions(client)

    assert info.value.code == 10002
    assert info.value.outcome is Outcome.NOT_PROCESSED
    assert len(recorder.requests) == 2
    assert time_route.call_count == 1


async def test_10002_retried_even_when_the_sync_fails(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    bybit_mock.get(TIME).mock(return_value=httpx.Response(400, text="nope"))
    recorder = Recorder(clock, [skew_envelope, lambda: ok(EMPTY_PAGE)])
    bybit_mock.get(POSITION).mock(side_effect=recorder)
    client = make_client()

    assert await positions(client) == []
    assert len(recorder.requests) == 2


async def test_a_10002_from_the_time_endpoint_itself_never_deadlocks(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """The re-sync's own call is refused with 10002: it is not re-synced again (that would
    wait for the lock the re-sync holds), and a later 10002 still gets its re-sync."""
    time_route = bybit_mock.get(TIME).mock(
        return_value=fail(10002, "invalid request, please check your server timestamp")
    )
    recorder = Recorder(clock, [skew_envelope, lambda: ok(EMPTY_PAGE), skew_envelope])
    bybit_mock.get(POSITION).mock(side_effect=recorder)
    client = make_client()

    first = await asyncio.wait_for(positions(client), timeout=10)  # real seconds: a hang fails
    with pytest.raises(ClockSkew):
        await asyncio.wait_for(positions(client), timeout=10)

    assert first == []
    assert time_route.call_count >= 2  # each call's 10002 asked for the time again


async def test_concurrent_10002_share_one_sync(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """A server 8 s ahead with a 5 s window: both calls' first attempts are refused together
    (they are held until both arrived), then one sync serves them both."""
    calls = 3
    arrived = 0
    all_arrived = asyncio.Event()
    stamps: list[int] = []

    def server_now() -> int:
        return server_ms(clock, 8000)

    async def server(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        stamp = int(request.headers["X-BAPI-TIMESTAMP"])
        stamps.append(stamp)
        arrived += 1
        if arrived <= calls:
            if arrived == calls:
                all_arrived.set()
            await all_arrived.wait()
        now = server_now()
        if not now - 5000 <= stamp < now + 1000:
            return fail(10002, "invalid request, please check your server timestamp", time=now)
        return ok(EMPTY_PAGE, time=now)

    time_route = bybit_mock.get(TIME).mock(side_effect=lambda request: time_answer(server_now()))
    bybit_mock.get(POSITION).mock(side_effect=server)
    client = make_client()

    results = await asyncio.gather(*(positions(client) for _ in range(calls)))

    assert results == [[]] * calls
    assert time_route.call_count == 1
    assert len(stamps) == 2 * calls
    assert all(stamp == SERVER_MS for stamp in stamps[:calls])
    assert all(stamp >= SERVER_MS + 7900 for stamp in stamps[calls:])


async def test_an_honest_reset_beside_a_wrong_time_stamp_still_holds(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """The envelope's time is 25 years off; the reset (half a second ahead) is read on our
    clock, not on that stamp."""

    def limited() -> httpx.Response:
        now = server_ms(clock)
        wrong = now - 25 * 365 * 86_400_000
        return fail(10006, time=wrong, headers=limit_headers(0, now + 500, now_ms=wrong))

    recorder = Recorder(clock, [limited, lambda: ok(QUOTE_RESULT, time=server_ms(clock))])
    bybit_mock.get(QUOTE).mock(side_effect=recorder)
    client = make_client()

    await client.advance_earn.quote("P1")

    assert 0.5 <= recorder.gaps[0] <= 0.75


# --- limits_state(): the quota Bybit reports, a pause and a halt --------------------------------


def by_name(states: list[BucketState]) -> dict[str, BucketState]:
    return {state.name: state for state in states}


async def test_every_bucket_with_its_window_and_the_venues_own_count(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    quota = {"X-Bapi-Limit": "5", "X-Bapi-Limit-Status": "2"}

    def acknowledge(request: httpx.Request) -> httpx.Response:
        link = json.loads(request.content)["orderLinkId"]
        return ok({"orderId": "1", "orderLinkId": link}, headers=quota)

    bybit_mock.post(PLACE).mock(side_effect=acknowledge)
    client = make_client()
    before = by_name(await client.limits_state())
    for n in range(3):
        await client.advance_earn.place_order(stake_order(amount=Decimal(100 + n)))

    states = by_name(await client.limits_state())

    assert set(states) == {
        "place_order",
        "order",
        "position",
        "redeem_estimate",
        "product",
        "quote",
        "double_win_leverage",
        "ip",
        "earn_place_order",
        "earn_order",
        "earn_position",
        "earn_product",
        "lm_product",
        "lm_add_liquidity",
        "lm_remove_liquidity",
        "lm_reinvest",
        "lm_add_margin",
        "lm_claim_interest",
        "lm_order",
        "lm_position",
        "lm_yield_records",
        "lm_liquidation_records",
    }
    assert (states["double_win_leverage"].limit, states["double_win_leverage"].per) == (1, 1.0)
    assert before["place_order"].in_window == 0 and before["place_order"].venue_left is None
    place = states["place_order"]
    assert (place.limit, place.per, place.in_window, place.waiting) == (5, 1.0, 3, 0)
    assert (place.venue_left, place.venue_limit) == (2, 5)
    assert place.venue_seen_at == clock_now(clock)  # nothing waited: all on one instant
    assert place.paused_until is None and place.halted_until is None
    assert states["ip"].in_window == 3 and states["ip"].venue_left is None
    clock.advance(1.5)
    assert by_name(await client.limits_state())["place_order"].in_window == 0


async def test_a_pause_and_a_halt_show_until_when(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    reset = {"X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(SERVER_MS + 800)}
    bybit_mock.post(PLACE).mock(return_value=fail(10006, "Too many visits!", headers=reset))
    bybit_mock.get("/v5/earn/advance/product").mock(
        return_value=httpx.Response(403, text="access too frequent")
    )
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimited):
        await client.advance_earn.place_order(stake_order())
    paused = by_name(await client.limits_state())["place_order"]
    with pytest.raises(TrafficHalted):
        await client.advance_earn.products()
    halted = by_name(await client.limits_state())

    assert paused.venue_left == 0
    assert paused.paused_until == clock_now(clock) + timedelta(seconds=0.8)  # the reset time
    for state in halted.values():
        assert state.halted_until == clock_now(clock) + timedelta(minutes=10)
        assert state.halt_reason == (
            "IP rate limit exceeded (600 requests per 5 s) or access from a blocked region: "
            "'access too frequent'"
        )


def clock_now(clock: VirtualClock) -> datetime:
    return datetime.fromtimestamp(clock.time(), timezone.utc)
