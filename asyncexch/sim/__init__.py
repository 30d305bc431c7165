"""Offline exchanges for testing bots: faithful rate limits, signatures, ids and faults.

Needs the ``sim`` extra (``pip install 'asyncexch[sim]'``).
"""

try:  # the sim extra: say how to install it rather than fail on a bare import
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as _missing:
    raise ModuleNotFoundError(
        f"asyncexch.sim needs the sim extra ({_missing.name} is missing): "
        "pip install 'asyncexch[sim]'",
        name=_missing.name,
    ) from _missing

from ._bybit import (
    BybitSimulator,
    OfferStreamHub,
    OfferStreamStats,
    SimAccount,
    SimDiscountBuyOffer,
    SimDiscountBuyOrder,
    SimDiscountBuyPosition,
    SimDiscountBuyProduct,
    SimDoubleWinOrder,
    SimDoubleWinPosition,
    SimDoubleWinProduct,
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsPosition,
    SimDualAssetsProduct,
    SimEarnOrder,
    SimEarnPosition,
    SimEarnProduct,
    SimLiquidationRecord,
    SimLiquidityOrder,
    SimLiquidityPosition,
    SimLiquidityProduct,
    SimOrder,
    SimPosition,
    SimProduct,
    SimQuote,
    SimStats,
    SimYieldRecord,
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
    "SimServer",
    "SimStats",
    "SimTransport",
    "SimYieldRecord",
]
