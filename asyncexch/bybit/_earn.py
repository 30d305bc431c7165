"""Bybit Earn (``/v5/earn/*``, categories FlexibleSaving and OnChain): products, orders and
staked positions.

Read from Bybit's docs (``docs/v5/finance/earn/easy-onchain/*.mdx``). Where the table and the
example disagree, both are read: ``redeemProcessingMinute`` is a string in the table and a
JSON number in the example; ``term`` and ``rewardIntervalMinute`` are numbers. An order's
amount is ``orderValue`` on the wire. Statuses: orders Pending -> Success or Fail; OnChain
positions Processing -> Active.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from .._enums import OpenStrEnum, known_member
from ._models import OrderStatus, OrderType, ProductStatus

__all__ = [
    "BonusEvent",
    "EarnAck",
    "EarnCategory",
    "EarnOrderInfo",
    "EarnPosition",
    "EarnProduct",
    "FreezeDetail",
]


class EarnCategory(OpenStrEnum):
    """FlexibleSaving (redeem any time, interest accrues hourly) or OnChain (staked on a
    chain, FUND account only, with a lock or processing time)."""

    FLEXIBLE_SAVING = "FlexibleSaving"
    ON_CHAIN = "OnChain"


def as_category(value: EarnCategory | str) -> EarnCategory:
    """The known category ``value`` names; an ``InvalidRequest`` on ``category`` otherwise."""
    return known_member(EarnCategory, "category", value)


@attrs.frozen(kw_only=True)
class BonusEvent:
    """A bonus on top of a product's APR."""

    apr: str = ""
    coin: str = ""
    announcement: str = ""


@attrs.frozen(kw_only=True)
class EarnProduct:
    """An Earn product (``GET /v5/earn/product``). ``estimate_apr`` is Bybit's percent text
    (``"3%"``), updated every 10 minutes."""

    category: EarnCategory
    product_id: str
    coin: str
    estimate_apr: str
    min_stake_amount: Decimal
    max_stake_amount: Decimal
    #: Decimal places an amount may have.
    precision: int
    status: ProductStatus
    bonus_events: list[BonusEvent] = attrs.Factory(list)
    #: OnChain LST products only.
    min_redeem_amount: Decimal | None = None
    max_redeem_amount: Decimal | None = None
    #: ``Fixed`` or ``Flexible`` (OnChain).
    duration: str = ""
    #: Days, OnChain Fixed only.
    term: int = 0
    swap_coin: str = ""
    swap_coin_precision: str = ""
    stake_exchange_rate: Decimal | None = None
    redeem_exchange_rate: Decimal | None = None
    #: ``Simple``, ``Compound`` or ``Other`` (OnChain).
    reward_distribution_type: str = ""
    reward_interval_minute: int = 0
    redeem_processing_minute: int = 0
    stake_time: datetime | None = None
    interest_calculation_time: datetime | None = None


@attrs.frozen(kw_only=True)
class EarnAck:
    """Bybit accepted an Earn order (``POST /v5/earn/place-order``); it is processed
    asynchronously (see ``bybit.earn.wait_for_order``). ``category`` is the order's."""

    category: EarnCategory
    order_id: str
    order_link_id: str


@attrs.frozen(kw_only=True)
class EarnOrderInfo:
    """An Earn order's state (``GET /v5/earn/order``): Pending, then Success or Fail."""

    order_id: str
    order_link_id: str
    product_id: str
    coin: str
    order_type: OrderType
    #: What was staked or redeemed (``orderValue`` on the wire).
    amount: Decimal = attrs.field(metadata={"key": "orderValue"})
    status: OrderStatus
    created_at: datetime
    updated_at: datetime | None = None
    #: OnChain LST only.
    swap_order_value: Decimal | None = None
    estimate_redeem_time: datetime | None = None
    estimate_stake_time: datetime | None = None


@attrs.frozen(kw_only=True)
class FreezeDetail:
    """Part of a position that cannot be redeemed, and why (``"Locked in Fixed-Rate
    Loan"``)."""

    amount: Decimal
    description: str = ""


@attrs.frozen(kw_only=True)
class EarnPosition:
    """A staked position (``GET /v5/earn/position``). ``available_amount`` is what may be
    redeemed now: ``amount`` less what ``freeze_details`` hold."""

    coin: str
    product_id: str
    amount: Decimal
    #: The position id (OnChain; a non-LST OnChain redeem names it).
    position_id: str = attrs.field(default="", metadata={"key": "id"})
    available_amount: Decimal | None = None
    freeze_details: list[FreezeDetail] = attrs.Factory(list)
    #: OnChain non-LST.
    total_pnl: Decimal | None = None
    #: Interest accrued hourly and paid at 00:30 UTC (not OnChain).
    claimable_yield: Decimal | None = None
    #: ``Processing`` or ``Active`` (OnChain).
    status: str = ""
    order_id: str = ""
    estimate_redeem_time: datetime | None = None
    estimate_stake_time: datetime | None = None
    estimate_interest_calculation_time: datetime | None = None
    settlement_time: datetime | None = None
    auto_reinvest: str = ""
