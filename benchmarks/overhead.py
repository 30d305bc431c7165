"""Per-call overhead: asyncexch against hand-written clients on the same transport, and pybit.

Every stack makes the same signed call, Bybit's order info
(``GET /v5/earn/advance/order?category=SmartLeverage&limit=20&orderId=<id>``, one order in the
answer), against the Bybit simulator served by uvicorn in a separate process with its limits
lifted (1,000,000 per second per endpoint and per IP) and no client-side pacing.

Stacks:

* ``asyncexch`` (default httpx transport) and ``asyncexch+aiohttp``
  (``BybitClient(transport="aiohttp")``: asyncexch's own ``AiohttpTransport``, extra ``fast``),
  each with ``limits=False``;
  ``asyncexch+aiohttp, limiter on`` keeps pacing on with limits far above what is reached, to
  show what the limiter costs;
* ``bare httpx`` and ``bare httpx+aiohttp``: hand-written HMAC signing, ``json.loads`` and a
  ``retCode`` check, on the same two transports (``httpx.AsyncClient`` with its default
  transport, and with ``asyncexch.AiohttpTransport()``) (a request refused with 10002, because it
  waited in the client's pool longer than the 5 s receive window after it was signed, is
  signed again and resent, as asyncexch does; the table counts these);
* ``bare aiohttp``: the same by hand on an ``aiohttp.ClientSession``;
* ``pybit``: ``HTTP(...).get_advance_earn_order(...)`` with its endpoint pointed at the
  simulator (``session.endpoint = url``; pybit has no constructor argument for a custom host).

Measured, interleaved over rounds so drift hits every stack alike, each figure the best round
(other processes share the machine; the median round is in the JSON too): sequential latency
(median ms/call after warm-up), throughput at 1, 16 and 64 calls in flight, and the client
process's CPU time per call (``time.process_time``: the server runs in another process, so
this is the client's own cost, whatever the server's speed). Overheads compare asyncexch with
the bare client on the same transport. Prints a table; writes ``benchmarks/results/overhead.json``.

``python benchmarks/overhead.py [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import pathlib
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

KEY = "bench-key"
SECRET = "bench-secret"
RECV_WINDOW = "5000"
PATH = "/v5/earn/advance/order"
LIFTED = 1_000_000
RESULTS = pathlib.Path(__file__).resolve().parent / "results"

Call = Callable[[], Awaitable[object]]


# --- the server, in its own process ---------------------------------------------------------


def serve(port: int) -> None:
    """Run the simulator with its limits lifted on 127.0.0.1:``port`` until killed."""
    import uvicorn

    from asyncexch.sim import BybitSimulator
    from asyncexch.sim._bybit import DEFAULT_LIMITS
    from asyncexch.sim._serve import dropping

    sim = BybitSimulator(
        limits={name: (LIFTED, 1.0) for name in DEFAULT_LIMITS},
        ip_limit=(LIFTED * 5, 5.0),
        settlement_delay=0.0,
    )
    sim.add_account(KEY, SECRET)
    uvicorn.run(
        dropping(sim.app),
        host="127.0.0.1",
        port=port,
        log_level="critical",
        access_log=False,
        lifespan="off",
        # Keep idle connections open between rounds: a server closing one just as a client
        # reuses it fails the bare clients (which do not retry) and adds reconnects to the rest.
        timeout_keep_alive=600,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server_process(script: str = __file__, *options: str) -> Iterator[str]:
    """The simulator in a child process (``script --serve PORT *options``); yields its base
    URL and stops it afterwards."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, script, "--serve", str(port), *options])
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("the simulator process exited")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- hand-written signing -------------------------------------------------------------------


def signed_headers(payload: bytes) -> dict[str, str]:
    """Bybit V5 HMAC headers for ``payload`` (the query string), written as users write them."""
    timestamp = str(int(time.time() * 1000))
    signature = hmac.new(
        SECRET.encode(), (timestamp + KEY + RECV_WINDOW).encode() + payload, hashlib.sha256
    ).hexdigest()
    return {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": timestamp,
        "X-BAPI-RECV-WINDOW": RECV_WINDOW,
        "X-BAPI-SIGN": signature,
        "X-BAPI-SIGN-TYPE": "2",
    }


