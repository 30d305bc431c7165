"""The offline Bybit Advance Earn exchange: records, a pure engine, and its HTTP surface.

``_records`` (products, quotes, accounts, orders, positions, statistics), ``_engine`` (the
book: quotes, the ``orderLinkId`` rule, stakes, redeems, estimates and settlement; no HTTP,
time as an argument), ``_render`` (Bybit's JSON) and ``_app`` (:class:`BybitSimulator`:
routes, the IP ban, authentication, limits, envelopes). DualAssets has its own
``_dual_records``, ``_dual_engine`` (on the book's accounts, prices and rules) and
``_dual_render``, DiscountBuy its ``_discount_records``, ``_discount_engine`` and
``_discount_render``, and Liquidity Mining its ``_liquidity_records``, ``_liquidity_engine``,
``_liquidity_render`` and ``_liquidity_routes`` (its endpoints); ``_params`` reads a
request's numbers with Bybit's codes. ``_offer_stream`` serves ``/v5/public/fp`` (the offer
topics over WebSocket, with faults), ``_offer_render`` their compact JSON.
"""

from ._app import DEFAULT_LIMITS, IP_LIMIT, BybitSimulator
from ._discount_engine import DiscountBuyBook
from ._discount_records import (
    SimDiscountBuyOffer,
    SimDiscountBuyOrder,
    SimDiscountBuyPosition,
    SimDiscountBuyProduct,
)
from ._double_win_engine import DoubleWinBook
from ._double_win_records import (
    SimDoubleWinOrder,
    SimDoubleWinPosition,
    SimDoubleWinProduct,
    SimDoubleWinQuote,
)
from ._dual_engine import DualAssetsBook
from ._dual_records import (
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsPosition,
    SimDualAssetsProduct,
)
from ._earn_engine import EarnBook
from ._earn_records import SimEarnOrder, SimEarnPosition, SimEarnProduct
from ._engine import AdvanceEarnBook
from ._liquidity_engine import LiquidityMiningBook
from ._liquidity_records import (
    SimLiquidationRecord,
    SimLiquidityOrder,
    SimLiquidityPosition,
    SimLiquidityProduct,
    SimYieldRecord,
)
from ._offer_stream import OfferStreamHub, OfferStreamStats
from ._records import SimAccount, SimOrder, SimPosition, SimProduct, SimQuote, SimStats

__all__ = [
    "DEFAULT_LIMITS",
    "IP_LIMIT",
    "AdvanceEarnBook",
    "BybitSimulator",
    "DiscountBuyBook",
    "DoubleWinBook",
    "DualAssetsBook",
    "EarnBook",
    "LiquidityMiningBook",
    "OfferStreamHub",
    "OfferStreamStats",
    "SimAccount",
    "SimDiscountBuyOffer",
    "SimDiscountBuyOrder",
    "SimDiscountBuyPosition",
    "SimDiscountBuyProduct",
    "SimDoubleWinOrder",
    "SimDoubleWinPosition",
    "SimDoubleWinProduct",
    "SimDoubleWinQuote",
    "SimDualAssetsOffer",
    "SimDualAssetsOrder",
    "SimDualAssetsPosition",
    "SimDualAssetsProduct",
    "SimEarnOrder",
    "SimEarnPosition",
    "SimEarnProduct",
    "SimLiquidationRecord",
    "SimLiquidityOrder",
    "SimLiquidityPosition",
    "SimLiquidityProduct",
    "SimOrder",
    "SimPosition",
    "SimProduct",
    "SimQuote",
    "SimStats",
    "SimYieldRecord",
]
