"""Rate-limit fidelity, measured where the exchange measures it: arrivals at the simulator.

The simulator (served by uvicorn on a loopback port) enforces Bybit's strict rolling window on
place-order and adds network jitter before each request arrives. Two parts:

1. asyncexch ``place_orders`` batches of 200 and 1,000 orders at 20/s with 0-20 ms jitter
   (``--quick``: 200 only);
2. side by side at 10/s, 60 orders, 0-15 ms jitter: what users write by hand (an httpx client
   with hand-written signing, each order a task, 10006 retried) with aiolimiter's
   ``AsyncLimiter(10, 1)``, ``AsyncLimiter(1, 0.1)``, ``AsyncLimiter(1, 1/9.5)``, with no
   limiter but a sleep to the reset time on 10006 (pybit's way), and asyncexch;
3. side by side at Bybit's own Advance Earn place-order limit, 5/s, 60 orders (``--quick``:
   30), 0-15 ms jitter: ccxt's async ``bybit`` with its own pacing at its default
   (``enableRateLimit`` on), and asyncexch with its default limits. ccxt has no method for
   Advance Earn and does not know its limits: an order goes through its generic signed
   ``request("v5/earn/advance/place-order", ["private"], "POST", params)``, which its
   throttler charges the default cost of 1 token of its one bucket (``rateLimit`` 20 ms: 50
   requests a second). Each order is a task; a ``RateLimitExceeded`` (what ccxt raises on
   10006) is caught and the order sent again, at once (through ccxt's throttler again, as the
   aiolimiter loops do) or after a 1 s pause (the window's length), at most ``MAX_ATTEMPTS``
   times. Skipped, with a note, when ccxt (the ``bench`` group) is not installed.

For each run: rate-limit rejections counted by the simulator (10006, 403), the most requests
that arrived in any rolling second, and, from the arrival times of the accepted orders as the
exchange saw them:

* sustained rate / limit: orders after the first ``limit`` over the time from the
  ``limit``-th to the last (as ``tests/integration/test_rate_limit.py`` measures it);
* span efficiency: the shortest span the window allows, ``(n - limit) / limit`` seconds, over
  the span from the first to the last accepted arrival;
* cycle slack: how much later than one second after an accepted arrival the one ``limit``
  orders later arrived (the window time each cycle loses);

and the client's wall time over the theoretical minimum ``(n - limit) / limit`` seconds.
Prints a table, writes ``benchmarks/results/fidelity.json`` and plots the arrivals per
rolling second of the side-by-side runs to ``benchmarks/results/fidelity.png`` (10/s) and
``benchmarks/results/fidelity_ccxt.png`` (5/s).

``python benchmarks/fidelity.py [--quick] [--no-plot]``
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import hmac
import json
import os
import pathlib
import statistics
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from asyncexch import RateLimit
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder
from asyncexch.sim import BybitSimulator, Faults, SimServer

KEY = "fidelity-key"
SECRET = "fidelity-secret"
PRODUCT = "13016"  # BTC Long, invests USDT
PLACE_PATH = "/v5/earn/advance/place-order"
RECV_WINDOW = "5000"
#: Attempts per order for the hand-written loops and ccxt (bounded: the run must end by itself).
MAX_ATTEMPTS = 20
#: The ccxt clients of part 3: how long each waits after a RateLimitExceeded before resending.
CCXT_PAUSES = {"ccxt, resend at once": 0.0, "ccxt, resend after 1 s": 1.0}
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def orders_for(sim: BybitSimulator, count: int) -> list[StakeOrder]:
    quote = sim.issue_quote(PRODUCT)
    return [
        StakeOrder(
            product_id=PRODUCT,
            coin="USDT",
            amount=Decimal("10") + index,
            initial_price=quote.current_price,
            breakeven_price=quote.breakeven_price,
        )
        for index in range(count)
    ]


def busiest_window(arrivals: list[float], per: float = 1.0) -> int:
    """The most arrivals any rolling window ``(t - per, t]`` held."""
    times = sorted(arrivals)
    return max(
        (i + 1 - bisect.bisect_right(times, at - per) for i, at in enumerate(times)), default=0
    )


def rolling_counts(arrivals: list[float], per: float = 1.0) -> list[tuple[float, int]]:
    """(arrival, requests in the window ending there) for every arrival, time from the first."""
    times = sorted(arrivals)
    if not times:
        return []
    start = times[0]
    return [
        (at - start, i + 1 - bisect.bisect_right(times, at - per)) for i, at in enumerate(times)
    ]


class TimedTransport(httpx.AsyncBaseTransport):
    """httpx's default transport, recording each request's round trip (send to full answer)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.round_trips: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        self.round_trips.append(time.monotonic() - started)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


# --- hand-written clients -------------------------------------------------------------------


