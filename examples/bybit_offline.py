"""The Advance Earn flow of the README against the offline Bybit simulator."""

import asyncio
from decimal import Decimal

from asyncexch.bybit import BybitClient, RedeemOrder, StakeOrder
from asyncexch.sim import BybitSimulator, SimTransport


async def main() -> None:
    sim = BybitSimulator(settlement_delay=0.2)
    sim.add_account("my-key", "my-secret")
    async with BybitClient(
        "my-key", "my-secret", base_url="http://bybit.sim", transport=SimTransport(sim.app)
    ) as bybit:
        earn = bybit.advance_earn
        product = (await earn.products(coin="BTC"))[0]
        quote = await earn.quote(product.product_id)
        # Refused here, before sending, if the quote has no offer or is about to expire.
        order = StakeOrder.from_quote(quote, amount=Decimal("100"), account_type="FUND")
        ack = await earn.place_order(order)
        again = await earn.place_order(order)  # the same order object: no second order
        assert again.order_id == ack.order_id
        info = await earn.wait_for_order(ack, timeout=10, poll_interval=0.1)
        print("staked:", info.status.value, info.amount)

        async for position in earn.positions(product_id=product.product_id):
            if not position.redeemable:
                continue
            [estimate] = await earn.redeem_estimates([position.position_id])
            # The staked amount and coin from the position; slippage-protected by default.
            redeem = await earn.place_order(RedeemOrder.from_position(position, estimate))
            done = await earn.wait_for_order(redeem, timeout=10, poll_interval=0.1)
            print("redeemed:", done.status.value, done.amount)
    print("orders on the exchange:", len(sim.orders))


asyncio.run(main())
