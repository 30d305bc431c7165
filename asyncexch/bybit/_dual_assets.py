"""Bybit Advance Earn, category DualAssets: products, quotes, offers, orders and positions.

A DualAssets stake takes one quoted target price (``selectPrice``) in one direction. BuyLow
invests the quote coin and ends in the base coin, bought at the target price, if the market
ends at or below it; SellHigh invests the base coin and ends in the quote coin, sold at the
target price, if the market ends at or above it. Either way the stake earns the quoted yield
(``apyE8``, the APY times 10^8). The stake itself is in ``_dual_assets_order``.

Bybit's docs type most numbers as strings; its examples write the quote's and the position's
``apyE8`` as strings and the order's ``estimateApyE8``/``selectApyE8`` (int64 in the table) as
strings too: an ``apy_e8`` is read from a string or a JSON number alike, and so is a
``productId``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import attrs

from .._clock import ServerTime
from .._enums import OpenStrEnum, known_member
from ..errors import MalformedResponse
from ._models import (
    ProductStatus,
    _Acknowledgement,
    _OrderState,
    _PositionState,
)
from ._offer_checks import epoch_is_none
from ._venue_time import fetched_now, time_left

__all__ = [
    "DualAssetsAck",
    "DualAssetsDirection",
    "DualAssetsOffer",
    "DualAssetsOrderInfo",
    "DualAssetsPosition",
    "DualAssetsProduct",
    "DualAssetsQuote",
    "OrderMode",
]

CATEGORY = "DualAssets"


class DualAssetsDirection(OpenStrEnum):
    """BuyLow invests the quote coin, SellHigh the base coin."""

    BUY_LOW = "BuyLow"
    SELL_HIGH = "SellHigh"


class OrderMode(OpenStrEnum):
    """How a DualAssets order was priced: from the quoted ladder, or by request for quote."""

    NORMAL = "Normal"
    RFQ = "RFQ"


def as_direction(value: DualAssetsDirection | str) -> DualAssetsDirection:
    """The known direction ``value`` names (a member, its name or its wire value); an
    ``InvalidRequest`` on ``direction`` for anything else."""
    return known_member(DualAssetsDirection, "direction", value)


# --- results ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DualAssetsProduct:
    """A DualAssets product (``GET /v5/earn/advance/product?category=DualAssets``).

    Its minimum, precision and remaining quota depend on the direction: BuyLow amounts are in
    the quote coin, SellHigh amounts in the base coin (see :meth:`invest_coin`).
    """

    category: str
    product_id: str
    base_coin: str
    quote_coin: str
    duration: str
    status: ProductStatus
    min_purchase_quote_amount: Decimal
    min_purchase_base_amount: Decimal
    remaining_amount_quote: Decimal
    remaining_amount_base: Decimal
    #: Decimal places allowed in a BuyLow amount.
    order_precision_digital_quote: int
    #: Decimal places allowed in a SellHigh amount.
    order_precision_digital_base: int
    is_vip_product: bool = False
    subscribe_start_at: datetime | None = None
    subscribe_end_at: datetime | None = None
    #: When interest starts to accrue.
    apply_start_at: datetime | None = None
    #: When interest stops accruing and the product settles.
    settlement_time: datetime | None = None
    expect_receive_at: datetime | None = None

    def invest_coin(self, direction: DualAssetsDirection | str) -> str:
        """The coin a stake in ``direction`` invests: the quote coin to buy low, the base
        coin to sell high."""
        return self.quote_coin if is_buy_low(direction) else self.base_coin

    def min_purchase_amount(self, direction: DualAssetsDirection | str) -> Decimal:
        """The smallest stake in ``direction``, in its invest coin."""
        if is_buy_low(direction):
            return self.min_purchase_quote_amount
        return self.min_purchase_base_amount

    def order_precision_digital(self, direction: DualAssetsDirection | str) -> int:
        """The decimal places a stake's amount in ``direction`` may have."""
        if is_buy_low(direction):
            return self.order_precision_digital_quote
        return self.order_precision_digital_base

    def remaining_amount(self, direction: DualAssetsDirection | str) -> Decimal:
        """What is left to stake in ``direction``, in its invest coin."""
        return self.remaining_amount_quote if is_buy_low(direction) else self.remaining_amount_base


