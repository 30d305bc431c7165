"""ChainUP as the tests serve and send it: credentials, paths, envelopes and orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from asyncexch.chainup import OrderType, Side, TakeOrder

BASE_URL = "https://chainup.test"
#: The ChainUP reference's example key, and the 17 x 'x' secret its vectors were computed with.
API_KEY = "0816016bb06417f50327e2b557d39aaa"
API_SECRET = "x" * 17

# The endpoints, as the reference documents them.
TAKE = "/api/take_order"
ORDER_LIST = "/api/order_list_v2"


def ok(data: object) -> httpx.Response:
    """A successful answer carrying ``data``, in the venue's envelope."""
    return httpx.Response(200, json={"code": "0", "msg": "成功", "data": data})


def fail(code: int | str, message: str = "error") -> httpx.Response:
    """A refusal with the venue's ``code``, in its envelope."""
    return httpx.Response(200, json={"code": str(code), "msg": message, "data": None})


def order(**overrides: Any) -> TakeOrder:
    """A limit buy of one contract at 7000, 10x, with ``overrides``."""
    fields: dict[str, Any] = {
        "contract_id": 1,
        "side": Side.BUY,
        "volume": Decimal("1"),
        "order_type": OrderType.LIMIT,
        "price": Decimal("7000"),
        "level": 10,
    }
    fields.update(overrides)
    return TakeOrder(**fields)
