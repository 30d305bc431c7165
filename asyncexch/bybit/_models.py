"""Bybit Advance Earn (SmartLeverage) requests and results.

Requests validate on construction and raise :class:`~asyncexch.InvalidRequest` naming the
field, so a bad order never leaves the process. Each order gets its ``order_link_id`` when it
is built; every retry of it, and every later placement of the same object, reuses it.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from .._clock import Clock, SystemClock
from .._ids import is_valid_order_link_id, new_order_link_id
from ..errors import InvalidRequest

__all__ = [
    "AccountType",
    "Direction",
    "OrderAck",
    "OrderInfo",
    "OrderStatus",
    "OrderType",
    "Page",
    "Position",
    "PositionStatus",
    "Product",
    "Quote",
    "RedeemEstimate",
    "RedeemOrder",
    "ServerTime",
    "StakeOrder",
]

CATEGORY = "SmartLeverage"
T = TypeVar("T")


class _OpenEnum(str, enum.Enum):
    """A string enum that keeps values it does not know instead of failing.

    Venues add values; an unknown one decodes to a member whose value is the string sent and
    whose :attr:`known` is false.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """Whether this value is one the library knows."""
        return self._value_ in type(self)._value2member_map_

    def __str__(self) -> str:
        return str(self.value)


class Direction(_OpenEnum):
    LONG = "Long"
    SHORT = "Short"


class OrderType(_OpenEnum):
    STAKE = "Stake"
    REDEEM = "Redeem"


class AccountType(_OpenEnum):
    FUND = "FUND"
    UNIFIED = "UNIFIED"


class OrderStatus(_OpenEnum):
    """Pending -> Success (position created) -> Settled; or Fail."""

    PENDING = "Pending"
    SUCCESS = "Success"
    SETTLED = "Settled"
    FAIL = "Fail"

    @property
    def is_terminal(self) -> bool:
        """Whether the order is done being placed (an unknown status is not)."""
        return self in (OrderStatus.SUCCESS, OrderStatus.SETTLED, OrderStatus.FAIL)


class PositionStatus(_OpenEnum):
    ACTIVE = "Active"
    REDEEMING = "Redeeming"
    SETTLED = "Settled"


# --- results ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Product:
    """A SmartLeverage product (``GET /v5/earn/advance/product``)."""

    category: str
    product_id: str
    invest_coin: str
    underlying_asset: str
    direction: Direction
    leverage: Decimal
    duration: str
    min_purchase_amount: Decimal
    remaining_amount: Decimal
    #: Decimal places allowed in an order's ``amount``.
    order_precision_digital: int
    subscribe_start_at: datetime | None = None
    subscribe_end_at: datetime | None = None
    settlement_time: datetime | None = None
    expect_receive_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Quote:
    """A product's quote (``GET /v5/earn/advance/product-extra-info``).

    ``breakeven_price``, ``expire_at`` and ``max_investment_amount`` are ``None`` when the
    product has no active quote; ``current_price`` is always there (use it as the order's
    ``initial_price``).
    """

    category: str
    product_id: str
    current_price: Decimal
    breakeven_price: Decimal | None = None
    expire_at: datetime | None = None
    max_investment_amount: Decimal | None = None


@attrs.frozen(kw_only=True)
class OrderAck:
    """The venue accepted the order (processing is asynchronous: see ``wait_for_order``)."""

    order_id: str
    order_link_id: str


@attrs.frozen(kw_only=True)
class OrderInfo:
    """An order's state (``GET /v5/earn/advance/order``)."""

    order_id: str
    order_link_id: str
    product_id: str
    order_type: OrderType
    amount: Decimal
    status: OrderStatus
    created_time: datetime
    category: str = CATEGORY
    duration: str = ""
    account_type: str = ""
    invest_coin: str = ""
    underlying_asset: str = ""
    direction: Direction | None = None
    leverage: Decimal | None = None
    breakeven_price: Decimal | None = None
    initial_price: Decimal | None = None
    settlement_time: datetime | None = None
    #: Only when the order failed: ``Processing`` / ``Processed``.
    refund_status: str = ""
    #: Only when settled.
    settlement_price: Decimal | None = None
    pnl: Decimal | None = None
    to_account_type: str = ""


