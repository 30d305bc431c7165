"""Facts about exact decimals that venues' rules are written in."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["decimal_places"]


def decimal_places(value: Decimal) -> int:
    """Decimal places of a finite ``value`` once trailing zeros are dropped (``1.50`` -> 1,
    ``1E+2`` -> 0), read from its digits: rounding to the context could change the answer."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not finite")
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
    return max(0, -(exponent + len(digits) - kept))
