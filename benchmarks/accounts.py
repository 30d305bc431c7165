"""Many accounts: 200 API keys on one event loop, each at its own limits (issue 19).

One process plays a bot that runs 200 Bybit accounts: one client per API key, all on one
event loop, each account reading its Advance Earn orders (the signed
``GET /v5/earn/advance/order?category=SmartLeverage&limit=20``, one order in each answer)
``--calls`` times (default 50), one call after another. The simulator runs in another
process (uvicorn, ``--serve``) with one account per key, one order placed for each, and
Bybit's per-UID limits (order info: 10 per second per UID); its IP-wide limit is lifted
(below).

Stacks, each in a fresh client process of its own (so that its memory and CPU figures hold
nothing of another stack's), against the same simulator:

* ``asyncexch (httpx)`` and ``asyncexch (aiohttp)``: one ``BybitClient`` per key with its
  default limits (its limiter paces each key at the documented per-UID limits), the transport
  passed explicitly (``transport="httpx"`` / ``"aiohttp"``), so the figures do not depend on
  which one is the default;
* ``ccxt``: one ``ccxt.async_support.bybit`` per key, ``enableRateLimit`` at its default (on:
  each instance paces itself with its own 50-requests-a-second bucket), the generic signed
  ``request()`` (ccxt has no method for Advance Earn), pointed at the simulator as
  ``overhead.py`` does;
* ``ccxt, rateLimit 100 ms``: the same with ``rateLimit: 100``, what a user who looked up
  Bybit's 10/s per UID for this endpoint would set (ccxt's bucket is one per instance, so
  this paces every endpoint of the key at 10/s).

The ccxt stacks are skipped, with a note, when ccxt (the ``bench`` group) is missing.

**The IP-wide limit.** Bybit also limits an IP to 600 requests per 5 s, and 200 keys behind one
IP share it. asyncexch knows it: its clients on one event loop share one IP bucket per host, so
at the venue's limit it would pace all 200 keys together at 120 calls a second, where ccxt,
which does not know it, would send up to 50 a second per instance into Bybit's 403 and IP ban.
That would measure the IP limit, not the clients: here the simulator's IP limit is lifted,
and asyncexch's ``ip`` bucket with it (``limits={"ip": RateLimit(1_000_000, per=5.0)}``;
every per-UID bucket keeps its default).

Measured in each client process: client creation (wall time and RSS growth per key), a
warm-up call per key (opens its connection; not timed), then every key's ``--calls`` calls at
once (200 keys: 200 calls in flight): calls done per second, the client process's CPU time
(``time.process_time``: the simulator runs elsewhere) per call made and per call done (a
refused call costs CPU too), the share of a core that is, latency
p50/p99, failures by type (a failed call is not counted as done), and memory per key: RSS
growth over the process before any client was made, divided by the keys, after creating the
clients and after the run; and the Python heap one client takes when made (tracemalloc, 10
clients made apart, in the same process after the run).

Prints a table; writes ``benchmarks/results/accounts.json``.

``python benchmarks/accounts.py [--quick] [--keys N] [--calls N] [--stack NAME ...]``
(``--quick``: 20 keys, 10 calls each: a smoke run.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import pathlib
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import overhead  # the separate-process server and the machine's description

PATH = "/v5/earn/advance/order"
PARAMS = {"category": "SmartLeverage", "limit": 20}
RECV_WINDOW = 5000
LIFTED = 1_000_000
STACKS = ("asyncexch (httpx)", "asyncexch (aiohttp)", "ccxt", "ccxt, rateLimit 100 ms")
#: ccxt told Bybit's per-UID limit for order info (10/s) by hand: its one bucket at 100 ms.
CCXT_TOLD_MS = 100
RESULTS = pathlib.Path(__file__).resolve().parent / "results"
#: Each client process stops by itself well before this; the limit only bounds a hung run.
CLIENT_TIMEOUT = 600


def key(index: int) -> tuple[str, str]:
    """The API key and secret of account ``index``."""
    return f"acct-{index:04d}", f"secret-{index:04d}"


# --- the simulator, in its own process ------------------------------------------------------


def serve(port: int, keys: int) -> None:
    """The simulator with ``keys`` accounts, one SmartLeverage order each, Bybit's per-UID
    limits and the IP-wide limit lifted, on 127.0.0.1:``port`` until killed."""
    import uvicorn

    from asyncexch.bybit import BybitClient, StakeOrder
    from asyncexch.sim import BybitSimulator, SimTransport
    from asyncexch.sim._serve import dropping

    sim = BybitSimulator(ip_limit=(LIFTED * 5, 5.0), settlement_delay=0.0, quote_ttl=3600.0)
    quote = sim.issue_quote("13016")
    assert quote.breakeven_price is not None

    async def place_one(index: int) -> None:
        api_key, secret = key(index)
        sim.add_account(api_key, secret)
        transport = SimTransport(sim.app)
        async with BybitClient(
            api_key, secret, base_url="http://sim", limits=False, transport=transport
        ) as client:
            await client.advance_earn.place_order(
                StakeOrder(
                    product_id="13016",
                    coin="USDT",
                    amount=Decimal("100"),
                    initial_price=quote.current_price,
                    breakeven_price=quote.breakeven_price,
                )
            )

    async def place_all() -> None:
        for index in range(keys):
            await place_one(index)

    asyncio.run(place_all())
    uvicorn.run(
        dropping(sim.app),
        host="127.0.0.1",
        port=port,
        log_level="critical",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=600,  # idle keys keep their connections between phases
    )


# --- one stack, in its own client process ---------------------------------------------------

Call = Callable[[], Awaitable[object]]
Close = Callable[[], Awaitable[None]]


def rss_kb() -> int:
    """This process's resident set size now, in KiB."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def make_client(stack: str, url: str, index: int) -> tuple[Call, Close]:
    """Account ``index``'s client on ``stack``: one call (its orders, checked) and its close."""
    api_key, secret = key(index)
    if stack.startswith("ccxt"):
        import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]

        config: dict[str, object] = {"apiKey": api_key, "secret": secret, "timeout": 10_000}
        if stack != "ccxt":
            config["rateLimit"] = CCXT_TOLD_MS
        exchange = ccxt_async.bybit(config)
        exchange.urls["api"] = {name: url for name in exchange.urls["api"]}
        exchange.options["recvWindow"] = RECV_WINDOW

        async def ccxt_call() -> object:
            answer = await exchange.request(PATH.lstrip("/"), ["private"], "GET", PARAMS)
            if str(answer["retCode"]) != "0" or len(answer["result"]["list"]) != 1:
                raise RuntimeError(f"unexpected answer {answer!r}")
            return answer

        return ccxt_call, exchange.close

    from asyncexch import RateLimit, TransportChoice
    from asyncexch.bybit import BybitClient

    transport: TransportChoice = "aiohttp" if stack == "asyncexch (aiohttp)" else "httpx"
    client = BybitClient(
        api_key,
        secret,
        base_url=url,
        transport=transport,
        limits={"ip": RateLimit(LIFTED, per=5.0)},  # per-UID buckets keep their defaults
    )
    earn = client.advance_earn

    async def asyncexch_call() -> object:
        found = [info async for info in earn.orders()]
        if len(found) != 1:
            raise RuntimeError(f"expected one order, got {len(found)}")
        return found

    return asyncexch_call, client.aclose


