"""ChainUP white-label exchanges' contract (futures) open-API v1 on the asyncexch core."""

from ._auth import Md5Signer, string_to_sign
from ._client import ChainupContractClient, OrderQuery, ReconcileStatus, Reconciliation
from ._endpoints import DEFAULT_LIMITS
from ._models import (
    Balance,
    CloseType,
    Contract,
    ContractOrder,
    MarginMode,
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
from ._venue import ChainupVenue

__all__ = [
    "DEFAULT_LIMITS",
    "Balance",
    "ChainupContractClient",
    "ChainupVenue",
    "CloseType",
    "Contract",
    "ContractOrder",
    "MarginMode",
    "Md5Signer",
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
    "Ticker",
    "Trade",
    "string_to_sign",
]
