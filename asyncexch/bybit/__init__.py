"""Bybit V5: the Advance Earn API (SmartLeverage, DualAssets, DoubleWin) on the asyncexch core."""

from ._auth import HmacSigner, RsaSigner
from ._categories import DualAssets, SmartLeverage
from ._client import AdvanceEarn, BybitClient, OrderBatchReport
from ._double_win import (
    DoubleWinAck,
    DoubleWinLeverage,
    DoubleWinOrderInfo,
    DoubleWinPosition,
    DoubleWinProduct,
    DoubleWinQuote,
)
from ._double_win_category import DoubleWin
from ._double_win_order import DOUBLE_WIN_IDS, DoubleWinOrder, DoubleWinRedeemOrder
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
    "DOUBLE_WIN_IDS",
    "MAINNET",
    "REGIONS",
    "TESTNET",
    "AccountType",
    "AdvanceEarn",
    "BybitClient",
    "BybitVenue",
    "Direction",
    "DoubleWin",
    "DoubleWinAck",
    "DoubleWinLeverage",
    "DoubleWinOrder",
    "DoubleWinOrderInfo",
    "DoubleWinPosition",
    "DoubleWinProduct",
    "DoubleWinQuote",
    "DoubleWinRedeemOrder",
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
    "SmartLeverage",
    "StakeOrder",
]
