"""Reading a Bybit request's parameters with Bybit's codes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from .._refused import Refused

__all__ = ["known_product", "positive_decimal"]

T = TypeVar("T")


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


def known_product(products: Mapping[str, T], product_id: object) -> T:
    """The product a request names, as a string or a JSON number (180008 when none)."""
    if isinstance(product_id, bool) or not isinstance(product_id, (str, int)):
        raise Refused(180008, "Invalid Product")
    product = products.get(str(product_id))
    if product is None:
        raise Refused(180008, "Invalid Product")
    return product
