"""DoubleWin against the offline Bybit simulator: a fixed-range stake and an RFQ stake."""

import asyncio
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from asyncexch.bybit import BybitClient, DoubleWinOrder
from asyncexch.sim import BybitSimulator, SimTransport


async def main() -> None:
    sim = BybitSimulator(settlement_delay=0.2)  # BybitClient(key, secret, testnet=True): Bybit
    sim.add_account("sim-key", "sim-secret")
    async with BybitClient(
        "sim-key", "sim-secret", base_url="http://bybit.sim", transport=SimTransport(sim.app)
    ) as bybit:
        double_win = bybit.advance_earn.double_win
        products = await double_win.products(coin="BTC")  # list[DoubleWinProduct]
        fixed = next(p for p in products if not p.is_rfq_product)
        rfq = next(p for p in products if p.is_rfq_product)
        quote = await double_win.quote(fixed.product_id)  # DoubleWinQuote: max leverage
        # The quoted leverage truncated to 2 places; refused before sending if the quote
        # expires within 2 s, or the amount breaks the quote's or the product's rules.
        stake = DoubleWinOrder.from_leverage(quote, amount=Decimal("100"))
        ack = await bybit.advance_earn.place_order(stake)  # DoubleWinAck
        info = await bybit.advance_earn.wait_for_order(ack, timeout=10, poll_interval=0.1)
        print("fixed:", info.status.value, info.leverage, info.lower_price, info.upper_price)

        # RFQ: a range of your own on the product's tick, about 5 % each side.
        assert quote.current_price is not None and rfq.price_tick_size is not None
        tick, price = rfq.price_tick_size, quote.current_price
        lower = (price * Decimal("0.95") / tick).to_integral_value(ROUND_FLOOR) * tick
        upper = (price * Decimal("1.05") / tick).to_integral_value(ROUND_CEILING) * tick
        offer = await double_win.leverage(
            rfq.product_id, initial_price=price, lower_price=lower, upper_price=upper
        )  # DoubleWinLeverage (signed)
        ack = await bybit.advance_earn.place_order(
            DoubleWinOrder.from_leverage(offer, amount=Decimal("100"))
        )
        info = await bybit.advance_earn.wait_for_order(ack, timeout=10, poll_interval=0.1)
        print("rfq:", info.status.value, info.leverage, info.lower_price, info.upper_price)
        async for position in double_win.positions():
            print(position.position_id, position.amount, position.redeemable)


asyncio.run(main())
