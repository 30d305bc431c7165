"""Bybit Advance Earn, category DiscountBuy: the stake, built from one market maker's offer.

Wire types, where Bybit's sources disagree (the docs' request table is what is sent, except
``instUid``, sent back in the form it came in):

* ``productId``: a string (the docs' table and example); the MCP server and the skill send
  a JSON number. Sent as a string.
* ``discountBuyExtra.knockoutCouponE8``: a string (docs table and example ``"1000000"``); the
  MCP server and the skill send a JSON number. Sent as a string.
* ``discountBuyExtra.instUid``: a string in the docs, a JSON number in the MCP server and
  the skill; the docs say to pass it "as-is". Sent as the quote wrote it: a string stays a
  string, a number a number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from .._decimals import decimal_places, plain
from .._ids import IdRule, new_order_link_id
from .._validators import Check, one_of, positive_decimal, text, whole
from ..errors import InvalidRequest
from ._discount_buy import (
    CATEGORY,
    DiscountBuyOffer,
    DiscountBuyProduct,
    SettleType,
    as_settle_type,
    inst_uid_refusal,
)
from ._models import QUOTE_MARGIN, OrderType
from ._offer_checks import QUOTE_EXPIRY, AmountRule, check_amount, check_live, offered_product

__all__ = ["DiscountBuyOrder"]

#: DiscountBuy's orderLinkId: at most 40 characters of ``[A-Za-z0-9_-]``
#: (discount-buy/create-order.mdx); Bybit's MCP server records an id "permanently ... per
#: product type".
DISCOUNT_BUY_IDS = IdRule(40)
_INT64 = 2**63 - 1
_ACCOUNT = one_of("FUND", "UNIFIED")
#: Prices in ``discountBuyExtra`` carry at most 8 decimal places (the docs' request table).
_PRICE_PLACES = 8


def _price() -> Check:
    """A positive Decimal with at most 8 decimal places."""
    positive = positive_decimal()

    def refusal(value: object) -> str | None:
        why = positive.refusal(value)
        if why is None and isinstance(value, Decimal) and decimal_places(value) > _PRICE_PLACES:
            return f"must have at most {_PRICE_PLACES} decimal places, got {value}"
        return why

    return Check(refusal)


@attrs.frozen(kw_only=True)
class DiscountBuyOrder:
    """Stake USDT in a DiscountBuy product at one market maker's offer.

    Build it with :meth:`from_offer` from a fresh :class:`DiscountBuyOffer`. Built by hand,
    take ``initial_price`` (the offer's ``current_price``), ``purchase_price``,
    ``knockout_price``, ``knockout_coupon_e8`` and ``inst_uid`` from one live offer, as it
    wrote them: Bybit asks for the quote's values as-is. ``settle_type`` says what an
    exercised stake receives (``Base``: the underlying; ``Quote``: USDT).
    """

    category: ClassVar[str] = CATEGORY
    order_type: ClassVar[OrderType] = OrderType.STAKE

    product_id: str = attrs.field(validator=text())
    amount: Decimal = attrs.field(validator=positive_decimal())
    settle_type: SettleType = attrs.field(converter=as_settle_type)
    initial_price: Decimal = attrs.field(validator=_price())
    purchase_price: Decimal = attrs.field(validator=_price())
    knockout_price: Decimal = attrs.field(validator=_price())
    knockout_coupon_e8: int = attrs.field(validator=whole(low=0, high=_INT64))
    #: The market maker's id, as the quote wrote it (sent back unchanged).
    inst_uid: str | int = attrs.field(validator=Check(inst_uid_refusal))
    coin: str = attrs.field(default="USDT", validator=text())
    account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=DISCOUNT_BUY_IDS.check())
    #: When the quote it was built from expires (the venue's clock; ``None`` built by hand):
    #: ``place_order`` refuses its first send within 2 s of it. Not sent.
    quote_expires_at: datetime | None = attrs.field(default=None, eq=False, validator=QUOTE_EXPIRY)

    @classmethod
    def from_offer(
        cls,
        offer: DiscountBuyOffer,
        *,
        amount: Decimal,
        settle_type: SettleType | str,
        account_type: str = "FUND",
        product: DiscountBuyProduct | None = None,
        now: datetime | None = None,
        margin: timedelta = QUOTE_MARGIN,
        order_link_id: str | None = None,
    ) -> DiscountBuyOrder:
        """A stake of ``amount`` USDT at ``offer``: its product, current price (the
        ``initialPrice``), purchase and knock-out prices, coupon and market maker.

        Refuses with :class:`~asyncexch.InvalidRequest`, before anything is sent:

        * ``offer``: expired, or expiring within ``margin`` (default 2 s) at ``now``: the
          venue's time, by default as the client that fetched the quote knows it (an offer
          without expiry, ``expiredAt`` ``"0"``, never expires);
        * ``amount``: above the offer's ``max_investment_amount``; and, when the product is
          known (``product``, or the one the client had listed when it fetched the quote),
          below its minimum, above what it has left, or with more decimal places than its
          precision;
        * ``settle_type``: not ``Base`` or ``Quote``;
        * ``product``: a product other than the offered one.
        """
        if not isinstance(offer, DiscountBuyOffer):
            raise InvalidRequest("offer", f"must be a DiscountBuyOffer, got {offer!r}")
        product = offered_product(offer, product, offer.product, DiscountBuyProduct)
        check_live(offer, now, margin)
        rule = None if product is None else AmountRule.of(product)
        check_amount(amount, offer.max_investment_amount, rule)
        if product is not None and amount > product.remaining_amount:
            raise InvalidRequest(
                "amount",
                f"{amount} is above what product {product.product_id} has left "
                f"({product.remaining_amount})",
            )
        extra: dict[str, Any] = {} if order_link_id is None else {"order_link_id": order_link_id}
        return cls(
            product_id=offer.product_id,
            amount=amount,
            settle_type=settle_type,
            initial_price=offer.current_price,
            purchase_price=offer.purchase_price,
            knockout_price=offer.knockout_price,
            knockout_coupon_e8=offer.knockout_coupon_e8,
            inst_uid=offer.inst_uid,
            coin=product.coin if product is not None else "USDT",
            account_type=account_type,
            quote_expires_at=offer.expired_at,
            **extra,
        )

    def to_params(self) -> dict[str, object]:
        """The request body in the documented field order: ``productId`` and
        ``knockoutCouponE8`` strings, ``instUid`` as the quote wrote it."""
        return {
            "category": CATEGORY,
            "productId": self.product_id,
            "orderType": self.order_type.value,
            "amount": plain(self.amount),
            "coin": self.coin,
            "accountType": self.account_type,
            "orderLinkId": self.order_link_id,
            "discountBuyExtra": {
                "initialPrice": plain(self.initial_price),
                "purchasePrice": plain(self.purchase_price),
                "knockoutPrice": plain(self.knockout_price),
                "knockoutCouponE8": str(self.knockout_coupon_e8),
                "settleType": self.settle_type.value,
                "instUid": self.inst_uid,
            },
        }