@attrs.frozen(kw_only=True)
class DualAssetsOffer:
    """One quoted target price of a product: a stake at ``select_price`` in ``direction``
    earns ``apy_e8`` / 10^8 a year, up to ``max_investment_amount``, if placed before
    ``expired_at``. Build the stake with :meth:`DualAssetsOrder.from_offer`.
    """

    product_id: str
    direction: DualAssetsDirection
    select_price: Decimal
    #: The APY times 10^8 (``810810000`` is 8.1081, that is 810.81 %).
    apy_e8: int
    #: The most one stake may invest at this price, in the direction's invest coin.
    max_investment_amount: Decimal
    #: When the offer expires, on the venue's clock.
    expired_at: datetime
    #: The product, when the client that fetched the quote had listed it.
    product: DualAssetsProduct | None = attrs.field(default=None, eq=False, repr=False)
    #: The venue's time when the client received the quote, as that client knew it.
    fetched_at: datetime | None = attrs.field(default=None, eq=False)
    #: The venue's clock as the client that fetched the quote knows it: ``expired_at`` is
    #: measured on it.
    server_time: ServerTime | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def apy(self) -> Decimal:
        """The APY as a fraction (``apy_e8`` / 10^8), exactly."""
        return Decimal(self.apy_e8).scaleb(-8)

    def expires_in(self, now: datetime | None = None) -> timedelta:
        """How long the offer stays valid at ``now`` (negative once expired).

        ``now`` is the venue's time; by default the client's estimate of it (from the
        venue's answers), or this machine's clock for an offer not fetched by a client.
        """
        return time_left(self.expired_at, self.server_time, now, "offer.expired_at")


@attrs.frozen(kw_only=True)
class DualAssetsQuote:
    """A product's quote (``GET /v5/earn/advance/product-extra-info?category=DualAssets``):
    the market price and the target prices on offer in each direction.

    A product with no quote now has no offers and no ``current_price``.
    """

    category: str
    product_id: str
    current_price: Decimal | None
    #: Offers below the market: stake the quote coin, maybe buy the base coin.
    buy_low: tuple[DualAssetsOffer, ...] = ()
    #: Offers above the market: stake the base coin, maybe sell it.
    sell_high: tuple[DualAssetsOffer, ...] = ()
    #: The venue's time when the client received it, as the client knew it.
    fetched_at: datetime | None = attrs.field(default=None, eq=False)
    #: The product quoted, when the client had listed it.
    product: DualAssetsProduct | None = attrs.field(default=None, eq=False, repr=False)

    def offers(self, direction: DualAssetsDirection | str) -> tuple[DualAssetsOffer, ...]:
        """The offers in ``direction``."""
        return self.buy_low if is_buy_low(direction) else self.sell_high


@attrs.frozen(kw_only=True)
class DualAssetsAck(_Acknowledgement):
    """The venue accepted a DualAssets order (processing is asynchronous: see
    ``wait_for_order``).

    Not an ``OrderAck``: ``advance_earn.wait_for_order`` tells the two apart by type, so
    each waits, statically too, for its own category's order info.
    """

    #: The Advance Earn category of the order, always ``"DualAssets"``.
    category: ClassVar[str] = CATEGORY


