"""Bybit V5: the Advance Earn API (SmartLeverage, DualAssets, DiscountBuy) on the asyncexch
core."""

from ._auth import HmacSigner, RsaSigner
from ._categories import DiscountBuy, DualAssets, SmartLeverage
from ._client import AdvanceEarn, BybitClient, OrderBatchReport
from ._discount_buy import (
    DiscountBuyAck,
    DiscountBuyOffer,
    DiscountBuyOrderInfo,
    DiscountBuyPosition,
    DiscountBuyPositionStatus,
    DiscountBuyProduct,
    DiscountBuyQuote,
    DiscountBuyRefundStatus,
    SettleType,
)
from ._discount_buy_order import DiscountBuyOrder
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
    "MAINNET",
    "REGIONS",
    "TESTNET",
    "AccountType",
    "AdvanceEarn",
    "BybitClient",
    "BybitVenue",
    "Direction",
    "DiscountBuy",
    "DiscountBuyAck",
    "DiscountBuyOffer",
    "DiscountBuyOrder",
    "DiscountBuyOrderInfo",
    "DiscountBuyPosition",
    "DiscountBuyPositionStatus",
    "DiscountBuyProduct",
    "DiscountBuyQuote",
    "DiscountBuyRefundStatus",
    "DualAssets",
    "DualAssetsAck",
    "DualAssetsDirection",
    "DualAssetsOffer",
    "DualAssetsOrder",
    "DualAssetsOrderInfo",
    "DualAssetsPosition",
    "DualAssetsProduct",
    "DualAssetsQuote",
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
    "SettleType",
    "SmartLeverage",
    "StakeOrder",
]
