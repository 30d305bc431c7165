"""Bybit Advance Earn, category DualAssets: the stake, built from one quoted offer.

Wire types, where Bybit's sources disagree (the docs' request table is what is sent):

* ``productId``: a string in every docs table; the create-order example, Bybit's MCP server
  (``z.number().int()``) and pybit's docstring send a JSON number. Sent as a string.
* ``dualAssetsExtra.apyE8``: int64 in the request table (the example and the MCP server send
  a JSON number). Sent as a JSON number, though the quote writes it as a string.
* ``interestCard.awardId``: int64 (required, with ``specCode``) in the docs; the MCP server
  makes both optional. Sent as a JSON number, both always.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from .._decimals import plain
from .._ids import IdRule, new_order_link_id
from .._validators import Check, one_of, optional, positive_decimal, text, whole
from ..errors import InvalidRequest
from ._dual_assets import (
    CATEGORY,
    DualAssetsDirection,
    DualAssetsOffer,
    DualAssetsProduct,
    as_direction,
)
from ._models import QUOTE_MARGIN, OrderType
from ._offer_checks import QUOTE_EXPIRY, AmountRule, check_amount, check_live, offered_product

__all__ = ["DualAssetsOrder", "InterestCard"]

#: DualAssets' orderLinkId: at most 36 characters (dual-asset/create-order.mdx, which states
#: no charset); Bybit's MCP server (placeAdvanceEarnOrder.ts) allows ``[A-Za-z0-9_-]`` in
#: every category and records an id "permanently ... per product type": the stricter reading.
DUAL_ASSETS_IDS = IdRule(36)
_INT64 = 2**63 - 1
_ACCOUNT = one_of("FUND", "UNIFIED")


@attrs.frozen(kw_only=True)
class InterestCard:
    """An interest bonus card to apply to a stake (its id and spec code from Bybit's coupon
    list, ``GET /v5/earn/coupons``)."""

    award_id: int = attrs.field(validator=whole(high=_INT64))
    spec_code: str = attrs.field(validator=text())


_CARD = optional(
    Check(
        lambda value: (
            None if isinstance(value, InterestCard) else f"must be an InterestCard, got {value!r}"
        )
    )
)


@attrs.frozen(kw_only=True)
class DualAssetsOrder:
    """Stake in a DualAssets product at one quoted target price.

    Build it with :meth:`from_offer` from a fresh :class:`DualAssetsOffer`. Built by hand, take
    ``direction``, ``select_price`` and ``apy_e8`` from one live offer: Bybit refuses a stake
    that matches no live quote, and fails one whose APY, confirmed, is below ``apy_e8``.
    ``amount`` is in the direction's invest coin (``coin``): the quote coin to buy low, the
    base coin to sell high.
    """

    category: ClassVar[str] = CATEGORY
    order_type: ClassVar[OrderType] = OrderType.STAKE

    product_id: str = attrs.field(validator=text())
    coin: str = attrs.field(validator=text())
    amount: Decimal = attrs.field(validator=positive_decimal())
    direction: DualAssetsDirection = attrs.field(converter=as_direction)
    select_price: Decimal = attrs.field(validator=positive_decimal())
    #: The lowest APY (times 10^8) the stake accepts: the offer's.
    apy_e8: int = attrs.field(validator=whole(low=0, high=_INT64))
    account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    interest_card: InterestCard | None = attrs.field(default=None, validator=_CARD)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=DUAL_ASSETS_IDS.check())
    #: When the quote it was built from expires (the venue's clock; ``None`` built by hand):
    #: ``place_order`` refuses its first send within 2 s of it. Not sent.
    quote_expires_at: datetime | None = attrs.field(default=None, eq=False, validator=QUOTE_EXPIRY)

    @classmethod
    def from_offer(
        cls,
        offer: DualAssetsOffer,
        *,
        amount: Decimal,
        account_type: str = "FUND",
        coin: str | None = None,
        product: DualAssetsProduct | None = None,
        now: datetime | None = None,
        margin: timedelta = QUOTE_MARGIN,
        interest_card: InterestCard | None = None,
        order_link_id: str | None = None,
    ) -> DualAssetsOrder:
        """A stake of ``amount`` at ``offer``: its product, direction, target price and APY.

        Refuses with :class:`~asyncexch.InvalidRequest`, before anything is sent:

        * ``offer``: expired, or expiring within ``margin`` (default 2 s) at ``now``: the
          venue's time, by default as the client that fetched the quote knows it;
        * ``amount``: above the offer's ``max_investment_amount``; and, when the product is
          known (``product``, or the one the client had listed when it fetched the quote),
          below the direction's minimum or with more decimal places than its precision;
        * ``coin``: not the direction's invest coin, or unknown (no product known and none
          given);
        * ``product``: a product other than the offered one.

        ``coin`` defaults to the product's invest coin in the offer's direction.
        """
        if not isinstance(offer, DualAssetsOffer):
            raise InvalidRequest("offer", f"must be a DualAssetsOffer, got {offer!r}")
        product = offered_product(offer, product, offer.product, DualAssetsProduct)
        check_live(offer, now, margin)
        check_amount(amount, offer.max_investment_amount, _amount_rule(offer, product))
        extra: dict[str, Any] = {} if order_link_id is None else {"order_link_id": order_link_id}
        return cls(
            product_id=offer.product_id,
            coin=_invest_coin(offer, product, coin),
            amount=amount,
            direction=offer.direction,
            select_price=offer.select_price,
            apy_e8=offer.apy_e8,
            account_type=account_type,
            interest_card=interest_card,
            quote_expires_at=offer.expired_at,
            **extra,
        )

    def to_params(self) -> dict[str, object]:
        """The request body in the documented field order: ``productId`` a string and
        ``apyE8`` a JSON number, as the docs' request table types them."""
        params: dict[str, object] = {
            "category": CATEGORY,
            "productId": self.product_id,
            "orderType": self.order_type.value,
            "amount": plain(self.amount),
            "accountType": self.account_type,
            "coin": self.coin,
            "orderLinkId": self.order_link_id,
            "dualAssetsExtra": {
                "orderDirection": self.direction.value,
                "selectPrice": plain(self.select_price),
                "apyE8": self.apy_e8,
            },
        }
        if self.interest_card is not None:
            params["interestCard"] = {
                "awardId": self.interest_card.award_id,
                "specCode": self.interest_card.spec_code,
            }
        return params


def _amount_rule(offer: DualAssetsOffer, product: DualAssetsProduct | None) -> AmountRule | None:
    """The product's amount rule in the offer's direction, when the product is known."""
    if product is None:
        return None
    direction = offer.direction
    return AmountRule(
        product.product_id,
        product.min_purchase_amount(direction),
        product.order_precision_digital(direction),
        f"{direction} ",
    )


def _invest_coin(offer: DualAssetsOffer, product: DualAssetsProduct | None, coin: object) -> str:
    """The coin a stake at ``offer`` invests: ``coin`` when given (the product's invest coin,
    when the product is known), else the product's."""
    if product is None:
        if coin is None:
            raise InvalidRequest(
                "coin",
                f"is unknown: the product of offer {offer.product_id} was not listed; pass "
                "coin= (the quote coin to buy low, the base coin to sell high) or list the "
                "products before fetching the quote",
            )
        text().at("coin", coin)
        assert isinstance(coin, str)  # checked
        return coin
    expected = product.invest_coin(offer.direction)
    if coin is not None and coin != expected:
        raise InvalidRequest(
            "coin",
            f"{offer.direction} in product {product.product_id} invests {expected}, not {coin!r}",
        )
    return expected
