"""Decoding: order lists of 20 and 1,000 items, from bytes to what a caller reads.

Bodies are Bybit ``GET /v5/earn/advance/order`` answers shaped like the simulator's (every
amount and price a decimal string, as Bybit sends them). Compared, per page and per item:

* parsing: stdlib ``json.loads(parse_float=Decimal)`` (asyncexch's ``loads_exact``), plain
  stdlib ``json.loads`` and ``orjson.loads``. orjson cannot give ``Decimal`` for a JSON number
  (it makes floats); Bybit sends amounts as strings, so on these bodies its output is
  checked to be equal to the exact parse, and the comparison is fair. A body with a JSON
  number with a fraction would not be;
* structuring ``result`` into ``Page[OrderInfo]``: asyncexch's cattrs converter
  (``asyncexch._convert.decode`` with ``BybitVenue.converter``), the same converter built with
  cattrs' ``detailed_validation=False`` (a what-if: errors would name fields less precisely),
  a hand-written constructor giving equal objects (checked; it validates nothing), and plain
  dict access of the fields a bot reads (``orderId``, ``status``, ``Decimal(amount)``);
* end to end, bytes to typed orders.

Prints a table; writes ``benchmarks/results/decode.json``.

``python benchmarks/decode.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import pathlib
import timeit
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

import cattrs
import orjson

from asyncexch._convert import decode, loads_exact
from asyncexch.bybit import BybitVenue, Direction, OrderInfo, OrderStatus, OrderType, Page
from asyncexch.bybit._venue import _make_converter

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def order_json(index: int) -> dict[str, Any]:
    created = 1_763_700_000_000 + index * 997
    settled = index % 3 == 0
    return {
        "orderId": f"{index:08x}-5e1a-4b1d-9a7e-{index:012x}",
        "orderLinkId": f"ax-{index:09d}abcdefghijklmnopq",
        "productId": "13016",
        "category": "SmartLeverage",
        "orderType": "Stake" if index % 4 else "Redeem",
        "amount": f"{10 + index}.{index % 10000:04d}",
        "createdTime": str(created),
        "status": "Settled" if settled else "Success",
        "duration": "1d",
        "accountType": "FUND",
        "settlementTime": str(created + 86_400_000) if settled else "",
        "refundStatus": "",
        "investCoin": "USDT",
        "underlyingAsset": "BTC",
        "direction": "Long",
        "leverage": "5",
        "breakevenPrice": "68157.41",
        "initialPrice": f"684{index % 100:02d}.67",
        "settlementPrice": "69001.5" if settled else "",
        "pnl": "12.3456" if settled else "",
        "toAccountType": "",
    }


def body(items: int) -> bytes:
    envelope = {
        "retCode": 0,
        "retMsg": "OK",
        "result": {
            "category": "SmartLeverage",
            "nextPageCursor": "",
            "list": [order_json(i) for i in range(items)],
        },
        "retExtInfo": {},
        "time": 1_763_700_000_000,
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def _moment(text: str) -> datetime | None:
    return EPOCH + timedelta(milliseconds=int(text)) if text else None


def hand_order(d: dict[str, Any]) -> OrderInfo:
    """What a careful hand-written client does: build the same object field by field."""
    return OrderInfo(
        order_id=d["orderId"],
        order_link_id=d["orderLinkId"],
        product_id=d["productId"],
        order_type=OrderType(d["orderType"]),
        amount=Decimal(d["amount"]),
        status=OrderStatus(d["status"]),
        created_time=EPOCH + timedelta(milliseconds=int(d["createdTime"])),
        category=d["category"],
        duration=d["duration"],
        account_type=d["accountType"],
        invest_coin=d["investCoin"],
        underlying_asset=d["underlyingAsset"],
        direction=Direction(d["direction"]) if d["direction"] else None,
        leverage=_decimal(d["leverage"]),
        breakeven_price=_decimal(d["breakevenPrice"]),
        initial_price=_decimal(d["initialPrice"]),
        settlement_time=_moment(d["settlementTime"]),
        refund_status=d["refundStatus"],
        settlement_price=_decimal(d["settlementPrice"]),
        pnl=_decimal(d["pnl"]),
        to_account_type=d["toAccountType"],
    )


def hand_page(result: dict[str, Any]) -> Page[OrderInfo]:
    return Page(
        items=[hand_order(item) for item in result["list"]],
        category=result["category"],
        next_page_cursor=result["nextPageCursor"],
    )


def dict_access(result: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
    """What a quick hand-written client does: read the few fields it needs."""
    return [(d["orderId"], d["status"], Decimal(d["amount"])) for d in result["list"]]


def lean_converter() -> cattrs.Converter:
    """asyncexch's converter, built with ``detailed_validation=False`` (a what-if)."""
    with mock.patch.object(
        cattrs, "Converter", partial(cattrs.Converter, detailed_validation=False)
    ):
        return _make_converter()


