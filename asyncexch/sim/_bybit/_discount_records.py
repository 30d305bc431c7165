"""The Bybit simulator's DiscountBuy records: products, offers, orders and positions."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = [
    "DISCOUNT_BUY",
    "SimDiscountBuyOffer",
    "SimDiscountBuyOrder",
    "SimDiscountBuyPosition",
    "SimDiscountBuyProduct",
    "default_discount_buy_products",
]

DISCOUNT_BUY = "DiscountBuy"
BASE = "Base"
QUOTE = "Quote"


@attrs.define
class SimDiscountBuyProduct:
    """A DiscountBuy product: stakes in ``coin`` (USDT) on ``underlying_asset`` for a term,
    at least ``min_purchase_amount`` on ``precision`` decimal places, while
    ``remaining_amount`` lasts; and how its market maker quotes it: a purchase price
    ``discount`` (a fraction) below the market and a knock-out price ``knockout_gap`` above
    it, both on ``price_tick``, a coupon of ``coupon_e8`` (annualised, times 10^8), up to
    ``max_investment_amount`` a stake.

    ``expires``: offers expire after the exchange's quote lifetime, or never (``expiredAt``
    ``"0"``). ``json_numbers``: ``instUid`` and ``knockoutCouponE8`` written as JSON numbers
    (Bybit's MCP server and skill) rather than strings (the docs).
    """

    product_id: str
    underlying_asset: str
    duration: str
    min_purchase_amount: Decimal
    remaining_amount: Decimal
    precision: int = 4
    #: Decimal places of the underlying an exercised ``Base`` stake receives.
    underlying_precision: int = 8
    price_tick: Decimal = Decimal("1")
    discount: Decimal = Decimal("0.0067")
    knockout_gap: Decimal = Decimal("0.02")
    coupon_e8: int = 1_000_000
    max_investment_amount: Decimal = Decimal("100000")
    inst_uid: str = "100307526"
    expires: bool = True
    json_numbers: bool = False
    is_vip: bool = False
    coin: str = "USDT"


@attrs.frozen
class SimDiscountBuyOffer:
    """An offer the simulator quoted: a stake naming exactly these values (``current_price``
    as its ``initialPrice``) is accepted until ``expire_ms`` (the exchange's clock; ``None``:
    for ever), up to ``max_investment_amount``."""

    product_id: str
    current_price: Decimal
    purchase_price: Decimal
    knockout_price: Decimal
    coupon_e8: int
    max_investment_amount: Decimal
    inst_uid: str
    expire_ms: int | None


@attrs.define
class SimDiscountBuyOrder:
    """A DiscountBuy stake: Pending, then Success once its position opens (or Fail, refunded:
    ``refund_status`` REFUNDING then REFUND_DONE), Settled when the position pays out
    (``outcome`` ``KnockedOut``, ``Exercised`` or ``Returned``)."""

    order_id: str
    order_link_id: str
    uid: str
    product_id: str
    amount: Decimal
    settle_type: str
    initial_price: Decimal
    purchase_price: Decimal
    knockout_price: Decimal
    coupon_e8: int
    #: The market maker whose offer it took.
    inst_uid: str
    account_type: str
    created_ms: int
    placed_at: float
    due: float
    status: str = "Pending"
    position_id: str | None = None
    settlement_ms: int | None = None
    settlement_price: Decimal | None = None
    settlement_coin: str = ""
    settlement_amount: Decimal | None = None
    outcome: str = ""
    refund_status: str = ""
    #: Monotonic time the refund of a failed stake completes.
    refund_due: float | None = None


@attrs.define
class SimDiscountBuyPosition:
    """What a confirmed stake holds: Active until ``settlement_ms``, Settling until it pays
    out at ``receive_ms``, then Settled (and no longer listed)."""

    position_id: str
    uid: str
    product_id: str
    order_id: str
    amount: Decimal
    purchase_price: Decimal
    knockout_price: Decimal
    coupon_e8: int
    settle_type: str
    account_type: str
    yield_start_ms: int
    settlement_ms: int
    receive_ms: int
    status: str = "Active"


def default_discount_buy_products() -> list[SimDiscountBuyProduct]:
    """The docs' two example products (7037 BTC 1d; 7038, its VIP twin, here quoted without
    expiry) and an ETH one quoted with JSON numbers, as Bybit's MCP server writes them."""
    return [
        SimDiscountBuyProduct("7037", "BTC", "1d", Decimal("100"), Decimal("9998547.575")),
        SimDiscountBuyProduct(
            "7038", "BTC", "1d", Decimal("100"), Decimal("10000000"), expires=False, is_vip=True
        ),
        SimDiscountBuyProduct(
            "7039",
            "ETH",
            "3d",
            Decimal("50"),
            Decimal("5000000"),
            price_tick=Decimal("0.5"),
            coupon_e8=2_000_000,
            inst_uid="1001",
            json_numbers=True,
        ),
    ]
