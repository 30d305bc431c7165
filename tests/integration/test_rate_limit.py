"""The rolling window, measured where it counts: at the exchange, over a real socket.

A batch at the limit, with 0-20 ms of network jitter shifting every arrival, must meet no
rate-limit refusal (10006, HTTP 403) and still run at 90% or more of the limit. A client that
does not pace itself shows what the pacing saves.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from asyncexch import ExchangeError, RateLimit, RateLimited
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder
from asyncexch.sim import BybitSimulator, Faults
from tests.builders.bybit import stake_orders
from tests.builders.sim import SimClients
from tests.windows import busiest_window, sustained_rate

pytestmark = [pytest.mark.integration]

KEY = "rate-limit-key"
SECRET = "rate-limit-secret"
JITTER = Faults(latency=(0.0, 0.02), seed=11)


async def _place(
    batch: list[StakeOrder], client: BybitClient
) -> tuple[list[OrderAck | ExchangeError], float]:
    started = time.monotonic()
    results = await client.advance_earn.place_orders(batch)
    return results, time.monotonic() - started


def _no_duplicates(sim: BybitSimulator) -> None:
    links = Counter(order.order_link_id for order in sim.orders.values())
    assert not links or max(links.values()) == 1


@pytest.mark.slow
@pytest.mark.parametrize(("count", "limit"), [(200, 20), (60, 10)])
async def test_a_batch_at_the_limit_meets_no_rejection_and_runs_near_the_limit(
    count: int, limit: int, sim_client: SimClients
) -> None:
    sim = BybitSimulator(limits={"place_order": (limit, 1.0)}, faults=JITTER)
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, count)
    async with sim_client.bybit(
        sim, KEY, SECRET, limits={"place_order": RateLimit(limit)}
    ) as client:
        results, elapsed = await _place(batch, client)

    assert all(isinstance(result, OrderAck) for result in results), results
    assert len(sim.orders) == count
    _no_duplicates(sim)
    assert sim.stats.rejections[10006] == 0
    assert sim.stats.rejections[403] == 0
    assert sim.stats.rejections == Counter()
    arrivals = sim.stats.arrivals["place_order"]
    assert len(arrivals) == count  # not one request more than orders: nothing was retried
    assert busiest_window(arrivals) <= limit
    rate = sustained_rate(arrivals, limit)
    # ~0.97 on an idle machine (benchmarks/fidelity.py); 0.85 leaves room for a loaded one.
    assert rate >= 0.85 * limit, f"{rate:.2f}/s against a limit of {limit}/s"
    # The batch cannot beat the window, and did not take much longer than it needs.
    assert (count - limit) / limit <= elapsed < (count - limit) / (0.85 * limit) + 2


@pytest.mark.slow
async def test_a_naive_client_without_pacing_is_refused_by_the_window(
    sim_client: SimClients,
) -> None:
    count, limit = 60, 10
    sim = BybitSimulator(limits={"place_order": (limit, 1.0)}, faults=JITTER)
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, count)
    async with sim_client.bybit(sim, KEY, SECRET, limits=False) as client:
        results, _ = await _place(batch, client)

    # The whole batch arrives at once: all but the first `limit` are refused with 10006.
    assert sim.stats.rejections[10006] >= count - limit
    assert sim.stats.rejections[403] == 0
    assert busiest_window(sim.stats.arrivals["place_order"]) > limit
    # 10006 is "not processed": retried after the reset time the answer gave, never placed twice.
    _no_duplicates(sim)
    acks = [result for result in results if isinstance(result, OrderAck)]
    refused = [result for result in results if isinstance(result, RateLimited)]
    assert len(acks) + len(refused) == count
    assert {ack.order_id for ack in acks} == set(sim.orders)
    assert {order.order_link_id for order in sim.orders.values()} == {
        ack.order_link_id for ack in acks
    }
    # Without pacing the retries crowd onto the reset times the answers gave: about `limit`
    # get in per round, and unlucky orders lose every round. With the default five attempts
    # some end refused (54 of 60 acknowledged in our runs; even ten attempts starve a few).
    assert len(acks) >= limit
    assert all(error.code == 10006 for error in refused)
    assert sim.stats.requests["place_order"] == len(sim.orders) + sim.stats.rejections[10006]
