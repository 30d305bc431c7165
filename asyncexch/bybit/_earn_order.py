"""Bybit Earn orders (``POST /v5/earn/place-order``): a stake and a redeem, validated when
built.

The orderLinkId rule is Earn's own and the old one: at most 36 characters (no charset stated;
``[A-Za-z0-9_-]`` is asked, the stricter reading) and "the same orderLinkId can't be used in
30 mins" (create-order.mdx; the order-history page: "always return the latest one if order
link id is ever reused"). So Bybit refuses a repeated id for 30 minutes only: **after that, a
repeated id is a new order**. The client never resends an order beyond that window (it looks
it up instead), and an id derived from an intent must carry what makes it unique beyond it
(:func:`~asyncexch.order_link_id_for` with ``issued=``, see :data:`EARN_IDS`).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

import attrs

from .._decimals import decimal_places, plain
from .._ids import IdRule, new_order_link_id
from .._validators import Check, one_of, optional, positive_decimal, text
from ..errors import InvalidRequest
from ._dual_assets_order import InterestCard
from ._earn import EarnCategory, EarnProduct, as_category
from ._models import OrderType

__all__ = ["EARN_IDS", "EarnRedeem", "EarnStake"]

#: Earn's orderLinkId: 1-36 characters, refused when reused within 30 minutes, and a new
#: order when reused after. Derive an intent's id with ``order_link_id_for(key, issued=...)``.
EARN_IDS = IdRule(36, remembered=timedelta(minutes=30))
_ACCOUNT = one_of("FUND", "UNIFIED")
_CARD = optional(
    Check(
        lambda value: (
            None if isinstance(value, InterestCard) else f"must be an InterestCard, got {value!r}"
        )
    )
)


@attrs.frozen(kw_only=True)
class _EarnOrder:
    """What a stake and a redeem both carry, and their common body."""

    order_type: ClassVar[OrderType]

    category: EarnCategory = attrs.field(converter=as_category)
    product_id: str = attrs.field(validator=text())
    coin: str = attrs.field(validator=text())
    amount: Decimal = attrs.field(validator=positive_decimal())
    account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=EARN_IDS.check())

    def __attrs_post_init__(self) -> None:
        # "Onchain only supports FUND" (create-order.mdx). A non-LST OnChain redeem's
        # toAccountType is FUND only too, but an LST one's may be UNIFIED, and an order
        # cannot tell the two apart: that one is left to the venue.
        if self.category is EarnCategory.ON_CHAIN and self.account_type != "FUND":
            raise InvalidRequest(
                "account_type", f"must be 'FUND' for OnChain, got {self.account_type!r}"
            )

    def to_params(self) -> dict[str, object]:
        """The request body, in the documented field order."""
        return {
            "category": self.category.value,
            "orderType": self.order_type.value,
            "accountType": self.account_type,
            "amount": plain(self.amount),
            "coin": self.coin,
            "productId": self.product_id,
            "orderLinkId": self.order_link_id,
        }


@attrs.frozen(kw_only=True)
class EarnStake(_EarnOrder):
    """Stake ``amount`` of ``coin`` in an Earn product.

    ``category`` is ``"FlexibleSaving"`` or ``"OnChain"`` (OnChain takes the FUND account
    only); ``interest_card`` applies to a FlexibleSaving stake only. Build it with
    :meth:`from_product` to check the amount against the product before anything is sent.
    """

    order_type: ClassVar[OrderType] = OrderType.STAKE

    interest_card: InterestCard | None = attrs.field(default=None, validator=_CARD)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.interest_card is not None and self.category is not EarnCategory.FLEXIBLE_SAVING:
            raise InvalidRequest("interest_card", "applies to a FlexibleSaving stake only")

    @classmethod
    def from_product(
        cls,
        product: EarnProduct,
        *,
        amount: Decimal,
        account_type: str = "FUND",
        interest_card: InterestCard | None = None,
        order_link_id: str | None = None,
    ) -> EarnStake:
        """A stake of ``amount`` in ``product``: refused (:class:`~asyncexch.InvalidRequest`)
        below its minimum, above its maximum or with more decimal places than its precision."""
        if not isinstance(product, EarnProduct):
            raise InvalidRequest("product", f"must be an EarnProduct, got {product!r}")
        positive_decimal().at("amount", amount)
        if not product.min_stake_amount <= amount <= product.max_stake_amount:
            raise InvalidRequest(
                "amount",
                f"{amount} is outside product {product.product_id}'s "
                f"{product.min_stake_amount}-{product.max_stake_amount}",
            )
        if decimal_places(amount) > product.precision:
            raise InvalidRequest(
                "amount",
                f"{amount} has more than product {product.product_id}'s "
                f"{product.precision} decimal places",
            )
        return cls(
            category=product.category,
            product_id=product.product_id,
            coin=product.coin,
            amount=amount,
            account_type=account_type,
            interest_card=interest_card,
            order_link_id=order_link_id if order_link_id is not None else new_order_link_id(),
        )

    def to_params(self) -> dict[str, object]:
        """The request body, in the documented field order; ``interestCard.awardId`` a JSON
        number (int64 in the docs)."""
        params = super().to_params()
        if self.interest_card is not None:
            params["interestCard"] = {
                "awardId": self.interest_card.award_id,
                "specCode": self.interest_card.spec_code,
            }
        return params


@attrs.frozen(kw_only=True)
class EarnRedeem(_EarnOrder):
    """Redeem ``amount`` of ``coin`` from an Earn product; Bybit cannot cancel a redeem, and
    it may take up to 48 hours (OnChain: days).

    ``redeem_position_id`` names the position (its ``position_id``): required for an OnChain
    non-LST product. ``to_account_type`` is where the coins go (OnChain non-LST: FUND only).
    """

    order_type: ClassVar[OrderType] = OrderType.REDEEM

    redeem_position_id: str | None = attrs.field(default=None, validator=optional(text()))
    to_account_type: str | None = attrs.field(default=None, validator=optional(_ACCOUNT))

    def to_params(self) -> dict[str, object]:
        """The request body, in the documented field order."""
        params = super().to_params()
        if self.redeem_position_id is not None:
            params["redeemPositionId"] = self.redeem_position_id
        if self.to_account_type is not None:
            params["toAccountType"] = self.to_account_type
        return params
