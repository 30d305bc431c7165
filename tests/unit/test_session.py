"""Session options that are not venue-specific."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs
import httpx
import pytest
import respx
from conftest import ok

from asyncexch import ConfigurationError, RateLimit, VirtualClock
from asyncexch._venue import WireRequest
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder


def _order() -> StakeOrder:
    return StakeOrder(
        product_id="13015",
        coin="USDT",
        amount=Decimal("100"),
        initial_price=Decimal("68403"),
        breakeven_price=Decimal("68650"),
    )


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
        return ok({"orderId": "o", "orderLinkId": "x"})

    bybit_mock.post("/v5/earn/advance/place-order").mock(side_effect=slow)
    client = make_client(limits={"place_order": RateLimit(50)}, max_in_flight=2)
    results = await client.advance_earn.place_orders([_order() for _ in range(8)])
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
        return ok({"orderId": "o", "orderLinkId": "x"})

    bybit_mock.post("/v5/earn/advance/place-order").mock(side_effect=slow)
    client = make_client(limits={"place_order": RateLimit(50)})
    await client.advance_earn.place_orders([_order() for _ in range(8)])
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
