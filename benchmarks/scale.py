"""Scale: 10,000 concurrent ``place_order`` calls queued behind the limiter.

Two parts, both in real time (``SystemClock``):

1. **The whole pipeline.** 10,000 ``place_order`` tasks on one ``BybitClient`` whose transport
   answers every request in process at once (an acknowledgement echoing the ``orderLinkId``;
   no network, no simulator bookkeeping, so what is measured is the library; it yields to the
   loop once per request, as a socket would). The place-order limit is 40 per 0.1 s (400/s,
   well under what the pipeline can do on a 2-core machine, so calls really queue), so the
   batch spends about 25 s queued (``--quick``: 6 s of it, then the rest is cancelled).
   Measured: memory growth (the RSS high-water mark over the baseline, and the tracemalloc
   peak in a second run, cancelled one second after every call is queued, since tracing
   slows Python several times), event-loop lag (a ticker task sleeping 10 ms and recording
   how late it wakes: p50, p99 and max while the calls are queued, against the same ticker
   on the idle loop just before; and the stall while the 10,000 tasks take their first step),
   fairness (the order requests reach the transport against the order the calls were made),
   CPU per call.
2. **The limiter alone.** N acquisitions (``--quick``: 1,000 and 10,000; else also 100 and
   30,000) queued at once on a place-order bucket (400 per 0.1 s), alone or with the IP pool,
   each permit settled as soon as it is granted; with the garbage collector off (the
   limiter's own cost) and on. Measured: CPU µs per decision (``time.process_time`` over the
   run divided by N: a decision that scanned the queue would cost more with more queued),
   FIFO order, the most grants in any rolling window, and the wall time against the ideal.

Prints tables; writes ``benchmarks/results/scale.json``.

``python benchmarks/scale.py [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import gc
import json
import pathlib
import time
import tracemalloc
from decimal import Decimal
from typing import Any

import httpx

from asyncexch import InProcessLimiter, RateLimit, SystemClock
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder

KEY = "scale-key"
SECRET = "scale-secret"
PLACE_LIMIT = RateLimit(40, per=0.1)
IP_LIMIT = RateLimit(10_000_000, per=5.0)
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


class InstantExchange(httpx.AsyncBaseTransport):
    """Acknowledges every place-order at once; records the order requests arrive in."""

    def __init__(self) -> None:
        self.arrivals: list[str] = []
        self._ids = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        link = json.loads(request.content)["orderLinkId"]
        self.arrivals.append(link)
        self._ids += 1
        await asyncio.sleep(0)  # a real transport suspends at least once on the socket
        now = int(time.time() * 1000)
        order_id = f"{self._ids:08x}-5e1a-4b1d-9a7e-{self._ids:012x}"
        body = (
            f'{{"retCode":0,"retMsg":"OK","result":{{"orderId":"{order_id}",'
            f'"orderLinkId":"{link}"}},"retExtInfo":{{}},"time":{now}}}'
        )
        return httpx.Response(
            200,
            content=body.encode(),
            headers={"Content-Type": "application/json", "Timenow": str(now)},
        )


def rss_kb(field: str = "VmRSS") -> int:
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); whether it worked."""
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def make_orders(count: int) -> list[StakeOrder]:
    price = Decimal("68403.67")
    return [
        StakeOrder(
            product_id="13016",
            coin="USDT",
            amount=Decimal("10") + index,
            initial_price=price,
            breakeven_price=price * Decimal("0.9964"),
        )
        for index in range(count)
    ]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def pipeline(count: int, *, trace: bool, run_for: float | None = None) -> dict[str, Any]:
    """``count`` concurrent place_order calls through the whole pipeline.

    Untraced, the batch runs to the end, or for ``run_for`` seconds after every call is queued
    and is then cancelled. Traced (memory only: tracing slows Python several times), it runs
    until every call is queued and one second more, then is cancelled.
    """
    orders = make_orders(count)
    index_of = {order.order_link_id: i for i, order in enumerate(orders)}
    exchange = InstantExchange()
    limits = {"place_order": PLACE_LIMIT, "ip": IP_LIMIT}
    lags: list[tuple[float, float]] = []  # (time the tick asked to sleep, lag)
    stop = asyncio.Event()
    pauses: list[float] = []  # full (generation 2) garbage collections during the batch
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - gc_started[0])

    async def ticker() -> None:
        while not stop.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((asked, time.perf_counter() - asked - 0.01))

    async with BybitClient(
        KEY, SECRET, base_url="https://bench.invalid", limits=limits, transport=exchange
    ) as client:
        earn = client.advance_earn
        # Warm up: first-call costs (cattrs hook generation, imports) are not queueing costs.
        await earn.place_order(make_orders(1)[0])
        await asyncio.sleep(PLACE_LIMIT.per * 2)
        exchange.arrivals.clear()
        gc.collect()
        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.1 if trace else 2.0)  # an idle loop's lag here: the baseline
        idle_until = time.perf_counter()
        gc.callbacks.append(on_gc)
        if trace:
            tracemalloc.start()
        reset_ok = reset_peak_rss()
        rss_before = rss_kb()
        cpu = time.process_time()
        started = time.perf_counter()
        tasks = [asyncio.ensure_future(earn.place_order(order)) for order in orders]
        await asyncio.sleep(0)  # every task has now taken its first step
        queued_at = time.perf_counter()
        if trace or run_for is not None:
            await asyncio.sleep(1.0 if trace else run_for or 0.0)
            if trace:
                _, traced_peak = tracemalloc.get_traced_memory()
                top = tracemalloc.take_snapshot().statistics("lineno")[:12]
                tracemalloc.stop()
            drained_at = time.perf_counter()
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        else:
            results = await asyncio.gather(*tasks)
            drained_at = time.perf_counter()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        peak_rss = rss_kb("VmHWM")
        gc.callbacks.remove(on_gc)
        stop.set()
        await tick
    done = [r for r in results if isinstance(r, OrderAck)]
    assert trace or run_for is not None or len(done) == count
    sequence = [index_of[link] for link in exchange.arrivals]
    displacement = max((abs(pos - index) for pos, index in enumerate(sequence)), default=0)
    idle = sorted(lag for asked, lag in lags if asked < idle_until - 0.02)
    queued = sorted(lag for asked, lag in lags if queued_at <= asked < drained_at - 0.02)
    ideal = (count - PLACE_LIMIT.limit) / PLACE_LIMIT.limit * PLACE_LIMIT.per
    row: dict[str, Any] = {
        "calls": count,
        "limit": f"{PLACE_LIMIT.limit} per {PLACE_LIMIT.per} s",
        "traced": trace,
        "completed": len(done),
        "submission_s": queued_at - started,
        "fifo": sequence == sorted(sequence),
        "max_displacement": displacement,
    }
    if trace:
        row["tracemalloc_peak_mb"] = traced_peak / 1e6
        row["bytes_per_queued_call"] = traced_peak / count
        row["top_allocations"] = [
            {
                "where": f"{stat.traceback[0].filename.split('site-packages/')[-1]}"
                f":{stat.traceback[0].lineno}",
                "mb": stat.size / 1e6,
                "blocks": stat.count,
            }
            for stat in top
        ]
        row["cancelled"] = sum(isinstance(r, asyncio.CancelledError) for r in results)
        return row
    whole = run_for is None
    row.update(
        {
            "ran_for_s": None if whole else run_for,
            "wall_s": wall if whole else None,
            "ideal_wall_s": ideal,
            "cpu_us_per_call": cpu / count * 1e6 if whole else None,
            "cpu_share": cpu / wall,
            "lag_queued_p50_ms": percentile(queued, 0.5) * 1e3,
            "lag_queued_p99_ms": percentile(queued, 0.99) * 1e3,
            "lag_queued_max_ms": (queued[-1] if queued else float("nan")) * 1e3,
            "lag_samples_queued": len(queued),
            "lag_idle_p99_ms": percentile(idle, 0.99) * 1e3,
            "lag_idle_max_ms": (idle[-1] if idle else float("nan")) * 1e3,
            "gc_full_collections": len(pauses),
            "gc_full_max_pause_ms": max(pauses, default=0.0) * 1e3,
            "rss_growth_mb": (peak_rss - rss_before) / 1024 if reset_ok else None,
        }
    )
    return row


