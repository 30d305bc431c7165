"""Bybit Liquidity Mining's endpoints and their buckets (``lm_*`` in ``DEFAULT_LIMITS``).

Limits as each page states them: the product list 50/s per IP, the five POSTs 5/s per UID,
the four signed GETs 10/s per UID; every call also takes the IP-wide bucket.
"""

from __future__ import annotations

from typing import Any

from .._endpoint import Endpoint
from ._liquidity_mining import (
    Claimed,
    LiquidationRecord,
    OrderPage,
    PositionList,
    ProductList,
    RecordPage,
    YieldRecord,
)
from ._models import OrderAck

__all__ = [
    "ADD_LIQUIDITY",
    "ADD_MARGIN",
    "CLAIM_INTEREST",
    "LIQUIDATION_RECORDS",
    "LM_ORDER",
    "LM_POSITION",
    "LM_PRODUCT",
    "REINVEST",
    "REMOVE_LIQUIDITY",
    "YIELD_RECORDS",
]

_PATH = "/v5/earn/liquidity-mining/"


def _get(name: str, path: str, result: type[Any], *, signed: bool = True) -> Endpoint[Any]:
    return Endpoint(
        f"lm_{name}", "GET", _PATH + path, result, signed=signed, buckets=(f"lm_{name}", "ip")
    )


def _order(name: str, path: str) -> Endpoint[OrderAck]:
    """An order call: resending is safe, the order carries an orderLinkId that Bybit refuses
    to reuse (the answer is ``orderId``/``orderLinkId``, an ``OrderAck``'s shape)."""
    return Endpoint(
        f"lm_{name}",
        "POST",
        _PATH + path,
        OrderAck,
        buckets=(f"lm_{name}", "ip"),
        idempotent=True,
        changes_state=True,
    )


LM_PRODUCT: Endpoint[ProductList] = _get("product", "product", ProductList, signed=False)
ADD_LIQUIDITY = _order("add_liquidity", "add-liquidity")
REMOVE_LIQUIDITY = _order("remove_liquidity", "remove-liquidity")
REINVEST = _order("reinvest", "reinvest")
ADD_MARGIN = _order("add_margin", "add-margin")
#: No orderLinkId: a claim whose outcome is unknown is never sent again (it is not
#: idempotent) and ends in ``OrderStatusUnknown``; a refusal before processing is retried.
CLAIM_INTEREST: Endpoint[Claimed] = Endpoint(
    "lm_claim_interest",
    "POST",
    _PATH + "claim-interest",
    Claimed,
    buckets=("lm_claim_interest", "ip"),
    idempotent=False,
    changes_state=True,
)
LM_ORDER: Endpoint[OrderPage] = _get("order", "order", OrderPage)
LM_POSITION: Endpoint[PositionList] = _get("position", "position", PositionList)
YIELD_RECORDS: Endpoint[RecordPage[YieldRecord]] = _get(
    "yield_records", "yield-records", RecordPage[YieldRecord]
)
LIQUIDATION_RECORDS: Endpoint[RecordPage[LiquidationRecord]] = _get(
    "liquidation_records", "liquidation-records", RecordPage[LiquidationRecord]
)
