"""Bybit Liquidity Mining against the offline simulator: add liquidity with leverage, add
margin, remove half, claim the yield."""

import asyncio
from decimal import Decimal

from asyncexch import PositionOrderPending
from asyncexch.bybit import AddLiquidity, AddMargin, BybitClient, RemoveLiquidity
from asyncexch.sim import BybitSimulator, SimTransport


async def main() -> None:
    sim = BybitSimulator(settlement_delay=0.2)  # BybitClient(key, secret) for Bybit itself
    sim.add_account("my-key", "my-secret")
    async with BybitClient(
        "my-key", "my-secret", base_url="http://bybit.sim", transport=SimTransport(sim.app)
    ) as bybit:
        mining = bybit.liquidity_mining
        [pool] = await mining.products(base_coin="ETH")
        print("pool:", pool.base_coin, pool.quote_coin, "APY", pool.apy, "up to", pool.max_leverage)
        add = AddLiquidity(
            product_id=pool.product_id, quote_amount=Decimal("1000"), leverage=Decimal("2")
        )
        ack = await mining.add_liquidity(add)  # placed once, however many retries it takes
        await mining.wait_for_order(ack, timeout=10, poll_interval=0.1)
        [position] = [position async for position in mining.positions()]
        print("loan:", position.loan, "liquidation price:", position.liquidation_price)

        ids = {"product_id": pool.product_id, "position_id": position.position_id}
        margin = await mining.add_margin(AddMargin(amount=Decimal("100"), **ids))
        removal = RemoveLiquidity(remove_rate=50, **ids)
        try:
            await mining.remove_liquidity(removal)
        except PositionOrderPending:  # one pending order per position
            await mining.wait_for_order(margin, timeout=10, poll_interval=0.1)
            removed = await mining.remove_liquidity(removal)  # the same object: one removal
            done = await mining.wait_for_order(removed, timeout=10, poll_interval=0.1)
            print("removed:", done.status.value, done.quote_amount, done.base_amount)
        await mining.claim_interest()  # has no orderLinkId: never resent on an unknown outcome
        async for record in mining.yield_records(base_coin="ETH"):
            print("yield:", record.yield_type.value, record.amount, record.coin)
    print("orders on the exchange:", len(sim.liquidity_mining.orders))


asyncio.run(main())
