"""One process of a bot that shares its API key with others through a RedisLimiter.

Run as ``python place_worker.py SIM_URL REDIS_URL WORKER COUNT LIMIT``: builds its orders
from a quote, prints ``ready``, waits for a line on stdin, places them, and prints one JSON line:
``{"acks": n, "errors": [...], "round_trips": [...], "refused": n}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal

from asyncexch import ExchangeError, RateLimit
from asyncexch._redis import RedisLimiter
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder

KEY = "many-processes-key"
SECRET = "many-processes-secret"


async def main(sim_url: str, redis_url: str, worker: int, count: int, limit: int) -> None:
    async with (
        RedisLimiter(redis_url) as limiter,
        BybitClient(
            KEY,
            SECRET,
            base_url=sim_url,
            limits={"place_order": RateLimit(limit)},
            limiter=limiter,
        ) as client,
    ):
        quote = await client.advance_earn.quote("13016")
        orders = [
            StakeOrder.from_quote(quote, amount=Decimal("10") + Decimal(worker * 1000 + index))
            for index in range(count)
        ]
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        results = await client.advance_earn.place_orders(orders)
    errors = [repr(result) for result in results if isinstance(result, ExchangeError)]
    print(
        json.dumps(
            {
                "acks": sum(isinstance(result, OrderAck) for result in results),
                "errors": errors,
                "round_trips": list(limiter.stats.round_trips),
                "refused": limiter.stats.refused,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    sim_url, redis_url, worker, count, limit = sys.argv[1:6]
    asyncio.run(main(sim_url, redis_url, int(worker), int(count), int(limit)))
