"""Reading a Bybit request's parameters with Bybit's codes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .._refused import Refused

__all__ = ["positive_decimal"]


def positive_decimal(value: object, field: str) -> Decimal:
    """A positive number sent as a decimal string (10001 otherwise)."""
    if not isinstance(value, str):
        raise Refused(10001, f"{field} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Refused(10001, f"{field} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise Refused(10001, f"{field} must be positive")
    return number
