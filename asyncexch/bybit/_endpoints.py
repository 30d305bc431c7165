"""Bybit V5 Advance Earn endpoints and their documented rate limits."""

from __future__ import annotations

from typing import Any, TypeVar

from .._endpoint import Endpoint
from .._limits import RateLimit
from ._earn_endpoints import EARN_IP_BUCKETS, EARN_LIMITS
from ._models import EstimateList, MarketTime, OrderAck, OrderInfo, Page, Position, Product, Quote

__all__ = [
    "DEFAULT_LIMITS",
    "DOUBLE_WIN_LEVERAGE",
    "IP_BUCKETS",
    "ORDER",
    "PLACE_ORDER",
    "POSITION",
    "PRODUCT",
    "QUOTE",
    "REDEEM_ESTIMATE",
    "SERVER_TIME",
    "read_as",
]

T = TypeVar("T")

#: Per UID per endpoint unless in IP_BUCKETS; rolling 1-second windows (IP: 5 s).
DEFAULT_LIMITS = {
    "place_order": RateLimit(5, per=1.0),
    "order": RateLimit(10, per=1.0),
    "position": RateLimit(10, per=1.0),
    "redeem_estimate": RateLimit(10, per=1.0),
    "product": RateLimit(50, per=1.0),
    "quote": RateLimit(50, per=1.0),
    "ip": RateLimit(600, per=5.0),
    # DoubleWin's RFQ quote: the docs state no limit; Bybit's MCP server and skill say 1/s.
    "double_win_leverage": RateLimit(1, per=1.0),
    **EARN_LIMITS,
    # Liquidity Mining (advanced-earn/liquidity-mining/*.mdx): one bucket per endpoint.
    "lm_product": RateLimit(50, per=1.0),
    "lm_add_liquidity": RateLimit(5, per=1.0),
    "lm_remove_liquidity": RateLimit(5, per=1.0),
    "lm_reinvest": RateLimit(5, per=1.0),
    "lm_add_margin": RateLimit(5, per=1.0),
    "lm_claim_interest": RateLimit(5, per=1.0),
    "lm_order": RateLimit(10, per=1.0),
    "lm_position": RateLimit(10, per=1.0),
    "lm_yield_records": RateLimit(10, per=1.0),
    "lm_liquidation_records": RateLimit(10, per=1.0),
}
#: Buckets counted per IP address rather than per API key.
IP_BUCKETS = frozenset({"product", "quote", "ip", "lm_product"}) | EARN_IP_BUCKETS

SERVER_TIME = Endpoint(
    "server_time", "GET", "/v5/market/time", MarketTime, signed=False, buckets=("ip",)
)
PRODUCT = Endpoint(
    "product",
    "GET",
    "/v5/earn/advance/product",
    Page[Product],
    signed=False,
    buckets=("product", "ip"),
)
QUOTE = Endpoint(
    "quote",
    "GET",
    "/v5/earn/advance/product-extra-info",
    Quote,
    signed=False,
    buckets=("quote", "ip"),
)
#: Resending is safe: the order carries an orderLinkId that Bybit refuses to reuse.
PLACE_ORDER = Endpoint(
    "place_order",
    "POST",
    "/v5/earn/advance/place-order",
    OrderAck,
    buckets=("place_order", "ip"),
    idempotent=True,
    changes_state=True,
)
ORDER = Endpoint("order", "GET", "/v5/earn/advance/order", Page[OrderInfo], buckets=("order", "ip"))
POSITION = Endpoint(
    "position", "GET", "/v5/earn/advance/position", Page[Position], buckets=("position", "ip")
)
REDEEM_ESTIMATE = Endpoint(
    "redeem_estimate",
    "GET",
    "/v5/earn/advance/get-redeem-est-amount-list",
    EstimateList,
    buckets=("redeem_estimate", "ip"),
)

#: DoubleWin's RFQ quote (signed; no ``category``): its result is read as a
#: ``DoubleWinLeverage`` (``read_as``).
DOUBLE_WIN_LEVERAGE = Endpoint(
    "double_win_leverage",
    "GET",
    "/v5/earn/advance/double-win-leverage",
    Quote,
    buckets=("double_win_leverage", "ip"),
)


def read_as(endpoint: Endpoint[Any], result: type[T]) -> Endpoint[T]:
    """``endpoint`` with its answer read as ``result``: every Advance Earn category shares the
    paths, and so the rate-limit buckets, and ``category`` decides the shape of the answer."""
    return Endpoint(
        endpoint.name,
        endpoint.method,
        endpoint.path,
        result,
        signed=endpoint.signed,
        buckets=endpoint.buckets,
        cost=endpoint.cost,
        idempotent=endpoint.idempotent,
        changes_state=endpoint.changes_state,
    )
