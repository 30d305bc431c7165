"""DoubleWin end to end over a real loopback socket, on both HTTP stacks: quote (fixed and
RFQ) -> ``DoubleWinOrder.from_leverage`` -> place while place-order answers are lost or fail
-> settle by the range (fixed, a 3-second term) / redeem early (RFQ), exactly once.

The market stands at 68403.67 (BTC) and jumps to 73000 after the stakes: 4396.33 above the
fixed range (+-200) and 1000 above the RFQ range (65000..72000).
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal

import pytest

from asyncexch.bybit import (
    DoubleWinAck,
    DoubleWinOrder,
    DoubleWinRedeemOrder,
    OrderStatus,
)
from asyncexch.sim import SimDoubleWinProduct
from tests.builders.loopback import assert_placed_once, faulty_sim, retrying_client, until_done
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "dw-key"
SECRET = "dw-secret"
FIXED = SimDoubleWinProduct("15001", "BTC", "3s", is_rfq=False, leverage=Decimal("9.3045"))
RFQ = SimDoubleWinProduct("15002", "BTC", "1d", is_rfq=True)
INITIAL = Decimal("68403.67")
#: 4.98 % below and 5.26 % above the market, on the 500 tick.
RFQ_RANGE = (Decimal("65000"), Decimal("72000"))
MOVED = Decimal("73000")


async def test_quote_stake_settle_and_redeem_exactly_once_under_faults(
    sim_client: SimClients,
) -> None:
    sim = faulty_sim(seed=3, double_win_products=[FIXED, RFQ])
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("10000")})
    async with retrying_client(sim_client, sim, KEY, SECRET) as client:
        double_win = client.advance_earn.double_win
        products = {p.product_id: p for p in await double_win.products(coin="BTC")}
        assert products["15002"].is_rfq_product and not products["15001"].is_rfq_product
        fixed = await double_win.quote("15001")
        rfq = await double_win.leverage(
            "15002", initial_price=INITIAL, lower_price=RFQ_RANGE[0], upper_price=RFQ_RANGE[1]
        )
        assert (fixed.current_price, fixed.leverage, rfq.leverage) == (
            INITIAL,
            Decimal("9.3045"),
            Decimal("248.67"),
        )
        stakes = [
            DoubleWinOrder.from_leverage(fixed, amount=Decimal(100 + n)) for n in range(4)
        ] + [DoubleWinOrder.from_leverage(rfq, amount=Decimal("250"))]
        assert stakes[0].leverage == Decimal("9.30")

        results = await client.advance_earn.place_orders(stakes)
        acks = [result for result in results if isinstance(result, DoubleWinAck)]
        assert len(acks) == len(stakes), results
        done = await asyncio.gather(
            *(
                client.advance_earn.wait_for_order(ack, timeout=30, poll_interval=0.1)
                for ack in acks
            )
        )
        assert all(info.status is OrderStatus.SUCCESS for info in done)
        sim.set_price("BTC", MOVED)

        settled = await until_done(
            double_win.orders,
            {stake.order_link_id for stake in stakes[:4]},
            lambda info: info.status is OrderStatus.SETTLED,
        )
        (position,) = [p async for p in double_win.positions(product_id="15002")]
        (estimate,) = await double_win.redeem_estimates([position.position_id])
        redeem = DoubleWinRedeemOrder.from_position(position, estimate)
        redeem_ack = await client.advance_earn.place_order(redeem)
        redeemed = await client.advance_earn.wait_for_order(
            redeem_ack, timeout=30, poll_interval=0.1
        )
        while redeemed.status is not OrderStatus.SETTLED:
            await asyncio.sleep(0.1)
            redeemed = await client.advance_earn.wait_for_order(redeem_ack, timeout=30)

    # Exactly once: one order per id, each acknowledged as the order built.
    orders: list[DoubleWinOrder | DoubleWinRedeemOrder] = [*stakes, redeem]
    assert_placed_once(sim, sim.double_win_orders.values(), orders)
    # The fixed stakes settle out of their range: amount + amount x 9.30 x 4396.33 / initial.
    for stake in stakes[:4]:
        info = settled[stake.order_link_id]
        assert info.settlement_price == MOVED
        beyond = MOVED - (INITIAL + 200)
        paid = (stake.amount * (1 + Decimal("9.30") * beyond / INITIAL)).quantize(
            Decimal("0.0001"), ROUND_DOWN
        )
        assert info.pnl == paid - stake.amount
    # The RFQ stake redeemed at 1000 above its range.
    rfq_paid = (Decimal(250) * (1 + Decimal("248.67") * 1000 / INITIAL)).quantize(
        Decimal("0.0001"), ROUND_DOWN
    )
    assert estimate.est_redeem_amount == rfq_paid
    assert redeemed.pnl == rfq_paid - 250 and redeemed.order_type == "Redeem"
