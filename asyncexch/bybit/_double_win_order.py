"""Bybit Advance Earn, category DoubleWin: the stake, built from a leverage quote, and the
early redeem.

The stake is :class:`DoubleWinOrder`, named like ``DualAssetsOrder`` (a category's stake,
built from its quote); the redeem is :class:`DoubleWinRedeemOrder`, SmartLeverage's
:class:`RedeemOrder` in DoubleWin's wire shape (``doubleWinRedeemExtra``, a 30-minute
lockout) on the same shared code (:class:`~._models.EarlyRedeem`).

The orderLinkId, where Bybit's sources disagree: at most 36 characters of
``[A-Za-z0-9_-]`` in the docs (double-win/create-order.mdx since 2026-04-24), 64 in Bybit's
MCP server (placeAdvanceEarnOrder.ts, the docs' earlier value). The client takes the docs'
36: an id that fits it fits both readings. Each category remembers its ids apart
(:data:`DOUBLE_WIN_IDS`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar

import attrs

from .._decimals import check_positive, decimal_places, plain
from .._ids import IdRule, new_order_link_id
from .._validators import Check, one_of, optional, positive_decimal, text
from ..errors import InvalidRequest
from ._double_win import (
    CATEGORY,
    DoubleWinLeverage,
    DoubleWinPosition,
    DoubleWinProduct,
    DoubleWinQuote,
)
from ._models import QUOTE_MARGIN, EarlyRedeem, OrderType
from ._offer_checks import (
    QUOTE_EXPIRY,
    AmountRule,
    check_purchase,
    check_time_left,
    checked_margin,
    offered_product,
)

__all__ = ["DOUBLE_WIN_IDS", "DoubleWinOrder", "DoubleWinRedeemOrder"]

#: DoubleWin's orderLinkId: 36 characters of ``[A-Za-z0-9_-]`` (the docs; see the module).
DOUBLE_WIN_IDS = IdRule(36)
_ACCOUNT = one_of("FUND", "UNIFIED")
#: A stake's leverage: at most 2 decimal places (double-win/create-order.mdx).
_LEVERAGE_PLACES = 2


def _two_places(value: object) -> str | None:
    check_positive("leverage", value)
    assert isinstance(value, Decimal)  # checked
    if decimal_places(value) > _LEVERAGE_PLACES:
        return f"has more than {_LEVERAGE_PLACES} decimal places: {value}"
    return None


@attrs.frozen(kw_only=True)
class DoubleWinOrder:
    """Stake in a DoubleWin product at a quoted leverage.

    Build it with :meth:`from_leverage` from a fresh :class:`DoubleWinQuote` (fixed range)
    or :class:`DoubleWinLeverage` (RFQ). Built by hand: ``leverage`` at most the quote's,
    with at most 2 decimal places; ``initial_price`` the quote's; ``lower_price`` and
    ``upper_price`` (RFQ only, both or neither, ``lower < initial < upper``) the ones the
    leverage was quoted for; placed before the quote expires.
    """

    category: ClassVar[str] = CATEGORY
    order_type: ClassVar[OrderType] = OrderType.STAKE

    product_id: str = attrs.field(validator=text())
    coin: str = attrs.field(validator=text())
    amount: Decimal = attrs.field(validator=positive_decimal())
    leverage: Decimal = attrs.field(validator=Check(_two_places))
    initial_price: Decimal = attrs.field(validator=positive_decimal())
    lower_price: Decimal | None = attrs.field(default=None, validator=optional(positive_decimal()))
    upper_price: Decimal | None = attrs.field(default=None, validator=optional(positive_decimal()))
    account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=DOUBLE_WIN_IDS.check())
    #: When the quote it was built from expires (the venue's clock; ``None`` built by hand):
    #: ``place_order`` refuses its first send within 2 s of it. Not sent.
    quote_expires_at: datetime | None = attrs.field(default=None, eq=False, validator=QUOTE_EXPIRY)

    def __attrs_post_init__(self) -> None:
        if (self.lower_price is None) != (self.upper_price is None):
            raise InvalidRequest("lower_price", "and upper_price go together (RFQ) or not at all")
        if self.lower_price is not None and self.upper_price is not None:
            check_range(self.initial_price, self.lower_price, self.upper_price)

    @classmethod
    def from_leverage(
        cls,
        quote: DoubleWinQuote | DoubleWinLeverage,
        *,
        amount: Decimal,
        leverage: Decimal | None = None,
        account_type: str = "FUND",
        coin: str | None = None,
        product: DoubleWinProduct | None = None,
        now: datetime | None = None,
        margin: timedelta = QUOTE_MARGIN,
        order_link_id: str | None = None,
    ) -> DoubleWinOrder:
        """A stake of ``amount`` at ``quote``: its initial price (and, RFQ, its range) and
        its leverage, truncated to 2 decimal places (or ``leverage``, at most the quote's).

        Refuses with :class:`~asyncexch.InvalidRequest`, before anything is sent: a quote
        with no leverage, expired or expiring within ``margin`` at ``now`` (the venue's
        time, by default as the fetching client knows it); a ``leverage`` above the quote's
        or with more than 2 decimal places; an ``amount`` above the quote's maximum and,
        when the product is known (``product``, or the one the client had listed), below
        its minimum or beyond its precision; a product other than the quoted one.

        ``coin`` defaults to the product's invest coin (``"USDT"`` with no product known).
        """
        if not isinstance(quote, (DoubleWinQuote, DoubleWinLeverage)):
            raise InvalidRequest(
                "quote", f"must be a DoubleWinQuote or DoubleWinLeverage, got {quote!r}"
            )
        product = offered_product(quote, product, quote.product, DoubleWinProduct, "quote")
        quoted, initial = _live_leverage(quote, now, margin)
        chosen = _chosen_leverage(quoted, leverage)
        _check_amount(amount, quote.max_investment_amount, product)
        extra: dict[str, Any] = {} if order_link_id is None else {"order_link_id": order_link_id}
        if isinstance(quote, DoubleWinLeverage):
            extra.update(lower_price=quote.lower_price, upper_price=quote.upper_price)
        return cls(
            product_id=quote.product_id,
            coin=coin if coin is not None else product.invest_coin if product else "USDT",
            amount=amount,
            leverage=chosen,
            initial_price=initial,
            account_type=account_type,
            quote_expires_at=quote.expire_time,
            **extra,
        )

    def to_params(self) -> dict[str, object]:
        """The request body in the documented field order, decimals as Bybit reads them;
        ``lowerPrice``/``upperPrice`` only for an RFQ stake."""
        extra: dict[str, object] = {"initialPrice": plain(self.initial_price)}
        if self.lower_price is not None and self.upper_price is not None:
            extra["lowerPrice"] = plain(self.lower_price)
            extra["upperPrice"] = plain(self.upper_price)
        extra["leverage"] = plain(self.leverage)
        return {
            "category": CATEGORY,
            "productId": self.product_id,
            "coin": self.coin,
            "amount": plain(self.amount),
            "orderType": self.order_type.value,
            "accountType": self.account_type,
            "orderLinkId": self.order_link_id,
            "doubleWinStakeExtra": extra,
        }


@attrs.frozen(kw_only=True)
class DoubleWinRedeemOrder(EarlyRedeem[DoubleWinPosition]):
    """Redeem a DoubleWin position early: SmartLeverage's :class:`RedeemOrder` with
    ``category=DoubleWin`` and ``doubleWinRedeemExtra``.

    Build it with :meth:`from_position` from the position and a fresh estimate
    (``double_win.redeem_estimates``). Bybit refuses a redeem while one is pending or within
    30 minutes of settlement (the position's ``redeemable`` is then false). The staked
    ``amount`` and invest ``coin`` are sent as Bybit's MCP server requires them (the API page
    says "not required for Redeem"); slippage protection is on by default.
    """

    category: ClassVar[str] = CATEGORY
    id_rule: ClassVar[IdRule] = DOUBLE_WIN_IDS
    redeem_extra: ClassVar[str] = "doubleWinRedeemExtra"
    redeem_lockout: ClassVar[str] = "30 minutes"
    position_type: ClassVar[type[Any]] = DoubleWinPosition


def check_range(initial: Decimal, lower: Decimal, upper: Decimal) -> None:
    """``lower < initial < upper``, as the RFQ quote and the stake require."""
    if not lower < initial < upper:
        raise InvalidRequest(
            "lower_price",
            f"the range must hold the initial price: lower {lower} < initial {initial} < "
            f"upper {upper}",
        )


def _live_leverage(
    quote: DoubleWinQuote | DoubleWinLeverage, now: datetime | None, margin: object
) -> tuple[Decimal, Decimal]:
    """The quote's leverage and initial price, if it is live for ``margin`` more at ``now``."""
    margin = checked_margin(margin)
    initial = quote.initial_price if isinstance(quote, DoubleWinLeverage) else quote.current_price
    if quote.leverage is None or quote.expire_time is None or initial is None:
        raise InvalidRequest("quote", f"product {quote.product_id} has no active quote")
    remaining = quote.expires_in(now)
    assert remaining is not None  # an expiry, checked above
    check_time_left("quote", quote.expire_time, remaining, margin)
    return quote.leverage, initial


def _chosen_leverage(quoted: Decimal, leverage: object) -> Decimal:
    """``leverage`` when given (at most ``quoted``), else ``quoted`` truncated to 2 places:
    never above the quote."""
    if leverage is None:
        chosen = quoted.quantize(Decimal(1).scaleb(-_LEVERAGE_PLACES), rounding=ROUND_DOWN)
        if chosen <= 0:
            raise InvalidRequest("quote", f"leverage {quoted} is below 0.01")
        return chosen
    Check(_two_places).at("leverage", leverage)
    assert isinstance(leverage, Decimal)  # checked
    if leverage > quoted:
        raise InvalidRequest("leverage", f"{leverage} is above the quoted maximum {quoted}")
    return leverage


def _check_amount(
    amount: object, maximum: Decimal | None, product: DoubleWinProduct | None
) -> None:
    """``amount`` within the quote's maximum and, when known, the product's rules."""
    check_positive("amount", amount)
    assert isinstance(amount, Decimal)  # checked
    if maximum is not None and amount > maximum:
        raise InvalidRequest("amount", f"{amount} is above the quote's maximum {maximum}")
    if product is not None:
        check_purchase(amount, AmountRule.of(product))
