"""DiscountBuy end to end over a real loopback socket, on both HTTP stacks: quote ->
``DiscountBuyOrder.from_offer`` -> place (while place-order answers are lost or fail) ->
each stake is exercised, knocked out, or refunded.

The simulator runs on real time with products whose term is 4 seconds, and a market that
stands still unless a test moves it. BTC (offer: buy at 67945, knocked out at 69772) falls to
67000 before the stakes: they are exercised, ``Base`` into BTC, ``Quote`` into USDT. ETH
(quoted without expiry and in JSON numbers: buy at 3488.5, knocked out at 3583.0) rises to
3600 once its stakes are confirmed: knocked out, principal and coupon. XRP reaches its
knock-out price before its stake confirms: the order fails and is refunded.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal

import pytest

from asyncexch.bybit import (
    DiscountBuyAck,
    DiscountBuyOrder,
    DiscountBuyOrderInfo,
    DiscountBuyRefundStatus,
    OrderStatus,
    SettleType,
)
from asyncexch.sim import SimDiscountBuyProduct
from tests.builders.loopback import assert_placed_once, faulty_sim, retrying_client, until_done
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "discount-key"
SECRET = "discount-secret"
TERM_MS = 4000
PRODUCTS = [
    SimDiscountBuyProduct("66101", "BTC", "4s", Decimal("100"), Decimal("1000000")),
    SimDiscountBuyProduct(
        "66102",
        "ETH",
        "4s",
        Decimal("50"),
        Decimal("1000000"),
        price_tick=Decimal("0.5"),
        coupon_e8=2_000_000_000,
        inst_uid="1001",
        expires=False,
        json_numbers=True,
    ),
    SimDiscountBuyProduct(
        "66103", "XRP", "4s", Decimal("10"), Decimal("1000000"), price_tick=Decimal("0.0001")
    ),
]
#: (product, amount, settle type, outcome coin, status)
STAKES = [
    ("66101", Decimal("1000"), SettleType.BASE, "BTC", OrderStatus.SETTLED),
    ("66101", Decimal("1000.5"), SettleType.QUOTE, "USDT", OrderStatus.SETTLED),
    ("66101", Decimal("250"), SettleType.BASE, "BTC", OrderStatus.SETTLED),
    ("66102", Decimal("500"), SettleType.BASE, "USDT", OrderStatus.SETTLED),
    ("66102", Decimal("75.25"), SettleType.QUOTE, "USDT", OrderStatus.SETTLED),
    ("66103", Decimal("20"), SettleType.QUOTE, "", OrderStatus.FAIL),
]


async def test_quote_stake_under_faults_exactly_once_then_exercise_knock_out_or_refund(
    sim_client: SimClients,
) -> None:
    sim = faulty_sim(seed=7, discount_buy_products=PRODUCTS)
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("100000")})
    async with retrying_client(sim_client, sim, KEY, SECRET) as client:
        discount = client.advance_earn.discount_buy
        await discount.products()
        quotes = {p.product_id: await discount.quote(p.product_id) for p in PRODUCTS}
        assert quotes["66102"].offers[0].expired_at is None
        assert quotes["66102"].offers[0].inst_uid == 1001  # a JSON number, kept as one
        orders = [
            DiscountBuyOrder.from_offer(
                quotes[product_id].offers[0], amount=amount, settle_type=settle
            )
            for product_id, amount, settle, _, _ in STAKES
        ]
        sim.set_price("BTC", Decimal("67000"))  # below the purchase price: exercised
        sim.set_price("XRP", Decimal("2"))  # past the knock-out price before confirming

        results = await client.advance_earn.place_orders(orders)

        acks = [result for result in results if isinstance(result, DiscountBuyAck)]
        assert len(acks) == len(orders), results
        done = await asyncio.gather(
            *(discount.wait_for_order(ack, timeout=30, poll_interval=0.1) for ack in acks)
        )
        assert [info.status for info in done] == [
            OrderStatus.SUCCESS if status is OrderStatus.SETTLED else status
            for *_, status in STAKES
        ]
        sim.set_price("ETH", Decimal("3600"))  # at or above 3583.0 at settlement: knocked out
        assert all(p.status == "Active" for p in sim.discount_buy_positions.values()), (
            "a position settled before the market moved: the 4 s term was too short here"
        )
        settled = await until_done(
            discount.orders,
            {order.order_link_id for order in orders},
            lambda info: (
                info.status is OrderStatus.SETTLED
                or info.refund_status is DiscountBuyRefundStatus.REFUND_DONE
            ),
        )

    # Exactly once: one order per id, each the order built, each acknowledged as it.
    by_link = assert_placed_once(sim, sim.discount_buy_orders.values(), orders)
    for order, ack in zip(orders, acks, strict=True):
        assert (type(ack), ack.order_link_id) == (DiscountBuyAck, order.order_link_id)
        venue = by_link[order.order_link_id]
        assert ack.order_id == venue.order_id
        assert (venue.amount, venue.settle_type, venue.purchase_price, venue.inst_uid) == (
            order.amount,
            order.settle_type.value,
            order.purchase_price,
            str(order.inst_uid),
        )

    for order, (_, amount, settle, coin, status) in zip(orders, STAKES, strict=True):
        info = settled[order.order_link_id]
        assert (info.status, info.settlement_coin, info.settle_type) == (status, coin, settle)
        if status is OrderStatus.FAIL:
            assert info.refund_status is DiscountBuyRefundStatus.REFUND_DONE
            continue
        assert info.settlement_amount == _payout(order, info, amount)
    assert sim.accounts[KEY].balances["BTC"] == sum(
        settled[o.order_link_id].settlement_amount or 0
        for o, stake in zip(orders, STAKES, strict=True)
        if stake[3] == "BTC"
    )


def _payout(order: DiscountBuyOrder, info: DiscountBuyOrderInfo, amount: Decimal) -> Decimal:
    """What the venue pays: knocked out (ETH), principal and coupon for the 4 s term in USDT;
    exercised (BTC), amount / purchasePrice of BTC, or that at the settlement price in USDT."""
    assert info.settlement_price is not None
    if info.settlement_price >= order.knockout_price:
        coupon = amount * Decimal(order.knockout_coupon_e8) / 10**8 * TERM_MS / (365 * 86_400_000)
        return (amount + coupon).quantize(Decimal("0.0001"), ROUND_DOWN)
    bought = amount / order.purchase_price
    if order.settle_type is SettleType.BASE:
        return bought.quantize(Decimal("1E-8"), ROUND_DOWN)
    return (bought * info.settlement_price).quantize(Decimal("0.0001"), ROUND_DOWN)
