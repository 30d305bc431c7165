"""Stake orders: one for unit tests on respx, and batches the Bybit simulator accepts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from asyncexch.bybit import StakeOrder
from asyncexch.sim import BybitSimulator

PRODUCT = "13016"  # BTC Long, 5x, 1d


def stake_order(**overrides: Any) -> StakeOrder:
    """A stake of 100 USDT in :data:`PRODUCT` at fixed prices, with ``overrides``."""
    fields: dict[str, Any] = {
        "product_id": PRODUCT,
        "amount": Decimal("100"),
        "coin": "USDT",
        "initial_price": Decimal("30000"),
        "breakeven_price": Decimal("29000"),
    }
    fields.update(overrides)
    return StakeOrder(**fields)


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