def measure(fn: Callable[[], object], repeat: int, budget: float) -> float:
    """Best seconds per call over ``repeat`` runs of about ``budget`` seconds each."""
    fn()
    number = 1
    while True:
        took = timeit.timeit(fn, number=number)
        if took >= budget / 4:
            break
        number *= 4
    number = max(1, int(number * budget / max(took, 1e-9) / 1))
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def run(items: int, repeat: int, budget: float) -> list[dict[str, Any]]:
    raw = body(items)
    exact = loads_exact(raw)
    fast = orjson.loads(raw)
    if fast != exact:
        raise AssertionError("orjson and the exact parse differ on this body")
    result = exact["result"]
    converter = BybitVenue.converter
    lean = lean_converter()
    typed = decode(converter, result, Page[OrderInfo])
    if hand_page(result) != typed or decode(lean, result, Page[OrderInfo]) != typed:
        raise AssertionError("the decoders disagree")
    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("parse", "json.loads(parse_float=Decimal) (asyncexch)", lambda: loads_exact(raw)),
        ("parse", "json.loads", lambda: json.loads(raw)),
        ("parse", "orjson.loads (equal output on these bodies)", lambda: orjson.loads(raw)),
        (
            "structure",
            "cattrs, asyncexch converter",
            lambda: decode(converter, result, Page[OrderInfo]),
        ),
        (
            "structure",
            "cattrs, detailed_validation=False (what-if)",
            lambda: decode(lean, result, Page[OrderInfo]),
        ),
        ("structure", "hand-written OrderInfo(...)", lambda: hand_page(result)),
        ("structure", "dict access: id, status, Decimal(amount)", lambda: dict_access(result)),
        (
            "bytes to typed",
            "loads_exact + cattrs (asyncexch today)",
            lambda: decode(converter, loads_exact(raw)["result"], Page[OrderInfo]),
        ),
        (
            "bytes to typed",
            "orjson + cattrs",
            lambda: decode(converter, orjson.loads(raw)["result"], Page[OrderInfo]),
        ),
        (
            "bytes to typed",
            "orjson + cattrs detailed_validation=False",
            lambda: decode(lean, orjson.loads(raw)["result"], Page[OrderInfo]),
        ),
        (
            "bytes to typed",
            "orjson + hand-written OrderInfo(...)",
            lambda: hand_page(orjson.loads(raw)["result"]),
        ),
    ]
    rows = []
    for stage, name, fn in cases:
        seconds = measure(fn, repeat, budget)
        rows.append(
            {
                "items": items,
                "body_bytes": len(raw),
                "stage": stage,
                "method": name,
                "us_per_page": seconds * 1e6,
                "us_per_item": seconds * 1e6 / items,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter timing runs")
    args = parser.parse_args()
    repeat, budget = (5, 0.05) if args.quick else (9, 0.25)
    rows = [row for items in (20, 1000) for row in run(items, repeat, budget)]
    print("| items | stage | method | µs/page | µs/item | vs asyncexch |")
    print("|---|---|---|---|---|---|")
    base: dict[tuple[int, str], float] = {}
    for row in rows:
        key = (row["items"], row["stage"])
        base.setdefault(key, row["us_per_page"])
        print(
            f"| {row['items']:,} | {row['stage']} | {row['method']} | "
            f"{row['us_per_page']:,.1f} | {row['us_per_item']:.2f} | "
            f"{row['us_per_page'] / base[key]:.2f}x |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "decode.json").write_text(
        json.dumps({"quick": args.quick, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
