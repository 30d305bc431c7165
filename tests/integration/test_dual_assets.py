"""DualAssets end to end over a real loopback socket, on both HTTP stacks: quote ->
``DualAssetsOrder.from_offer`` -> place (while place-order answers are lost or fail) -> the
positions settle into the base or the quote coin by their targets.

The simulator runs on real time with a product whose term is 2 seconds. The market falls
from 3512.40 to 3470 after the quote: the nearest BuyLow target (3475) is reached, the
further ones (3440, 3405) are not, and no SellHigh target is.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal

import pytest

from asyncexch.bybit import (
    DualAssetsAck,
    DualAssetsDirection,
    DualAssetsOrder,
    OrderStatus,
)
from asyncexch.sim import BybitSimulator, SimDualAssetsProduct
from tests.builders.loopback import assert_placed_once, faulty_sim, retrying_client, until_done
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "dual-key"
SECRET = "dual-secret"
SHORT = SimDualAssetsProduct(
    "88001",
    "ETH",
    "USDT",
    "2s",
    Decimal("10"),
    Decimal("0.01"),
    Decimal("1000000"),
    Decimal("100"),
    precision_base=3,
    price_tick=Decimal("5"),
)
#: (direction, offer index, amount, the coin it settles in)
STAKES = [
    (DualAssetsDirection.BUY_LOW, 0, Decimal("1000"), "ETH"),  # 3475 reached: bought
    (DualAssetsDirection.BUY_LOW, 0, Decimal("1001"), "ETH"),
    (DualAssetsDirection.BUY_LOW, 2, Decimal("500"), "USDT"),  # 3405 not reached
    (DualAssetsDirection.SELL_HIGH, 0, Decimal("0.5"), "ETH"),  # 3550 not reached
    (DualAssetsDirection.SELL_HIGH, 1, Decimal("0.25"), "ETH"),
    (DualAssetsDirection.BUY_LOW, 1, Decimal("250.5"), "USDT"),  # 3440 not reached
]


async def test_quote_stake_under_faults_exactly_once_then_settle_by_target(
    sim_client: SimClients,
) -> None:
    sim = faulty_sim(seed=7, dual_assets_products=[SHORT])
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("100000"), "ETH": Decimal("10")})
    async with retrying_client(sim_client, sim, KEY, SECRET) as client:
        dual = client.advance_earn.dual_assets
        (product,) = await dual.products(coin="ETH")
        quote = await dual.quote(product.product_id)
        assert quote.current_price == Decimal("3512.40") and quote.product is product
        orders = [
            DualAssetsOrder.from_offer(quote.offers(direction)[index], amount=amount)
            for direction, index, amount, _ in STAKES
        ]
        assert [order.coin for order in orders] == ["USDT"] * 3 + ["ETH"] * 2 + ["USDT"]
        sim.set_price("ETH", Decimal("3470"))  # the market moves after the quote

        results = await client.advance_earn.place_orders(orders)

        acks = [result for result in results if isinstance(result, DualAssetsAck)]
        assert len(acks) == len(orders), results
        done = await asyncio.gather(
            *(dual.wait_for_order(ack, timeout=30, poll_interval=0.1) for ack in acks)
        )
        assert all(info.status is OrderStatus.SUCCESS for info in done)
        positions = [position async for position in dual.positions()]
        assert len(positions) == len(orders)
        settled = await until_done(
            dual.orders,
            {order.order_link_id for order in orders},
            lambda info: info.status is OrderStatus.SETTLED,
        )

    # Exactly once: one order per id, each the order built, each acknowledged as it.
    by_link = assert_placed_once(sim, sim.dual_assets_orders.values(), orders)
    for order, ack in zip(orders, acks, strict=True):
        assert (type(ack), ack.order_link_id) == (DualAssetsAck, order.order_link_id)
        venue = by_link[order.order_link_id]
        assert ack.order_id == venue.order_id
        assert (venue.amount, venue.direction, venue.select_price, venue.apy_e8) == (
            order.amount,
            order.direction.value,
            order.select_price,
            order.apy_e8,
        )

    # Settled by target: the coin, and principal and yield converted at the target or not.
    for order, (_, _, _, coin) in zip(orders, STAKES, strict=True):
        info = settled[order.order_link_id]
        assert (info.status, info.settlement_coin) == (OrderStatus.SETTLED, coin)
        assert info.settlement_price == Decimal("3470")
        assert info.settlement_amount == _payout(sim, order, coin)
        assert info.select_apy_e8 == order.apy_e8


def _payout(sim: BybitSimulator, order: DualAssetsOrder, coin: str) -> Decimal:
    """What the venue pays for ``order``: principal and yield for the position's term, in
    ``coin`` (converted at the target when it is not the invested coin)."""
    [position] = [
        p
        for p in sim.dual_assets_positions.values()
        if sim.dual_assets_orders[p.order_id].order_link_id == order.order_link_id
    ]
    term = Decimal(position.settlement_ms - position.yield_start_ms)
    assert term == 2000
    total = order.amount * (1 + Decimal(order.apy_e8) / 10**8 * term / (365 * 86_400_000))
    if coin != order.coin:
        total = total / order.select_price if coin == "ETH" else total * order.select_price
    places = Decimal("0.001") if coin == "ETH" else Decimal("0.0001")
    return total.quantize(places, ROUND_DOWN)