def signed(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    signature = hmac.new(
        SECRET.encode(), (timestamp + KEY + RECV_WINDOW).encode() + body, hashlib.sha256
    ).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": timestamp,
        "X-BAPI-RECV-WINDOW": RECV_WINDOW,
        "X-BAPI-SIGN": signature,
        "X-BAPI-SIGN-TYPE": "2",
    }


async def hand_written(
    url: str,
    batch: list[StakeOrder],
    limiter: Callable[[], AbstractAsyncContextManager[Any]] | None,
    transport: TimedTransport,
) -> dict[str, int]:
    """Each order a task: (take the limiter,) POST it signed, retry 10006.

    With a limiter a refused order goes back through the limiter; without one it sleeps until
    the ``X-Bapi-Limit-Reset-Timestamp`` the answer gave, as pybit does.
    """
    outcome: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=10.0, transport=transport) as client:

        async def send(body: bytes) -> httpx.Response:
            if limiter is None:
                return await client.post(PLACE_PATH, content=body, headers=signed(body))
            async with limiter():
                return await client.post(PLACE_PATH, content=body, headers=signed(body))

        async def place(order: StakeOrder) -> None:
            body = json.dumps(order.to_params(), separators=(",", ":")).encode()
            for _ in range(MAX_ATTEMPTS):
                response = await send(body)
                code = response.json()["retCode"]
                if code == 0:
                    outcome["placed"] += 1
                    return
                if code != 10006:
                    outcome[f"failed {code}"] += 1
                    return
                if limiter is None:
                    reset_ms = int(response.headers.get("X-Bapi-Limit-Reset-Timestamp", "0"))
                    await asyncio.sleep(max(reset_ms / 1000 - time.time(), 0.0))
            outcome["gave up"] += 1

        await asyncio.gather(*(place(order) for order in batch))
    return dict(outcome)


async def with_asyncexch(
    url: str, batch: list[StakeOrder], limit: int | None, transport: TimedTransport
) -> dict[str, int]:
    """``place_orders`` at a place-order limit of ``limit`` a second (``None``: the client's
    default limits, Bybit's documented ones)."""
    limits = None if limit is None else {"place_order": RateLimit(limit)}
    async with BybitClient(KEY, SECRET, base_url=url, limits=limits, transport=transport) as client:
        results = await client.advance_earn.place_orders(batch)
    outcome: Counter[str] = Counter(
        "placed" if isinstance(r, OrderAck) else type(r).__name__ for r in results
    )
    return dict(outcome)


def ccxt_missing() -> str | None:
    """Why ccxt cannot run here (it is in the ``bench`` group only), or ``None``."""
    try:
        import ccxt.async_support  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as error:
        return f"ccxt is not installed ({error}): pip install -e . --group bench"
    return None


