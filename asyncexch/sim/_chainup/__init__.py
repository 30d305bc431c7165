"""The offline ChainUP contract exchange: records, a pure engine, and its HTTP surface.

``_records`` (contracts, accounts, orders, trades, positions, statistics), ``_params``
(reading a request's parameters with the venue's codes), ``_engine`` (the book: matching,
margin, liquidation, settlement; no HTTP, time as an argument), ``_render`` (the venue's JSON)
and ``_app`` (:class:`ChainupSimulator`: routes, authentication, limits, envelopes).
"""

from ._app import DEFAULT_LIMITS, ChainupSimulator
from ._engine import ContractBook
from ._records import (
    ChainupAccount,
    ChainupContract,
    ChainupOrder,
    ChainupPosition,
    ChainupStats,
    ChainupTrade,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ChainupAccount",
    "ChainupContract",
    "ChainupOrder",
    "ChainupPosition",
    "ChainupSimulator",
    "ChainupStats",
    "ChainupTrade",
    "ContractBook",
]
