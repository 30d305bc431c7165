"""Where one asyncexch call spends its CPU: a profile of a sequential run, and each stage alone.

1. **Profile.** pyinstrument samples a sequential run of order-info calls (``BybitClient``,
   default httpx transport, the limiter on with limits far above the rate reached) against
   the simulator in a separate process (the server from ``overhead.py``). pyinstrument's own
   cost grows with the number of Python calls, so shares are approximate. The sampled time is
   split into the pipeline's stages (signing, encoding, reading the answer, cattrs decoding,
   limiter, logging, the httpx client, the transport) and each stage's share of the busy (not
   idle) time is turned into µs per call with the client's measured CPU time per call
   (``time.process_time``, unprofiled run).
2. **Stages alone.** Each stage timed on its own with ``timeit`` (best of several runs), and
   the whole call over an in-process transport that answers at once, against a bare httpx
   call with hand-written signing and ``json.loads`` over the same transport: the pipeline's
   cost with no network and no server in the way.

Prints tables; writes ``benchmarks/results/pipeline_profile.json`` and the profile as text
(``pipeline_profile.txt``).

``python benchmarks/pipeline_profile.py [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import pathlib
import random
import sys
import time
import timeit
from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx
from pyinstrument import Profiler
from pyinstrument.frame import Frame

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import overhead  # the separate-process server and the order to ask for

from asyncexch import InProcessLimiter, RateLimit, SystemClock, TransportChoice
from asyncexch._convert import decode, loads_exact
from asyncexch._retry import CallState, RetryPolicy, run_attempts
from asyncexch.bybit import AdvanceEarn, BybitClient, BybitVenue, OrderInfo, Page
from asyncexch.bybit._endpoints import ORDER

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
KEY, SECRET = overhead.KEY, overhead.SECRET
LIFTED = {"order": RateLimit(1_000_000), "ip": RateLimit(5_000_000, per=5.0)}

Pred = Callable[[Frame], bool]


def fn(path_part: str, *names: str) -> Pred:
    def match(frame: Frame) -> bool:
        return frame.function in names and path_part in (frame.file_path or "")

    return match


def in_file(path_part: str) -> Pred:
    return lambda frame: path_part in (frame.file_path or "")


def inclusive(frame: Frame, pred: Pred) -> float:
    """Time in the outermost frames matching ``pred`` (nested matches are not counted twice)."""
    if pred(frame):
        return frame.time
    return sum(inclusive(child, pred) for child in frame.children)


def within(frame: Frame, outer: Pred, inner: Pred) -> float:
    """Time in ``inner`` frames under the outermost ``outer`` frames."""
    if outer(frame):
        return sum(inclusive(child, inner) for child in frame.children)
    return sum(within(child, outer, inner) for child in frame.children)


def either(*preds: Pred) -> Pred:
    return lambda frame: any(p(frame) for p in preds)


SESSION_CALL = fn("asyncexch/_session.py", "call")
#: Everything below httpx's client: its transport adapter, httpcore, h11, anyio, aiohttp.
TRANSPORT = either(
    fn("httpx/_transports/default.py", "handle_async_request"),
    in_file("site-packages/httpcore/"),
    fn("asyncexch/_aiohttp.py", "handle_async_request"),
    in_file("site-packages/aiohttp/"),
)
HTTPX_CLIENT = fn("httpx/_client.py", "send", "build_request")
STAGES: dict[str, Pred] = {
    "signing (BybitVenue.sign)": fn("asyncexch/bybit/_venue.py", "sign"),
    "encoding (BybitVenue.encode)": fn("asyncexch/bybit/_venue.py", "encode"),
    "reading the answer (BybitVenue.read: JSON parse, headers)": fn(
        "asyncexch/bybit/_venue.py", "read"
    ),
    "decoding (cattrs, _convert.decode)": fn("asyncexch/_convert.py", "decode"),
    "limiter (acquire + Permit.done)": either(
        fn("asyncexch/_session.py", "_acquire"), fn("asyncexch/_limits.py", "done")
    ),
    "logging (Session._log)": fn("asyncexch/_session.py", "_log"),
    "server time (ServerTime.now_ms/observe)": fn("asyncexch/_clock.py", "now_ms", "observe"),
}


def attribute(root: Frame, calls: int, cpu_per_call: float) -> list[dict[str, Any]]:
    idle = inclusive(root, fn("selectors.py", "select"))
    busy = root.time - idle
    in_call = inclusive(root, SESSION_CALL)
    rows: list[tuple[str, float]] = []
    accounted = 0.0
    for name, pred in STAGES.items():
        spent = within(root, SESSION_CALL, pred)
        rows.append((name, spent))
        accounted += spent
    httpx_own = within(root, SESSION_CALL, HTTPX_CLIENT) - within(root, HTTPX_CLIENT, TRANSPORT)
    rows.append(("httpx client (request/response models, not the transport)", httpx_own))
    accounted += httpx_own
    transport = within(root, SESSION_CALL, TRANSPORT)
    sniffio = within(
        root, SESSION_CALL, fn("httpcore/_synchronization.py", "current_async_library")
    )
    rows.append(("transport (httpcore/h11, or aiohttp)", transport - sniffio))
    rows.append(("  of which httpcore's failed `import sniffio`", sniffio))
    accounted += transport
    rows.append(("Session.call/_attempt own code (the rest inside call)", in_call - accounted))
    paged = inclusive(root, fn("asyncexch/bybit/_client.py", "_paged"))
    rows.append(("public API (AdvanceEarn.orders async generator)", paged - in_call))
    rows.append(("event loop, benchmark loop (outside the API)", busy - paged))
    return [
        {
            "stage": name,
            "share_of_busy": spent / busy,
            "us_per_call": spent / busy * cpu_per_call * 1e6,
            "sampled_us_per_call": spent / calls * 1e6,
        }
        for name, spent in rows
    ]


async def profiled_run(url: str, calls: int, transport: str) -> dict[str, Any]:
    order_id = await overhead.place_one_order(url)
    choice: TransportChoice = "aiohttp" if transport == "aiohttp" else "httpx"
    async with BybitClient(KEY, SECRET, base_url=url, limits=LIFTED, transport=choice) as client:
        earn = client.advance_earn

        async def one() -> None:
            found = [info async for info in earn.orders(order_id=order_id)]
            assert len(found) == 1

        for _ in range(300):
            await one()
        cpu = time.process_time()
        for _ in range(calls):
            await one()
        cpu_per_call = (time.process_time() - cpu) / calls
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        for _ in range(calls):
            await one()
        profiler.stop()
    root = profiler.last_session.root_frame() if profiler.last_session else None
    assert root is not None
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline_profile.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False)
    )
    return {
        "transport": transport,
        "calls": calls,
        "cpu_us_per_call": cpu_per_call * 1e6,
        "stages": attribute(root, calls, cpu_per_call),
    }


# --- stages alone ---------------------------------------------------------------------------


class InstantOrderInfo(httpx.AsyncBaseTransport):
    """Answers every request at once with the same one-order page."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=self._body,
            headers={"Content-Type": "application/json", "Timenow": str(int(time.time() * 1000))},
        )