async def traced_kb_per_client(stack: str, url: str, keys: int, sample: int = 10) -> float:
    """The Python heap one client takes when made: ``sample`` more clients made under
    tracemalloc (keys after the ``keys`` measured, so no bucket or session is shared)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    made = [make_client(stack, url, keys + i) for i in range(sample)]
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    await asyncio.gather(*(close() for _, close in made))
    return grown / sample / 1024


async def run_stack(stack: str, url: str, keys: int, calls: int) -> dict[str, Any]:
    """Every key's client made, warmed up, then ``calls`` calls per key, all keys at once."""
    make_client(stack, url, keys + 10_000)  # imports and one-time setup out of the figures
    gc.collect()
    rss_start = rss_kb()
    began = time.perf_counter()
    clients = [make_client(stack, url, index) for index in range(keys)]
    creation_s = time.perf_counter() - began
    gc.collect()
    rss_created = rss_kb()
    failures: Counter[str] = Counter()
    latencies: list[float] = []

    async def account(call: Call, count: int, timed: bool) -> None:
        for _ in range(count):
            started = time.perf_counter()
            try:
                await call()
            except Exception as error:  # counted by type: the table says what failed
                failures[("warm-up " if not timed else "") + type(error).__name__] += 1
                continue
            if timed:
                latencies.append(time.perf_counter() - started)

    try:
        warm_up = time.perf_counter()
        await asyncio.gather(*(account(call, 1, False) for call, _ in clients))
        warm_up = time.perf_counter() - warm_up
        rss_warm = rss_kb()
        cpu = time.process_time()
        wall = time.perf_counter()
        await asyncio.gather(*(account(call, calls, True) for call, _ in clients))
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        gc.collect()
        rss_run = rss_kb()
    finally:
        # At once: ccxt's close() sleeps 250 ms (timeout_on_exit), 50 s for 200 one by one.
        await asyncio.gather(*(close() for _, close in clients))
    traced = await traced_kb_per_client(stack, url, keys)
    latencies.sort()
    done = len(latencies)
    return {
        "stack": stack,
        "keys": keys,
        "calls_per_key": calls,
        "calls": keys * calls,
        "done": done,
        "failures": dict(failures),
        "wall_s": wall,
        "calls_per_s": done / wall,
        "cpu_s": cpu,
        "cpu_us_per_call": cpu / (keys * calls) * 1e6,
        "cpu_us_per_call_done": cpu / done * 1e6 if done else None,
        "cpu_share_of_wall": cpu / wall,
        "latency_p50_ms": latencies[done // 2] * 1e3 if latencies else None,
        "latency_p99_ms": latencies[int(0.99 * (done - 1))] * 1e3 if latencies else None,
        "creation_ms_per_key": creation_s / keys * 1e3,
        "warm_up_s": warm_up,
        "rss_kb_per_key_created": (rss_created - rss_start) / keys,
        "rss_kb_per_key_warm": (rss_warm - rss_start) / keys,
        "rss_kb_per_key_after_run": (rss_run - rss_start) / keys,
        "traced_kb_per_client_made": traced,
        "rss_mb_start": rss_start / 1024,
    }


# --- the run --------------------------------------------------------------------------------


def ccxt_missing() -> str | None:
    """Why ccxt cannot run here (it is in the ``bench`` group only), or ``None``."""
    try:
        import ccxt.async_support  # noqa: F401
    except ImportError as error:
        return f"ccxt is not installed ({error}): pip install -e . --group bench"
    return None


def run_in_child(stack: str, url: str, keys: int, calls: int) -> dict[str, Any]:
    """``stack`` measured in a fresh process of its own; its row."""
    began = time.perf_counter()
    done = subprocess.run(
        [
            *(sys.executable, __file__, "--client", stack, "--url", url),
            *("--keys", str(keys), "--calls", str(calls)),
        ],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{stack}: the client process failed:\n{done.stderr}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["process_s"] = time.perf_counter() - began
    return row


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the most calls done per second (the machine is shared: the best round is
    the one least disturbed), with the median of the rounds and every round kept."""
    row = dict(max(runs, key=lambda r: r["calls_per_s"]))
    row["median"] = {
        key: statistics.median(r[key] for r in runs)
        for key in ("calls_per_s", "cpu_us_per_call", "latency_p99_ms", "warm_up_s")
        if all(r[key] is not None for r in runs)
    }
    row["rounds"] = runs
    return row


def fmt(value: object, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| stack | keys x calls | calls/s best (median) | client CPU µs per call made / done "
        "(share of a core) | "
        "latency p50 / p99 ms | failures (best round) | creation ms/key | "
        "first call of every key, s | RSS KB/key created / after run | heap KB/client made |"
    )
    print("|" + "---|" * 10)
    for r in rows:
        failures = ", ".join(f"{n} {kind}" for kind, n in r["failures"].items()) or "0"
        print(
            f"| {r['stack']} | {r['keys']} x {r['calls_per_key']} | {fmt(r['calls_per_s'])} "
            f"({fmt(r['median'].get('calls_per_s'))}) | "
            f"{fmt(r['cpu_us_per_call'])} / {fmt(r['cpu_us_per_call_done'])} "
            f"({r['cpu_share_of_wall']:.0%}) | "
            f"{fmt(r['latency_p50_ms'], 1)} / {fmt(r['latency_p99_ms'], 1)} | {failures} | "
            f"{fmt(r['creation_ms_per_key'], 2)} | {fmt(r['warm_up_s'], 2)} | "
            f"{fmt(r['rss_kb_per_key_created'], 1)} / "
            f"{fmt(r['rss_kb_per_key_after_run'], 1)} | {fmt(r['traced_kb_per_client_made'], 1)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20 keys, 10 calls each")
    parser.add_argument("--keys", type=int, help="API keys (default 200; --quick 20)")
    parser.add_argument("--calls", type=int, help="calls per key (default 50; --quick 10)")
    parser.add_argument("--rounds", type=int, help="rounds per stack (default 3; --quick 1)")
    parser.add_argument("--stack", action="append", choices=STACKS, help="only this stack")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=STACKS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    keys = args.keys or (20 if args.quick else 200)
    calls = args.calls or (10 if args.quick else 50)
    if args.serve:
        serve(args.serve, keys)  # the clients made only to be measured never call
        return
    if args.client:
        print(json.dumps(asyncio.run(run_stack(args.client, args.url, keys, calls))))
        return
    missing = ccxt_missing()
    stacks = [s for s in (args.stack or STACKS) if not (missing and s.startswith("ccxt"))]
    load_before = overhead.machine()["load_average_1min"]
    rounds = args.rounds or (1 if args.quick else 3)
    measured: dict[str, list[dict[str, Any]]] = {stack: [] for stack in stacks}
    with overhead.server_process(__file__, "--keys", str(keys)) as url:
        for round_ in range(rounds):  # interleaved, so drift hits every stack alike
            for stack in stacks:
                print(
                    f"  round {round_ + 1}/{rounds}, {stack}: {keys} keys x {calls} calls",
                    file=sys.stderr,
                    flush=True,
                )
                measured[stack].append(run_in_child(stack, url, keys, calls))
    rows = [best_of(runs) for runs in measured.values()]
    print_table(rows)
    result: dict[str, Any] = {
        "settings": {
            "quick": args.quick,
            "keys": keys,
            "calls_per_key": calls,
            "rounds": rounds,
            "server": "BybitSimulator under uvicorn (h11), separate process; per-UID limits "
            "Bybit's, IP-wide limit lifted; one order per account",
        },
        "machine": {**overhead.machine(), "load_average_1min_before": load_before},
        "rows": rows,
    }
    if missing:
        result["ccxt_not_measured"] = missing
        print(f"\nccxt not measured: {missing}")
    print(
        f"\nload average (1 min) before/after: {load_before:.2f} / "
        f"{result['machine']['load_average_1min']:.2f} on {result['machine']['nproc']} CPUs"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "accounts.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
