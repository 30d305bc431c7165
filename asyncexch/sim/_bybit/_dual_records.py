"""The Bybit simulator's DualAssets records: products, offers, orders and positions."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = [
    "DUAL_ASSETS",
    "SimDualAssetsOffer",
    "SimDualAssetsOrder",
    "SimDualAssetsPosition",
    "SimDualAssetsProduct",
    "default_dual_assets_products",
]

DUAL_ASSETS = "DualAssets"
BUY_LOW = "BuyLow"
SELL_HIGH = "SellHigh"


@attrs.define
class SimDualAssetsProduct:
    """A DualAssets product: a pair and a term, the minimum, precision and quota of each
    direction (BuyLow amounts in the quote coin, SellHigh amounts in the base coin), and how
    its quotes are laid out: target prices on multiples of ``price_tick``, ``steps`` of them
    each side, ``step`` (a fraction of the market) apart, paying ``apy_e8`` near the market
    and less further away."""

    product_id: str
    base_coin: str
    quote_coin: str
    duration: str
    min_quote_amount: Decimal
    min_base_amount: Decimal
    remaining_quote: Decimal
    remaining_base: Decimal
    precision_quote: int = 4
    precision_base: int = 4
    price_tick: Decimal = Decimal("1")
    step: Decimal = Decimal("0.01")
    steps: int = 3
    apy_e8: int = 500_000_000
    #: The most one stake may invest at an offer, per direction.
    max_quote_investment: Decimal = Decimal("100000")
    max_base_investment: Decimal = Decimal("10")
    status: str = "Available"

    def invest_coin(self, direction: str) -> str:
        """The quote coin to buy low, the base coin to sell high."""
        return self.quote_coin if direction == BUY_LOW else self.base_coin

    def precision(self, coin: str) -> int:
        """Decimal places of amounts in ``coin`` (one of the pair)."""
        return self.precision_quote if coin == self.quote_coin else self.precision_base


@attrs.frozen
class SimDualAssetsOffer:
    """An offer the simulator quoted: a stake at ``select_price`` in ``direction`` with
    ``apy_e8`` is accepted until ``expire_ms`` (the exchange's clock), up to
    ``max_investment_amount``."""

    product_id: str
    direction: str
    select_price: Decimal
    apy_e8: int
    max_investment_amount: Decimal
    expire_ms: int


@attrs.define
class SimDualAssetsOrder:
    """A DualAssets stake: Pending, Success once its position opens, Settled when the
    position pays out (``settlement_coin``, ``settlement_amount``, ``settlement_price``)."""

    order_id: str
    order_link_id: str
    uid: str
    product_id: str
    direction: str
    coin: str
    amount: Decimal
    select_price: Decimal
    #: The order's ``apyE8``, and the live offer's it was accepted at (at least as high).
    apy_e8: int
    confirmed_apy_e8: int
    account_type: str
    created_ms: int
    placed_at: float
    due: float
    status: str = "Pending"
    updated_ms: int = 0
    position_id: str | None = None
    settlement_ms: int | None = None
    settlement_coin: str = ""
    settlement_amount: Decimal | None = None
    settlement_price: Decimal | None = None


@attrs.define
class SimDualAssetsPosition:
    """What a confirmed stake holds until ``settlement_ms``: Active, then Settled once paid
    out (and no longer listed)."""

    position_id: str
    uid: str
    product_id: str
    order_id: str
    direction: str
    coin: str
    amount: Decimal
    target_price: Decimal
    apy_e8: int
    account_type: str
    yield_start_ms: int
    settlement_ms: int
    status: str = "Active"


def default_dual_assets_products() -> list[SimDualAssetsProduct]:
    """The docs' two example products (36320 ETH-USDT 3d, 36340 XRP-USDT 1d) and a BTC one."""
    return [
        SimDualAssetsProduct(
            "36320",
            "ETH",
            "USDT",
            "3d",
            Decimal("10"),
            Decimal("0.005"),
            Decimal("1000000"),
            Decimal("300"),
            precision_base=3,
            price_tick=Decimal("5"),
        ),
        SimDualAssetsProduct(
            "36340",
            "XRP",
            "USDT",
            "1d",
            Decimal("10"),
            Decimal("10"),
            Decimal("1000000"),
            Decimal("10000"),
            precision_base=2,
            price_tick=Decimal("0.01"),
            max_base_investment=Decimal("5000"),
        ),
        SimDualAssetsProduct(
            "36360",
            "BTC",
            "USDT",
            "8h",
            Decimal("10"),
            Decimal("0.0002"),
            Decimal("2000000"),
            Decimal("20"),
            precision_base=5,
            price_tick=Decimal("50"),
            max_base_investment=Decimal("1"),
        ),
    ]