@attrs.frozen(kw_only=True)
class Position:
    """A SmartLeverage position (``GET /v5/earn/advance/position``)."""

    position_id: str
    product_id: str
    amount: Decimal
    status: PositionStatus
    #: False when a redeem is pending, redemption is off, or settlement is < 60 min away.
    redeemable: bool
    category: str = CATEGORY
    invest_coin: str = ""
    duration: str = ""
    settlement_time: datetime | None = None
    account_type: str = ""
    order_id: str = ""
    underlying_asset: str = ""
    direction: Direction | None = None
    leverage: Decimal | None = None
    breakeven_price: Decimal | None = None
    initial_price: Decimal | None = None
    created_time: datetime | None = None
    order_link_id: str = ""


@attrs.frozen(kw_only=True)
class RedeemEstimate:
    """What redeeming a position would pay now; the venue honours it for 10 minutes.

    ``fetched_at`` is when the client received it (set by ``redeem_estimates``).
    """

    success: bool
    position_id: str
    est_redeem_amount: Decimal | None = None
    est_redeem_time: datetime | None = None
    slippage_rate: Decimal | None = None
    fetched_at: datetime | None = None
    #: The clock ``fetched_at`` was read from; ``from_estimate`` measures the age on it.
    clock: Clock | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a cursor-paged list; ``next_page_cursor`` is empty on the last page."""

    items: list[T] = attrs.field(metadata={"key": "list"})
    category: str = ""
    next_page_cursor: str = ""


@attrs.frozen(kw_only=True)
class EstimateList:
    items: list[RedeemEstimate] = attrs.field(metadata={"key": "list"})


@attrs.frozen(kw_only=True)
class ServerTime:
    """``GET /v5/market/time``."""

    time_second: int
    time_nano: int


# --- requests -----------------------------------------------------------------------------


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(attribute.name, f"must be a non-empty string, got {value!r}")


def _account(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in ("FUND", "UNIFIED"):
        raise InvalidRequest(attribute.name, f"must be 'FUND' or 'UNIFIED', got {value!r}")


def _positive_decimal(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.default is None:
        return
    if not isinstance(value, Decimal):
        raise InvalidRequest(
            attribute.name, f"must be a decimal.Decimal (never a float), got {value!r}"
        )
    if not value.is_finite() or value <= 0:
        raise InvalidRequest(attribute.name, f"must be a finite amount > 0, got {value}")


def _plain(value: Decimal) -> str:
    """A decimal as Bybit reads it: plain notation, never an exponent or a float."""
    return format(value, "f")


def _link_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not is_valid_order_link_id(value):
        raise InvalidRequest(
            attribute.name, f"must be 1-36 characters of [A-Za-z0-9_-], got {value!r}"
        )


@attrs.frozen(kw_only=True)
class StakeOrder:
    """Subscribe to a SmartLeverage product.

    Take ``initial_price`` from the quote's ``current_price`` (the venue refuses the order
    with 180030 if the market is more than 5% away from it) and ``breakeven_price`` from the
    quote's ``breakeven_price``.
    """

    order_type: ClassVar[OrderType] = OrderType.STAKE

    product_id: str = attrs.field(validator=_text)
    coin: str = attrs.field(validator=_text)
    amount: Decimal = attrs.field(validator=_positive_decimal)
    initial_price: Decimal = attrs.field(validator=_positive_decimal)
    breakeven_price: Decimal = attrs.field(validator=_positive_decimal)
    account_type: str = attrs.field(default="FUND", validator=_account)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_link_id)

    def to_params(self) -> dict[str, object]:
        """The request body, in the documented field order, decimals written as Bybit reads them."""
        return {
            "category": CATEGORY,
            "productId": self.product_id,
            "coin": self.coin,
            "orderType": self.order_type.value,
            "amount": _plain(self.amount),
            "accountType": self.account_type,
            "orderLinkId": self.order_link_id,
            "smartLeverageStakeExtra": {
                "initialPrice": _plain(self.initial_price),
                "breakevenPrice": _plain(self.breakeven_price),
            },
        }


@attrs.frozen(kw_only=True)
class RedeemOrder:
    """Redeem a SmartLeverage position early.

    Build it with :meth:`from_estimate` from a fresh :class:`RedeemEstimate`. ``amount`` and
    ``coin`` are optional: the documentation does not need them for redeems, but some accounts'
    servers ask for the originally staked ``amount``.
    """

    order_type: ClassVar[OrderType] = OrderType.REDEEM

    product_id: str = attrs.field(validator=_text)
    position_id: str = attrs.field(validator=_text)
    est_redeem_amount: Decimal = attrs.field(validator=_positive_decimal)
    is_slippage_protected: bool = attrs.field(default=False)
    account_type: str = attrs.field(default="FUND", validator=_account)
    amount: Decimal | None = attrs.field(default=None, validator=_positive_decimal)
    coin: str | None = attrs.field(default=None)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_link_id)

    @is_slippage_protected.validator
    def _check_flag(self, attribute: attrs.Attribute[bool], value: object) -> None:
        if not isinstance(value, bool):
            raise InvalidRequest(attribute.name, f"must be a bool, got {value!r}")

    @coin.validator
    def _check_coin(self, attribute: attrs.Attribute[str | None], value: object) -> None:
        if value is not None:
            _text(self, attribute, value)

    @classmethod
    def from_estimate(
        cls,
        estimate: RedeemEstimate,
        *,
        product_id: str,
        account_type: str = "FUND",
        is_slippage_protected: bool = False,
        amount: Decimal | None = None,
        coin: str | None = None,
        now: datetime | None = None,
        max_age: timedelta = timedelta(minutes=10),
        order_link_id: str | None = None,
    ) -> RedeemOrder:
        """A redeem of ``estimate``'s position at its estimated amount.

        Refuses (``InvalidRequest`` on ``estimate``) an estimate that failed, has no amount,
        has no fetch time, or is older than ``max_age`` at ``now`` (default: the time on the
        clock of the client that fetched it): the venue only honours estimates for 10 minutes.
        """
        if not estimate.success:
            raise InvalidRequest("estimate", f"position {estimate.position_id}: estimate failed")
        if estimate.est_redeem_amount is None:
            raise InvalidRequest("estimate", "has no estimated redeem amount")
        if estimate.fetched_at is None:
            raise InvalidRequest("estimate", "has no fetch time; get it from redeem_estimates")
        if now is None:
            clock = estimate.clock or SystemClock()
            now = datetime.fromtimestamp(clock.time(), timezone.utc)
        age = now - estimate.fetched_at
        if age > max_age:
            raise InvalidRequest(
                "estimate",
                f"is {age.total_seconds():.0f} s old; the venue honours estimates for "
                f"{max_age.total_seconds():.0f} s: fetch a new one",
            )
        extra: dict[str, Any] = {} if order_link_id is None else {"order_link_id": order_link_id}
        return cls(
            product_id=product_id,
            position_id=estimate.position_id,
            est_redeem_amount=estimate.est_redeem_amount,
            is_slippage_protected=is_slippage_protected,
            account_type=account_type,
            amount=amount,
            coin=coin,
            **extra,
        )

    def to_params(self) -> dict[str, object]:
        """The request body, in the documented field order, decimals written as Bybit reads them."""
        params: dict[str, object] = {
            "category": CATEGORY,
            "productId": self.product_id,
            "orderType": self.order_type.value,
        }
        if self.amount is not None:
            params["amount"] = _plain(self.amount)
        if self.coin is not None:
            params["coin"] = self.coin
        params["accountType"] = self.account_type
        params["orderLinkId"] = self.order_link_id
        params["smartLeverageRedeemExtra"] = {
            "positionId": self.position_id,
            "estRedeemAmount": _plain(self.est_redeem_amount),
            "isSlippageProtected": self.is_slippage_protected,
        }
        return params
