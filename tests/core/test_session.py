"""Session options that are not venue-specific."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
import respx

from asyncexch import (
    ConfigurationError,
    MalformedResponse,
    Outcome,
    RateLimit,
    RetryPolicy,
    VirtualClock,
)
from asyncexch._session import UNPACED_IN_FLIGHT
from asyncexch._venue import WireRequest
from asyncexch.bybit import BybitClient, OrderAck
from tests.builders.bybit import ok, stake_order


async def test_max_in_flight_caps_requests_between_capacity_and_answer(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await clock.sleep(0.5)
        in_flight -= 1
        return ok({"orderId": "o", "orderLinkId": json.loads(request.content)["orderLinkId"]})

    bybit_mock.post("/v5/earn/advance/place-order").mock(side_effect=slow)
    client = make_client(limits={"place_order": RateLimit(50)}, max_in_flight=2)
    results = await client.advance_earn.place_orders([stake_order() for _ in range(8)])
    assert all(isinstance(result, OrderAck) for result in results)
    assert most == 2
    assert clock.monotonic() == pytest.approx(2.0)  # 4 rounds of 2, 0.5 s each


async def test_without_a_cap_the_same_batch_runs_all_at_once(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await clock.sleep(0.5)
        in_flight -= 1
        return ok({"orderId": "o", "orderLinkId": json.loads(request.content)["orderLinkId"]})

    bybit_mock.post("/v5/earn/advance/place-order").mock(side_effect=slow)
    client = make_client(limits={"place_order": RateLimit(50)})
    await client.advance_earn.place_orders([stake_order() for _ in range(8)])
    assert most == 8


@pytest.mark.parametrize("value", [0, -1])
def test_max_in_flight_must_be_positive(value: int) -> None:
    with pytest.raises(ConfigurationError):
        BybitClient("k", "s", max_in_flight=value)


async def test_a_closed_client_refuses_calls_without_sending(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    client = make_client()
    await client.aclose()
    with pytest.raises(ConfigurationError):
        await client.advance_earn.quote("13015")
    assert bybit_mock.calls.call_count == 0


def test_with_headers_keeps_every_other_field_of_the_request() -> None:
    # with_headers builds the request field by field (cheaper than attrs.evolve): a field
    # added to WireRequest and forgotten there would be dropped from every signed request.
    values: dict[str, object] = {
        "method": "POST",
        "path": "/p",
        "query": "a=1",
        "body": b"{}",
        "headers": (("A", "1"),),
        "fields": (("k", "v"),),
    }
    assert {field.name for field in attrs.fields(WireRequest)} == set(values)
    request = WireRequest(**values)  # type: ignore[arg-type]
    signed = request.with_headers(("B", "2"))
    assert signed == attrs.evolve(request, headers=(("A", "1"), ("B", "2")))


# --- bounds a caller or a venue cannot remove -------------------------------------------------


async def test_unpaced_clients_keep_a_cap_on_requests_in_flight(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """With pacing off, thousands of calls at once would make httpx's pool quadratic."""
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await clock.sleep(0.1)
        in_flight -= 1
        return ok({"orderId": "o", "orderLinkId": json.loads(request.content)["orderLinkId"]})

    bybit_mock.post("/v5/earn/advance/place-order").mock(side_effect=slow)
    client = make_client(limits=False)
    results = await client.advance_earn.place_orders([stake_order() for _ in range(600)])

    assert all(isinstance(result, OrderAck) for result in results)
    assert most == UNPACED_IN_FLIGHT


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": math.nan},
        {"timeout": math.inf},
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": "10"},
        {"max_in_flight": 0},
        {"max_in_flight": 2.5},
        {"max_body": 10},
    ],
    ids=repr,
)
def test_session_options_must_be_sane(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        BybitClient(**options)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: RateLimit(5, per=math.inf), ValueError),
        (lambda: RateLimit(5, per=math.nan), ValueError),
        (lambda: RateLimit(5, guard=math.inf), ValueError),
        (lambda: RetryPolicy(backoff=math.nan), ValueError),
        (lambda: RetryPolicy(max_backoff=math.inf), ValueError),
        (lambda: RetryPolicy(deadline=math.nan), ValueError),
        (lambda: RetryPolicy(max_attempts=2.0), ValueError),  # type: ignore[arg-type]
    ],
)
def test_limits_and_policies_refuse_non_finite_numbers(
    build: Callable[[], object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        build()


async def test_a_redirect_following_http_client_is_refused() -> None:
    """A signed order must never be replayed to another host."""
    async with httpx.AsyncClient(follow_redirects=True) as http:
        with pytest.raises(ConfigurationError, match="redirects"):
            BybitClient(http_client=http)


async def test_an_answer_larger_than_max_body_is_malformed_and_of_unknown_outcome(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get("/v5/earn/advance/product").mock(
        return_value=httpx.Response(200, content=b"[" + b" " * 5_000_000 + b"]")
    )
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(MalformedResponse, match="larger than 4194304 bytes") as caught:
        await client.advance_earn.products()

    assert caught.value.outcome is Outcome.UNKNOWN
    assert route.call_count == 1


async def test_max_body_is_configurable(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(
        return_value=ok({"category": "SmartLeverage", "list": [], "pad": "x" * 3000})
    )
    small = make_client(max_body=2048, retry=RetryPolicy(max_attempts=1))

    with pytest.raises(MalformedResponse, match="larger than 2048"):
        await small.advance_earn.products()
    assert await make_client().advance_earn.products() == []


# --- a request written to the wire keeps its slot until its guard has passed ---------------------


class _SlowWire(httpx.AsyncBaseTransport):
    """The first five requests reach the venue 25 ms (virtual) after they were handed over,
    later ones in 1 ms (within the 30 ms guard either way); no answer ever comes back.
    ``arrivals`` holds the virtual times at which requests arrived."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.arrivals: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Written now: the network delivers it, whatever the client does meanwhile.
        delay = 0.025 if len(self.arrivals) < 5 else 0.001
        self.arrivals.append(self.clock.monotonic() + delay)
        await self.clock.sleep(3600)
        raise AssertionError("the test cancels long before")


async def test_a_cancelled_request_keeps_its_slot_until_send_plus_guard(
    clock: VirtualClock,
) -> None:
    """Five orders at 5/s are written, then the batch is cancelled 5 ms later, before they
    arrive: their slots stay at send + 30 ms (not the cancellation's 5 ms), so the next five
    go no sooner than that plus a second, and no rolling second at the venue sees more
    than five."""
    wire = _SlowWire(clock)
    async with BybitClient(
        "k", "s", base_url="http://venue.test", clock=clock, transport=wire
    ) as client:
        first = asyncio.ensure_future(  # noqa: RUF006 (awaited below)
            client.advance_earn.place_orders([stake_order() for _ in range(5)])
        )
        await clock.sleep(0.005)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        second = asyncio.ensure_future(  # noqa: RUF006 (awaited below)
            client.advance_earn.place_orders([stake_order() for _ in range(5)])
        )
        await clock.sleep(2.0)
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)

    arrivals = sorted(wire.arrivals)
    assert len(arrivals) == 10
    assert all(
        later - earlier >= 1.0 for earlier, later in zip(arrivals, arrivals[5:], strict=False)
    )
