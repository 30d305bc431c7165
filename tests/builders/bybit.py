"""Bybit as the tests serve and send it: credentials, paths, envelopes and orders."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from asyncexch._convert import decode, loads_exact
from asyncexch.bybit import BybitVenue, DualAssetsOrder, RedeemOrder, StakeOrder
from asyncexch.sim import BybitSimulator

BASE_URL = "https://api.bybit.test"
#: The Bybit V5 reference notes' example key and the secret their HMAC vectors use.
API_KEY = "XXXXXXXXXX"
API_SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
#: The server's time in the answers respx serves (and the virtual clock's start).
SERVER_MS = 1_700_000_000_000

# The endpoints, as the reference documents them.
TIME = "/v5/market/time"
PRODUCT = "/v5/earn/advance/product"
QUOTE = "/v5/earn/advance/product-extra-info"
PLACE = "/v5/earn/advance/place-order"
ORDER = "/v5/earn/advance/order"
POSITION = "/v5/earn/advance/position"
ESTIMATE = "/v5/earn/advance/get-redeem-est-amount-list"

#: The reference's example product (its stake example: 100 USDT at 68403, breakeven 68650).
PRODUCT_ID = "12999"
#: The simulator's BTC Long, 5x, 1d.
SIM_PRODUCT_ID = "13016"

#: Headers as a server sends them: names to values, or raw (name, value) byte pairs.
Headers = Mapping[str, str] | Sequence[tuple[bytes, bytes]]
#: A ``Timenow`` header of "²" (U+00B2, as a proxy might garble it): ``"²".isdigit()`` is true.
SUPERSCRIPT_TWO_TIMENOW: Headers = [(b"Timenow", "\u00b2".encode("utf-8"))]


T = TypeVar("T")


def read(body: str, type_: type[T]) -> T:
    """What the client does with a result: exact JSON, then the Bybit converter."""
    return decode(BybitVenue.converter, loads_exact(body), type_)


def ms(value: int) -> datetime:
    """The UTC time of epoch milliseconds ``value``, as the client decodes a timestamp."""
    return datetime.fromtimestamp(value / 1000, timezone.utc)


def ok(result: Any, *, time: int = SERVER_MS, headers: Headers | None = None) -> httpx.Response:
    """A Bybit success envelope."""
    return httpx.Response(
        200,
        json={"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time},
        headers=headers,
    )


def acknowledge_by_category(request: httpx.Request) -> httpx.Response:
    """An Advance Earn place-order answer acknowledging the request's order under the id
    ``id-<category>`` (for a mixed batch, whose orders then tell their categories apart)."""
    body = json.loads(request.content)
    return ok({"orderId": f"id-{body['category']}", "orderLinkId": body["orderLinkId"]})


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


def page(*items: Any, cursor: str = "", time: int = SERVER_MS) -> httpx.Response:
    """A success envelope holding one page of a SmartLeverage list: ``items``, then ``cursor``
    (empty: the last page)."""
    return ok(
        {"category": "SmartLeverage", "list": list(items), "nextPageCursor": cursor}, time=time
    )


def stake_order(**overrides: Any) -> StakeOrder:
    """The reference's stake example (100 USDT in :data:`PRODUCT_ID` at 68403, breakeven
    68650), with ``overrides``; a fresh orderLinkId unless one is given."""
    fields: dict[str, Any] = {
        "product_id": PRODUCT_ID,
        "coin": "USDT",
        "amount": Decimal("100"),
        "initial_price": Decimal("68403"),
        "breakeven_price": Decimal("68650"),
    }
    fields.update(overrides)
    return StakeOrder(**fields)


def redeem_order(**overrides: Any) -> RedeemOrder:
    """The reference's redeem example (position 1277 of :data:`PRODUCT_ID`, estimated at
    77.8469), with ``overrides``; a fresh orderLinkId unless one is given."""
    fields: dict[str, Any] = {
        "product_id": PRODUCT_ID,
        "position_id": "1277",
        "est_redeem_amount": Decimal("77.8469"),
    }
    fields.update(overrides)
    return RedeemOrder(**fields)


def dual_assets_order(**overrides: Any) -> DualAssetsOrder:
    """The docs' DualAssets stake example (20 USDT in product 36320, BuyLow at 2325, APY
    857565000 E8, from UNIFIED, its 35-character orderLinkId), with ``overrides``."""
    fields: dict[str, Any] = {
        "product_id": "36320",
        "coin": "USDT",
        "amount": Decimal("20"),
        "direction": "BuyLow",
        "select_price": Decimal("2325"),
        "apy_e8": 857565000,
        "account_type": "UNIFIED",
        "order_link_id": "54b3589b-da55-4b17-acdd-aa75912c9eb",
    }
    fields.update(overrides)
    return DualAssetsOrder(**fields)


def sim_stake_order(sim: BybitSimulator, **overrides: Any) -> StakeOrder:
    """A stake of 100 USDT in :data:`SIM_PRODUCT_ID` at a quote ``sim`` gave now, with
    ``overrides``: the simulator accepts it until the quote expires."""
    quote = sim.issue_quote(SIM_PRODUCT_ID)
    fields: dict[str, Any] = {
        "product_id": SIM_PRODUCT_ID,
        "coin": "USDT",
        "amount": Decimal("100"),
        "initial_price": quote.current_price,
        "breakeven_price": quote.breakeven_price,
    }
    fields.update(overrides)
    return StakeOrder(**fields)


def stake_orders(
    sim: BybitSimulator, count: int, *, first: int = 0, divisor: int = 1
) -> list[StakeOrder]:
    """``count`` orders at a quote the simulator gave now, each its own amount
    (``10 + index / divisor`` USDT for index ``first``, ``first + 1``, ...)."""
    quote = sim.issue_quote(SIM_PRODUCT_ID)
    return [
        StakeOrder(
            product_id=SIM_PRODUCT_ID,
            coin="USDT",
            amount=Decimal("10") + Decimal(index) / divisor,
            initial_price=quote.current_price,
            breakeven_price=quote.breakeven_price,
        )
        for index in range(first, first + count)
    ]
