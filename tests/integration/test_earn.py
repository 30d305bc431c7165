"""Bybit Earn end to end over a real loopback socket, on both HTTP stacks: stake ->
position -> redeem, in FlexibleSaving and OnChain, while place-order answers are lost or fail;
each order placed exactly once.

The simulator runs on real time, with short OnChain delays (a stake confirms after 0.3 s, is
locked 0.3 s, a redeem pays after 0.3 s).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from asyncexch import RateLimit, RetryPolicy
from asyncexch.bybit import BybitClient, EarnAck, EarnCategory, EarnRedeem, EarnStake, OrderStatus
from asyncexch.sim import BybitSimulator, Faults, SimEarnProduct
from tests.builders.loopback import PLACE_FAULTS, assert_placed_once
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "earn-key"
SECRET = "earn-secret"
PRODUCTS = [
    SimEarnProduct("FlexibleSaving", "430", "BTC", Decimal("0.001"), Decimal("10")),
    SimEarnProduct(
        "OnChain",
        "428",
        "USDT",
        Decimal("10"),
        Decimal("1000000"),
        4,
        duration="Fixed",
        stake_delay=0.3,
        lock=0.3,
        redeem_delay=0.3,
    ),
]


async def _done(client: BybitClient, ack: EarnAck) -> None:
    info = await client.earn.wait_for_order(ack, timeout=30, poll_interval=0.1)
    assert info.status is OrderStatus.SUCCESS, info


async def test_stake_position_redeem_under_faults_exactly_once(sim_client: SimClients) -> None:
    sim = BybitSimulator(
        limits={"earn_place_order": (50, 1.0), "earn_order": (50, 1.0)},
        settlement_delay=0.2,
        earn_products=PRODUCTS,
        faults=Faults(rate=0.5, kinds=PLACE_FAULTS, endpoints=["earn_place_order"], seed=7),
    )
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("1000"), "BTC": Decimal("2")})
    async with sim_client.bybit(
        sim,
        KEY,
        SECRET,
        limits={"earn_place_order": RateLimit(50), "earn_order": RateLimit(50)},
        retry=RetryPolicy(max_attempts=12, max_backoff=0.5),
    ) as client:
        earn = client.earn
        (flexible,) = await earn.products("FlexibleSaving", coin="BTC")
        (chain,) = await earn.products(EarnCategory.ON_CHAIN)
        stakes = [
            EarnStake.from_product(flexible, amount=Decimal("0.5")),
            EarnStake.from_product(flexible, amount=Decimal("0.25")),
            EarnStake.from_product(chain, amount=Decimal("100")),
        ]
        acks = [await earn.place_order(stake) for stake in stakes]
        await asyncio.gather(*(_done(client, ack) for ack in acks))

        (saving,) = await earn.positions("FlexibleSaving")
        assert (saving.amount, saving.available_amount) == (Decimal("0.75"), Decimal("0.75"))
        (staked,) = await earn.positions("OnChain")
        assert (staked.amount, staked.status) == (Decimal("100"), "Active")
        await asyncio.sleep(0.4)  # past the OnChain lock

        redeems = [
            EarnRedeem(
                category="FlexibleSaving", product_id="430", coin="BTC", amount=Decimal("0.75")
            ),
            EarnRedeem(
                category="OnChain",
                product_id="428",
                coin="USDT",
                amount=Decimal("100"),
                redeem_position_id=staked.position_id,
            ),
        ]
        redeemed = [await earn.place_order(redeem) for redeem in redeems]
        await asyncio.gather(*(_done(client, ack) for ack in redeemed))
        assert await earn.positions("OnChain") == []

    # Exactly once: one order per id, each acknowledged as the order the venue holds.
    orders: list[EarnStake | EarnRedeem] = [*stakes, *redeems]
    by_link = assert_placed_once(sim, sim.earn_orders.values(), orders)
    for order, ack in zip(orders, [*acks, *redeemed], strict=True):
        venue = by_link[order.order_link_id]
        assert (ack.order_id, ack.category) == (venue.order_id, order.category)
        assert (venue.order_type, venue.amount) == (order.order_type.value, order.amount)
    assert sim.accounts[KEY].balances == {"USDT": Decimal("1000"), "BTC": Decimal("2")}
