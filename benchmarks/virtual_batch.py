"""Virtual time (issue 19): a batch of orders at Bybit's 5 orders/s, on ``VirtualClock``.

What a user's test suite pays: ``place_orders`` of 10,000 SmartLeverage stakes against the
Bybit simulator in process (``SimTransport``), both on one ``VirtualClock``, so the 2,000 s the
batch takes at the venue's limit (5/s, the client's default and the simulator's) pass in
virtual time and only the work is left. Every order must be acknowledged.

Prints, for each round, the orders, the venue's seconds and the wall seconds (and the best
round); writes ``benchmarks/results/virtual_batch.json``.

``python benchmarks/virtual_batch.py [--orders N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import time
from decimal import Decimal

from asyncexch import VirtualClock
from asyncexch.bybit import BybitClient, StakeOrder
from asyncexch.sim import BybitSimulator, SimTransport

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


async def batch(orders: int) -> tuple[float, float]:
    """Place ``orders`` stakes in one batch; the venue's seconds and the wall seconds."""
    clock = VirtualClock()
    sim = BybitSimulator(clock=clock, quote_ttl=10**6, settlement_delay=1.0)
    sim.add_account("key", "secret", balances={"USDT": Decimal(10**12)})
    async with BybitClient(
        "key", "secret", base_url="http://bybit.sim", transport=SimTransport(sim.app), clock=clock
    ) as bybit:
        earn = bybit.advance_earn
        products = await earn.products(coin="BTC")
        quote = await earn.quote(products[0].product_id)
        stakes = [StakeOrder.from_quote(quote, amount=Decimal(10 + n % 10)) for n in range(orders)]
        venue_start, wall_start = clock.monotonic(), time.perf_counter()
        results = await earn.place_orders(stakes)
        wall = time.perf_counter() - wall_start
        failed = [result for result in results if isinstance(result, Exception)]
        if failed or len(sim.orders) != orders:
            raise SystemExit(f"{len(failed)} orders failed, {len(sim.orders)} held: {failed[:3]}")
        return clock.monotonic() - venue_start, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=10_000, help="orders in the batch")
    parser.add_argument("--rounds", type=int, default=3, help="batches run (the best counts)")
    args = parser.parse_args()
    walls: list[float] = []
    venue = 0.0
    for round_ in range(1, args.rounds + 1):
        venue, wall = asyncio.run(batch(args.orders))
        walls.append(wall)
        print(f"round {round_}: {args.orders} orders, {venue:.0f} s venue time, {wall:.2f} s wall")
    print(f"best of {args.rounds}: {min(walls):.2f} s wall for {args.orders} orders")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "virtual_batch.json").write_text(
        json.dumps({"orders": args.orders, "venue_seconds": venue, "wall_seconds": walls}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main()
