"""Bybit Earn endpoints (``/v5/earn/*``: FlexibleSaving, OnChain) and their rate limits.

Bybit states no rate limit on these pages (only ``/v5/earn/coupons``: 10/s per UID), and its
generic rate-limit table has no Earn rows. The buckets here take Advance Earn's documented
figures (orders 5/s, order and position reads 10/s per UID, products 50/s per IP), a
cautious guess that ``limits=`` overrides; every call also counts against the IP-wide
bucket.
"""

from __future__ import annotations

from .._endpoint import Endpoint
from .._limits import RateLimit
from ._earn import EarnOrderInfo, EarnPosition, EarnProduct
from ._models import OrderAck, Page

__all__ = [
    "EARN_IP_BUCKETS",
    "EARN_LIMITS",
    "EARN_ORDER",
    "EARN_PLACE_ORDER",
    "EARN_POSITION",
    "EARN_PRODUCT",
]

#: Per UID per endpoint (products: per IP); rolling 1-second windows.
EARN_LIMITS = {
    "earn_place_order": RateLimit(5, per=1.0),
    "earn_order": RateLimit(10, per=1.0),
    "earn_position": RateLimit(10, per=1.0),
    "earn_product": RateLimit(50, per=1.0),
}
EARN_IP_BUCKETS = frozenset({"earn_product"})

EARN_PRODUCT = Endpoint(
    "earn_product",
    "GET",
    "/v5/earn/product",
    Page[EarnProduct],
    signed=False,
    buckets=("earn_product", "ip"),
)
#: Resending is safe within 30 minutes of the first attempt: Bybit refuses a reused
#: orderLinkId that long (the placement never resends later; see ``_placement``). The answer
#: is ``{orderId, orderLinkId}``, as Advance Earn's; the client adds the category.
EARN_PLACE_ORDER = Endpoint(
    "earn_place_order",
    "POST",
    "/v5/earn/place-order",
    OrderAck,
    buckets=("earn_place_order", "ip"),
    idempotent=True,
    changes_state=True,
)
EARN_ORDER = Endpoint(
    "earn_order", "GET", "/v5/earn/order", Page[EarnOrderInfo], buckets=("earn_order", "ip")
)
EARN_POSITION = Endpoint(
    "earn_position",
    "GET",
    "/v5/earn/position",
    Page[EarnPosition],
    buckets=("earn_position", "ip"),
)
