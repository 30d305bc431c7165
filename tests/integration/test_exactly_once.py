"""Exactly once over a real loopback socket: mixed faults never duplicate or lose an order.

The simulator runs under uvicorn in its own thread, on real time; every request has a 20%
chance of meeting one of the six fault kinds, including drops and timeouts *after* the order
was committed. The client must end with one acknowledgement per order, and the exchange must
hold exactly one order per ``orderLinkId`` it built.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Literal

import pytest

from asyncexch import (
    ExchangeError,
    OrderStatusUnknown,
    RateLimit,
    RetryPolicy,
)
from asyncexch.bybit import OrderAck, StakeOrder
from asyncexch.sim import BybitSimulator, Fault, Faults
from asyncexch.sim._faults import DEFAULT_KINDS
from tests.builders.bybit import stake_orders
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "exactly-once-key"
SECRET = "exactly-once-secret"
RATE = 50


async def _run(
    *,
    count: int,
    seed: int,
    idempotency: Literal["error", "same_order_id"],
    clients: SimClients,
    duplicate_code: int = 180025,
) -> tuple[BybitSimulator, list[StakeOrder], list[OrderAck | ExchangeError], float]:
    sim = BybitSimulator(
        limits={"place_order": (RATE, 1.0), "order": (RATE, 1.0)},
        idempotency=idempotency,
        duplicate_code=duplicate_code,
        settlement_delay=0.5,
        faults=Faults(rate=0.2, latency=(0.0, 0.01), seed=seed),
    )
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, count, divisor=100)
    async with clients.bybit(
        sim,
        KEY,
        SECRET,
        limits={"place_order": RateLimit(RATE), "order": RateLimit(RATE)},
        # 12 attempts: an order meets 20% faults on each, so all 12 failing is ~4e-9.
        retry=RetryPolicy(max_attempts=12, max_backoff=2.0),
    ) as client:
        started = time.monotonic()
        results = await client.advance_earn.place_orders(batch)
        elapsed = time.monotonic() - started
    return sim, batch, results, elapsed


def _check_exactly_once(
    sim: BybitSimulator, batch: list[StakeOrder], results: list[OrderAck | ExchangeError]
) -> None:
    built = [order.order_link_id for order in batch]
    assert len(set(built)) == len(batch)
    held = Counter(order.order_link_id for order in sim.orders.values())

    # The exchange holds exactly one order per id the client built, and nothing else.
    assert len(sim.orders) == len(batch)
    assert set(held) == set(built)
    assert max(held.values()) == 1

    # One acknowledgement per order, in the batch's order, each naming the exchange's order.
    failures = {
        index: repr(result)
        for index, result in enumerate(results)
        if not isinstance(result, OrderAck)
    }
    unknown = sum(isinstance(result, OrderStatusUnknown) for result in results)
    assert not failures, f"{len(failures)} orders failed ({unknown} OrderStatusUnknown): {failures}"
    by_link = {order.order_link_id: order for order in sim.orders.values()}
    for order, ack in zip(batch, results, strict=True):
        assert isinstance(ack, OrderAck)
        assert ack.order_link_id == order.order_link_id
        placed = by_link[order.order_link_id]
        assert ack.order_id == placed.order_id
        assert placed.amount == order.amount

    # Retries were refused as duplicates, never placed twice; the faults really happened.
    after_commit = sum(sim.stats.faults[kind.value] for kind in Fault if kind.after_commit)
    assert 0 < sim.stats.duplicates_refused <= after_commit
    assert sim.stats.requests["place_order"] > len(batch)


@pytest.mark.slow
async def test_500_orders_under_mixed_faults_are_placed_exactly_once(
    sim_client: SimClients,
) -> None:
    sim, batch, results, elapsed = await _run(
        count=500, seed=20240601, idempotency="error", clients=sim_client
    )

    _check_exactly_once(sim, batch, results)
    # Every kind of fault was injected, at about the configured rate.
    assert {kind.value for kind in DEFAULT_KINDS} <= {
        kind for kind, seen in sim.stats.faults.items() if seen > 0
    }, sim.stats.faults
    requests = sum(sim.stats.requests.values())
    assert 0.1 * requests <= sum(sim.stats.faults.values()) <= 0.3 * requests
    # Retries after a commit met 180025 and were resolved by a lookup of the order.
    assert sim.stats.rejections[180025] == sim.stats.duplicates_refused
    # (Not one lookup per 180025: a 180025 answer can itself be lost to a fault after the
    # exchange counted it, and the retry then meets 180025 again before the one lookup.)
    assert sim.stats.requests["order"] > 0
    # Pacing held: no rate-limit refusals despite the retries.
    assert sim.stats.rate_limit_rejections == 0, sim.stats.rejections
    assert elapsed < 60


@pytest.mark.slow
@pytest.mark.parametrize(
    "duplicate_code",
    [180025, 180031, 110072],
    ids=["180025", "180031", "undocumented-110072"],
)
async def test_100_orders_exactly_once_whatever_code_says_already_exists(
    duplicate_code: int, sim_client: SimClients
) -> None:
    """Bybit documents no retCode for a reused Advance Earn orderLinkId: the exactly-once
    promise must not depend on which one it sends."""
    sim, batch, results, elapsed = await _run(
        count=100,
        seed=20240601,
        idempotency="error",
        clients=sim_client,
        duplicate_code=duplicate_code,
    )

    _check_exactly_once(sim, batch, results)
    assert sim.stats.rejections[duplicate_code] == sim.stats.duplicates_refused > 0
    assert sim.stats.requests["order"] > 0  # each "already exists" was checked by a lookup
    assert sim.stats.rate_limit_rejections == 0, sim.stats.rejections
    assert elapsed < 30


@pytest.mark.slow
async def test_same_order_id_mode_places_100_orders_exactly_once(
    sim_client: SimClients,
) -> None:
    sim, batch, results, elapsed = await _run(
        count=100, seed=77, idempotency="same_order_id", clients=sim_client
    )

    _check_exactly_once(sim, batch, results)
    # The older server mode answers a reused id with the same orderId: no 180025, no lookups.
    assert sim.stats.rejections[180025] == 0
    # Seed 77 draws two drops after commit among the first 100 faults; faults have their own
    # stream, so every run meets them whatever the arrival order.
    assert sim.stats.faults[Fault.DROP_AFTER_COMMIT.value] > 0
    assert sim.stats.rate_limit_rejections == 0, sim.stats.rejections
    assert elapsed < 30
