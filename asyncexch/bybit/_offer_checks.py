"""What every quoted offer has, and what a stake built from one checks before it is sent:
the time left on the venue's clock, the offer still live, the product the offer's, and the
amount within the offer's maximum and the product's minimum and precision (DualAssets,
DiscountBuy); and the quote's expiry an order keeps, checked again when it is sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

import attrs

from .._convert import EPOCH
from .._decimals import check_positive, decimal_places
from .._validators import Check, optional
from ..errors import InvalidRequest

__all__ = [
    "QUOTE_EXPIRY",
    "AmountRule",
    "check_amount",
    "check_live",
    "check_purchase",
    "check_quote_left",
    "check_time_left",
    "checked_margin",
    "epoch_is_none",
    "offered_product",
]


def epoch_is_none(moment: datetime | None) -> datetime | None:
    """Bybit writes ``"0"`` for a time it has not got (a DualAssets order's settlement time,
    a DiscountBuy offer without expiry)."""
    return None if moment == EPOCH else moment


class _Expiring(Protocol):
    @property
    def expired_at(self) -> datetime | None: ...

    def expires_in(self, now: datetime | None = None) -> timedelta | None: ...


class _Offer(Protocol):
    @property
    def product_id(self) -> str: ...


class _Product(Protocol):
    @property
    def product_id(self) -> str: ...


ProductT = TypeVar("ProductT", bound=_Product)


class _Purchasable(Protocol):
    @property
    def product_id(self) -> str: ...
    @property
    def min_purchase_amount(self) -> Decimal: ...
    @property
    def order_precision_digital(self) -> int: ...


def offered_product(
    offer: _Offer,
    product: object,
    known: ProductT | None,
    product_type: type[ProductT],
    noun: str = "offer",
) -> ProductT | None:
    """The product ``offer`` is for: ``product`` when given (of ``product_type``, and the
    offered one), else ``known`` (the one the client had listed when it fetched the quote).
    A refusal calls ``offer`` the ``noun`` (SmartLeverage and DoubleWin: ``"quote"``)."""
    if product is not None and not isinstance(product, product_type):
        raise InvalidRequest("product", f"must be a {product_type.__name__}, got {product!r}")
    chosen = product if product is not None else known
    if chosen is not None and chosen.product_id != offer.product_id:
        raise InvalidRequest(
            "product", f"is {chosen.product_id}, but the {noun} is for {offer.product_id}"
        )
    return chosen


def check_live(offer: _Expiring, now: datetime | None, margin: object) -> None:
    """``offer`` still valid for ``margin`` more at ``now`` (an offer without expiry always
    is); else the refusal says when it expired."""
    margin = checked_margin(margin)
    remaining = offer.expires_in(now)
    if remaining is None or offer.expired_at is None:
        return
    check_time_left("offer", offer.expired_at, remaining, margin)


def checked_margin(margin: object) -> timedelta:
    """``margin``, the time an order needs left on its quote, as a timedelta."""
    if not isinstance(margin, timedelta):
        raise InvalidRequest("margin", f"must be a timedelta, got {margin!r}")
    return margin


def check_time_left(
    field: str,
    expires: datetime,
    remaining: timedelta,
    margin: timedelta,
    *,
    subject: str = "",
    advice: str = "fetch a new quote",
) -> None:
    """Refuse (on ``field``) a quote or offer expiring at ``expires``, with ``remaining``
    left, if that is less than ``margin``; the refusal says when it expired (of ``subject``,
    ``"its quote "`` for an order) and what to do (``advice``)."""
    if remaining < margin:
        state = "expired" if remaining <= timedelta(0) else "expires"
        raise InvalidRequest(
            field,
            f"{subject}{state} at {expires.isoformat()} ({remaining.total_seconds():+.1f} s; "
            f"an order needs {margin.total_seconds():g} s): {advice}",
        )


def _aware(moment: object) -> str | None:
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return None
    return f"must be a timezone-aware datetime, got {moment!r}"


#: The check of an order's ``quote_expires_at``: the quote's expiry on the venue's clock, or
#: ``None`` (an order built by hand). Each order type declares the field itself, as
#: ``attrs.field(default=None, eq=False, validator=QUOTE_EXPIRY)``: never sent, and not part
#: of the order's equality, since two orders of the same body are the same request.
QUOTE_EXPIRY = optional(Check(_aware))


def check_quote_left(expires: datetime | None, now: datetime, margin: timedelta) -> None:
    """Refuse (on ``order``) an order whose quote, expiring at ``expires`` (``None``: no
    quote known), has less than ``margin`` left at ``now`` (the venue's time)."""
    if expires is None:
        return
    check_time_left(
        "order",
        expires,
        expires - now,
        margin,
        subject="its quote ",
        advice="build it again from a fresh quote (quote() or live_quote())",
    )


@attrs.frozen
class AmountRule:
    """A product's rule for a stake's amount: its id, minimum and decimal places (as the
    venue sent them: checked when used)."""

    product_id: str
    minimum: object
    places: object
    #: What the rule is for, in a refusal (``"BuyLow "``; ``""`` for the product as a whole).
    label: str = ""

    @classmethod
    def of(cls, product: _Purchasable) -> AmountRule:
        """The rule of a product with one minimum and one precision (SmartLeverage,
        DoubleWin, DiscountBuy)."""
        return cls(product.product_id, product.min_purchase_amount, product.order_precision_digital)


def check_amount(amount: object, maximum: Decimal, rule: AmountRule | None) -> Decimal:
    """``amount`` a positive Decimal within the offer's ``maximum`` and, when the product's
    ``rule`` is known, at least its minimum and on its precision."""
    check_positive("amount", amount)
    assert isinstance(amount, Decimal)  # checked
    check_positive("offer.max_investment_amount", maximum)
    if amount > maximum:
        raise InvalidRequest("amount", f"{amount} is above the offer's maximum {maximum}")
    if rule is not None:
        check_purchase(amount, rule)
    return amount


def check_purchase(amount: Decimal, rule: AmountRule) -> None:
    """``amount`` at least the product's minimum and on its precision (``rule``)."""
    minimum, places, label = rule.minimum, rule.places, rule.label
    if not (isinstance(minimum, Decimal) and minimum.is_finite()):
        raise InvalidRequest("product", f"the {label}minimum is {minimum!r}")
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise InvalidRequest("product", f"the {label}precision is {places!r}")
    if amount < minimum:
        raise InvalidRequest(
            "amount", f"{amount} is below product {rule.product_id}'s {label}minimum {minimum}"
        )
    if decimal_places(amount) > places:
        raise InvalidRequest(
            "amount",
            f"{amount} has more than product {rule.product_id}'s {places} decimal places "
            f"{'for ' + label if label else ''}(Bybit truncates, never rounds)",
        )
