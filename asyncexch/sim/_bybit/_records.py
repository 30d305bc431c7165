"""The Bybit simulator's records: products, quotes, accounts, orders, positions, statistics."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import attrs

__all__ = [
    "CATEGORY",
    "SimAccount",
    "SimOrder",
    "SimPosition",
    "SimProduct",
    "SimQuote",
    "SimStats",
    "default_products",
    "duration_ms",
]

CATEGORY = "SmartLeverage"
_DURATION = re.compile(r"([0-9]+)([dhms])")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000}


@attrs.define
class SimProduct:
    """A SmartLeverage product: what it tracks, which way and how hard, for how long, and how
    much of it is left to stake."""

    product_id: str
    underlying_asset: str
    direction: str
    leverage: Decimal
    duration: str
    min_purchase_amount: Decimal
    remaining_amount: Decimal
    order_precision_digital: int = 4
    invest_coin: str = "USDT"
    #: The most one order may stake at a quote (the quote's ``maxInvestmentAmount``).
    max_investment_amount: Decimal = Decimal("100000")


@attrs.frozen
class SimQuote:
    """A quote the simulator gave: a stake at its breakeven price is accepted until
    ``expire_ms`` (the exchange's clock), up to ``max_investment_amount``."""

    product_id: str
    current_price: Decimal
    breakeven_price: Decimal
    expire_ms: int
    max_investment_amount: Decimal


@attrs.define
class SimAccount:
    """One API key: its UID, its secret (HMAC) or public key (RSA), its balances."""

    api_key: str
    uid: str
    secret: str | None = attrs.field(default=None, repr=False)
    public_key_pem: str | None = attrs.field(default=None, repr=False)
    balances: dict[str, Decimal] = attrs.Factory(dict)


@attrs.define
class SimOrder:
    """A Stake or Redeem order: Pending until it settles (Success, Settled or Fail)."""

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
    status: str = "Pending"
    initial_price: Decimal | None = None
    breakeven_price: Decimal | None = None
    position_id: str | None = None
    #: A redeem's estimate and whether it is slippage-protected.
    est_redeem_amount: Decimal | None = None
    slippage_protected: bool = False
    settlement_price: Decimal | None = None
    pnl: Decimal | None = None
    refund_status: str = ""


@attrs.define
class SimPosition:
    """What a settled stake holds: Active, Redeeming while a redeem is pending, Settled once
    paid out."""

    position_id: str
    uid: str
    product_id: str
    order_id: str
    order_link_id: str
    amount: Decimal
    initial_price: Decimal
    breakeven_price: Decimal
    account_type: str
    created_ms: int
    #: When the position settles (the exchange's clock): its creation plus the duration.
    settlement_ms: int
    status: str = "Active"


@attrs.define
class SimStats:
    """What the exchange saw. ``rejections`` counts refusals by retCode (403 for the IP ban);
    ``faults`` the injected faults by kind; ``arrivals`` the arrival times (server monotonic
    seconds) of every request by endpoint."""

    requests: Counter[str] = attrs.Factory(Counter)
    rejections: Counter[int] = attrs.Factory(Counter)
    faults: Counter[str] = attrs.Factory(Counter)
    duplicates_refused: int = 0
    arrivals: dict[str, list[float]] = attrs.Factory(dict)

    @property
    def rate_limit_rejections(self) -> int:
        """Requests refused for breaking a rate limit (10006 and HTTP 403)."""
        return self.rejections[10006] + self.rejections[403]


def default_products() -> list[SimProduct]:
    return [
        SimProduct("13015", "BTC", "Short", Decimal("10"), "7d", Decimal("10"), Decimal("5000000")),
        SimProduct("13016", "BTC", "Long", Decimal("5"), "1d", Decimal("10"), Decimal("5000000")),
        SimProduct("13020", "ETH", "Long", Decimal("3"), "3d", Decimal("5"), Decimal("2000000")),
    ]


def duration_ms(duration: str) -> int:
    """A product's term (``"7d"``, ``"8h"``; and, for tests that cannot wait that long, the
    simulator's own ``"30m"`` and ``"5s"``) in milliseconds; a day when unreadable."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        return 86_400_000
    return int(match[1]) * _UNIT_MS[match[2]]