def answer_body() -> bytes:
    item = {
        "orderId": "00000001-5e1a-4b1d-9a7e-000000000001",
        "orderLinkId": "ax-mi8x2k3pqabcdefghijklmnopq",
        "productId": "13016",
        "category": "SmartLeverage",
        "orderType": "Stake",
        "amount": "100",
        "createdTime": "1763700000000",
        "status": "Success",
        "duration": "1d",
        "accountType": "FUND",
        "settlementTime": "",
        "refundStatus": "",
        "investCoin": "USDT",
        "underlyingAsset": "BTC",
        "direction": "Long",
        "leverage": "5",
        "breakevenPrice": "68157.41",
        "initialPrice": "68403.67",
        "settlementPrice": "",
        "pnl": "",
        "toAccountType": "",
    }
    envelope = {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"category": "SmartLeverage", "nextPageCursor": "", "list": [item]},
        "retExtInfo": {},
        "time": 1763700000000,
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def best(fn_: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn_, number=number, repeat=repeat)) / number * 1e6


async def best_async(make: Callable[[], Any], number: int, repeat: int) -> float:
    results = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            await make()
        results.append((time.perf_counter() - started) / number * 1e6)
    return min(results)


async def stages_alone(number: int, repeat: int) -> list[dict[str, Any]]:
    venue = BybitVenue(KEY, SECRET, base_url="https://bench.invalid", recv_window=5000)
    order_id = "00000001-5e1a-4b1d-9a7e-000000000001"
    params: dict[str, object] = {
        "category": "SmartLeverage",
        "productId": None,
        "orderId": order_id,
        "orderLinkId": None,
        "startTime": None,
        "endTime": None,
        "limit": 20,
        "cursor": None,
    }
    body = answer_body()
    wire = venue.encode(ORDER, params)
    signed = venue.sign(wire, 1_763_700_000_000)
    url = f"https://bench.invalid{wire.path}?{wire.query}"
    result = loads_exact(body)["result"]
    http = httpx.AsyncClient()
    request = http.build_request("GET", url)
    headers = {"Content-Type": "application/json", "Timenow": "1763700000000"}
    response = httpx.Response(200, content=body, headers=headers, request=request)
    rng = random.Random(1)
    clock = SystemClock()
    rows: list[dict[str, Any]] = []

    def add(stage: str, us: float) -> None:
        rows.append({"stage": stage, "us": us})

    add(
        "encode (BybitVenue.encode, order-info query)",
        best(lambda: venue.encode(ORDER, params), number, repeat),
    )
    add(
        "sign (BybitVenue.sign: HMAC + WireRequest.with_headers)",
        best(lambda: venue.sign(wire, 1_763_700_000_000), number, repeat),
    )
    add("CallState (one per call)", best(lambda: CallState(idempotent=True), number, repeat))

    async def noop() -> int:
        return 1

    policy = RetryPolicy()

    async def retried() -> int:
        value: int = await run_attempts(noop, policy, clock, CallState(idempotent=True), rng)
        return value

    bare = await best_async(noop, number, repeat)
    add(
        "retry loop (run_attempts + its CallState) around an attempt that succeeds, over a "
        "bare await",
        await best_async(retried, number, repeat) - bare,
    )
    limiter = InProcessLimiter(clock)
    claims = [("bench:order", LIFTED["order"]), ("bench:ip", LIFTED["ip"])]

    async def acquire() -> None:
        permit = await limiter.acquire(claims)
        permit.done()

    add(
        "limiter: acquire + done, 2 buckets, free capacity (limits 1e6/s)",
        await best_async(acquire, number, repeat),
    )
    add(
        "httpx: AsyncClient.build_request (signed GET)",
        best(
            lambda: http.build_request(
                signed.method, url, content=signed.body, headers=list(signed.headers)
            ),
            number,
            repeat,
        ),
    )
    add(
        "httpx: Response(...) from bytes (what a transport builds)",
        best(
            lambda: httpx.Response(200, content=body, headers=headers, request=request),
            number,
            repeat,
        ),
    )
    add(
        "read (BybitVenue.read: loads_exact + headers + checks)",
        best(lambda: venue.read(ORDER, response), number, repeat),
    )
    add(
        "  of which loads_exact (json.loads, parse_float=Decimal)",
        best(lambda: loads_exact(body), number, repeat),
    )
    add(
        "decode Page[OrderInfo], 1 item (cattrs)",
        best(lambda: decode(BybitVenue.converter, result, Page[OrderInfo]), number, repeat),
    )
    await http.aclose()

    # The whole call over an in-process transport that answers at once.
    transport = InstantOrderInfo(body)
    query = wire.query.encode()

    def hand_signed() -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        signature = hmac.new(
            SECRET.encode(), (timestamp + KEY + "5000").encode() + query, hashlib.sha256
        ).hexdigest()
        return {
            "X-BAPI-API-KEY": KEY,
            "X-BAPI-TIMESTAMP": timestamp,
            "X-BAPI-RECV-WINDOW": "5000",
            "X-BAPI-SIGN": signature,
            "X-BAPI-SIGN-TYPE": "2",
        }

    async with httpx.AsyncClient(transport=transport) as bare_client:

        async def bare_call() -> None:
            answer = await bare_client.get(url, headers=hand_signed())
            data = json.loads(answer.content)
            assert data["retCode"] == 0 and len(data["result"]["list"]) == 1

        bare_us = await best_async(bare_call, number, repeat)
    add("whole call, bare httpx + hand signing + json.loads (instant transport)", bare_us)
    variants: list[tuple[str, Mapping[str, RateLimit] | Literal[False]]] = [
        ("limits=False", False),
        ("limiter on, 1e6/s", LIFTED),
    ]
    for label, limits in variants:
        async with BybitClient(
            KEY, SECRET, base_url="https://bench.invalid", limits=limits, transport=transport
        ) as client:
            earn = client.advance_earn

            async def ours(earn: AdvanceEarn = earn) -> None:
                found = [info async for info in earn.orders(order_id=order_id)]
                assert len(found) == 1

            ours_us = await best_async(ours, number, repeat)
        add(f"whole call, asyncexch orders(), {label} (instant transport)", ours_us)
        add(f"  asyncexch pipeline over bare httpx, {label}", ours_us - bare_us)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    parser.add_argument("--transport", choices=("default", "aiohttp"), default="default")
    args = parser.parse_args()
    calls, number, repeat = (300, 200, 10) if args.quick else (1500, 500, 20)
    with overhead.server_process() as url:
        profile = asyncio.run(profiled_run(url, calls, args.transport))
    stages = asyncio.run(stages_alone(number, repeat))
    print(
        f"Profile: {calls} sequential order-info calls, {args.transport} transport, "
        f"client CPU {profile['cpu_us_per_call']:.0f} µs/call"
    )
    print("| stage | share of busy time | µs/call (share x CPU/call) |")
    print("|---|---|---|")
    for row in profile["stages"]:
        print(f"| {row['stage']} | {row['share_of_busy']:.1%} | {row['us_per_call']:.0f} |")
    print()
    print("Stages alone (best of runs)")
    print("| stage | µs |")
    print("|---|---|")
    for row in stages:
        print(f"| {row['stage']} | {row['us']:.1f} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline_profile.json").write_text(
        json.dumps({"quick": args.quick, "profile": profile, "stages_alone": stages}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main()
