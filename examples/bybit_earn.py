"""Bybit Earn (FlexibleSaving, OnChain) against the offline simulator: stake, position,
redeem, each order placed exactly once."""

import asyncio
from decimal import Decimal

from asyncexch.bybit import BybitClient, EarnRedeem, EarnStake
from asyncexch.sim import BybitSimulator, SimTransport


async def main() -> None:
    sim = BybitSimulator(settlement_delay=0.2)  # offline; BybitClient(key, secret) for Bybit
    sim.add_account("sim-key", "sim-secret")
    async with BybitClient(
        "sim-key", "sim-secret", base_url="http://bybit.sim", transport=SimTransport(sim.app)
    ) as bybit:
        earn = bybit.earn
        [product] = await earn.products("FlexibleSaving", coin="USDT")  # list[EarnProduct]
        # Refused before sending: outside the product's minimum/maximum, finer than its
        # precision; OnChain takes the FUND account only.
        stake = EarnStake.from_product(product, amount=Decimal("100"))
        ack = await earn.place_order(stake)  # EarnAck(category, order_id, order_link_id)
        info = await earn.wait_for_order(ack, timeout=10, poll_interval=0.1)
        print("staked:", info.status.value, info.amount)
        [position] = await earn.positions("FlexibleSaving", coin="USDT")
        print("redeemable:", position.available_amount, position.freeze_details)
        redeem = EarnRedeem(
            category="FlexibleSaving",
            product_id=product.product_id,
            coin="USDT",
            amount=position.available_amount or position.amount,
        )
        done = await earn.wait_for_order(await earn.place_order(redeem), timeout=10)
        print("redeemed:", done.status.value, done.amount)


asyncio.run(main())
