"""Many processes, one API key: the Redis limiter at 1, 2, 4 and 8 processes.

Each run starts a fresh ``redis-server`` on a loopback port (Debian's package; ``--redis-url``
uses yours instead), serves the Bybit simulator on another (in this process, its own thread,
``place_order`` window at ``--limit`` per second, 0-10 ms of latency), and starts N worker
processes that share one API key. Together they place ``--orders`` orders (split evenly),
each worker through its own ``BybitClient(limiter=RedisLimiter(url))`` with the same limit.
A baseline row runs the same with each process's in-process limiter (no sharing) to show
what sharing prevents.

Measured at the exchange: the aggregate rate after the first burst (orders per second, and
as a fraction of the limit), rate-limit refusals (10006/403), the most orders any rolling
second held, and how far apart the workers finished (fairness: with equal shares they should
finish together). Measured in the workers: the acquire script's round trip to Redis, p50 and
p99 (every attempt, admitted or told to wait). Prints a table; writes
``benchmarks/results/redis_limiter.json``.

``python benchmarks/redis_limiter.py [--processes 1 2 4 8] [--orders 200] [--limit 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import pathlib
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

KEY = "bench-key"
SECRET = "bench-secret"


# --- one worker process -------------------------------------------------------------------


async def worker(args: argparse.Namespace) -> None:
    from asyncexch import ExchangeError, RateLimit
    from asyncexch._redis import RedisLimiter
    from asyncexch.bybit import BybitClient, OrderAck, StakeOrder

    orders = [
        StakeOrder(
            product_id="13016",
            coin="USDT",
            amount=Decimal(10 + n) + Decimal(args.index) / 1000,  # the worker in the decimals
            initial_price=Decimal(args.price),
            breakeven_price=Decimal(args.breakeven),
        )
        for n in range(args.count)
    ]
    limits = {"place_order": RateLimit(args.limit)}
    limiter = RedisLimiter(args.redis_url) if args.mode == "redis" else None
    async with BybitClient(
        KEY, SECRET, base_url=args.sim_url, limits=limits, limiter=limiter
    ) as client:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        results = await client.advance_earn.place_orders(orders)
    if limiter is not None:
        await limiter.aclose()
    print(
        json.dumps(
            {
                "acks": sum(isinstance(r, OrderAck) for r in results),
                "errors": [repr(r) for r in results if isinstance(r, ExchangeError)],
                "round_trips": list(limiter.stats.round_trips) if limiter else [],
            }
        ),
        flush=True,
    )


# --- the driver ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit(
            "redis-server is not installed (apt-get install redis-server), or pass --redis-url"
        )
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn,
                ):
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait()


def _busiest(times: list[float]) -> int:
    ordered = sorted(times)
    return max(i + 1 - bisect.bisect_right(ordered, t - 1.0) for i, t in enumerate(ordered))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(
    processes: int, mode: str, args: argparse.Namespace, redis_url: str
) -> dict[str, Any]:
    from asyncexch.sim import BybitSimulator, Faults, SimServer

    sim = BybitSimulator(
        limits={"place_order": (args.limit, 1.0)},
        faults=Faults(latency=(0.0, 0.01), seed=1),
        quote_ttl=3600.0,  # a run measures pacing: one quote lasts the whole batch
    )
    sim.add_account(KEY, SECRET)
    quote = sim.issue_quote("13016")
    counts = [args.orders // processes + (i < args.orders % processes) for i in range(processes)]
    async with SimServer(sim.app) as server:
        if mode == "redis":  # a clean key: flush what an earlier run left
            from redis.asyncio import Redis

            async with Redis.from_url(redis_url) as client:
                await client.flushall()
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--worker",
                "--mode",
                mode,
                "--index",
                str(i),
                "--count",
                str(count),
                "--limit",
                str(args.limit),
                "--price",
                str(quote.current_price),
                "--breakeven",
                str(quote.breakeven_price),
                "--sim-url",
                server.url,
                "--redis-url",
                redis_url,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for i, count in enumerate(counts)
        ]
        for proc in workers:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            assert line == b"ready\n", line
        outputs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in workers))
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    arrivals = sorted(sim.stats.arrivals["place_order"])
    accepted = sorted(order.placed_at for order in sim.orders.values())
    rate = (len(accepted) - args.limit) / (accepted[-1] - accepted[args.limit - 1])
    finish = [
        max(o.placed_at for o in sim.orders.values() if round(o.amount % 1 * 1000) == i)
        for i in range(processes)
    ]
    trips = [t for report in reports for t in report["round_trips"]]
    return {
        "processes": processes,
        "limiter": mode,
        "orders": len(sim.orders),
        "errors": sum(len(report["errors"]) for report in reports),
        "requests": len(arrivals),
        "rejections": sim.stats.rate_limit_rejections,
        "busiest_second": _busiest(arrivals),
        "rate_per_s": rate,
        "rate_vs_limit": rate / args.limit,
        "finish_spread_s": max(finish) - min(finish),
        "redis_rtt_p50_ms": _percentile(trips, 0.5) * 1000,
        "redis_rtt_p99_ms": _percentile(trips, 0.99) * 1000,
        "redis_round_trips": len(trips),
    }


async def main(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        url = args.redis_url or stack.enter_context(redis_server())
        plan = [(n, "redis") for n in args.processes]
        plan += [(n, "in_process") for n in args.baseline]
        rows = [await run(n, mode, args, url) for n, mode in plan]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    out = pathlib.Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "redis_limiter.json").write_text(
        json.dumps(
            {
                "machine": f"{platform.system()} {platform.machine()}, python "
                f"{platform.python_version()}",
                "limit_per_s": args.limit,
                "orders": args.orders,
                "statistics": "rate after the first burst; rtt of the acquire script",
                "rows": rows,
            },
            indent=2,
        )
    )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument(
        "--baseline",
        type=int,
        nargs="*",
        default=[4],
        help="process counts to run with in-process limiters only",
    )
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--redis-url")
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="redis", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--price", default="0", help=argparse.SUPPRESS)
    parser.add_argument("--breakeven", default="0", help=argparse.SUPPRESS)
    parser.add_argument("--sim-url", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _parse()
    asyncio.run(worker(arguments) if arguments.worker else main(arguments))
