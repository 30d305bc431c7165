"""ChainUP white-label exchanges' contract (futures) open-API v1 on the asyncexch core."""

from ._auth import Md5Signer, string_to_sign
from ._client import ChainupContractClient, OrderQuery
from ._endpoints import DEFAULT_LIMITS
from ._models import (
    Balance,
    CloseType,
    Contract,
    ContractOrder,
    MarginMode,
    OpenContract,
    OrderCreated,
    OrderDetail,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TakeOrder,
    Ticker,
    Trade,
)
from ._reconcile import ReconcileStatus, Reconciliation, TakeOrderUnknown
from ._venue import VENUE_TIMEZONE, ChainupVenue

__all__ = [
    "DEFAULT_LIMITS",
    "VENUE_TIMEZONE",
    "Balance",
    "ChainupContractClient",
    "ChainupVenue",
    "CloseType",
    "Contract",
    "ContractOrder",
    "MarginMode",
    "Md5Signer",
    "OpenContract",
    "OrderCreated",
    "OrderDetail",
    "OrderQuery",
    "OrderStatus",
    "OrderType",
    "Position",
    "ReconcileStatus",
    "Reconciliation",
    "Side",
    "TakeOrder",
    "TakeOrderUnknown",
    "Ticker",
    "Trade",
    "string_to_sign",
]
