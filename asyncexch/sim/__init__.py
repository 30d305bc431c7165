"""Offline exchanges for testing bots: faithful rate limits, signatures, ids and faults.

Needs the ``sim`` extra (``pip install 'asyncexch[sim]'``).
"""

from ._bybit import (
    BybitSimulator,
    SimAccount,
    SimOrder,
    SimPosition,
    SimProduct,
    SimQuote,
    SimStats,
)
from ._chainup import (
    ChainupAccount,
    ChainupContract,
    ChainupOrder,
    ChainupPosition,
    ChainupSimulator,
    ChainupStats,
    ChainupTrade,
)
from ._faults import Fault, Faults
from ._serve import SimServer, SimTransport

__all__ = [
    "BybitSimulator",
    "ChainupAccount",
    "ChainupContract",
    "ChainupOrder",
    "ChainupPosition",
    "ChainupSimulator",
    "ChainupStats",
    "ChainupTrade",
    "Fault",
    "Faults",
    "SimAccount",
    "SimOrder",
    "SimPosition",
    "SimProduct",
    "SimQuote",
    "SimServer",
    "SimStats",
    "SimTransport",
]
