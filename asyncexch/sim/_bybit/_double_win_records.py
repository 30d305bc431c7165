"""The Bybit simulator's DoubleWin records: products, quotes, orders and positions."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = [
    "DOUBLE_WIN",
    "SimDoubleWinOrder",
    "SimDoubleWinPosition",
    "SimDoubleWinProduct",
    "SimDoubleWinQuote",
    "default_double_win_products",
]

DOUBLE_WIN = "DoubleWin"


@attrs.define
class SimDoubleWinProduct:
    """A DoubleWin product. Fixed range: the range is ``lower_buffer`` below and
    ``upper_buffer`` above the initial price, quoted at ``leverage``. RFQ: the caller's range
    on ``price_tick``, each bound ``min_deviation``..``max_deviation`` from the initial price,
    quoted at ``rfq_scale`` divided by the range's width (a fraction of the initial price)."""

    product_id: str
    underlying_asset: str
    duration: str
    is_rfq: bool
    min_purchase_amount: Decimal = Decimal("10")
    precision: int = 4
    invest_coin: str = "USDT"
    max_investment_amount: Decimal = Decimal("10000")
    lower_buffer: Decimal = Decimal("200")
    upper_buffer: Decimal = Decimal("200")
    leverage: Decimal = Decimal("9.30452991038687184855947115")
    price_tick: Decimal = Decimal("500")
    min_deviation: Decimal = Decimal("0.01")
    max_deviation: Decimal = Decimal("0.15")
    rfq_scale: Decimal = Decimal("25.448")


@attrs.frozen
class SimDoubleWinQuote:
    """A leverage quoted until ``expire_ms``: for a fixed product at ``initial`` (``lower`` and
    ``upper`` ``None``), for an RFQ range to one UID."""

    product_id: str
    initial: Decimal
    lower: Decimal | None
    upper: Decimal | None
    leverage: Decimal
    max_investment_amount: Decimal
    expire_ms: int
    uid: str | None = None


@attrs.define
class SimDoubleWinOrder:
    """A DoubleWin stake or redeem: Pending, Success (a stake's position opens), Settled
    (paid: ``settlement_price``, ``pnl``), or Fail."""

    order_id: str
    order_link_id: str
    uid: str
    product_id: str
    order_type: str
    amount: Decimal
    account_type: str
    created_ms: int
    placed_at: float
    due: float
    leverage: Decimal
    initial_price: Decimal
    lower_price: Decimal
    upper_price: Decimal
    status: str = "Pending"
    updated_ms: int = 0
    position_id: str | None = None
    est_redeem_amount: Decimal | None = None
    slippage_protected: bool = False
    settlement_ms: int | None = None
    settlement_price: Decimal | None = None
    pnl: Decimal | None = None
    refund_status: str = ""


@attrs.define
class SimDoubleWinPosition:
    """What a confirmed stake holds until ``settlement_ms``: Active, Redeeming while a redeem
    is pending, Settled once paid (and no longer listed)."""

    position_id: str
    uid: str
    product_id: str
    order_id: str
    amount: Decimal
    leverage: Decimal
    initial_price: Decimal
    lower_price: Decimal
    upper_price: Decimal
    account_type: str
    created_ms: int
    settlement_ms: int
    status: str = "Active"


def default_double_win_products() -> list[SimDoubleWinProduct]:
    """The docs' two examples: 14084 (BTC 1d, fixed range +-200) and 14092 (BTC 2d, RFQ,
    tick 500, deviation 1 % to 15 %)."""
    return [
        SimDoubleWinProduct("14084", "BTC", "1d", is_rfq=False),
        SimDoubleWinProduct("14092", "BTC", "2d", is_rfq=True),
    ]