class StaleTimestamp(Exception):
    """10002: the request reached the server more than the receive window after signing."""


#: Re-signed retries after 10002, per bare stack (asyncexch does the same on its own).
STALE_RETRIES: dict[str, int] = {}


def checked(body: bytes) -> list[dict[str, Any]]:
    data = json.loads(body)
    if data["retCode"] == 10002:
        raise StaleTimestamp(data["retMsg"])
    if data["retCode"] != 0:
        raise RuntimeError(f"retCode {data['retCode']}: {data['retMsg']}")
    items: list[dict[str, Any]] = data["result"]["list"]
    if len(items) != 1:
        raise RuntimeError(f"expected one order, got {len(items)}")
    return items


# --- the stacks -----------------------------------------------------------------------------


class Stack:
    """One client under test: an async ``call`` (or a sync one), and how to close it."""

    def __init__(
        self,
        name: str,
        call: Call | None = None,
        *,
        sync_call: Callable[[], object] | None = None,
        close: Callable[[], Awaitable[None]] | None = None,
        transport: str = "",
    ) -> None:
        self.name = name
        self.call = call
        self.sync_call = sync_call
        self.close = close
        self.transport = transport


async def place_one_order(url: str) -> str:
    """Place one stake order so that order info has an order to answer with; its id."""
    from asyncexch.bybit import BybitClient, StakeOrder

    async with BybitClient(KEY, SECRET, base_url=url, limits=False) as client:
        quote = await client.advance_earn.quote("13016")
        assert quote.breakeven_price is not None
        ack = await client.advance_earn.place_order(
            StakeOrder(
                product_id="13016",
                coin="USDT",
                amount=Decimal("100"),
                initial_price=quote.current_price,
                breakeven_price=quote.breakeven_price,
            )
        )
        return ack.order_id


def build_stacks(url: str, order_id: str, names: set[str] | None) -> list[Stack]:
    import aiohttp
    import httpx

    from asyncexch import AiohttpTransport, RateLimit
    from asyncexch.bybit import BybitClient

    query = f"category=SmartLeverage&limit=20&orderId={order_id}"
    full_url = f"{url}{PATH}?{query}"
    payload = query.encode()
    stacks: list[Stack] = []

    def wanted(name: str) -> bool:
        return names is None or name in names

    def asyncexch_stack(name: str, client: BybitClient, transport: str) -> Stack:
        earn = client.advance_earn

        async def call() -> object:
            found = [info async for info in earn.orders(order_id=order_id)]
            if len(found) != 1:
                raise RuntimeError(f"expected one order, got {len(found)}")
            return found

        return Stack(name, call, close=client.aclose, transport=transport)

    if wanted("asyncexch"):
        stacks.append(
            asyncexch_stack(
                "asyncexch",
                BybitClient(KEY, SECRET, base_url=url, limits=False),
                "httpx",
            )
        )
    if wanted("asyncexch+aiohttp"):
        stacks.append(
            asyncexch_stack(
                "asyncexch+aiohttp",
                BybitClient(KEY, SECRET, base_url=url, limits=False, transport="aiohttp"),
                "httpx+aiohttp",
            )
        )
    if wanted("asyncexch+aiohttp, limiter on"):
        lifted = {
            "order": RateLimit(LIFTED, per=1.0),
            "ip": RateLimit(LIFTED * 5, per=5.0),
        }
        stacks.append(
            asyncexch_stack(
                "asyncexch+aiohttp, limiter on",
                BybitClient(KEY, SECRET, base_url=url, limits=lifted, transport="aiohttp"),
                "httpx+aiohttp",
            )
        )

    def bare_httpx_stack(name: str, client: httpx.AsyncClient, transport: str) -> Stack:
        async def call() -> object:
            for _ in range(3):  # a request that waited in the pool re-signs, as it must
                response = await client.get(full_url, headers=signed_headers(payload))
                try:
                    return checked(response.content)
                except StaleTimestamp:
                    STALE_RETRIES[name] = STALE_RETRIES.get(name, 0) + 1
            raise RuntimeError("three stale timestamps in a row")

        return Stack(name, call, close=client.aclose, transport=transport)

    if wanted("bare httpx"):
        stacks.append(
            bare_httpx_stack(
                "bare httpx",
                # The pool asyncexch's own client uses, so both keep 64 connections alive.
                httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=64)
                ),
                "httpx",
            )
        )
    if wanted("bare httpx+aiohttp"):
        stacks.append(
            bare_httpx_stack(
                "bare httpx+aiohttp",
                httpx.AsyncClient(transport=AiohttpTransport()),
                "httpx+aiohttp",
            )
        )
    if wanted("bare aiohttp"):
        holder: list[aiohttp.ClientSession] = []

        async def aiohttp_call() -> object:
            if not holder:  # a ClientSession must be made inside the running loop
                holder.append(aiohttp.ClientSession())
            for _ in range(3):
                async with holder[0].get(full_url, headers=signed_headers(payload)) as response:
                    body = await response.read()
                try:
                    return checked(body)
                except StaleTimestamp:
                    STALE_RETRIES["bare aiohttp"] = STALE_RETRIES.get("bare aiohttp", 0) + 1
            raise RuntimeError("three stale timestamps in a row")

        async def aiohttp_close() -> None:
            if holder:
                await holder[0].close()

        stacks.append(Stack("bare aiohttp", aiohttp_call, close=aiohttp_close, transport="aiohttp"))
    if wanted("pybit"):
        from pybit.unified_trading import HTTP  # type: ignore[import-untyped]

        pybit = HTTP(testnet=False, api_key=KEY, api_secret=SECRET)
        pybit.endpoint = url  # pybit builds https://api.bybit.com; point it at the simulator

        def pybit_call() -> object:
            answer = pybit.get_advance_earn_order(
                category="SmartLeverage", limit=20, orderId=order_id
            )
            if answer["retCode"] != 0 or len(answer["result"]["list"]) != 1:
                raise RuntimeError(f"unexpected answer {answer!r}")
            return answer

        async def pybit_close() -> None:
            pybit.client.close()

        stacks.append(Stack("pybit", sync_call=pybit_call, close=pybit_close, transport="requests"))
    return stacks


