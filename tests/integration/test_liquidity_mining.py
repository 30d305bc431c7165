"""Liquidity Mining end to end over a real loopback socket, on both HTTP stacks: add
liquidity -> reinvest and add margin -> remove, and claim, while the order calls' answers are
lost or fail; every order is placed exactly once.

The simulator runs on real time with a pool paying 10,000 % a year (a position earns a few
tenths of a USDT a second) whose reinvestment minimum is 0.01 USDT.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal

import pytest

from asyncexch import PositionOrderPending, RateLimit, RetryPolicy
from asyncexch.bybit import (
    AddLiquidity,
    AddMargin,
    LiquidityMining,
    LiquidityMiningAck,
    LiquidityMiningOrder,
    LiquidityOrderStatus,
    Reinvest,
    RemoveLiquidity,
    RemoveType,
    YieldType,
)
from asyncexch.sim import BybitSimulator, Faults, SimLiquidityProduct
from tests.builders.loopback import PLACE_FAULTS, assert_placed_once
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "lm-key"
SECRET = "lm-secret"
POOL = SimLiquidityProduct(
    "5", "ETH", "USDT", apy_e8=1_000_000_000_000, min_reinvest_amount=Decimal("0.01")
)
ORDER_ENDPOINTS = ["lm_add_liquidity", "lm_remove_liquidity", "lm_reinvest", "lm_add_margin"]
LIMITS = {name: RateLimit(50) for name in [*ORDER_ENDPOINTS, "lm_order", "lm_position"]}


def simulator(faults: Faults | None = None) -> BybitSimulator:
    sim = BybitSimulator(
        limits={name: (50, 1.0) for name in [*ORDER_ENDPOINTS, "lm_order", "lm_position"]},
        settlement_delay=0.2,
        price_swing=0.0,
        liquidity_products=[POOL],
        faults=faults,
    )
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("100000"), "ETH": Decimal("10")})
    return sim


def by_type(sim: BybitSimulator, order_type: str) -> Decimal:
    """The amount of the simulator's one order of ``order_type``."""
    (order,) = [o for o in sim.liquidity_mining.orders.values() if o.order_type == order_type]
    return order.quote_amount


async def settled(mining: LiquidityMining, ack: LiquidityMiningAck) -> None:
    info = await mining.wait_for_order(ack, timeout=30, poll_interval=0.05)
    assert info.status is LiquidityOrderStatus.SUCCESS, info


async def test_add_reinvest_margin_remove_and_claim_under_faults_exactly_once(
    sim_client: SimClients,
) -> None:
    sim = simulator(Faults(rate=0.4, kinds=PLACE_FAULTS, endpoints=ORDER_ENDPOINTS, seed=7))
    async with sim_client.bybit(
        sim, KEY, SECRET, limits=LIMITS, retry=RetryPolicy(max_attempts=12, max_backoff=0.5)
    ) as client:
        mining = client.liquidity_mining
        (product,) = await mining.products(base_coin="ETH")
        additions = [
            AddLiquidity(product_id=product.product_id, quote_amount=Decimal("1000")),
            AddLiquidity(product_id="5", quote_amount=Decimal("500"), leverage=Decimal("2")),
            AddLiquidity(product_id="5", base_amount=Decimal("0.5")),
        ]
        acks = await asyncio.gather(*(mining.add_liquidity(order) for order in additions))
        await asyncio.gather(*(settled(mining, ack) for ack in acks))
        # Placed concurrently, the positions open in any order: told apart by principal.
        opened = {
            (p.principal_quote_amount, p.principal_base_amount): p async for p in mining.positions()
        }
        first = opened[Decimal("1000"), Decimal("0")]
        second = opened[Decimal("500"), Decimal("0")]
        third = opened[Decimal("0"), Decimal("0.5")]
        assert (second.loan, second.leveraged_value) == (Decimal("500"), Decimal("1000"))

        await asyncio.sleep(0.3)  # yield to reinvest
        reinvest = Reinvest(product_id="5", position_id=first.position_id)
        margin = AddMargin(product_id="5", position_id=second.position_id, amount=Decimal("100"))
        await settled(mining, await mining.reinvest(reinvest))
        await settled(mining, await mining.add_margin(margin))
        removals = [
            RemoveLiquidity(product_id="5", position_id=first.position_id, remove_rate=50),
            RemoveLiquidity(
                product_id="5",
                position_id=second.position_id,
                remove_type=RemoveType.SINGLE_QUOTE_COIN,
            ),
        ]
        for removal in removals:
            await settled(mining, await mining.remove_liquidity(removal))
        await mining.claim_interest()

        positions = {p.position_id: p async for p in mining.positions()}
        paid = [record async for record in mining.yield_records(base_coin="ETH")]

    assert set(positions) == {first.position_id, third.position_id}
    reinvested = by_type(sim, "Reinvest")  # the yield, moved into the principal
    kept = ((Decimal("1000") + reinvested) / 2).quantize(Decimal("0.0001"), ROUND_DOWN)
    assert reinvested >= POOL.min_reinvest_amount
    assert positions[first.position_id].principal_liquidity_value == kept
    assert {record.yield_type for record in paid} == {YieldType.MANUAL, YieldType.REMOVE_LIQUIDITY}
    assert all(record.amount > 0 for record in paid)  # every record pays something
    assert sim.liquidity_mining.positions[second.position_id].margin == 0  # removed with it
    # Exactly once: one order per id, each the order built, each acknowledged as it.
    built: list[LiquidityMiningOrder] = [*additions, reinvest, margin, *removals]
    by_link = assert_placed_once(sim, sim.liquidity_mining.orders.values(), built)
    for order in built:
        venue = by_link[order.order_link_id]
        assert (venue.order_type, venue.status) == (order.order_type.value, "Success")
    assert [by_link[ack.order_link_id].order_id for ack in acks] == [a.order_id for a in acks]


async def test_a_second_pending_order_on_a_position_is_position_order_pending(
    sim_client: SimClients,
) -> None:
    sim = simulator()
    async with sim_client.bybit(sim, KEY, SECRET, limits=LIMITS) as client:
        mining = client.liquidity_mining
        await settled(
            mining,
            await mining.add_liquidity(
                AddLiquidity(product_id="5", quote_amount=Decimal("1000"), leverage=Decimal("2"))
            ),
        )
        (position,) = [position async for position in mining.positions()]
        margin = AddMargin(product_id="5", position_id=position.position_id, amount=Decimal("50"))
        ack = await mining.add_margin(margin)
        removal = RemoveLiquidity(product_id="5", position_id=position.position_id)

        with pytest.raises(PositionOrderPending) as caught:
            await mining.remove_liquidity(removal)
        await settled(mining, ack)
        await settled(mining, await mining.remove_liquidity(removal))  # the same object, now

    assert caught.value.code == 180006
    assert [order.order_type for order in sim.liquidity_mining.orders.values()] == [
        "AddLiquidity",
        "AddMargin",
        "RemoveLiquidity",
    ]
