"""Bybit Advance Earn, category DoubleWin: products, quotes, orders and positions.

A DoubleWin stake bets that the market leaves a price range around its initial price by
settlement, with a leverage the venue quotes. A fixed-range product's range is the initial
price minus ``lowerPriceBuffer`` to plus ``upperPriceBuffer`` and its quote comes from
``GET /v5/earn/advance/product-extra-info`` (:class:`DoubleWinQuote`); an RFQ product's range
is the caller's, on the product's ``priceTickSize``, quoted by the signed
``GET /v5/earn/advance/double-win-leverage`` (:class:`DoubleWinLeverage`). The stake itself
is in ``_double_win_order``. Bybit's docs (docs/v5/finance/advanced-earn/double-win/*.mdx)
state no payoff formula.

Bybit writes the quoted leverage with up to 26 decimals (``"9.30452991038687184855947115"``)
and stores a stake's leverage likewise (``"9.3309793178843419"`` for a stake sent with
``"9"``): a leverage is a :class:`~decimal.Decimal` read exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import attrs

from .._clock import ServerTime
from .._convert import LOCAL
from ._models import (
    _Acknowledgement,
    _OrderState,
    _PositionState,
)
from ._venue_time import time_left

__all__ = [
    "DoubleWinAck",
    "DoubleWinLeverage",
    "DoubleWinOrderInfo",
    "DoubleWinPosition",
    "DoubleWinProduct",
    "DoubleWinQuote",
]

CATEGORY = "DoubleWin"


@attrs.frozen(kw_only=True)
class DoubleWinProduct:
    """A DoubleWin product (``GET /v5/earn/advance/product?category=DoubleWin``).

    Fixed range (``is_rfq_product`` false): the range is ``lower_price_buffer`` below and
    ``upper_price_buffer`` above the initial price. RFQ: the caller picks the range, both
    bounds multiples of ``price_tick_size``, at a distance from the market between
    ``min_deviation_ratio`` and ``max_deviation_ratio``.
    """

    category: str
    product_id: str
    invest_coin: str
    underlying_asset: str
    duration: str
    min_purchase_amount: Decimal
    #: Decimal places allowed in a stake's ``amount``.
    order_precision_digital: int
    is_rfq_product: bool = False
    #: Fixed range only.
    lower_price_buffer: Decimal | None = None
    upper_price_buffer: Decimal | None = None
    #: RFQ only.
    min_deviation_ratio: Decimal | None = None
    max_deviation_ratio: Decimal | None = None
    price_tick_size: Decimal | None = None
    subscribe_start_at: datetime | None = None
    subscribe_end_at: datetime | None = None
    settlement_time: datetime | None = None
    expect_receive_at: datetime | None = None


@attrs.frozen(kw_only=True)
class DoubleWinQuote:
    """A fixed-range product's quote (``GET /v5/earn/advance/product-extra-info``,
    ``category=DoubleWin``): the most leverage a stake may take until ``expire_time``, up to
    ``max_investment_amount``, at ``current_price`` as its initial price.

    ``leverage``, ``expire_time`` and ``max_investment_amount`` are ``None`` when the product
    has no active quote. Build the stake with :meth:`DoubleWinOrder.from_leverage`.
    """

    category: str
    product_id: str
    current_price: Decimal | None = None
    #: The current maximum leverage.
    leverage: Decimal | None = None
    expire_time: datetime | None = None
    max_investment_amount: Decimal | None = None
    #: The venue's clock as the client that fetched the quote knows it.
    server_time: ServerTime | None = attrs.field(default=None, eq=False, repr=False, metadata=LOCAL)
    #: The product quoted, when the client had listed it.
    product: DoubleWinProduct | None = attrs.field(
        default=None, eq=False, repr=False, metadata=LOCAL
    )

    def expires_in(self, now: datetime | None = None) -> timedelta | None:
        """How long the quote stays valid at ``now`` (negative once expired); ``None`` when
        there is no quote. ``now`` is the venue's time, by default as the fetching client
        knows it."""
        if self.expire_time is None:
            return None
        return time_left(self.expire_time, self.server_time, now, "quote.expire_time")


@attrs.frozen(kw_only=True)
class DoubleWinLeverage:
    """An RFQ product's quote for one range (``GET /v5/earn/advance/double-win-leverage``):
    the leverage a stake of the range may take until ``expire_time``, up to
    ``max_investment_amount``. ``initial_price``, ``lower_price`` and ``upper_price`` echo
    the request; the stake must send the same. Build it with
    :meth:`DoubleWinOrder.from_leverage`."""

    product_id: str
    initial_price: Decimal
    lower_price: Decimal
    upper_price: Decimal
    leverage: Decimal
    expire_time: datetime
    max_investment_amount: Decimal
    server_time: ServerTime | None = attrs.field(default=None, eq=False, repr=False, metadata=LOCAL)
    product: DoubleWinProduct | None = attrs.field(
        default=None, eq=False, repr=False, metadata=LOCAL
    )

    def expires_in(self, now: datetime | None = None) -> timedelta:
        """How long the quote stays valid at ``now`` (negative once expired)."""
        return time_left(self.expire_time, self.server_time, now, "quote.expire_time")


@attrs.frozen(kw_only=True)
class DoubleWinAck(_Acknowledgement):
    """The venue accepted a DoubleWin order, a stake or a redeem (processing is
    asynchronous: see ``wait_for_order``, which waits for a :class:`DoubleWinOrderInfo`)."""

    #: The Advance Earn category of the order, always ``"DoubleWin"``.
    category: ClassVar[str] = CATEGORY


@attrs.frozen(kw_only=True)
class DoubleWinOrderInfo(_OrderState):
    """A DoubleWin order's state (``GET /v5/earn/advance/order?category=DoubleWin``).

    ``leverage`` is the venue's record, which may differ from the stake's (Bybit's example
    lists a stake sent with ``"9"`` as ``"9.3309793178843419"``). ``settlement_price`` and
    ``pnl`` come once ``Settled``.
    """

    category: str = CATEGORY
    invest_coin: str = ""
    underlying_asset: str = ""
    leverage: Decimal | None = None
    initial_price: Decimal | None = None
    lower_price: Decimal | None = None
    upper_price: Decimal | None = None
    duration: str = ""
    settlement_time: datetime | None = None
    updated_time: datetime | None = None
    settlement_price: Decimal | None = None
    pnl: Decimal | None = None
    #: Only when the order failed: ``Processing`` / ``Processed``.
    refund_status: str = ""
    account_type: str = ""
    to_account_type: str = ""


@attrs.frozen(kw_only=True)
class DoubleWinPosition(_PositionState):
    """An active DoubleWin position (``GET /v5/earn/advance/position?category=DoubleWin``)."""

    #: False when a redeem is pending or settlement is less than 30 minutes away.
    redeemable: bool
    category: str = CATEGORY
    invest_coin: str = ""
    underlying_asset: str = ""
    leverage: Decimal | None = None
    initial_price: Decimal | None = None
    lower_price: Decimal | None = None
    upper_price: Decimal | None = None
    duration: str = ""
    settlement_time: datetime | None = None
    created_time: datetime | None = None
    account_type: str = ""
    order_id: str = ""
