"""Bybit V5: the Advance Earn (SmartLeverage) API on the asyncexch core."""

from ._auth import HmacSigner, RsaSigner
from ._client import MAINNET, TESTNET, AdvanceEarn, BybitClient, OrderBatchReport
from ._endpoints import DEFAULT_LIMITS
from ._models import (
    AccountType,
    Direction,
    OrderAck,
    OrderInfo,
    OrderStatus,
    OrderType,
    Page,
    Position,
    PositionStatus,
    Product,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from ._venue import BybitVenue

__all__ = [
    "DEFAULT_LIMITS",
    "MAINNET",
    "TESTNET",
    "AccountType",
    "AdvanceEarn",
    "BybitClient",
    "BybitVenue",
    "Direction",
    "HmacSigner",
    "OrderAck",
    "OrderBatchReport",
    "OrderInfo",
    "OrderStatus",
    "OrderType",
    "Page",
    "Position",
    "PositionStatus",
    "Product",
    "Quote",
    "RedeemEstimate",
    "RedeemOrder",
    "RsaSigner",
    "StakeOrder",
]
