"""The ChainUP simulator's records: contracts, accounts, orders, trades, positions, statistics.

Plain attrs classes the engine books into and the HTTP layer renders; the venue's integer
codes for order types, sides of a position and statuses are named here once.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import attrs

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "CLOSE",
    "FILLED",
    "FINISHED",
    "ISOLATED",
    "LIMIT",
    "MAKER_UID",
    "MARKET",
    "NEW",
    "OPEN",
    "PARTIAL",
    "PARTIAL_CANCELLED",
    "ChainupAccount",
    "ChainupContract",
    "ChainupOrder",
    "ChainupPosition",
    "ChainupStats",
    "ChainupTrade",
    "default_contracts",
]

#: Order types (``orderType``).
LIMIT, MARKET = 1, 2
#: Opening or closing (``closeType``).
OPEN, CLOSE = 0, 1
#: Isolated margin (``copType``; 1, cross margin, the venue does not support).
ISOLATED = 2
#: Order statuses: initial, new, filled, partially filled, cancelled, pending cancel,
#: abnormal, partially filled then cancelled.
NEW, FILLED, PARTIAL, CANCELLED, PARTIAL_CANCELLED = 1, 2, 3, 4, 7
ACTIVE = frozenset({0, NEW, PARTIAL, 5})
FINISHED = frozenset({FILLED, CANCELLED, 6, PARTIAL_CANCELLED})
#: The uid the simulated market maker trades under.
MAKER_UID = 10000


@attrs.define
class ChainupContract:
    """One contract of ``contract_public_info``; ``id`` is the ``contractId`` of requests."""

    id: int
    symbol: str
    contract_name: str
    base_symbol: str
    multiplier: Decimal
    price_precision: int
    quote_symbol: str = "USDT"
    contract_type: int = 0
    fee_rate_maker: Decimal = Decimal("0.0002")
    fee_rate_taker: Decimal = Decimal("0.0006")
    hold_rate: Decimal = Decimal("0.005")
    lever_types: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50, 100)
    min_order_volume: int = 1
    max_order_volume: int = 1_000_000
    min_margin: Decimal = Decimal("0.01")
    #: 1 tradable, 2 awaiting settlement, 3 settling (orders get 111), 4 settled.
    status: int = 1
    settle_time: str = "2093-02-05 00:00:00"
    #: A small constant gap between the index and the last price.
    index_basis: Decimal = Decimal("0.0000731")

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_precision)


@attrs.define
class ChainupAccount:
    """One API key: its secret, a uid and its wallet balance per margin coin.

    A balance includes the margin of positions and the amount frozen by open orders; what is
    free to use is :meth:`ChainupSimulator.available`.
    """

    api_key: str
    uid: int
    secret: str = attrs.field(repr=False)
    balances: dict[str, Decimal] = attrs.Factory(dict)


@attrs.define
class ChainupTrade:
    """One fill of an order against the simulated market maker."""

    trade_id: int
    price: Decimal
    volume: int
    fee: Decimal
    taker: bool
    created_ms: int


@attrs.define
class ChainupOrder:
    """An order as placed: ``params`` holds the request's parameters exactly as received."""

    order_id: int
    api_key: str
    uid: int
    contract_id: int
    side: str
    order_type: int
    volume: int
    #: The price sent: a limit order's limit; a market order's is kept and shown, not used.
    price: Decimal | None
    level: int
    cop_type: int
    close_type: int
    position_id: int | None
    params: dict[str, str]
    created_ms: int
    placed_at: float
    #: When the order may fill (``placed_at`` plus the simulator's ``fill_delay``).
    due: float
    #: Whether it takes liquidity (fills at the last price, taker fee) or rests (maker).
    taker: bool
    status: int = NEW
    deal_volume: int = 0
    deal_value: Decimal = Decimal(0)
    realized_amount: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    freeze_margin: Decimal = Decimal(0)
    freeze_fee: Decimal = Decimal(0)
    trades: list[ChainupTrade] = attrs.Factory(list)

    @property
    def action(self) -> str:
        return "CLOSE" if self.close_type == CLOSE else "OPEN"

    @property
    def remaining(self) -> int:
        return self.volume - self.deal_volume

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def avg_price(self) -> Decimal:
        return self.deal_value / self.deal_volume if self.deal_volume else Decimal(0)

    @property
    def freeze_amount(self) -> Decimal:
        return self.freeze_margin + self.freeze_fee


@attrs.define
class ChainupPosition:
    """An isolated position; ``volume`` 0 means closed (it stays here, out of the answers)."""

    position_id: int
    api_key: str
    contract_id: int
    side: str
    leverage: int
    created_ms: int
    volume: int = 0
    avg_price: Decimal = Decimal(0)
    margin: Decimal = Decimal(0)
    realised: Decimal = Decimal(0)

    @property
    def open(self) -> bool:
        return self.volume > 0


@attrs.define
class ChainupStats:
    """What the exchange saw. ``rejections`` counts refusals by code (``"119"``, ``"100005"``,
    ...); ``faults`` the injected faults by kind; ``arrivals`` the arrival times (server
    monotonic seconds) of every request by endpoint."""

    requests: Counter[str] = attrs.Factory(Counter)
    rejections: Counter[str] = attrs.Factory(Counter)
    faults: Counter[str] = attrs.Factory(Counter)
    arrivals: dict[str, list[float]] = attrs.Factory(dict)

    @property
    def rate_limit_rejections(self) -> int:
        """Requests refused with 119."""
        return self.rejections["119"]


def default_contracts() -> list[ChainupContract]:
    return [
        ChainupContract(1, "E_BTCUSD", "BitCoin", "BTC", Decimal("0.001"), 1),
        ChainupContract(
            2,
            "E_ETHUSD",
            "Ethereum",
            "ETH",
            Decimal("0.01"),
            2,
            fee_rate_maker=Decimal("-0.00025"),
            fee_rate_taker=Decimal("0.00075"),
            lever_types=(1, 2, 3, 5, 10, 20, 50),
            index_basis=Decimal("-0.0000417"),
        ),
    ]