# --- measuring ------------------------------------------------------------------------------


async def sequential(stack: Stack, calls: int) -> dict[str, float]:
    """``calls`` calls one after another: median and p90 latency, client CPU per call."""
    latencies: list[float] = []
    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(calls):
        started = time.perf_counter()
        if stack.sync_call is not None:
            stack.sync_call()
        else:
            assert stack.call is not None
            await stack.call()
        latencies.append(time.perf_counter() - started)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    latencies.sort()
    return {
        "median_ms": statistics.median(latencies) * 1e3,
        "p90_ms": latencies[int(0.9 * (len(latencies) - 1))] * 1e3,
        "calls_per_s": calls / wall,
        "cpu_us_per_call": cpu / calls * 1e6,
    }


async def concurrent(stack: Stack, calls: int, in_flight: int) -> dict[str, float]:
    """``calls`` calls with ``in_flight`` of them outstanding at every moment."""
    assert stack.call is not None
    call = stack.call
    remaining = calls

    latencies: list[float] = []

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    cpu = time.process_time()
    wall = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    latencies.sort()
    return {
        "calls_per_s": calls / wall,
        "cpu_us_per_call": cpu / calls * 1e6,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "max_ms": latencies[-1] * 1e3,
    }


async def warm_up(stack: Stack, calls: int) -> None:
    for _ in range(calls):
        if stack.sync_call is not None:
            stack.sync_call()
        else:
            assert stack.call is not None
            await stack.call()
    if stack.call is not None:  # open the connections concurrency will use
        call = stack.call
        await asyncio.gather(*(call() for _ in range(64)))


