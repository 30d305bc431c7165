"""ChainUP contract open-API v1 requests and results.

Wire values are small integers or upper-case words; the enums here carry both, and requests
accept a member, its name (``"LIMIT"``) or its wire value. Numbers arrive as JSON numbers or
strings, sometimes with many digits: every amount and price is an exact ``Decimal``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from .. import _validators as validators
from .._decimals import plain
from .._enums import OpenIntEnum, OpenStrEnum, known_member
from ..errors import InvalidRequest

__all__ = [
    "Balance",
    "CloseType",
    "Contract",
    "ContractOrder",
    "MarginMode",
    "OpenContract",
    "OrderCreated",
    "OrderDetail",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "TakeOrder",
    "Ticker",
    "Trade",
]


class Side(OpenStrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def wire(self) -> str:
        return self.value


class _WireNumber(OpenIntEnum):
    """A small integer sent as its decimal string; a value the venue sends that the library
    does not know is kept (``known`` is false), and refused in requests."""

    @property
    def wire(self) -> str:
        return str(self.value)


class OrderType(_WireNumber):
    """1 limit, 2 market; another value the venue sends is kept (``known`` is false)."""

    LIMIT = 1
    MARKET = 2


class CloseType(_WireNumber):
    """Whether an order opens (or adds to) a position or closes one."""

    OPEN = 0
    CLOSE = 1


class MarginMode(_WireNumber):
    """``copType``: cross (1) or isolated (2) margin. The published API says only isolated
    is supported now ("目前只支持逐仓"); the client refuses cross unless told otherwise."""

    CROSS = 1
    ISOLATED = 2


class OrderStatus(OpenIntEnum):
    """0 initial, 1 new, 2 filled, 3 partly filled, 4 cancelled, 5 cancelling, 6 abnormal,
    7 partly filled then cancelled. Unknown values are kept (``known`` is false)."""

    INITIAL = 0
    NEW = 1
    FILLED = 2
    PARTIALLY_FILLED = 3
    CANCELLED = 4
    PENDING_CANCEL = 5
    ABNORMAL = 6
    PARTIALLY_FILLED_CANCELLED = 7

    @property
    def is_final(self) -> bool:
        """Whether the order can no longer change (filled, cancelled or abnormal)."""
        return self in (
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.ABNORMAL,
            OrderStatus.PARTIALLY_FILLED_CANCELLED,
        )


# --- results ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Contract:
    """A contract's configuration (``contract_public_info``)."""

    id: int
    symbol: str
    contract_name: str = ""
    contract_type: int = 0
    base_symbol: str = ""
    quote_symbol: str = ""
    fee_rate_maker: Decimal | None = None
    fee_rate_taker: Decimal | None = None
    hold_rate: Decimal | None = None
    #: Allowed leverage levels, as sent: ``"1,2,3,5,10"``; see :attr:`leverage_levels`.
    lever_types: str = ""
    max_leverage_level: int | None = None
    min_order_volume: Decimal | None = None
    max_order_volume: Decimal | None = None
    min_margin: Decimal | None = None
    price_precision: int | None = None
    multiplier: Decimal | None = None
    status: int | None = None

    @property
    def leverage_levels(self) -> tuple[int, ...]:
        """The leverage levels the contract accepts (empty when the venue did not say)."""
        parts = (part.strip() for part in self.lever_types.split(","))
        return tuple(
            int(part) for part in parts if part.isascii() and part.isdigit() and len(part) <= 6
        )


@attrs.frozen(kw_only=True)
class PublicInfo:
    market: dict[str, Contract]


@attrs.frozen(kw_only=True)
class Ticker:
    """``market``: the contract's ticker."""

    last: Decimal
    high: Decimal | None = None
    low: Decimal | None = None
    vol: Decimal | None = None
    buy: Decimal | None = None
    sell: Decimal | None = None
    rose: Decimal | None = None
    index_price: Decimal | None = None
    tag_price: Decimal | None = None
    time: datetime | None = None


@attrs.frozen(kw_only=True)
class OrderCreated:
    """``take_order``'s answer: the venue's order id and the position's liquidation price."""

    order_id: int
    liquidation_price: Decimal | None = None


@attrs.frozen(kw_only=True)
class ContractOrder:
    """An order in ``order_list_v2``.

    The published item is ``orderId, contractId, side, type, volume, dealVolume, price,
    status, positionId, level``: no creation time and no open/close. Some deployments add
    ``action`` (``OPEN``/``CLOSE``), ``ctime`` (epoch milliseconds, or a
    ``"YYYY-MM-DD HH:MM:SS"`` string in the venue's timezone) and ``ctimeStr`` (milliseconds);
    :attr:`created_at` is whichever of them came.
    """

    order_id: int
    contract_id: int
    side: Side
    type: OrderType
    volume: Decimal
    status: OrderStatus
    deal_volume: Decimal = Decimal(0)
    price: Decimal | None = None
    position_id: int | None = None
    level: int | None = None
    #: ``OPEN`` or ``CLOSE``, when the venue says.
    action: str = ""
    ctime: datetime | None = None
    ctime_str: datetime | None = attrs.field(default=None, metadata={"key": "ctimeStr"})

    @property
    def created_at(self) -> datetime | None:
        """When the venue created the order, if the answer said (milliseconds preferred)."""
        return self.ctime_str if self.ctime_str is not None else self.ctime


