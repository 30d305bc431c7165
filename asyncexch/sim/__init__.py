"""Offline exchanges for testing bots: faithful rate limits, signatures, ids and faults.

Needs the ``sim`` extra (``pip install 'asyncexch[sim]'``).
"""

from ._bybit import BybitSimulator, SimAccount, SimOrder, SimPosition, SimProduct, SimStats
from ._faults import Fault, Faults
from ._serve import SimServer, SimTransport

__all__ = [
    "BybitSimulator",
    "Fault",
    "Faults",
    "SimAccount",
    "SimOrder",
    "SimPosition",
    "SimProduct",
    "SimServer",
    "SimStats",
    "SimTransport",
]
