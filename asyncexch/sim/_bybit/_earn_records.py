"""The Bybit simulator's Earn records (``/v5/earn/*``: FlexibleSaving, OnChain): products,
orders and staked positions."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = [
    "FLEXIBLE_SAVING",
    "ON_CHAIN",
    "SimEarnOrder",
    "SimEarnPosition",
    "SimEarnProduct",
    "default_earn_products",
]

FLEXIBLE_SAVING = "FlexibleSaving"
ON_CHAIN = "OnChain"


@attrs.define
class SimEarnProduct:
    """An Earn product. ``apr`` is the yearly rate as a fraction (``0.03`` shows as
    ``"3%"``). OnChain: a stake confirms after ``stake_delay`` seconds, its position cannot
    be redeemed for ``lock`` seconds after that, and a redeem pays out ``redeem_delay``
    seconds after it is placed. FlexibleSaving orders confirm after the simulator's
    settlement delay."""

    category: str
    product_id: str
    coin: str
    min_stake: Decimal
    max_stake: Decimal
    precision: int = 8
    apr: Decimal = Decimal("0.03")
    status: str = "Available"
    duration: str = ""
    term_days: int = 0
    stake_delay: float = 0.0
    lock: float = 0.0
    redeem_delay: float = 0.0


@attrs.define
class SimEarnOrder:
    """A stake or redeem: Pending until ``due``, then Success (or Fail)."""

    order_id: str
    order_link_id: str
    uid: str
    category: str
    product_id: str
    coin: str
    order_type: str
    amount: Decimal
    created_ms: int
    placed_at: float
    due: float
    position_id: str
    status: str = "Pending"
    updated_ms: int = 0


@attrs.define
class SimEarnPosition:
    """A staked position. ``amount`` is staked (a pending redeem already taken out);
    ``frozen`` is locked elsewhere (``freezeDetails``); FlexibleSaving interest accrues
    simply on ``amount`` from ``accrued_ms`` on, into ``accrued`` at each change."""

    position_id: str
    uid: str
    category: str
    product_id: str
    coin: str
    amount: Decimal = Decimal(0)
    status: str = "Processing"
    order_id: str = ""
    accrued: Decimal = Decimal(0)
    accrued_ms: int = 0
    unlocks_at: float = 0.0
    frozen: dict[str, Decimal] = attrs.Factory(dict)

    @property
    def available(self) -> Decimal:
        """What may be redeemed now."""
        return max(self.amount - sum(self.frozen.values(), Decimal(0)), Decimal(0))


def default_earn_products() -> list[SimEarnProduct]:
    """The docs' FlexibleSaving BTC product (430), a FlexibleSaving USDT one, and an OnChain
    USDT product like the docs' order example (428), Fixed, with short delays."""
    return [
        SimEarnProduct(FLEXIBLE_SAVING, "430", "BTC", Decimal("0.001"), Decimal("10")),
        SimEarnProduct(
            FLEXIBLE_SAVING, "431", "USDT", Decimal("1"), Decimal("1000000"), 4, Decimal("0.05")
        ),
        SimEarnProduct(
            ON_CHAIN,
            "428",
            "USDT",
            Decimal("10"),
            Decimal("1000000"),
            4,
            Decimal("0.08"),
            duration="Fixed",
            term_days=1,
            stake_delay=3.0,
            lock=5.0,
            redeem_delay=3.0,
        ),
    ]
