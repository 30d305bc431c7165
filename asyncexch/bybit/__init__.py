"""Bybit V5: the Advance Earn API (SmartLeverage, DualAssets) on the asyncexch core."""

from ._auth import HmacSigner, RsaSigner
from ._categories import DualAssets, SmartLeverage
from ._client import AdvanceEarn, BybitClient, OrderBatchReport
from ._dual_assets import (
    DualAssetsAck,
    DualAssetsDirection,
    DualAssetsOffer,
    DualAssetsOrderInfo,
    DualAssetsPosition,
    DualAssetsProduct,
    DualAssetsQuote,
    OrderMode,
)
from ._dual_assets_order import DualAssetsOrder, InterestCard
from ._earn import (
    BonusEvent,
    EarnAck,
    EarnCategory,
    EarnOrderInfo,
    EarnPosition,
    EarnProduct,
    FreezeDetail,
)
from ._earn_client import Earn, EarnReader
from ._earn_order import EARN_IDS, EarnRedeem, EarnStake
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
    ProductStatus,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from ._venue import BybitVenue

__all__ = [
    "DEFAULT_LIMITS",
    "DEMO",
    "EARN_IDS",
    "MAINNET",
    "REGIONS",
    "TESTNET",
    "AccountType",
    "AdvanceEarn",
    "BonusEvent",
    "BybitClient",
    "BybitVenue",
    "Direction",
    "DualAssets",
    "DualAssetsAck",
    "DualAssetsDirection",
    "DualAssetsOffer",
    "DualAssetsOrder",
    "DualAssetsOrderInfo",
    "DualAssetsPosition",
    "DualAssetsProduct",
    "DualAssetsQuote",
    "Earn",
    "EarnAck",
    "EarnCategory",
    "EarnOrderInfo",
    "EarnPosition",
    "EarnProduct",
    "EarnReader",
    "EarnRedeem",
    "EarnStake",
    "FreezeDetail",
    "HmacSigner",
    "InterestCard",
    "OrderAck",
    "OrderBatchReport",
    "OrderInfo",
    "OrderMode",
    "OrderStatus",
    "OrderType",
    "Page",
    "Position",
    "PositionStatus",
    "Product",
    "ProductStatus",
    "Quote",
    "RedeemEstimate",
    "RedeemOrder",
    "Region",
    "RsaSigner",
    "SmartLeverage",
    "StakeOrder",
]
