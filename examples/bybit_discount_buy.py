"""DiscountBuy against the offline Bybit simulator: quote -> from_offer -> place -> settle."""

import asyncio
from decimal import Decimal

from asyncexch.bybit import BybitClient, DiscountBuyOrder, OrderStatus, SettleType
from asyncexch.sim import BybitSimulator, SimDiscountBuyProduct, SimTransport

#: A BTC product with a 2-second term (the simulator's own unit), so the example settles.
SHORT = SimDiscountBuyProduct("9001", "BTC", "2s", Decimal("100"), Decimal("1000000"))


async def main() -> None:
    sim = BybitSimulator(settlement_delay=0.2, price_swing=0.0, discount_buy_products=[SHORT])
    sim.add_account("my-key", "my-secret")
    async with BybitClient(
        "my-key", "my-secret", base_url="http://bybit.sim", transport=SimTransport(sim.app)
    ) as bybit:
        discount = bybit.advance_earn.discount_buy
        [product] = await discount.products(coin="BTC")
        [offer] = (await discount.quote(product.product_id)).offers
        print("offer:", offer.purchase_price, offer.knockout_price, offer.knockout_coupon)
        order = DiscountBuyOrder.from_offer(offer, amount=Decimal("1000"), settle_type="Base")
        ack = await bybit.advance_earn.place_order(order)  # a DiscountBuyAck
        info = await bybit.advance_earn.wait_for_order(ack, timeout=10, poll_interval=0.1)
        print("staked:", info.status.value, info.amount, info.settle_type is SettleType.BASE)
        sim.set_price("BTC", Decimal("60000"))  # below the purchase price: exercised
        while info.status is not OrderStatus.SETTLED:
            await asyncio.sleep(0.5)
            [info] = [i async for i in discount.orders(order_link_id=order.order_link_id)]
        print("settled:", info.settlement_amount, info.settlement_coin, "at", info.settlement_price)


asyncio.run(main())
