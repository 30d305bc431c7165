"""Bybit Liquidity Mining (``/v5/earn/liquidity-mining/*``): products, orders, positions,
yield and liquidation records, as the venue writes them.

A position provides liquidity to a pool of two coins, optionally with leverage: the quote
coin beyond the principal is a ``loan``, ``margin`` added to a position keeps it from the
``liquidation_price``. The requests are in ``_liquidity_mining_orders``.

Bybit's docs type ``apyE8``/``apy7dE8`` as integers and write them as strings in the example,
``maxLeverage`` and the precisions as JSON numbers, ``removeRate`` as a JSON number: every
integer here is read from a string or a number alike. The product example carries an
undocumented ``slippage_levels`` (snake case) next to the documented ``slippageRateE8List``:
both are read.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

import attrs

from .._convert import LOCAL
from .._enums import OpenStrEnum
from ._models import ProductStatus

__all__ = [
    "ApyShare",
    "LiquidationRecord",
    "LiquidityMiningAck",
    "LiquidityMiningOrderInfo",
    "LiquidityMiningPosition",
    "LiquidityMiningProduct",
    "LiquidityOrderStatus",
    "LiquidityOrderType",
    "LiquidityPositionStatus",
    "RemoveType",
    "YieldRecord",
    "YieldStatus",
    "YieldType",
]

T = TypeVar("T")
_E8 = 8


class LiquidityOrderType(OpenStrEnum):
    """What a Liquidity Mining order does (claiming interest makes no order)."""

    ADD_LIQUIDITY = "AddLiquidity"
    REMOVE_LIQUIDITY = "RemoveLiquidity"
    REINVEST = "Reinvest"
    ADD_MARGIN = "AddMargin"


class LiquidityOrderStatus(OpenStrEnum):
    """Processing -> Success or Fail. ``Pending`` is named by Bybit's MCP server and skill
    only (the docs list Processing, Success, Fail); it is not final either."""

    PROCESSING = "Processing"
    PENDING = "Pending"
    SUCCESS = "Success"
    FAIL = "Fail"

    @property
    def is_terminal(self) -> bool:
        """Whether the order is done (an unknown status is not)."""
        return self in (LiquidityOrderStatus.SUCCESS, LiquidityOrderStatus.FAIL)


class RemoveType(OpenStrEnum):
    """How removed liquidity is paid: both coins in proportion (Normal), or one coin."""

    NORMAL = "Normal"
    SINGLE_QUOTE_COIN = "SingleQuoteCoin"
    SINGLE_BASE_COIN = "SingleBaseCoin"


class LiquidityPositionStatus(OpenStrEnum):
    ACTIVE = "Active"
    LIQUIDATING = "Liquidating"


class YieldType(OpenStrEnum):
    """How yield was paid out: claimed (Manual), or with a removal."""

    MANUAL = "Manual"
    REMOVE_LIQUIDITY = "RemoveLiquidity"


class YieldStatus(OpenStrEnum):
    COMPLETE = "Complete"
    PROCESSING = "Processing"


@attrs.frozen(kw_only=True)
class ApyShare:
    """One coin's part of a product's APY."""

    coin: str
    apy: Decimal


@attrs.frozen(kw_only=True)
class LiquidityMiningProduct:
    """A pool (``GET /v5/earn/liquidity-mining/product``): its pair, limits and yield."""

    product_id: str
    base_coin: str
    quote_coin: str
    status: ProductStatus
    max_leverage: int
    min_investment_quote: Decimal
    min_investment_base: Decimal
    max_investment_quote: Decimal
    max_investment_base: Decimal
    #: The smallest removal, in the quote coin.
    min_withdrawal_amount: Decimal
    #: The smallest reinvestment of yield, in the quote coin.
    min_reinvest_amount: Decimal
    #: Decimal places of amounts in each coin.
    base_coin_precision: int
    quote_coin_precision: int
    yield_coins: list[str] = attrs.Factory(list)
    #: The APY (times 10^8) now, and over 7 days.
    apy_e8: int = 0
    apy7d_e8: int = 0
    pool_liquidity_value: Decimal | None = None
    daily_yield: Decimal | None = None
    #: Slippage per tier, times 10^8.
    slippage_rate_e8_list: list[int] = attrs.Factory(list)
    #: The tiers' bounds: only in the docs' example (``slippage_levels``), undocumented.
    slippage_levels: list[Decimal] = attrs.field(factory=list, metadata={"key": "slippage_levels"})
    apy_breakdown: list[ApyShare] = attrs.Factory(list)
    apy7d_breakdown: list[ApyShare] = attrs.Factory(list)

    @property
    def apy(self) -> Decimal:
        """The APY as a fraction (``apy_e8`` / 10^8), exactly."""
        return Decimal(self.apy_e8).scaleb(-_E8)


@attrs.frozen(kw_only=True)
class LiquidityMiningAck:
    """The venue accepted a Liquidity Mining order; it is processed asynchronously (see
    ``liquidity_mining.wait_for_order``)."""

    order_id: str
    order_link_id: str
    #: What the order does (set by the client from the request).
    order_type: LiquidityOrderType | None = attrs.field(default=None, metadata=LOCAL)


@attrs.frozen(kw_only=True)
class LiquidityMiningOrderInfo:
    """A Liquidity Mining order's state (``GET /v5/earn/liquidity-mining/order``).

    Bybit names no position on an order. ``remove_type`` and ``remove_rate`` are a removal's
    (the docs' example shows ``Normal`` and ``0`` on an addition), ``leverage`` and
    ``slippage_value`` an addition's.
    """

    order_id: str
    order_link_id: str
    product_id: str
    order_type: LiquidityOrderType
    status: LiquidityOrderStatus
    created_time: datetime
    base_coin: str = ""
    quote_coin: str = ""
    quote_amount: Decimal | None = None
    base_amount: Decimal | None = None
    remove_type: RemoveType | None = None
    remove_rate: int = 0
    leverage: Decimal | None = None
    slippage_value: Decimal | None = None


@attrs.frozen(kw_only=True)
class LiquidityMiningPosition:
    """An active position (``GET /v5/earn/liquidity-mining/position``), its amounts as the
    venue computes them now.

    ``loan`` is the borrowed quote coin of a leveraged position and ``margin`` what was added
    to it; the position is liquidated when the base coin's price reaches
    ``liquidation_price``.
    """

    position_id: str
    product_id: str
    base_coin: str
    quote_coin: str
    quote_amount: Decimal
    base_amount: Decimal
    status: LiquidityPositionStatus
    principal_quote_amount: Decimal | None = None
    principal_base_amount: Decimal | None = None
    principal_liquidity_value: Decimal | None = None
    leveraged_value: Decimal | None = None
    loan: Decimal = Decimal(0)
    claimable_yield: Decimal = Decimal(0)
    #: The current APR times 10^8 (``currentApr`` on the wire).
    current_apr_e8: int = attrs.field(default=0, metadata={"key": "currentApr"})
    leverage: Decimal | None = None
    margin: Decimal = Decimal(0)
    liquidation_price: Decimal | None = None
    #: The base coin's price now.
    current_price_y: Decimal | None = None
    created_time: datetime | None = None

    @property
    def current_apr(self) -> Decimal:
        """The APR as a fraction (``current_apr_e8`` / 10^8), exactly."""
        return Decimal(self.current_apr_e8).scaleb(-_E8)


@attrs.frozen(kw_only=True)
class YieldRecord:
    """Yield paid out (``GET /v5/earn/liquidity-mining/yield-records``)."""

    coin: str
    amount: Decimal
    base_coin: str
    quote_coin: str
    yield_type: YieldType = attrs.field(metadata={"key": "type"})
    status: YieldStatus
    created_time: datetime


@attrs.frozen(kw_only=True)
class LiquidationRecord:
    """A liquidation (``GET /v5/earn/liquidity-mining/liquidation-records``)."""

    base_coin: str
    quote_coin: str
    base_amount: Decimal
    quote_amount: Decimal
    liquidation_price: Decimal
    liquidation_time: datetime


# --- the answers' envelopes ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ProductList:
    items: list[LiquidityMiningProduct] = attrs.field(metadata={"key": "products"})


@attrs.frozen(kw_only=True)
class OrderPage:
    items: list[LiquidityMiningOrderInfo] = attrs.field(metadata={"key": "orders"})
    next_page_cursor: str = ""


@attrs.frozen(kw_only=True)
class PositionList:
    items: list[LiquidityMiningPosition] = attrs.field(metadata={"key": "positions"})


@attrs.frozen(kw_only=True)
class RecordPage(Generic[T]):
    items: list[T] = attrs.field(metadata={"key": "records"})
    next_page_cursor: str = ""


@attrs.frozen(kw_only=True)
class Claimed:
    """Claim-interest's answer: ``result: {}``."""
