"""Bybit as the tests serve and send it: credentials, paths, envelopes and stake orders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from asyncexch.bybit import StakeOrder
from asyncexch.sim import BybitSimulator

BASE_URL = "https://api.bybit.test"
#: The Bybit V5 reference notes' example key and the secret their HMAC vectors use.
API_KEY = "XXXXXXXXXX"
API_SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
#: The server's time in the answers respx serves (and the virtual clock's start).
SERVER_MS = 1_700_000_000_000

PRODUCT = "13016"  # the simulator's BTC Long, 5x, 1d

#: Headers as a server sends them: names to values, or raw (name, value) byte pairs.
Headers = Mapping[str, str] | Sequence[tuple[bytes, bytes]]
#: A ``Timenow`` header of "²" (U+00B2, as a proxy might garble it): ``"²".isdigit()`` is true.
SUPERSCRIPT_TWO_TIMENOW: Headers = [(b"Timenow", "\u00b2".encode("utf-8"))]


def ok(result: Any, *, time: int = SERVER_MS, headers: Headers | None = None) -> httpx.Response:
    """A Bybit success envelope."""
    return httpx.Response(
        200,
        json={"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time},
        headers=headers,
    )


def fail(
    code: int,
    message: str = "error",
    *,
    time: int = SERVER_MS,
    headers: Headers | None = None,
) -> httpx.Response:
    """A Bybit error envelope."""
    return httpx.Response(
        200,
        json={"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": time},
        headers=headers,
    )


def stake_order(**overrides: Any) -> StakeOrder:
    """A stake of 100 USDT in :data:`PRODUCT` at fixed prices, with ``overrides``."""
    fields: dict[str, Any] = {
        "product_id": PRODUCT,
        "amount": Decimal("100"),
        "coin": "USDT",
        "initial_price": Decimal("30000"),
        "breakeven_price": Decimal("29000"),
    }
    fields.update(overrides)
    return StakeOrder(**fields)


def stake_orders(
    sim: BybitSimulator, count: int, *, first: int = 0, divisor: int = 1
) -> list[StakeOrder]:
    """``count`` orders at a quote the simulator gave now, each its own amount
    (``10 + index / divisor`` USDT for index ``first``, ``first + 1``, ...)."""
    quote = sim.issue_quote(PRODUCT)
    return [
        StakeOrder(
            product_id=PRODUCT,
            coin="USDT",
            amount=Decimal("10") + Decimal(index) / divisor,
            initial_price=quote.current_price,
            breakeven_price=quote.breakeven_price,
        )
        for index in range(first, first + count)
    ]