@attrs.frozen(kw_only=True)
class DualAssetsOrderInfo(_OrderState):
    """A DualAssets order's state (``GET /v5/earn/advance/order?category=DualAssets``).

    The settlement fields are filled once the order is ``Settled``.
    """

    category: str = CATEGORY
    coin: str = ""
    base_coin: str = ""
    quote_coin: str = ""
    direction: DualAssetsDirection | None = None
    target_price: Decimal | None = None
    #: The APY the venue estimates, times 10^8.
    estimate_apy_e8: int | None = None
    #: The APY chosen when ordering (the order's ``apyE8``), times 10^8.
    select_apy_e8: int | None = None
    duration: str = ""
    account_type: str = ""
    to_account_type: str = ""
    is_vip: bool = False
    order_mode: OrderMode | None = None
    updated_time: datetime | None = None
    #: ``None`` until known (Bybit writes ``"0"``).
    settlement_time: datetime | None = attrs.field(default=None, converter=epoch_is_none)
    settlement_coin: str = ""
    settlement_amount: Decimal | None = None
    settlement_price: Decimal | None = None
    #: Only when the order failed: ``Processing`` / ``Processed``.
    refund_status: str = ""
    trial_bonus_amount: Decimal | None = None
    trial_bonus_pnl: Decimal | None = None


@attrs.frozen(kw_only=True)
class DualAssetsPosition(_PositionState):
    """An active DualAssets position (``GET /v5/earn/advance/position?category=DualAssets``)."""

    category: str = CATEGORY
    base_coin: str = ""
    quote_coin: str = ""
    #: The quote coin for BuyLow, the base coin for SellHigh; ``amount`` is in it.
    invest_coin: str = ""
    #: The confirmed APY, times 10^8.
    apy_e8: int | None = None
    direction: DualAssetsDirection | None = None
    target_price: Decimal | None = None
    settlement_time: datetime | None = None
    order_id: str = ""
    duration: str = ""
    #: What the position is expected to pay at settlement, and in which coin.
    expect_return_coin: str = ""
    expect_return_amount: Decimal | None = None
    account_type: str = ""
    to_account_type: str = ""
    yield_start_at: datetime | None = None
    yield_end_at: datetime | None = None


@attrs.frozen(kw_only=True)
class _OfferItem:
    select_price: Decimal
    apy_e8: int
    max_investment_amount: Decimal
    expired_at: datetime


@attrs.frozen(kw_only=True)
class _ProductQuote:
    product_id: str
    current_price: Decimal
    buy_low_price: list[_OfferItem] = attrs.Factory(list)
    sell_high_price: list[_OfferItem] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class QuoteBoard:
    """The quote endpoint's answer as Bybit writes it: one entry per product."""

    items: list[_ProductQuote] = attrs.field(metadata={"key": "list"})
    category: str = ""


def quote_from_board(
    board: QuoteBoard,
    product_id: str,
    *,
    server_time: ServerTime | None,
    product: DualAssetsProduct | None,
) -> DualAssetsQuote:
    """The quote of ``product_id`` in ``board``, each offer knowing its direction, its
    product and when and on which clock it was fetched."""
    entries = [entry for entry in board.items if entry.product_id == product_id]
    if not entries:
        if board.items:
            raise MalformedResponse(
                f"asked for the quote of product {product_id}, got products "
                f"{[entry.product_id for entry in board.items]}"
            )
        return DualAssetsQuote(category=CATEGORY, product_id=product_id, current_price=None)
    entry = entries[0]
    fetched_at = fetched_now(server_time)

    def offers(
        items: list[_OfferItem], direction: DualAssetsDirection
    ) -> tuple[DualAssetsOffer, ...]:
        return tuple(
            DualAssetsOffer(
                product_id=product_id,
                direction=direction,
                select_price=item.select_price,
                apy_e8=item.apy_e8,
                max_investment_amount=item.max_investment_amount,
                expired_at=item.expired_at,
                product=product,
                fetched_at=fetched_at,
                server_time=server_time,
            )
            for item in items
        )

    return DualAssetsQuote(
        category=CATEGORY,
        product_id=product_id,
        current_price=entry.current_price,
        buy_low=offers(entry.buy_low_price, DualAssetsDirection.BUY_LOW),
        sell_high=offers(entry.sell_high_price, DualAssetsDirection.SELL_HIGH),
        fetched_at=fetched_at,
        product=product,
    )


def is_buy_low(direction: DualAssetsDirection | str) -> bool:
    """Whether ``direction`` is BuyLow (an unknown one is refused)."""
    return as_direction(direction) is DualAssetsDirection.BUY_LOW