async def limiter_alone(
    queued: int, rate: RateLimit, *, ip_pool: bool, collect: bool
) -> dict[str, Any]:
    """``queued`` acquisitions waiting at once on one bucket (and the IP pool, if asked).

    With ``collect=False`` the garbage collector is off during the run: what is left is the
    limiter's own cost (the collector's grows with every live object, limiter or not).
    """
    clock = SystemClock()
    limiter = InProcessLimiter(clock)
    claims = [("scale:place_order", rate)]
    if ip_pool:
        claims.append(("scale:ip", IP_LIMIT))
    granted: list[float] = []
    order: list[int] = []

    async def one(index: int) -> None:
        permit = await limiter.acquire(claims)
        granted.append(clock.monotonic())
        order.append(index)
        permit.done()

    gc.collect()
    if not collect:
        gc.disable()
    try:
        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(queued)))
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        gc.enable()
    busiest = max(
        i + 1 - bisect.bisect_right(granted, at - rate.per) for i, at in enumerate(granted)
    )
    ideal = max(queued - rate.limit, 0) / rate.limit * rate.per
    return {
        "queued": queued,
        "buckets": "place_order + ip" if ip_pool else "place_order",
        "gc": "on" if collect else "off",
        "limit": f"{rate.limit} per {rate.per} s",
        "cpu_us_per_decision": cpu / queued * 1e6,
        "fifo": order == sorted(order),
        "busiest_window": busiest,
        "wall_s": wall,
        "ideal_wall_s": ideal,
    }


