"""Reading ChainUP's request parameters: each one checked as the venue checks it, with its code.

Everything here is about one request's parameters, read against static data (a contract's
precision, volume bounds and leverages); what depends on the book (positions, orders,
balances) is the engine's. A refusal is :class:`Refused` with code 2 ("parameter error") or
the venue's specific code (107 no such contract, 108/109 volume, 111 settling, 112 precision).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TypeVar

import attrs

from .._refused import Refused
from ._records import CLOSE, ISOLATED, LIMIT, MARKET, OPEN, ChainupContract

__all__ = [
    "DIGITS",
    "OrderTicket",
    "choice",
    "decimal",
    "find_contract",
    "leverage",
    "order_ticket",
    "require",
]

DIGITS = re.compile(r"[0-9]+")
T = TypeVar("T")


@attrs.frozen
class OrderTicket:
    """A ``take_order`` request read and checked against its contract, not yet against the
    book (positions, leverage held, balance)."""

    contract: ChainupContract
    order_type: int
    cop_type: int
    close_type: int
    side: str
    volume: int
    #: A limit order's limit; a market order's price when one was sent (shown, not used).
    price: Decimal | None
    #: The leverage asked for; ``None`` keeps the side's (or the contract's lowest).
    level: int | None
    #: ``positionId`` as sent: the position a closing order closes.
    position_ref: str | None
    #: The parameters exactly as received (the order keeps them).
    params: Mapping[str, str]


def order_ticket(
    contracts: Mapping[int, ChainupContract], params: Mapping[str, str]
) -> OrderTicket:
    """Read a ``take_order`` request, in the venue's order of checks."""
    require(params, "contractId", "volume", "orderType", "copType", "closeType", "side")
    contract = find_contract(contracts, params, "contractId")
    if contract.status in (2, 3):
        raise Refused("111", "the contract is settling")
    order_type = choice(params, "orderType", {"1": LIMIT, "2": MARKET})
    cop_type = choice(params, "copType", {"1": 1, "2": ISOLATED})
    if cop_type != ISOLATED:
        raise Refused("2", "parameter error: only isolated margin (copType=2) is supported")
    close_type = choice(params, "closeType", {"0": OPEN, "1": CLOSE})
    side = choice(params, "side", {"BUY": "BUY", "SELL": "SELL"})
    volume = _volume(contract, params["volume"])
    price = _price(contract, order_type, params)
    level = leverage(contract, params) if "level" in params else None
    if close_type == CLOSE and "positionId" not in params:
        raise Refused("2", "parameter error: positionId is required to close (closeType=1)")
    return OrderTicket(
        contract,
        order_type,
        cop_type,
        close_type,
        side,
        volume,
        price,
        level,
        params.get("positionId") if close_type == CLOSE else None,
        dict(params),
    )


def find_contract(
    contracts: Mapping[int, ChainupContract], params: Mapping[str, str], name: str
) -> ChainupContract:
    """The contract the parameter ``name`` names (107 when there is none)."""
    if name not in params:
        raise Refused("2", f"parameter error: {name} is required")
    text = params[name]
    contract = contracts.get(int(text)) if DIGITS.fullmatch(text) else None
    if contract is None:
        raise Refused("107", f"the contract {text} does not exist")
    return contract


def leverage(contract: ChainupContract, params: Mapping[str, str], name: str = "level") -> int:
    """A leverage the contract offers."""
    text = params[name]
    if not DIGITS.fullmatch(text) or int(text) not in contract.lever_types:
        raise Refused(
            "2",
            f"parameter error: {name} must be one of "
            + ",".join(str(level) for level in contract.lever_types),
        )
    return int(text)


def require(params: Mapping[str, str], *names: str) -> None:
    """Every one of ``names`` is present (in this order: the first missing one is named)."""
    for name in names:
        if name not in params:
            raise Refused("2", f"parameter error: {name} is required")


def choice(params: Mapping[str, str], name: str, options: Mapping[str, T]) -> T:
    """The option the parameter ``name`` spells."""
    value = params[name]
    if value not in options:
        raise Refused("2", f"parameter error: {name} must be one of {', '.join(options)}")
    return options[value]


def decimal(text: str, name: str) -> Decimal:
    """A finite number."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refused("2", f"parameter error: {name} is not a number") from None
    if not number.is_finite():
        raise Refused("2", f"parameter error: {name} is not a number")
    return number


def _positive(text: str, name: str) -> Decimal:
    number = decimal(text, name)
    if number <= 0:
        raise Refused("2", f"parameter error: {name} must be positive")
    return number


def _volume(contract: ChainupContract, text: str) -> int:
    """Whole contracts within the contract's bounds (109 too small, 108 too large)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refused("2", "parameter error: volume is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Refused("2", "parameter error: volume must be a whole number of contracts")
    if number < contract.min_order_volume:
        raise Refused("109", f"order volume too small: the minimum is {contract.min_order_volume}")
    if number > contract.max_order_volume:
        raise Refused("108", f"order volume too large: the maximum is {contract.max_order_volume}")
    return int(number)


def _price(contract: ChainupContract, order_type: int, params: Mapping[str, str]) -> Decimal | None:
    """A limit order's price, on the contract's tick (112 off it); a market order's price is
    kept (and shown) but not used."""
    if order_type != LIMIT:
        return _positive(params["price"], "price") if "price" in params else None
    if "price" not in params:
        raise Refused("2", "parameter error: price is required for a limit order")
    price = _positive(params["price"], "price")
    if price != price.quantize(contract.tick, rounding=ROUND_DOWN):
        raise Refused(
            "112",
            f"price precision error: {contract.symbol} takes {contract.price_precision} decimals",
        )
    return price
