"""Early redeems over a real loopback socket, while place-order answers get lost.

Bybit records a redeem with the position's staked amount, and (by its official tools'
reading) requires that amount and the invest coin on the request. Six positions are redeemed
through ``RedeemOrder.from_position`` while a quarter of place-order answers are dropped after
the exchange committed the order: every redeem must come back acknowledged, exactly once, in
both of the simulator's readings of the redeem rules.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Literal

import pytest

from asyncexch import RateLimit, RetryPolicy
from asyncexch.bybit import OrderAck, RedeemOrder, StakeOrder
from asyncexch.sim import BybitSimulator, Fault, Faults
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "redeem-key"
SECRET = "redeem-secret"
PRODUCT = "13015"  # BTC Short, 10x, 7 days: redeemable for days
DROPPED = Fault.DROP_AFTER_COMMIT.value


@pytest.mark.parametrize("rules", ["any", "official-tools"])
async def test_six_redeems_with_lost_answers_are_each_placed_once(
    rules: Literal["any", "official-tools"], sim_client: SimClients
) -> None:
    sim = BybitSimulator(
        limits={"place_order": (50, 1.0), "order": (50, 1.0)},
        settlement_delay=0.2,
        redeem_rules=rules,
        # Seed 4 drops 2 answers among the stakes and 4 among the redeems (see the asserts).
        faults=Faults(
            rate=0.25, kinds=[Fault.DROP_AFTER_COMMIT], endpoints=["place_order"], seed=4
        ),
    )
    sim.add_account(KEY, SECRET)
    async with sim_client.bybit(
        sim,
        KEY,
        SECRET,
        limits={"place_order": RateLimit(50), "order": RateLimit(50)},
        retry=RetryPolicy(max_attempts=12, max_backoff=1.0),
    ) as client:
        earn = client.advance_earn
        quote = await earn.quote(PRODUCT)
        stakes = [StakeOrder.from_quote(quote, amount=Decimal(100 + n)) for n in range(6)]
        staked = await earn.place_orders(stakes)
        assert all(isinstance(ack, OrderAck) for ack in staked), staked
        await asyncio.gather(
            *(
                earn.wait_for_order(ack, timeout=30, poll_interval=0.1)
                for ack in staked
                if isinstance(ack, OrderAck)
            )
        )
        dropped_while_staking = sim.stats.faults[DROPPED]

        positions = [position async for position in earn.positions(product_id=PRODUCT)]
        estimates = await earn.redeem_estimates([p.position_id for p in positions])
        redeems = [
            RedeemOrder.from_position(p, e) for p, e in zip(positions, estimates, strict=True)
        ]
        results = await earn.place_orders(redeems)

    assert dropped_while_staking > 0
    assert sim.stats.faults[DROPPED] > dropped_while_staking  # redeem answers were lost too
    assert len(positions) == 6
    failures = [result for result in results if not isinstance(result, OrderAck)]
    assert failures == []
    held = [order for order in sim.orders.values() if order.order_type == "Redeem"]
    assert len(held) == 6  # one redeem per position, none twice
    assert Counter(order.position_id for order in held) == Counter(p.position_id for p in positions)
    by_link = {order.order_link_id: order for order in held}
    staked_amounts = {p.position_id: p.amount for p in positions}
    for redeem, ack in zip(redeems, results, strict=True):
        assert isinstance(ack, OrderAck)
        venue_order = by_link[redeem.order_link_id]
        assert ack.order_id == venue_order.order_id
        assert venue_order.position_id == redeem.position_id
        assert venue_order.amount == staked_amounts[redeem.position_id] == redeem.amount
    # Every retry of a committed redeem met "already exists" and was settled by a lookup.
    assert sim.stats.duplicates_refused >= sim.stats.faults[DROPPED] - dropped_while_staking
