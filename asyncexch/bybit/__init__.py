"""Bybit V5: the Advance Earn API (SmartLeverage, DualAssets, DoubleWin, DiscountBuy) and Earn
on the asyncexch core, and the live Advance Earn offer streams."""

from ._auth import HmacSigner, RsaSigner
from ._categories import DiscountBuy, DualAssets, SmartLeverage
from ._client import (
    AdvanceEarn,
    AdvanceEarnAck,
    AdvanceEarnOrder,
    BybitClient,
    OrderBatchReport,
)
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
from ._live_quotes import LiveQuote, QuoteGap
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
from ._offer_topics import (
    DISCOUNT_BUY_OFFERS,
    DOUBLE_WIN_OFFERS,
    DUAL_ASSETS_OFFERS,
    SMART_LEVERAGE_OFFERS,
    OfferTopic,
)
from ._quote_cache import QuoteCache
from ._quote_stream import QuoteStream, StreamStats
from ._venue import BybitVenue

__all__ = [
    "DEFAULT_LIMITS",
    "DEMO",
    "DISCOUNT_BUY_OFFERS",
    "DOUBLE_WIN_IDS",
    "DOUBLE_WIN_OFFERS",
    "DUAL_ASSETS_OFFERS",
    "EARN_IDS",
    "MAINNET",
    "REGIONS",
    "SMART_LEVERAGE_OFFERS",
    "TESTNET",
    "AccountType",
    "AdvanceEarn",
    "AdvanceEarnAck",
    "AdvanceEarnOrder",
    "BonusEvent",
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
    "LiveQuote",
    "OfferTopic",
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
    "QuoteCache",
    "QuoteGap",
    "QuoteStream",
    "RedeemEstimate",
    "RedeemOrder",
    "Region",
    "RsaSigner",
    "SettleType",
    "SmartLeverage",
    "StakeOrder",
    "StreamStats",
]
