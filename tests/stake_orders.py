"""Stake orders the Bybit simulator accepts, for the tests that place batches of them."""

from __future__ import annotations

from decimal import Decimal

from asyncexch.bybit import StakeOrder
from asyncexch.sim import BybitSimulator

PRODUCT = "13016"  # BTC Long, 5x, 1d


def stake_orders(
    sim: BybitSimulator, count: int, *, first: int = 0, divisor: int = 1
) -> list[StakeOrder]:
    """``count`` orders at a quote the simulator gave now, each its own amount
    (``10 + index / divisor`` USDT for index ``first``, ``first + 1``, ...)."""
    quote = sim.issue_quote(PRODUCT)
    return [
        StakeOrder(
            product_id=PRODUCT,
            coin="USDT",
            amount=Decimal("10") + Decimal(index) / divisor,
            initial_price=quote.current_price,
            breakeven_price=quote.breakeven_price,
        )
        for index in range(first, first + count)
    ]
