"""Bybit Advance Earn, category DiscountBuy: products, quotes, offers, orders and positions.

A DiscountBuy stake invests USDT against one market maker's offer: a purchase price below the
market, a knock-out price above it and a coupon. At settlement it is either knocked out (the
USDT principal and the coupon come back) or exercised (the stake buys the underlying at the
purchase price: ``settleType`` ``Base`` receives that quantity, ``Quote`` its USDT value at the
settlement price). The stake itself is in ``_discount_buy_order``.

Wire types, where Bybit's sources disagree:

* ``instUid``: a string in the docs (quote table and example, create-order table and
  example); a JSON number in Bybit's MCP server (``z.number().int()``) and skill (``1001``).
  Read in either form and kept as received (a ``str`` or an ``int``), so that the stake sends
  it back unchanged, as the docs ask ("Must be passed as-is").
* ``knockoutCouponE8``: a string in the docs, a JSON number in the MCP server and the skill:
  read from either as an ``int``.
* ``expiredAt``: ``"0"`` means the market maker set no expiry: read as ``None``.
* The docs' product, order and position examples carry a top-level ``"category": ""``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from .._clock import ServerTime
from .._enums import OpenStrEnum, known_member
from ..errors import MalformedResponse
from ._models import _Acknowledgement, _OrderState
from ._offer_checks import epoch_is_none
from ._venue_time import fetched_now, time_left

__all__ = [
    "DiscountBuyAck",
    "DiscountBuyOffer",
    "DiscountBuyOrderInfo",
    "DiscountBuyPosition",
    "DiscountBuyPositionStatus",
    "DiscountBuyProduct",
    "DiscountBuyQuote",
    "DiscountBuyRefundStatus",
    "SettleType",
]

CATEGORY = "DiscountBuy"


class SettleType(OpenStrEnum):
    """What an exercised DiscountBuy stake receives: the underlying (``Base``, quantity
    amount / purchasePrice) or its USDT value at the settlement price (``Quote``). A knocked
    out stake always receives USDT principal and coupon."""

    BASE = "Base"
    QUOTE = "Quote"


class DiscountBuyPositionStatus(OpenStrEnum):
    """A DiscountBuy position: ``Active`` (holding), ``Settling`` (settlement in progress)."""

    ACTIVE = "Active"
    SETTLING = "Settling"


class DiscountBuyRefundStatus(OpenStrEnum):
    """The refund of a failed DiscountBuy order (the order's ``refundStatus``, only when
    ``status`` is ``Fail``): ``REFUNDING`` then ``REFUND_DONE``."""

    REFUNDING = "REFUNDING"
    REFUND_DONE = "REFUND_DONE"


def as_settle_type(value: SettleType | str) -> SettleType:
    """The known settle type ``value`` names (a member, its name or its wire value); an
    ``InvalidRequest`` on ``settle_type`` for anything else."""
    return known_member(SettleType, "settle_type", value)


# --- results ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DiscountBuyProduct:
    """A DiscountBuy product (``GET /v5/earn/advance/product?category=DiscountBuy``): stakes
    in ``coin`` (USDT) on ``underlying_asset``, at least ``min_purchase_amount`` with at most
    ``order_precision_digital`` decimal places, while ``remaining_amount`` lasts."""

    category: str
    product_id: str
    coin: str
    underlying_asset: str
    duration: str
    min_purchase_amount: Decimal
    remaining_amount: Decimal
    #: Decimal places allowed in an amount.
    order_precision_digital: int
    is_vip_product: bool = False
    subscribe_start_at: datetime | None = None
    subscribe_end_at: datetime | None = None
    settlement_time: datetime | None = None
    #: When the settlement is credited: ``settlement_time`` + 15 minutes.
    expect_receive_at: datetime | None = None


@attrs.frozen(kw_only=True)
class DiscountBuyOffer:
    """One market maker's offer on a product: stake up to ``max_investment_amount`` USDT to
    buy the underlying at ``purchase_price`` unless the market reaches ``knockout_price``,
    which pays the coupon (``knockout_coupon_e8`` / 10^8 a year) instead. Build the stake with
    :meth:`DiscountBuyOrder.from_offer`.
    """

    product_id: str
    #: The underlying's index price when quoted (the stake's ``initialPrice``).
    current_price: Decimal
    purchase_price: Decimal
    knockout_price: Decimal
    #: The annualised coupon times 10^8 (``1000000`` is 1 %).
    knockout_coupon_e8: int
    max_investment_amount: Decimal
    #: The market maker's id, exactly as Bybit sent it (a string, or a JSON number in some
    #: of Bybit's sources): the stake sends it back unchanged.
    inst_uid: str | int
    #: When the offer expires, on the venue's clock; ``None``: the market maker set none.
    expired_at: datetime | None
    #: The product, when the client that fetched the quote had listed it.
    product: DiscountBuyProduct | None = attrs.field(default=None, eq=False, repr=False)
    #: The venue's time when the client received the quote, as that client knew it.
    fetched_at: datetime | None = attrs.field(default=None, eq=False)
    #: The venue's clock as the client that fetched the quote knows it.
    server_time: ServerTime | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def knockout_coupon(self) -> Decimal:
        """The annualised coupon as a fraction (``knockout_coupon_e8`` / 10^8), exactly."""
        return Decimal(self.knockout_coupon_e8).scaleb(-8)

    def expires_in(self, now: datetime | None = None) -> timedelta | None:
        """How long the offer stays valid at ``now`` (negative once expired), or ``None``
        for an offer without expiry.

        ``now`` is the venue's time; by default the client's estimate of it (from the
        venue's answers), or this machine's clock for an offer not fetched by a client.
        """
        if self.expired_at is None:
            return None
        return time_left(self.expired_at, self.server_time, now, "offer.expired_at")


@attrs.frozen(kw_only=True)
class DiscountBuyQuote:
    """A product's quote (``GET /v5/earn/advance/product-extra-info?category=DiscountBuy``):
    the offers on it now, one per market maker. A product not quoted now has none."""

    category: str
    product_id: str
    offers: tuple[DiscountBuyOffer, ...] = ()
    #: The venue's time when the client received it, as the client knew it.
    fetched_at: datetime | None = attrs.field(default=None, eq=False)
    #: The product quoted, when the client had listed it.
    product: DiscountBuyProduct | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def current_price(self) -> Decimal | None:
        """The underlying's index price in the first offer, or ``None`` with no offers."""
        return self.offers[0].current_price if self.offers else None


@attrs.frozen(kw_only=True)
class DiscountBuyAck(_Acknowledgement):
    """The venue accepted a DiscountBuy order (processing is asynchronous: see
    ``wait_for_order``)."""

    #: The Advance Earn category of the order, always ``"DiscountBuy"``.
    category: ClassVar[str] = CATEGORY


@attrs.frozen(kw_only=True)
class DiscountBuyOrderInfo(_OrderState):
    """A DiscountBuy order's state (``GET /v5/earn/advance/order?category=DiscountBuy``).

    The settlement fields are filled once the order is ``Settled`` (knocked out or
    exercised); ``refund_status`` only when it is ``Fail``.
    """

    category: str = CATEGORY
    coin: str = ""
    underlying_asset: str = ""
    purchase_price: Decimal | None = None
    knockout_price: Decimal | None = None
    knockout_coupon_e8: int | None = None
    duration: str = ""
    settlement_time: datetime | None = None
    account_type: str = ""
    #: ``FUND`` once settled; the deduction account once failed.
    to_account_type: str = ""
    settle_type: SettleType | None = None
    #: The 30-minute TWAP before the settlement time, once settled.
    settlement_price: Decimal | None = None
    settlement_coin: str = ""
    settlement_amount: Decimal | None = None
    is_vip: bool = False
    #: Only when the order failed: ``REFUNDING`` / ``REFUND_DONE``.
    refund_status: DiscountBuyRefundStatus | None = None


@attrs.frozen(kw_only=True)
class DiscountBuyPosition:
    """An active DiscountBuy position (``GET /v5/earn/advance/position?category=DiscountBuy``;
    Bybit lists no settled ones)."""

    position_id: str
    product_id: str
    amount: Decimal
    status: DiscountBuyPositionStatus
    category: str = CATEGORY
    coin: str = ""
    underlying_asset: str = ""
    purchase_price: Decimal | None = None
    knockout_price: Decimal | None = None
    knockout_coupon_e8: int | None = None
    order_id: str = ""
    duration: str = ""
    settlement_time: datetime | None = None
    account_type: str = ""
    to_account_type: str = ""
    settle_type: SettleType | None = None
    expect_receive_at: datetime | None = None


@attrs.frozen(kw_only=True)
class _OfferItem:
    product_id: str
    current_price: Decimal
    purchase_price: Decimal
    knockout_price: Decimal
    knockout_coupon_e8: int
    max_investment_amount: Decimal
    #: Kept as decoded JSON: a string or a number (see the module docstring).
    inst_uid: Any
    expired_at: datetime | None = attrs.field(default=None, converter=epoch_is_none)


@attrs.frozen(kw_only=True)
class OfferBoard:
    """The quote endpoint's answer as Bybit writes it: offers of one product or of all."""

    offers: list[_OfferItem] = attrs.Factory(list)
    category: str = ""


def inst_uid_refusal(value: object) -> str | None:
    """Why ``value`` is no ``instUid`` as Bybit writes one (a non-empty string or a whole
    JSON number), or ``None``."""
    if isinstance(value, str) and value:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return f"must be a string or an integer, got {value!r}"


def _inst_uid(value: object) -> str | int:
    """``instUid`` as received."""
    why = inst_uid_refusal(value)
    if why is not None:
        raise MalformedResponse(f"instUid {why}")
    assert isinstance(value, (str, int))  # checked
    return value


def quote_from_board(
    board: OfferBoard,
    product_id: str,
    *,
    server_time: ServerTime | None,
    product: DiscountBuyProduct | None,
) -> DiscountBuyQuote:
    """The offers of ``product_id`` in ``board``, each knowing its product and when and on
    which clock it was fetched (offers of other products are an answer to another question)."""
    others = {item.product_id for item in board.offers} - {product_id}
    if others:
        raise MalformedResponse(
            f"asked for the quote of product {product_id}, got products {sorted(others)}"
        )
    fetched_at = fetched_now(server_time)
    offers = tuple(
        DiscountBuyOffer(
            product_id=product_id,
            current_price=item.current_price,
            purchase_price=item.purchase_price,
            knockout_price=item.knockout_price,
            knockout_coupon_e8=item.knockout_coupon_e8,
            max_investment_amount=item.max_investment_amount,
            inst_uid=_inst_uid(item.inst_uid),
            expired_at=item.expired_at,
            product=product,
            fetched_at=fetched_at,
            server_time=server_time,
        )
        for item in board.offers
    )
    return DiscountBuyQuote(
        category=CATEGORY,
        product_id=product_id,
        offers=offers,
        fetched_at=fetched_at,
        product=product,
    )
