"""Limiter cost and fidelity: N queued acquisitions on one bucket, in virtual time.

Prints a table and writes benchmarks/results/limiter.json. Virtual time makes the schedule
exact; the wall time measured is the limiter's own cost per decision.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import pathlib
import time
import tracemalloc

from asyncexch import InProcessLimiter, RateLimit, VirtualClock


async def measure(calls: int, rate: RateLimit) -> dict[str, float]:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    admitted: list[float] = []
    order: list[int] = []

    async def one(index: int) -> None:
        await limiter.acquire([("bench:place_order", rate), ("bench:ip", RateLimit(600, per=5.0))])
        admitted.append(clock.monotonic())
        order.append(index)

    tracemalloc.start()
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    worst = max(bisect.bisect_left(admitted, t + rate.per) - i for i, t in enumerate(admitted))
    ideal = (calls - rate.limit) / rate.limit * rate.per  # first burst free, then limit per `per`
    return {
        "calls": calls,
        "limit": rate.limit,
        "per": rate.per,
        "guard": rate.guard,
        "max_in_any_window": worst,
        "fifo": float(order == sorted(order)),
        "virtual_duration_s": admitted[-1],
        "virtual_vs_ideal": admitted[-1] / ideal if ideal else 1.0,
        "achieved_rate_vs_limit": (calls - rate.limit) / admitted[-1] / (rate.limit / rate.per),
        "wall_s": wall,
        "us_per_decision": wall / calls * 1e6,
        "peak_memory_mb": peak / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, nargs="*", default=[1_000, 10_000])
    args = parser.parse_args()
    rows = [asyncio.run(measure(n, RateLimit(20, per=1.0))) for n in args.calls]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(f"{row[k]:.4g}" for k in keys))
    out = pathlib.Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "limiter.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