def print_tables(result: dict[str, Any]) -> None:
    run, traced = result["pipeline"]
    print("Pipeline: concurrent place_order calls, in-process instant exchange")
    print(
        "| calls | limit | wall s (ideal) | CPU µs/call (CPU share) | FIFO | "
        "submission stall s | loop lag while queued p50 / p99 / max ms | idle loop p99 / max ms | "
        "full GCs (max pause ms) | RSS growth | tracemalloc peak, all queued |"
    )
    print("|" + "---|" * 11)
    wall = (
        f"{run['wall_s']:.2f} ({run['ideal_wall_s']:.2f})"
        if run["wall_s"] is not None
        else f"ran {run['ran_for_s']:.0f} s of {run['ideal_wall_s']:.0f}, then cancelled"
    )
    cpu = f"{run['cpu_us_per_call']:.0f}" if run["cpu_us_per_call"] is not None else "n/a"
    print(
        f"| {run['calls']:,} | {run['limit']} | {wall} | {cpu} ({run['cpu_share']:.0%}) | "
        f"{'yes' if run['fifo'] and traced['fifo'] else 'NO'} "
        f"(max displacement {run['max_displacement']}) | "
        f"{run['submission_s']:.2f} | "
        f"{run['lag_queued_p50_ms']:.2f} / {run['lag_queued_p99_ms']:.2f} / "
        f"{run['lag_queued_max_ms']:.1f} | "
        f"{run['lag_idle_p99_ms']:.2f} / {run['lag_idle_max_ms']:.1f} | "
        f"{run['gc_full_collections']} ({run['gc_full_max_pause_ms']:.0f}) | "
        f"{run['rss_growth_mb']:.1f} MB | {traced['tracemalloc_peak_mb']:.1f} MB |"
    )
    print()
    print("Largest allocations with every call queued (tracemalloc):")
    for item in traced["top_allocations"][:8]:
        print(f"  {item['mb']:6.1f} MB {item['blocks']:>7} blocks  {item['where']}")
    print()
    print("Limiter alone: acquisitions queued at once, real time")
    print(
        "| queued | buckets | GC | limit | CPU µs/decision | FIFO | busiest window | "
        "wall s (ideal) |"
    )
    print("|" + "---|" * 8)
    for r in result["limiter"]:
        print(
            f"| {r['queued']:,} | {r['buckets']} | {r['gc']} | {r['limit']} | "
            f"{r['cpu_us_per_decision']:.1f} | "
            f"{'yes' if r['fifo'] else 'NO'} | {r['busiest_window']} | "
            f"{r['wall_s']:.2f} ({r['ideal_wall_s']:.2f}) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the queue runs for 6 s and is cancelled; the limiter alone at 1,000 and 10,000",
    )
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    rows = [
        asyncio.run(pipeline(args.calls, trace=False, run_for=6.0 if args.quick else None)),
        asyncio.run(pipeline(args.calls, trace=True)),
    ]
    sizes = [1_000, 10_000] if args.quick else [100, 1_000, 10_000, 30_000]
    limiter_rate = RateLimit(400, per=0.1)  # 4,000/s: the limiter alone is cheap
    limiter_rows = [
        asyncio.run(limiter_alone(n, limiter_rate, ip_pool=ip_pool, collect=collect))
        for ip_pool, collect in ((False, False), (False, True), (True, True))
        for n in sizes
    ]
    run, traced = rows
    by_size = {
        r["queued"]: r for r in limiter_rows if r["buckets"] == "place_order" and r["gc"] == "off"
    }
    growth = max(traced["tracemalloc_peak_mb"], run["rss_growth_mb"] or 0.0)
    ratio = by_size[10_000]["cpu_us_per_decision"] / by_size[1_000]["cpu_us_per_decision"]
    summary = {
        "memory_growth_mb": growth,
        "memory_target_met": growth < 50,
        "lag_p99_ms": run["lag_queued_p99_ms"],
        "lag_target_met": run["lag_queued_p99_ms"] < 5,
        "idle_lag_p99_ms": run["lag_idle_p99_ms"],
        "submission_stall_s": run["submission_s"],
        "fifo": run["fifo"] and traced["fifo"] and all(r["fifo"] for r in limiter_rows),
        "decision_cost_ratio_10k_vs_1k": ratio,
        # O(1) or O(log n): ten times the queue may cost log2(10,000)/log2(1,000) = 1.33x per
        # decision at most; allow some noise on top.
        "decision_target_met": ratio < 1.5,
    }
    result = {"quick": args.quick, "pipeline": rows, "limiter": limiter_rows, "summary": summary}
    print_tables(result)
    print()
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
