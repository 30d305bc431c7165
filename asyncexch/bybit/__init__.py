"""Bybit V5: the Advance Earn API (SmartLeverage, DualAssets) on the asyncexch core, and
its live offer streams."""

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
from ._offer_topics import DUAL_ASSETS_OFFERS, SMART_LEVERAGE_OFFERS, OfferTopic
from ._quote_cache import QuoteCache
from ._quote_stream import QuoteStream, StreamStats
from ._venue import BybitVenue

__all__ = [
    "DEFAULT_LIMITS",
    "DEMO",
    "DUAL_ASSETS_OFFERS",
    "MAINNET",
    "REGIONS",
    "SMART_LEVERAGE_OFFERS",
    "TESTNET",
    "AccountType",
    "AdvanceEarn",
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
    "SmartLeverage",
    "StakeOrder",
    "StreamStats",
]