async def run(
    url: str,
    *,
    seq_calls: int,
    conc_calls: int,
    rounds: int,
    names: set[str] | None,
    warm: int = 200,
) -> dict[str, Any]:
    order_id = await place_one_order(url)
    stacks = build_stacks(url, order_id, names)
    levels = (16, 64)
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        s.name: {"seq": [], **{f"c{n}": [] for n in levels}} for s in stacks
    }
    try:
        for stack in stacks:
            await warm_up(stack, warm)
        for round_ in range(rounds):
            for stack in stacks:
                samples[stack.name]["seq"].append(await sequential(stack, seq_calls))
            for level in levels:
                for stack in stacks:
                    if stack.call is not None:
                        samples[stack.name][f"c{level}"].append(
                            await concurrent(stack, conc_calls, level)
                        )
            print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr)
    finally:
        for stack in stacks:
            if stack.close is not None:
                await stack.close()

    # The machine is shared: other processes take CPU at random moments. Each figure is the
    # best round (lowest time, highest throughput), the usual estimate of a cost without
    # interference; the median round is kept too, under "median".
    def best(rows: list[dict[str, float]], key: str, *, high: bool = False) -> float | None:
        if not rows:
            return None
        return max(r[key] for r in rows) if high else min(r[key] for r in rows)

    def med(rows: list[dict[str, float]], key: str) -> float | None:
        return statistics.median(r[key] for r in rows) if rows else None

    rows: list[dict[str, Any]] = []
    for stack in stacks:
        s = samples[stack.name]
        row: dict[str, Any] = {
            "stack": stack.name,
            "transport": stack.transport,
            "seq_ms": best(s["seq"], "median_ms"),
            "seq_p90_ms": best(s["seq"], "p90_ms"),
            "c1_calls_per_s": best(s["seq"], "calls_per_s", high=True),
            "seq_cpu_us": best(s["seq"], "cpu_us_per_call"),
        }
        median: dict[str, float | None] = {
            "seq_ms": med(s["seq"], "median_ms"),
            "c1_calls_per_s": med(s["seq"], "calls_per_s"),
            "seq_cpu_us": med(s["seq"], "cpu_us_per_call"),
        }
        for level in levels:
            row[f"c{level}_calls_per_s"] = best(s[f"c{level}"], "calls_per_s", high=True)
            row[f"c{level}_cpu_us"] = best(s[f"c{level}"], "cpu_us_per_call")
            row[f"c{level}_p50_ms"] = best(s[f"c{level}"], "p50_ms")
            row[f"c{level}_max_ms"] = max((r["max_ms"] for r in s[f"c{level}"]), default=None)
            median[f"c{level}_calls_per_s"] = med(s[f"c{level}"], "calls_per_s")
            median[f"c{level}_cpu_us"] = med(s[f"c{level}"], "cpu_us_per_call")
        row["stale_timestamp_retries"] = STALE_RETRIES.get(stack.name, 0)
        row["median"] = median
        row["rounds"] = s
        rows.append(row)
    by_name = {row["stack"]: row for row in rows}
    comparisons = []
    for ours, bare in (
        ("asyncexch", "bare httpx"),
        ("asyncexch+aiohttp", "bare httpx+aiohttp"),
        ("asyncexch+aiohttp, limiter on", "bare httpx+aiohttp"),
    ):
        if ours not in by_name or bare not in by_name:
            continue
        a, b = by_name[ours], by_name[bare]
        comparison: dict[str, Any] = {
            "asyncexch": ours,
            "bare": bare,
            "seq_latency_overhead": a["seq_ms"] / b["seq_ms"] - 1,
            "seq_cpu_overhead_us": a["seq_cpu_us"] - b["seq_cpu_us"],
            "seq_target_met": a["seq_ms"] / b["seq_ms"] - 1 <= 0.25,
            "seq_cpu_overhead": a["seq_cpu_us"] / b["seq_cpu_us"] - 1,
        }
        for level in levels:
            share = a[f"c{level}_calls_per_s"] / b[f"c{level}_calls_per_s"]
            comparison[f"c{level}_throughput_kept"] = share
            comparison[f"c{level}_target_met"] = share >= 0.90
        comparisons.append(comparison)
    if "asyncexch+aiohttp" in by_name and "pybit" in by_name:
        comparisons.append(
            {
                "asyncexch": "asyncexch+aiohttp",
                "bare": "pybit",
                "seq_latency_ratio": by_name["asyncexch+aiohttp"]["seq_ms"]
                / by_name["pybit"]["seq_ms"],
                "beats_pybit_per_call": by_name["asyncexch+aiohttp"]["seq_ms"]
                < by_name["pybit"]["seq_ms"],
            }
        )
    return {"rows": rows, "comparisons": comparisons}


def fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def print_tables(result: dict[str, Any]) -> None:
    header = (
        "| stack | transport | seq ms/call (p50) | seq p90 | 1 in flight, calls/s | "
        "16 in flight | 64 in flight | client CPU µs/call seq / 16 / 64 | "
        "64 in flight latency p50 / max ms | 10002 re-signs |"
    )
    print(header)
    print("|" + "---|" * 10)
    for row in result["rows"]:
        cpu = " / ".join(fmt(row[k], 0) for k in ("seq_cpu_us", "c16_cpu_us", "c64_cpu_us"))
        print(
            f"| {row['stack']} | {row['transport']} | {fmt(row['seq_ms'], 3)} | "
            f"{fmt(row['seq_p90_ms'], 3)} | {fmt(row['c1_calls_per_s'], 0)} | "
            f"{fmt(row['c16_calls_per_s'], 0)} | {fmt(row['c64_calls_per_s'], 0)} | {cpu} | "
            f"{fmt(row['c64_p50_ms'], 1)} / {fmt(row['c64_max_ms'], 0)} | "
            f"{row['stale_timestamp_retries'] if row['stack'].startswith('bare') else 'n/a'} |"
        )
    print()
    print(
        "| asyncexch | vs | seq latency added (target <= 25%) | client CPU added, seq | "
        "16 in flight kept (>= 90%) | 64 in flight kept (>= 90%) |"
    )
    print("|---|---|---|---|---|---|")
    for c in result["comparisons"]:
        if c["bare"] == "pybit":
            print(
                f"| {c['asyncexch']} | pybit | {c['seq_latency_ratio']:.2f}x pybit's latency "
                f"(beats pybit: {fmt(c['beats_pybit_per_call'])}) | | | |"
            )
            continue
        print(
            f"| {c['asyncexch']} | {c['bare']} | {c['seq_latency_overhead']:+.1%} "
            f"({fmt(c['seq_target_met'])}) | {c['seq_cpu_overhead_us']:+.0f} µs "
            f"({c['seq_cpu_overhead']:+.0%}) | "
            f"{c['c16_throughput_kept']:.0%} ({fmt(c['c16_target_met'])}) | "
            f"{c['c64_throughput_kept']:.0%} ({fmt(c['c64_target_met'])}) |"
        )


def machine() -> dict[str, Any]:
    import importlib.metadata
    import importlib.util
    import os

    model = "unknown"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("httpx", "httpcore", "anyio", "aiohttp", "pybit", "uvicorn"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_average_1min": os.getloadavg()[0],
        # httpcore imports sniffio on every request when it is installed, and searches
        # sys.path for it (and fails) on every request when it is not: a large cost.
        "sniffio_installed": importlib.util.find_spec("sniffio") is not None,
        "versions": versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--stack", action="append", help="only this stack (repeatable)")
    parser.add_argument("--out", default="overhead", help="results/<OUT>.json (overhead)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    seq_calls, conc_calls, rounds, warm = (250, 400, 2, 100) if args.quick else (1500, 3000, 3, 300)
    load_before = machine()["load_average_1min"]
    with server_process() as url:
        result = asyncio.run(
            run(
                url,
                seq_calls=seq_calls,
                conc_calls=conc_calls,
                rounds=rounds,
                names=set(args.stack) if args.stack else None,
                warm=warm,
            )
        )
    result["settings"] = {
        "quick": args.quick,
        "sequential_calls_per_round": seq_calls,
        "concurrent_calls_per_round": conc_calls,
        "rounds": rounds,
        "server": "BybitSimulator under uvicorn (h11), separate process, limits 1e6/s",
    }
    result["machine"] = machine()
    result["machine"]["load_average_1min_before"] = load_before
    print_tables(result)
    print(
        f"\nload average (1 min) before/after: {load_before:.2f} / "
        f"{result['machine']['load_average_1min']:.2f} on {result['machine']['nproc']} CPUs; "
        f"sniffio installed: {result['machine']['sniffio_installed']}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