async def with_ccxt(
    url: str, batch: list[StakeOrder], pause: float, round_trips: list[float]
) -> tuple[dict[str, int], dict[str, Any]]:
    """Each order a task on one ccxt ``bybit`` with its pacing at its default; a
    ``RateLimitExceeded`` sent again after ``pause`` seconds (at most ``MAX_ATTEMPTS`` sends).

    What ccxt's throttler did is returned too: its bucket, and the cost it charged a send."""
    import ccxt.async_support as ccxt_async

    exchange = ccxt_async.bybit({"apiKey": KEY, "secret": SECRET, "timeout": 10_000})
    # ccxt only builds https://api.bybit.com and its siblings: point every one at the simulator.
    exchange.urls["api"] = {name: url for name in exchange.urls["api"]}
    exchange.options["recvWindow"] = int(RECV_WINDOW)
    path = PLACE_PATH.lstrip("/")
    fetch = exchange.fetch

    async def timed_fetch(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return await fetch(*args, **kwargs)
        finally:
            round_trips.append(time.monotonic() - started)

    exchange.fetch = timed_fetch
    pacing = {
        "enableRateLimit": exchange.enableRateLimit,
        "rateLimit_ms": exchange.rateLimit,
        "cost_per_place_order": exchange.calculate_rate_limiter_cost(
            ["private"], "POST", path, {}, {}
        ),
    }
    pacing["paced_per_s"] = 1000 / pacing["rateLimit_ms"] / pacing["cost_per_place_order"]
    outcome: Counter[str] = Counter()

    async def place(order: StakeOrder) -> None:
        params = order.to_params()  # one orderLinkId for every send of this order
        for _ in range(MAX_ATTEMPTS):
            try:
                await exchange.request(path, ["private"], "POST", params)
            except ccxt_async.RateLimitExceeded:
                outcome["RateLimitExceeded caught"] += 1
                await asyncio.sleep(pause)
                continue
            except ccxt_async.BaseError as error:
                outcome[f"failed {type(error).__name__}"] += 1
                return
            outcome["placed"] += 1
            return
        outcome["gave up"] += 1

    try:
        await asyncio.gather(*(place(order) for order in batch))
    finally:
        await exchange.close()
    return dict(outcome), pacing


# --- one run --------------------------------------------------------------------------------


def aiolimiter_factory(rate: float, period: float) -> Callable[[], AsyncLimiter]:
    holder: list[AsyncLimiter] = []

    def get() -> AsyncLimiter:
        if not holder:  # made inside the run's event loop
            holder.append(AsyncLimiter(rate, period))
        return holder[0]

    return get


async def run_one(
    name: str, client: str, count: int, limit: int, jitter: float, seed: int
) -> dict[str, Any]:
    sim = BybitSimulator(
        limits={"place_order": (limit, 1.0)},
        faults=Faults(latency=(0.0, jitter), seed=seed),
        quote_ttl=3600.0,  # a run measures pacing: one quote lasts the whole batch
    )
    sim.add_account(KEY, SECRET)
    batch = orders_for(sim, count)
    transport = TimedTransport()
    pacing: dict[str, Any] = {}
    async with SimServer(sim.app) as server:
        started = time.monotonic()
        if client == "asyncexch":
            outcome = await with_asyncexch(server.url, batch, limit, transport)
        elif client == "asyncexch, default limits":
            outcome = await with_asyncexch(server.url, batch, None, transport)
        elif client in CCXT_PAUSES:
            pause = CCXT_PAUSES[client]
            outcome, pacing = await with_ccxt(server.url, batch, pause, transport.round_trips)
        elif client == "reset-sleep":
            outcome = await hand_written(server.url, batch, None, transport)
        else:
            rate, period = {
                "AsyncLimiter(10, 1)": (10.0, 1.0),
                "AsyncLimiter(1, 0.1)": (1.0, 0.1),
                "AsyncLimiter(1, 1/9.5)": (1.0, 1 / 9.5),
            }[client]
            outcome = await hand_written(
                server.url, batch, aiolimiter_factory(rate, period), transport
            )
        wall = time.monotonic() - started
    arrivals = sim.stats.arrivals.get("place_order", [])
    accepted = sorted(order.placed_at for order in sim.orders.values())
    links = Counter(order.order_link_id for order in sim.orders.values())
    minimum = (count - limit) / limit
    span = accepted[-1] - accepted[0] if len(accepted) > limit else 0.0
    # Batch efficiency: the shortest span the window allows over the span taken, first to
    # last accepted arrival. Sustained rate: as tests/integration/test_rate_limit.py measures
    # it, orders after the first `limit` over the time from the limit-th to the last.
    tail = accepted[-1] - accepted[limit - 1] if len(accepted) > limit else 0.0
    achieved = (len(accepted) - limit) / span / limit if span > 0 else float("nan")
    sustained = (len(accepted) - limit) / tail / limit if tail > 0 else float("nan")
    # What each window cycle loses: how much later than `per` after an accepted arrival the
    # arrival `limit` places later came (the round trip the limiter waits for, in practice).
    slack = [accepted[k + limit] - accepted[k] - 1.0 for k in range(len(accepted) - limit)]
    return {
        "run": name,
        "client": client,
        "orders": count,
        "limit_per_s": limit,
        "jitter_ms": jitter * 1000,
        "placed": len(sim.orders),
        "duplicates": sum(n - 1 for n in links.values()),
        "outcome": outcome,
        "client_pacing": pacing,
        "requests": sim.stats.requests["place_order"],
        "rejections_10006": sim.stats.rejections[10006],
        "rejections_403": sim.stats.rejections[403],
        "busiest_rolling_second": busiest_window(arrivals),
        "span_efficiency": achieved,
        "sustained_rate_vs_limit": sustained,
        "cycle_slack_ms_mean": statistics.fmean(slack) * 1000 if slack else float("nan"),
        "round_trip_ms_p50": statistics.median(transport.round_trips) * 1000,
        "round_trip_ms_mean": statistics.fmean(transport.round_trips) * 1000,
        "load_average": os.getloadavg()[0],
        "wall_s": wall,
        "min_wall_s": minimum,
        "wall_vs_min": wall / minimum,
        "rolling": rolling_counts(arrivals),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| run | client | orders @ limit | jitter | placed | requests | 10006 | 403 | "
        "busiest 1 s | span efficiency | sustained / limit | cycle slack ms | "
        "round trip ms p50 / mean | wall s (min) | wall / min |"
    )
    print("|" + "---|" * 15)
    for r in rows:
        print(
            f"| {r['run']} | {r['client']} | {r['orders']} @ {r['limit_per_s']}/s | "
            f"0-{r['jitter_ms']:.0f} ms | {r['placed']} | {r['requests']} | "
            f"{r['rejections_10006']} | {r['rejections_403']} | {r['busiest_rolling_second']} | "
            f"{r['span_efficiency']:.3f} | {r['sustained_rate_vs_limit']:.3f} | "
            f"{r['cycle_slack_ms_mean']:.0f} | "
            f"{r['round_trip_ms_p50']:.0f} / {r['round_trip_ms_mean']:.0f} | "
            f"{r['wall_s']:.2f} ({r['min_wall_s']:.1f}) | "
            f"{r['wall_vs_min']:.3f} |"
        )


def plot(rows: list[dict[str, Any]], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.1 * len(rows)), sharex=True, squeeze=False)
    for ax, r in zip(axes[:, 0], rows, strict=True):
        points = r["rolling"]
        ax.step([p[0] for p in points], [p[1] for p in points], where="post", lw=1.2)
        ax.axhline(r["limit_per_s"], color="red", ls="--", lw=1, label="limit")
        ax.set_ylabel("in last 1 s")
        ax.set_title(
            f"{r['client']}: {r['rejections_10006']} rejections, "
            f"sustained {r['sustained_rate_vs_limit']:.2f} of the limit, "
            f"wall {r['wall_vs_min']:.2f}x min",
            fontsize=9,
            loc="left",
        )
        ax.set_ylim(0, max(max((p[1] for p in points), default=0), r["limit_per_s"]) + 3)
    axes[-1, 0].set_xlabel("seconds since the first arrival")
    fig.suptitle(
        f"Requests arriving at the exchange per rolling second "
        f"({rows[0]['orders']} orders, limit {rows[0]['limit_per_s']}/s, "
        f"0-{rows[0]['jitter_ms']:.0f} ms jitter)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the 200-order batch only")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    plan: list[tuple[str, str, int, int, float]] = [
        ("batch", "asyncexch", 200, 20, 0.02),
    ]
    if not args.quick:
        plan.append(("batch", "asyncexch", 1000, 20, 0.02))
    side = [
        "AsyncLimiter(10, 1)",
        "AsyncLimiter(1, 0.1)",
        "AsyncLimiter(1, 1/9.5)",
        "reset-sleep",
        "asyncexch",
    ]
    plan += [("side by side", client, 60, 10, 0.015) for client in side]
    # Part 3: ccxt's own pacing at Bybit's Advance Earn place-order limit (5/s per UID).
    missing = ccxt_missing()
    ccxt_side = [] if missing else list(CCXT_PAUSES)
    plan += [
        ("side by side 5/s", client, 30 if args.quick else 60, 5, 0.015)
        for client in [*ccxt_side, "asyncexch, default limits"]
    ]
    rows = []
    for name, client, count, limit, jitter in plan:
        row = asyncio.run(run_one(name, client, count, limit, jitter, seed=11))
        rows.append(row)
    print_table(rows)
    RESULTS.mkdir(exist_ok=True)
    ours = [r for r in rows if r["client"] == "asyncexch"]
    summary = {
        "asyncexch_zero_rejections": all(
            r["rejections_10006"] + r["rejections_403"] == 0 for r in ours
        ),
        "asyncexch_min_sustained_vs_limit": min(r["sustained_rate_vs_limit"] for r in ours),
        "asyncexch_min_span_efficiency": min(r["span_efficiency"] for r in ours),
        "asyncexch_max_wall_vs_min": max(r["wall_vs_min"] for r in ours),
    }
    summary["target_rejections_met"] = summary["asyncexch_zero_rejections"]
    summary["target_rate_met"] = summary["asyncexch_min_sustained_vs_limit"] >= 0.97
    summary["target_wall_met"] = summary["asyncexch_max_wall_vs_min"] <= 1.05
    # Part 3, ccxt's own pacing at 5/s, next to asyncexch's default limits.
    summary["side_by_side_5_per_s"] = {
        r["client"]: {
            key: r[key]
            for key in (
                "placed",
                "requests",
                "rejections_10006",
                "busiest_rolling_second",
                "sustained_rate_vs_limit",
                "wall_vs_min",
            )
        }
        for r in rows
        if r["run"] == "side by side 5/s"
    }
    if missing:
        summary["ccxt_not_measured"] = missing
    print()
    print(json.dumps(summary, indent=2))
    (RESULTS / "fidelity.json").write_text(
        json.dumps({"quick": args.quick, "summary": summary, "runs": rows}, indent=1) + "\n"
    )
    if not args.no_plot:
        for run, name in (("side by side", "fidelity"), ("side by side 5/s", "fidelity_ccxt")):
            plot([r for r in rows if r["run"] == run], RESULTS / f"{name}.png")
            print(f"plot: {RESULTS / name}.png")
    if missing:
        print(f"\nccxt's pacing (part 3) not measured: {missing}")


if __name__ == "__main__":
    main()
