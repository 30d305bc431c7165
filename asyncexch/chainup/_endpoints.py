"""ChainUP contract open-API v1 endpoints. The venue documents no limits: 5/s each by default."""

from __future__ import annotations

from .._endpoint import Endpoint
from .._limits import RateLimit
from ._models import (
    Balance,
    OrderCreated,
    OrderDetail,
    OrderList,
    PositionList,
    PublicInfo,
    Ticker,
)

__all__ = [
    "ACCOUNT_BALANCE",
    "CANCEL_ALL",
    "CANCEL_ORDER",
    "CHANGE_LEVEL",
    "CONTRACTS",
    "DEFAULT_LIMITS",
    "MARKET",
    "ORDER_INFO",
    "ORDER_LIST",
    "POSITIONS",
    "TAKE_ORDER",
    "TRANSFER_MARGIN",
]

_NAMES = (
    "take_order",
    "cancel_order",
    "cancel_all",
    "order_info",
    "order_list",
    "position",
    "balance",
    "change_level",
    "transfer_margin",
    "market",
    "contracts",
)
#: Per API key and endpoint (the public ones per IP); rolling 1-second windows.
DEFAULT_LIMITS = {name: RateLimit(5, per=1.0) for name in _NAMES}
#: Buckets counted per IP address rather than per API key.
IP_BUCKETS = frozenset({"market", "contracts"})

CONTRACTS = Endpoint(
    "contracts",
    "GET",
    "/api/contract_public_info",
    PublicInfo,
    signed=False,
    buckets=("contracts",),
)
MARKET = Endpoint("market", "POST", "/api/market", Ticker, signed=False, buckets=("market",))
#: No client order id exists: an attempt whose outcome is unknown is never resent.
TAKE_ORDER = Endpoint(
    "take_order",
    "POST",
    "/api/take_order",
    OrderCreated,
    buckets=("take_order",),
    idempotent=False,
    changes_state=True,
)
CANCEL_ORDER = Endpoint(
    "cancel_order",
    "POST",
    "/api/cancel_order",
    type(None),
    buckets=("cancel_order",),
    changes_state=True,
)
CANCEL_ALL = Endpoint(
    "cancel_all",
    "POST",
    "/api/cancel_order_all",
    type(None),
    buckets=("cancel_all",),
    changes_state=True,
)
ORDER_INFO = Endpoint(
    "order_info", "POST", "/api/order_info", list[OrderDetail], buckets=("order_info",)
)
ORDER_LIST = Endpoint(
    "order_list", "POST", "/api/order_list_v2", OrderList, buckets=("order_list",)
)
POSITIONS = Endpoint("position", "POST", "/api/user_position", PositionList, buckets=("position",))
ACCOUNT_BALANCE = Endpoint(
    "balance", "POST", "/api/account_balance", list[Balance], buckets=("balance",)
)
#: Setting the same leverage twice changes nothing more: safe to resend.
CHANGE_LEVEL = Endpoint(
    "change_level",
    "POST",
    "/api/change_level",
    type(None),
    buckets=("change_level",),
    changes_state=True,
)
#: Moving margin twice moves it twice: never resent after an unknown outcome.
TRANSFER_MARGIN = Endpoint(
    "transfer_margin",
    "POST",
    "/api/transfer_margin",
    type(None),
    buckets=("transfer_margin",),
    idempotent=False,
    changes_state=True,
)
