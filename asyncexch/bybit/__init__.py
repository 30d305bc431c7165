"""Bybit V5: the Advance Earn (SmartLeverage) API on the asyncexch core."""

from ._auth import HmacSigner, RsaSigner
from ._client import AdvanceEarn, BybitClient, OrderBatchReport
from ._endpoints import DEFAULT_LIMITS
from ._hosts import DEMO, MAINNET, REGIONS, TESTNET, Region
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
    "DEMO",
    "MAINNET",
    "REGIONS",
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
    "Region",
    "RsaSigner",
    "StakeOrder",
]
