"""The offline Bybit Advance Earn exchange: records, a pure engine, and its HTTP surface.

``_records`` (products, quotes, accounts, orders, positions, statistics), ``_engine`` (the
book: quotes, the ``orderLinkId`` rule, stakes, redeems, estimates and settlement; no HTTP,
time as an argument), ``_render`` (Bybit's JSON) and ``_app`` (:class:`BybitSimulator`:
routes, the IP ban, authentication, limits, envelopes). DualAssets has its own
``_dual_records``, ``_dual_engine`` (on the book's accounts, prices and rules) and
``_dual_render``; ``_params`` reads a request's numbers with Bybit's codes. ``_offer_stream``
serves ``/v5/public/fp`` (the offer topics over WebSocket, with faults), ``_offer_render``
their compact JSON.
"""

from ._app import DEFAULT_LIMITS, IP_LIMIT, BybitSimulator
from ._dual_engine import DualAssetsBook
from ._dual_records import (
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsPosition,
    SimDualAssetsProduct,
)
from ._engine import AdvanceEarnBook
from ._offer_stream import OfferStreamHub, OfferStreamStats
from ._records import SimAccount, SimOrder, SimPosition, SimProduct, SimQuote, SimStats

__all__ = [
    "DEFAULT_LIMITS",
    "IP_LIMIT",
    "AdvanceEarnBook",
    "BybitSimulator",
    "DualAssetsBook",
    "OfferStreamHub",
    "OfferStreamStats",
    "SimAccount",
    "SimDualAssetsOffer",
    "SimDualAssetsOrder",
    "SimDualAssetsPosition",
    "SimDualAssetsProduct",
    "SimOrder",
    "SimPosition",
    "SimProduct",
    "SimQuote",
    "SimStats",
]
