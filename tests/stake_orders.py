"""Stake orders the Bybit simulator accepts, for the tests that place batches of them."""

from __future__ import annotations

from decimal import Decimal

from asyncexch.bybit import StakeOrder
from asyncexch.sim import BybitSimulator

PRODUCT = "13016"  # BTC Long, 5x, 1d


def stake_orders(
    sim: BybitSimulator, count: int, *, first: int = 0, divisor: int = 1
) -> list[StakeOrder]:
    """``count`` orders at the simulator's BTC price, each its own amount
    (``10 + index / divisor`` USDT for index ``first``, ``first + 1``, ...)."""
    price = sim.price("BTC")
    return [
        StakeOrder(
            product_id=PRODUCT,
            coin="USDT",
            amount=Decimal("10") + Decimal(index) / divisor,
            initial_price=price,
            breakeven_price=price * Decimal("0.9964"),
        )
        for index in range(first, first + count)
    ]
