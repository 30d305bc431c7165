"""Reading a Bybit request's parameters with Bybit's codes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from .._refused import Refused

__all__ = [
    "positive_decimal",
    "product_named",
    "purchase_amount",
    "stake_account_type",
    "whole_number",
]

P = TypeVar("P")


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


def purchase_amount(value: object, minimum: Decimal, precision: int) -> Decimal:
    """A stake's ``amount``: a positive decimal string (10001 otherwise), at least
    ``minimum`` with at most ``precision`` decimal places (180012 otherwise)."""
    amount = positive_decimal(value, "amount")
    if amount < minimum or amount % Decimal(1).scaleb(-precision) != 0:
        raise Refused(180012, "Purchase share is invalid")
    return amount


def whole_number(value: object, field: str) -> int:
    """A non-negative integer sent as a JSON number or a string of its digits (10001
    otherwise): Bybit's sources write E8 values both ways."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Refused(10001, f"{field} must be an integer")
    return value


def product_named(products: Mapping[str, P], product_id: object) -> P:
    """The product a request names, as a string or a JSON number (180008 when none)."""
    if isinstance(product_id, bool) or not isinstance(product_id, (str, int)):
        raise Refused(180008, "Invalid Product")
    product = products.get(str(product_id))
    if product is None:
        raise Refused(180008, "Invalid Product")
    return product


def stake_account_type(body: Mapping[str, Any], category: str) -> str:
    """A stake-only category's order: ``orderType`` Stake and the account it is paid from,
    ``FUND`` or ``UNIFIED`` (10001 otherwise)."""
    if body.get("orderType") != "Stake":
        raise Refused(10001, f"orderType must be Stake for {category}")
    account_type = body.get("accountType")
    if account_type not in ("FUND", "UNIFIED"):
        raise Refused(10001, "accountType must be FUND or UNIFIED")
    return str(account_type)
