"""Advance Earn books for the engine tests (no HTTP; time handed over as Instants): the
default SmartLeverage products at the simulator's starting prices, started at monotonic 0."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from asyncexch.sim import SimStats
from asyncexch.sim._bybit._engine import AdvanceEarnBook
from asyncexch.sim._bybit._records import default_products

#: The exchange's wall clock at monotonic 0, in epoch milliseconds.
START_MS = 1_700_000_000_000
#: The simulator's starting prices.
PRICES = {"BTC": Decimal("68403.67"), "ETH": Decimal("3512.40"), "XRP": Decimal("1.5275")}


def still_book(**options: Any) -> AdvanceEarnBook:
    """A book of the default SmartLeverage products at :data:`PRICES`, whose market stands
    still and which counts into fresh statistics unless ``options`` say otherwise; the other
    ``options`` (delays, other categories' products, ...) go to the book as they are."""
    options.setdefault("stats", SimStats())
    options.setdefault("price_swing", 0.0)
    return AdvanceEarnBook(default_products(), PRICES, started=0.0, **options)
