"""The offer stream: offers decoded per second and push-to-consumer latency, asyncexch vs pybit.

The stream is the simulator's ``/v5/public/fp`` topic ``earn.dualassets.offers`` (every
product's quote in each push, the docs' compact keys, each product with 2 BuyLow and 2
SellHigh offers), served by uvicorn in a separate process. Compared:

* **asyncexch**: ``earn.dual_assets.watch_quotes(None)``: exact ``DualAssetsQuote`` objects
  (``Decimal`` prices, datetimes), each product's quote checked for newness and kept in the
  quote cache, through the consumer's mailbox;
* **pybit**: pybit 5.17 has no client for ``/v5/public/fp``, so its generic V5 WebSocket layer
  (``pybit._websocket_stream._V5WebSocketManager``, what ``pybit.unified_trading.WebSocket``
  is built on) is pointed at the simulator's URL and subscribes to the same topic
  (``subscribe(topic, callback, symbol="-")``: the topic has no ``{symbol}`` to fill). It runs
  ``websocket-client`` in a thread of its own and hands the callback the frame as stdlib
  ``json.loads`` made it: dicts of strings, nothing typed or checked;
* **pybit + Decimal**: the same, the callback turning each offer's numbers into ``Decimal``
  (what a bot needs before it can compare a price exactly): closer to asyncexch's work;
* **json.loads** (decode only): the floor, the frame parsed and nothing else.

Two measures:

1. *decode*, in-process, no socket: recorded pushes (the simulator's own frames, each
   distinct) fed to each client's frame handler (asyncexch's ``QuoteStream`` frame path, read
   by a consumer, once: a frame seen again would not be new; pybit's ``_on_message`` and
   ``json.loads``, ``PASSES`` times over, being stateless); offers per CPU-second, the best of
   3 rounds; asyncexch also on the same pushes with every number made unique
   (:func:`distinct_values`), the worst case for the values its reader remembers;
2. *loopback*: the simulator pushes every ``--interval`` s (with a ``ts``, ms), each client in
   turn reads for ``--seconds``; per offer, the time it reached the consumer (asyncexch: the
   ``async for`` body; pybit: the callback) minus the push's ``ts``. The ``ts`` is whole
   milliseconds taken after the simulator built the push (so it excludes that), so each
   figure carries up to +1 ms of truncation. Offers per second here are the simulator's rate
   (it coalesces moves that come while it builds a push) unless a client falls behind; each
   client gets a fresh simulator process.

``python benchmarks/stream.py [--quick]``; writes ``benchmarks/results/stream.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import pathlib
import statistics
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import overhead  # the separate-process server and the machine's description

from asyncexch.bybit import BybitClient, LiveQuote, QuoteStream
from asyncexch.bybit._stream_frames import read_frame
from asyncexch.sim import BybitSimulator, SimDualAssetsProduct

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
TOPIC = "earn.dualassets.offers"
PRODUCTS = 100


def simulator(products: int) -> BybitSimulator:
    """A simulator with ``products`` BTC-USDT DualAssets products, 2 offers a side each."""
    listed = [
        SimDualAssetsProduct(
            str(40000 + n),
            "BTC",
            "USDT",
            "1d",
            Decimal("10"),
            Decimal("0.001"),
            Decimal("1000000"),
            Decimal("10"),
            steps=2,
        )
        for n in range(products)
    ]
    return BybitSimulator(dual_assets_products=listed)


def serve(port: int, interval: float, products: int) -> None:
    """The simulator on 127.0.0.1:``port``, pushing every ``interval`` s, until killed."""
    import uvicorn

    from asyncexch.sim._serve import dropping

    sim = simulator(products)
    sim.offer_stream.with_ts = True
    config = uvicorn.Config(
        dropping(sim.app), host="127.0.0.1", port=port, log_level="critical", lifespan="off"
    )

    async def run() -> None:
        async def push() -> None:
            while True:
                await asyncio.sleep(interval)
                sim.offer_stream.moved()

        pusher = asyncio.ensure_future(push())
        try:
            await uvicorn.Server(config).serve()
        finally:
            pusher.cancel()

    asyncio.run(run())


# --- 1. decode, in-process ----------------------------------------------------------------


def recorded_frames(count: int, products: int) -> list[str]:
    """``count`` distinct pushes of the topic, as the simulator writes them."""
    sim = simulator(products)
    frames = []
    for n in range(count):
        sim.set_price("BTC", Decimal(68000 + n))
        items = sim._offer_items(TOPIC)
        frames.append(json.dumps({"topic": TOPIC, "data": items, "ts": 1_700_000_000_000 + n}))
    return frames


def distinct_values(frames: list[str]) -> list[str]:
    """``frames`` with every number made unique across all of them (the decimals get a unique
    fraction, the integers a unique offset): the worst case for the stream's memory of values
    it has read (the simulator's products are alike, so its own frames repeat values more than
    a venue's products would)."""
    serial = itertools.count(1)
    changed = []
    for frame in frames:
        push = json.loads(frame)
        for item in push["data"]:
            item["c"] = f"{item['c'].split('.')[0]}.{next(serial)}"
            for offer in (*item["b"], *item["s"]):
                offer["s"] = f"{offer['s']}.{next(serial)}"
                offer["m"] = f"{offer['m']}.{next(serial)}"
                offer["a"] = str(int(offer["a"]) + next(serial))
                offer["x"] = str(int(offer["x"]) + next(serial))
        changed.append(json.dumps(push))
    return changed


async def asyncexch_decode(frames: list[str]) -> tuple[int, float]:
    """Offers a consumer read and the CPU seconds for ``frames`` through the stream's frame
    path (parse, decode, newness, cache, mailbox) and an ``async for`` consumer."""
    from asyncexch.bybit._offer_topics import DUAL_ASSETS_OFFERS
    from asyncexch.bybit._quote_stream import _Watch
    from asyncexch.bybit._stream_mailbox import Mailbox

    async with BybitClient() as client:
        stream: QuoteStream = client.advance_earn.stream(connector=_unused)
        watch = _Watch(DUAL_ASSETS_OFFERS, None, Mailbox(), 0)
        stream._watches.add(watch)
        read = 0
        start = time.process_time()
        for frame in frames:
            stream._take(read_frame(frame))
            while len(watch.mailbox):
                item = await watch.mailbox.get()
                read += isinstance(item, LiveQuote) and len(item.quote.buy_low) + len(
                    item.quote.sell_high
                )
        return read, time.process_time() - start


async def _unused(url: str) -> Any:
    raise AssertionError("no connection in the decode measure")


def pybit_manager(callback: Callable[[dict[str, Any]], None]) -> Any:
    """pybit's V5 WebSocket layer with ``callback`` on the topic, not connected."""
    from pybit._websocket_stream import _V5WebSocketManager

    manager = _V5WebSocketManager("fp", testnet=False, ping_interval=20, ping_timeout=10)
    manager._set_callback(TOPIC, callback)
    return manager


def count_offers(counter: list[int], with_decimal: bool) -> Callable[[dict[str, Any]], None]:
    def callback(message: dict[str, Any]) -> None:
        for item in message["data"]:
            offers = (*item["b"], *item["s"])
            if with_decimal:
                Decimal(item["c"])
                for offer in offers:
                    Decimal(offer["s"]), int(offer["a"]), Decimal(offer["m"]), int(offer["x"])
            counter[0] += len(offers)

    return callback


#: The stateless decoders go over the frames this many times (each pass is a few ms).
PASSES = 20


def pybit_decode(frames: list[str], with_decimal: bool) -> tuple[int, float]:
    counter = [0]
    manager = pybit_manager(count_offers(counter, with_decimal))
    start = time.process_time()
    for _ in range(PASSES):
        for frame in frames:
            manager._on_message(frame)
    return counter[0], time.process_time() - start


def json_decode(frames: list[str]) -> tuple[int, float]:
    offers = 0
    start = time.process_time()
    for _ in range(PASSES):
        for frame in frames:
            offers += sum(len(i["b"]) + len(i["s"]) for i in json.loads(frame)["data"])
    return offers, time.process_time() - start


def decode_round(frames: list[str]) -> dict[str, float]:
    """Offers per CPU-second for each client on ``frames``."""
    unique = distinct_values(frames)
    runs = {
        "asyncexch": lambda: asyncio.run(asyncexch_decode(frames)),
        "asyncexch, no value repeated": lambda: asyncio.run(asyncexch_decode(unique)),
        "pybit": lambda: pybit_decode(frames, with_decimal=False),
        "pybit + Decimal": lambda: pybit_decode(frames, with_decimal=True),
        "json.loads (decode only)": lambda: json_decode(frames),
    }
    rates = {}
    for name, run in runs.items():
        offers, seconds = run()
        rates[name] = offers / seconds
    return rates


# --- 2. loopback ---------------------------------------------------------------------------


async def asyncexch_loopback(url: str, seconds: float) -> list[float]:
    """Per offer, the seconds from its push's ``ts`` to the consumer."""
    latencies: list[float] = []
    async with BybitClient(base_url=url) as client:
        quotes = client.advance_earn.dual_assets.watch_quotes(None)

        async def read() -> None:
            async for item in quotes:
                if isinstance(item, LiveQuote) and item.pushed_at is not None:
                    late = time.time() - item.pushed_at.timestamp()
                    latencies.extend([late] * (len(item.quote.buy_low) + len(item.quote.sell_high)))

        reader = asyncio.ensure_future(read())
        await asyncio.sleep(seconds)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await quotes.aclose()
    return latencies


def pybit_loopback(url: str, seconds: float, with_decimal: bool) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = [0]
    count = count_offers(counter, with_decimal)

    def callback(message: dict[str, Any]) -> None:
        before = counter[0]
        count(message)
        late = time.time() - message["ts"] / 1000
        with lock:
            latencies.extend([late] * (counter[0] - before))

    from pybit._websocket_stream import _V5WebSocketManager

    manager = _V5WebSocketManager("fp", testnet=False, ping_interval=20, ping_timeout=10)
    manager._connect(url.replace("http://", "ws://") + "/v5/public/fp")
    manager.subscribe(TOPIC, callback, symbol="-")
    time.sleep(seconds)
    manager.exit()
    with lock:
        return list(latencies)


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    ms = sorted(late * 1000 for late in latencies)
    return {
        "offers": len(ms),
        "offers_per_s": len(ms) / seconds,
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "max_ms": ms[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer frames, shorter reads")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between pushes")
    parser.add_argument("--products", type=int, default=PRODUCTS, help="products per push")
    parser.add_argument("--seconds", type=float, default=20.0, help="loopback read per client")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.interval, args.products)
        return
    frames_count, rounds, seconds = (20, 1, 4.0) if args.quick else (100, 3, args.seconds)
    frames = recorded_frames(frames_count, args.products)
    decode_rounds = [decode_round(frames) for _ in range(rounds)]
    decode = {name: max(r[name] for r in decode_rounds) for name in decode_rounds[0]}
    options = ("--interval", str(args.interval), "--products", str(args.products))
    clients: dict[str, Callable[[str], list[float]]] = {
        "asyncexch": lambda url: asyncio.run(asyncexch_loopback(url, seconds)),
        "pybit": lambda url: pybit_loopback(url, seconds, False),
        "pybit + Decimal": lambda url: pybit_loopback(url, seconds, True),
    }
    loopback: dict[str, dict[str, float]] = {}
    for name, read in clients.items():
        # A fresh simulator per client: one that has issued quotes for a while builds its
        # pushes more slowly (it remembers each quote until it expires).
        with overhead.server_process(__file__, *options) as url:
            loopback[name] = summary(read(url), seconds)
    result = {
        "settings": {
            "quick": args.quick,
            "products": args.products,
            "offers_per_push": args.products * 4,
            "push_interval_s": args.interval,
            "decode_frames": frames_count,
            "decode_rounds (best of)": rounds,
            "loopback_seconds_per_client": seconds,
        },
        "decode_offers_per_cpu_s": decode,
        "loopback": loopback,
        "machine": overhead.machine(),
    }
    print(f"{args.products} products x 4 offers per push; decode: {frames_count} frames")
    print(f"{'client':26} {'decode offers/CPU-s':>20} {'loopback offers/s':>18}", end="")
    print(f" {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate in decode.items():
        line = loopback.get(name)
        tail = (
            f" {line['offers_per_s']:18,.0f} {line['p50_ms']:8.2f} {line['p99_ms']:8.2f}"
            if line
            else ""
        )
        print(f"{name:26} {rate:20,.0f}{tail}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stream.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
