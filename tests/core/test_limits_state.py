"""limits_state(): what the client and the venue say of each bucket, on the injected clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
import respx

from asyncexch import BucketState, RateLimited, RetryPolicy, TrafficHalted, VirtualClock
from asyncexch.bybit import BybitClient
from asyncexch.chainup import ChainupContractClient
from tests.builders.bybit import PLACE, SERVER_MS, fail, ok, stake_order


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
        "ip",
    }
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


async def test_no_pacing_no_buckets(make_client: Callable[..., BybitClient]) -> None:
    assert await make_client(limits=False).limits_state() == []


async def test_chainup_reports_its_buckets_without_a_venue_count(
    make_chainup_client: Callable[..., ChainupContractClient],
) -> None:
    states = by_name(await make_chainup_client().limits_state())

    assert states["take_order"].limit == 5
    assert all(state.venue_left is None for state in states.values())
