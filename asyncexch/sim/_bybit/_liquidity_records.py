"""The Bybit simulator's Liquidity Mining records: pools, orders, positions, yield and
liquidation records."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = [
    "SimLiquidationRecord",
    "SimLiquidityOrder",
    "SimLiquidityPosition",
    "SimLiquidityProduct",
    "SimYieldRecord",
    "default_liquidity_products",
]


@attrs.define
class SimLiquidityProduct:
    """A pool of ``base_coin``/``quote_coin``: its limits (amounts in each coin, decimal
    places), its leverage cap, the smallest removal and reinvestment (quote coin), and the
    APY (times 10^8) its positions earn on their principal value."""

    product_id: str
    base_coin: str
    quote_coin: str
    max_leverage: int = 3
    min_investment_quote: Decimal = Decimal("1")
    min_investment_base: Decimal = Decimal("0.01")
    max_investment_quote: Decimal = Decimal("150000")
    max_investment_base: Decimal = Decimal("50")
    min_withdrawal_amount: Decimal = Decimal("20")
    min_reinvest_amount: Decimal = Decimal("10")
    base_precision: int = 8
    quote_precision: int = 4
    apy_e8: int = 13_714_946
    status: str = "Available"

    def precision(self, coin: str) -> int:
        return self.quote_precision if coin == self.quote_coin else self.base_precision


@attrs.define
class SimLiquidityOrder:
    """An order: Processing until ``due``, then Success or Fail. ``position_id`` is the
    position it acts on (an addition's once it opened one); Bybit does not show it."""

    order_id: str
    order_link_id: str
    uid: str
    product_id: str
    order_type: str
    created_ms: int
    placed_at: float
    due: float
    position_id: str = ""
    quote_amount: Decimal = Decimal(0)
    base_amount: Decimal = Decimal(0)
    leverage: Decimal = Decimal(1)
    remove_rate: int = 0
    remove_type: str = "Normal"
    status: str = "Processing"
    slippage_value: Decimal | None = None


@attrs.define
class SimLiquidityPosition:
    """A position: its principal (what was put in, valued in the quote coin at ``entry_price``)
    times its leverage is in the pool; ``loan`` is the borrowed rest. The pool's value moves
    with the square root of the price (a constant-product pool)."""

    position_id: str
    uid: str
    product_id: str
    principal_quote: Decimal
    principal_base: Decimal
    #: The principal's value in the quote coin when it went in.
    principal_value: Decimal
    leverage: Decimal
    loan: Decimal
    entry_price: Decimal
    created_ms: int
    margin: Decimal = Decimal(0)
    claimable_yield: Decimal = Decimal(0)
    #: Monotonic seconds up to which yield has accrued.
    accrued_to: float = 0.0
    status: str = "Active"
    #: When a liquidating position closes (monotonic seconds).
    liquidation_due: float | None = None
    closed: bool = False

    @property
    def pooled_value(self) -> Decimal:
        """The value the position put in the pool (principal times leverage)."""
        return self.principal_value * self.leverage


@attrs.frozen
class SimYieldRecord:
    uid: str
    coin: str
    amount: Decimal
    base_coin: str
    quote_coin: str
    kind: str
    created_ms: int
    status: str = "Complete"


@attrs.frozen
class SimLiquidationRecord:
    uid: str
    base_coin: str
    quote_coin: str
    base_amount: Decimal
    quote_amount: Decimal
    liquidation_price: Decimal
    liquidation_ms: int


def default_liquidity_products() -> list[SimLiquidityProduct]:
    """The docs' ETH/USDT pool (product 5, leverage up to 3) and a BTC/USDT one (36)."""
    return [
        SimLiquidityProduct("5", "ETH", "USDT"),
        SimLiquidityProduct(
            "36",
            "BTC",
            "USDT",
            min_investment_base=Decimal("0.0001"),
            max_investment_base=Decimal("5"),
            apy_e8=338_344_880,
        ),
    ]
