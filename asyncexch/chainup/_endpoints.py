"""ChainUP contract open-API v1 endpoints.

The venue documents no limits: 5/s each by default. ``idempotent`` follows the method (POST:
never resent after an unknown outcome) except where an endpoint below says why it may be.
"""

from __future__ import annotations

from .._endpoint import Endpoint
from .._limits import RateLimit
from ._models import (
    Balance,
    OpenContract,
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
    "HOLD_CONTRACTS",
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
    "open_contracts",
    "balance",
    "change_level",
    "transfer_margin",
    "market",
    "contracts",
)
#: Per API key and endpoint (``contracts``, the one public endpoint, per IP); rolling 1-second
#: windows. The venue documents none: 5/s each, and back off on 119/110041/110042.
DEFAULT_LIMITS = {name: RateLimit(5, per=1.0) for name in _NAMES}
#: Buckets counted per IP address rather than per API key.
IP_BUCKETS = frozenset({"contracts"})

CONTRACTS = Endpoint(
    "contracts",
    "GET",
    "/api/contract_public_info",
    PublicInfo,
    signed=False,
    buckets=("contracts",),
)
#: Signed: the published page requires ``api_key``, ``time`` and ``sign``. A read: resent freely.
MARKET = Endpoint("market", "POST", "/api/market", Ticker, buckets=("market",), idempotent=True)
#: No client order id exists: an attempt whose outcome is unknown is never resent.
TAKE_ORDER = Endpoint(
    "take_order",
    "POST",
    "/api/take_order",
    OrderCreated,
    buckets=("take_order",),
    changes_state=True,
)
#: Cancelling twice changes nothing more (the second is refused: the order is finished).
CANCEL_ORDER = Endpoint(
    "cancel_order",
    "POST",
    "/api/cancel_order",
    type(None),
    buckets=("cancel_order",),
    idempotent=True,
    changes_state=True,
)
#: Cancelling every open order twice cancels nothing more the second time.
CANCEL_ALL = Endpoint(
    "cancel_all",
    "POST",
    "/api/cancel_order_all",
    type(None),
    buckets=("cancel_all",),
    idempotent=True,
    changes_state=True,
)
#: Reads sent as POST: resent freely.
ORDER_INFO = Endpoint(
    "order_info",
    "POST",
    "/api/order_info",
    list[OrderDetail],
    buckets=("order_info",),
    idempotent=True,
)
ORDER_LIST = Endpoint(
    "order_list",
    "POST",
    "/api/order_list_v2",
    OrderList,
    buckets=("order_list",),
    idempotent=True,
)
POSITIONS = Endpoint(
    "position",
    "POST",
    "/api/user_position",
    PositionList,
    buckets=("position",),
    idempotent=True,
)
HOLD_CONTRACTS = Endpoint(
    "open_contracts",
    "POST",
    "/api/hold_contract_list",
    list[OpenContract],
    buckets=("open_contracts",),
    idempotent=True,
)
ACCOUNT_BALANCE = Endpoint(
    "balance",
    "POST",
    "/api/account_balance",
    list[Balance],
    buckets=("balance",),
    idempotent=True,
)
#: Setting the same leverage twice changes nothing more: safe to resend.
CHANGE_LEVEL = Endpoint(
    "change_level",
    "POST",
    "/api/change_level",
    type(None),
    buckets=("change_level",),
    idempotent=True,
    changes_state=True,
)
#: Moving margin twice moves it twice: never resent after an unknown outcome.
TRANSFER_MARGIN = Endpoint(
    "transfer_margin",
    "POST",
    "/api/transfer_margin",
    type(None),
    buckets=("transfer_margin",),
    changes_state=True,
)
