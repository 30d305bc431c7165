"""Bybit Liquidity Mining's orders: add and remove liquidity, reinvest yield, add margin.

Each is built and checked at construction, and its ``orderLinkId`` is fixed then: every
retry, and placing the same object again, sends the same id, which Bybit refuses to reuse
("returns an error indicating the order already exists"). Ids: at most 40 characters (the
pages since 2026-04-24; 36 before); the docs state no charset for Liquidity Mining, and the
stricter ``[A-Za-z0-9_-]`` of Bybit's MCP server is what is built.

Wire types as the docs' request tables give them: amounts and ``leverage`` decimal strings,
``removeRate`` a JSON number (the table says integer; the example sends ``50``). The
add-liquidity example also sends ``"coin": "USDT"``, which its table does not list: not sent.
Bybit's MCP server adds an optional ``leverage`` to reinvest, which the docs do not have: not
sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import attrs

from .._decimals import plain
from .._enums import known_member
from .._ids import IdRule, new_order_link_id
from .._validators import one_of, optional, positive_decimal, text, whole
from ..errors import InvalidRequest
from ._liquidity_mining import LiquidityOrderType, RemoveType

__all__ = ["AddLiquidity", "AddMargin", "LiquidityMiningOrder", "Reinvest", "RemoveLiquidity"]

#: Liquidity Mining's orderLinkId (add-liquidity.mdx and the other order pages).
LIQUIDITY_MINING_IDS = IdRule(40)
_ACCOUNT = one_of("FUND", "UNIFIED")
_ID = LIQUIDITY_MINING_IDS.check()


def _as_remove_type(value: RemoveType | str) -> RemoveType:
    return known_member(RemoveType, "remove_type", value)


@attrs.frozen(kw_only=True)
class AddLiquidity:
    """Add liquidity to a pool: ``quote_amount``, ``base_amount`` or both (at least one), each
    from its account, at ``leverage`` (Bybit's default 1 when not given; up to the product's
    ``max_leverage``)."""

    order_type: ClassVar[LiquidityOrderType] = LiquidityOrderType.ADD_LIQUIDITY

    product_id: str = attrs.field(validator=text())
    quote_amount: Decimal | None = attrs.field(default=None, validator=optional(positive_decimal()))
    base_amount: Decimal | None = attrs.field(default=None, validator=optional(positive_decimal()))
    quote_account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    base_account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    leverage: Decimal | None = attrs.field(default=None, validator=optional(positive_decimal()))
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_ID)

    def __attrs_post_init__(self) -> None:
        if self.quote_amount is None and self.base_amount is None:
            raise InvalidRequest("quote_amount", "give quote_amount, base_amount or both")
        if self.leverage is not None and self.leverage < 1:
            raise InvalidRequest("leverage", f"must be at least 1, got {self.leverage}")

    def to_params(self) -> dict[str, object]:
        """The request body in the docs' example's order; each account type only with its
        amount."""
        params: dict[str, object] = {"productId": self.product_id}
        if self.quote_amount is not None:
            params["quoteAmount"] = plain(self.quote_amount)
            params["quoteAccountType"] = self.quote_account_type
        if self.base_amount is not None:
            params["baseAmount"] = plain(self.base_amount)
            params["baseAccountType"] = self.base_account_type
        params["orderLinkId"] = self.order_link_id
        if self.leverage is not None:
            params["leverage"] = plain(self.leverage)
        return params


def _on_position(product_id: str, order_link_id: str, position_id: str) -> dict[str, object]:
    """The head of every body that acts on a position, in the docs' examples' order."""
    return {"productId": product_id, "orderLinkId": order_link_id, "positionId": position_id}


@attrs.frozen(kw_only=True)
class RemoveLiquidity:
    """Remove ``remove_rate`` percent (1-100; default all) of a position, paid in both coins
    in proportion (``Normal``) or in one of them."""

    order_type: ClassVar[LiquidityOrderType] = LiquidityOrderType.REMOVE_LIQUIDITY

    product_id: str = attrs.field(validator=text())
    position_id: str = attrs.field(validator=text())
    remove_rate: int = attrs.field(default=100, validator=whole(1, 100))
    remove_type: RemoveType = attrs.field(default=RemoveType.NORMAL, converter=_as_remove_type)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_ID)

    def to_params(self) -> dict[str, object]:
        """The request body, ``removeRate`` a JSON number (always sent: Bybit reads a
        missing or ``0`` rate as 100)."""
        return {
            **_on_position(self.product_id, self.order_link_id, self.position_id),
            "removeRate": self.remove_rate,
            "removeType": self.remove_type.value,
        }


@attrs.frozen(kw_only=True)
class Reinvest:
    """Reinvest a position's claimable yield into it."""

    order_type: ClassVar[LiquidityOrderType] = LiquidityOrderType.REINVEST

    product_id: str = attrs.field(validator=text())
    position_id: str = attrs.field(validator=text())
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_ID)

    def to_params(self) -> dict[str, object]:
        """The request body."""
        return _on_position(self.product_id, self.order_link_id, self.position_id)


@attrs.frozen(kw_only=True)
class AddMargin:
    """Add ``amount`` of the quote coin as margin to a leveraged position, moving its
    liquidation price away."""

    order_type: ClassVar[LiquidityOrderType] = LiquidityOrderType.ADD_MARGIN

    product_id: str = attrs.field(validator=text())
    position_id: str = attrs.field(validator=text())
    amount: Decimal = attrs.field(validator=positive_decimal())
    quote_account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_ID)

    def to_params(self) -> dict[str, object]:
        """The request body."""
        return {
            **_on_position(self.product_id, self.order_link_id, self.position_id),
            "amount": plain(self.amount),
            "quoteAccountType": self.quote_account_type,
        }


#: Any Liquidity Mining order (what ``liquidity_mining.place`` takes).
LiquidityMiningOrder = AddLiquidity | RemoveLiquidity | Reinvest | AddMargin
ORDER_TYPES = (AddLiquidity, RemoveLiquidity, Reinvest, AddMargin)