@attrs.frozen(kw_only=True)
class OrderList:
    count: int
    order_list: list[ContractOrder]


@attrs.frozen(kw_only=True)
class Trade:
    id: int
    price: Decimal
    volume: Decimal


@attrs.frozen(kw_only=True)
class OrderDetail:
    """An order in ``order_info``, with its trades."""

    id: int
    side: Side
    type: OrderType
    volume: Decimal
    status: OrderStatus
    deal_volume: Decimal = Decimal(0)
    price: Decimal | None = None
    avg_price: Decimal | None = None
    realized_amount: Decimal | None = None
    freeze_amount: Decimal | None = None
    trade_list: list[Trade] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class Position:
    """An open position (``user_position``)."""

    id: int
    contract_id: int
    side: Side
    volume: Decimal
    symbol: str = ""
    avg_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    index_price: Decimal | None = None
    leverage_level: int | None = None
    used_margin: Decimal | None = None
    hold_amount: Decimal | None = None
    can_use_margin: Decimal | None = None
    realised_amount_curr: Decimal | None = None
    unrealised_amount_index: Decimal | None = None


@attrs.frozen(kw_only=True)
class PositionList:
    positions: list[Position] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class OpenContract:
    """A contract with an open position (``hold_contract_list``)."""

    contract_id: int
    side: Side
    volume: Decimal
    symbol: str = ""
    contract_name: str = ""
    avg_price: Decimal | None = None
    unrealised_amount: Decimal | None = None
    realised_amount: Decimal | None = None
    quote_symbol: str = ""


@attrs.frozen(kw_only=True)
class Balance:
    """One margin coin's balance (``account_balance``)."""

    quote_symbol: str
    margin: Decimal | None = None
    account_right: Decimal | None = None
    can_use_balance: Decimal | None = None
    position_margin: Decimal | None = None
    order_margin: Decimal | None = None
    unrealised_amount: Decimal | None = None
    open_position_fee: Decimal | None = None


# --- requests -----------------------------------------------------------------------------


def _side(value: object) -> Side:
    return known_member(Side, "side", value)


def _order_type(value: object) -> OrderType:
    return known_member(OrderType, "order_type", value)


def _close_type(value: object) -> CloseType:
    return known_member(CloseType, "close_type", value)


def _margin_mode(value: object) -> MarginMode:
    return known_member(MarginMode, "cop_type", value)


_WHOLE = validators.whole()


@attrs.frozen(kw_only=True)
class TakeOrder:
    """A contract order (``take_order``); validated when built.

    The venue has no client order id: a ``take_order`` whose outcome is unknown is never sent
    again; the client raises :class:`~asyncexch.OrderStatusUnknown` and
    :meth:`ChainupContractClient.reconcile` finds out whether it was placed.
    """

    contract_id: int = attrs.field(validator=_WHOLE)
    side: Side = attrs.field(converter=_side)
    #: Whole contracts (张).
    volume: Decimal = attrs.field(
        validator=[validators.positive_decimal(), validators.integral("contracts")]
    )
    order_type: OrderType = attrs.field(converter=_order_type)
    price: Decimal | None = attrs.field(
        default=None, validator=validators.optional(validators.positive_decimal())
    )
    close_type: CloseType = attrs.field(default=CloseType.OPEN, converter=_close_type)
    cop_type: MarginMode = attrs.field(default=MarginMode.ISOLATED, converter=_margin_mode)
    position_id: int | None = attrs.field(default=None, validator=validators.optional(_WHOLE))
    #: Leverage; the venue keeps the position's (or 1) when omitted.
    level: int | None = attrs.field(default=None, validator=validators.optional(_WHOLE))

    def __attrs_post_init__(self) -> None:
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise InvalidRequest("price", "a limit order needs a price")
        if self.close_type is CloseType.CLOSE and self.position_id is None:
            raise InvalidRequest("position_id", "a close order needs the position's id")

    def to_params(self) -> dict[str, str | None]:
        """The parameters as sent (strings), optional ones ``None`` when absent."""
        return {
            "contractId": str(self.contract_id),
            "volume": plain(self.volume.to_integral_value()),  # whole contracts: "2", not "2.0"
            "price": None if self.price is None else plain(self.price),
            "level": None if self.level is None else str(self.level),
            "orderType": self.order_type.wire,
            "copType": self.cop_type.wire,
            "closeType": self.close_type.wire,
            "positionId": None if self.position_id is None else str(self.position_id),
            "side": self.side.wire,
        }
