"""A ChainUP contract order against the offline simulator, with the unknown-outcome path."""

import asyncio
from datetime import timedelta
from decimal import Decimal

from asyncexch import OrderStatusUnknown
from asyncexch.chainup import ChainupContractClient, TakeOrder
from asyncexch.sim import ChainupSimulator, Fault, Faults, SimTransport


async def main() -> None:
    sim = ChainupSimulator()
    sim.add_account("my-key", "my-secret")
    async with ChainupContractClient(
        "my-key", "my-secret", base_url="http://chainup.sim", transport=SimTransport(sim.app)
    ) as cu:
        contracts = await cu.contracts()
        btc = next(c for c in contracts if c.symbol == "E_BTCUSD")
        ticker = await cu.ticker(btc.id)
        created = await cu.take_order(
            TakeOrder(
                contract_id=btc.id,
                side="BUY",
                volume=Decimal("1"),
                order_type="LIMIT",
                price=ticker.last,
                close_type="OPEN",
                cop_type="ISOLATED",
                level=10,
            )
        )
        print("placed", created.order_id, "liquidation at", created.liquidation_price)

        sim.set_faults(Faults(rate=1.0, kinds=[Fault.DROP_AFTER_COMMIT]))  # the answer is lost
        try:
            await cu.take_order(
                TakeOrder(
                    contract_id=btc.id,
                    side="BUY",
                    volume=Decimal("2"),
                    order_type="MARKET",
                    close_type="OPEN",
                    level=10,
                )
            )
        except OrderStatusUnknown as unknown:
            sim.set_faults(Faults())
            # Never resent: looked up instead. The simulator acts before it drops an answer,
            # so nothing arrives late; against a venue keep the default settle (the attempt
            # deadline and a second).
            verdict = await cu.reconcile(unknown, settle=timedelta(0))
            print("unknown outcome reconciled:", verdict.status.value, verdict.order)
        print("positions:", [(p.side, p.volume) for p in await cu.positions(btc.id)])


asyncio.run(main())
