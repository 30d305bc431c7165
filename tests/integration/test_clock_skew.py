"""A server clock that is ahead (+3 s) or behind (-8 s) is absorbed, over a real socket.

Bybit accepts a signed request when ``server - recv_window <= timestamp < server + 1 s``. A
server 3 s ahead is inside the 5 s window from the start; a server 8 s behind refuses the
first signed request (10002), after which the client re-learns the server's time from
``/v5/market/time`` and every order goes through.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from asyncexch import ClockSkew, RateLimit
from asyncexch.bybit import BybitClient, OrderAck, OrderStatus
from asyncexch.sim import BybitSimulator, Faults, SimServer
from tests.builders.bybit import stake_orders
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "clock-skew-key"
SECRET = "clock-skew-secret"
COUNT = 20
RATE = 10


async def _place_and_read(
    sim: BybitSimulator, clients: SimClients
) -> tuple[OrderAck, list[OrderAck]]:
    """One order alone (the first signed request), then a batch, then read them all back."""
    sim.add_account(KEY, SECRET)
    first, *rest = stake_orders(sim, COUNT)
    async with clients.bybit(
        sim, KEY, SECRET, limits={"place_order": RateLimit(RATE), "order": RateLimit(RATE)}
    ) as client:
        earn = client.advance_earn
        ack = await earn.place_order(first)
        results = await earn.place_orders(rest)
        assert all(isinstance(result, OrderAck) for result in results), results
        acks = [result for result in results if isinstance(result, OrderAck)]

        # Signed reads work too: every order is listed, and one settles.
        listed = [info async for info in earn.orders()]
        assert {info.order_id for info in listed} == {ack.order_id, *(a.order_id for a in acks)}
        settled = await earn.wait_for_order(acks[-1], timeout=10, poll_interval=0.2)
        assert settled.status is OrderStatus.SUCCESS

    assert len(sim.orders) == COUNT
    by_link = {order.order_link_id: order.order_id for order in sim.orders.values()}
    assert all(by_link[a.order_link_id] == a.order_id for a in [ack, *acks])
    assert sim.stats.duplicates_refused == 0
    return ack, acks


async def test_a_server_clock_8_s_behind_is_learned_after_one_refusal(
    sim_client: SimClients,
) -> None:
    sim = BybitSimulator(
        limits={"place_order": (RATE, 1.0), "order": (RATE, 1.0)},
        settlement_delay=0.2,
        faults=Faults(clock_skew=-8.0),
    )
    await _place_and_read(sim, sim_client)

    # The first signed request was refused once; the client then asked for the time and
    # signed everything else on the server's clock.
    assert sim.stats.rejections == {10002: 1}
    assert sim.stats.requests["time"] >= 1
    assert sim.stats.requests["place_order"] == COUNT + 1


async def test_a_server_clock_3_s_ahead_needs_no_resync(sim_client: SimClients) -> None:
    sim = BybitSimulator(
        limits={"place_order": (RATE, 1.0), "order": (RATE, 1.0)},
        settlement_delay=0.2,
        faults=Faults(clock_skew=3.0),
    )
    await _place_and_read(sim, sim_client)

    assert sim.stats.rejections[10002] == 0
    assert sim.stats.rejections == {}
    assert sim.stats.requests["time"] == 0
    assert sim.stats.requests["place_order"] == COUNT


async def test_a_concurrent_first_burst_behind_the_clock_shares_one_resync(
    sim_client: SimClients,
) -> None:
    # Ten orders go before any answer could teach the client the server's time: each is
    # refused once, and they re-learn it together rather than once each.
    sim = BybitSimulator(limits={"place_order": (RATE, 1.0)}, faults=Faults(clock_skew=-8.0))
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, RATE)
    async with sim_client.bybit(
        sim, KEY, SECRET, limits={"place_order": RateLimit(RATE)}
    ) as client:
        results = await client.advance_earn.place_orders(batch)

    assert all(isinstance(result, OrderAck) for result in results), results
    assert len(sim.orders) == RATE
    assert 1 <= sim.stats.rejections[10002] <= RATE
    assert 1 <= sim.stats.requests["time"] <= 2


@pytest.mark.slow
async def test_a_request_waiting_for_a_pooled_connection_is_not_refused_as_stale() -> None:
    # Bybit measures the timestamp against its clock when the request *arrives*. With one
    # pooled connection and 250 ms per answer, the fifth of eight concurrent orders leaves
    # more than recv_window (1 s) after it was signed, unless the client holds requests back
    # before signing them: max_in_flight, set to the pool's size. (The client's own httpx client
    # has no connection cap; one the caller hands in has, by default httpx's 100.)
    sim = BybitSimulator(limits={"place_order": (50, 1.0)}, faults=Faults(latency=(0.25, 0.25)))
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, 8)
    async with (
        SimServer(sim.app) as server,
        httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as http,
        BybitClient(
            KEY,
            SECRET,
            base_url=server.url,
            recv_window=1000,
            limits={"place_order": RateLimit(50)},
            http_client=http,
            max_in_flight=1,
        ) as client,
    ):
        results = await asyncio.wait_for(client.advance_earn.place_orders(batch), timeout=30)

    stale = [str(result) for result in results if isinstance(result, ClockSkew)]
    assert not stale, (sim.stats.rejections, stale)
    assert all(isinstance(result, OrderAck) for result in results), results
    assert len(sim.orders) == len(batch)
    assert sim.stats.rejections[10002] == 0, sim.stats.rejections
