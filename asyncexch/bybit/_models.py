"""Bybit Advance Earn (SmartLeverage) requests and results.

Requests validate on construction and raise :class:`~asyncexch.InvalidRequest` naming the
field, so a bad order never leaves the process. Each order gets its ``order_link_id`` when it
is built; every retry of it, and every later placement of the same object, reuses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from .._clock import Clock, ServerTime, SystemClock, utc
from .._convert import LOCAL
from .._decimals import check_positive, plain
from .._enums import OpenStrEnum
from .._ids import IdRule, new_order_link_id
from .._validators import flag, one_of, optional, positive_decimal, text
from ..errors import InvalidRequest
from ._offer_checks import (
    QUOTE_EXPIRY,
    AmountRule,
    check_purchase,
    check_time_left,
    checked_margin,
    offered_product,
)
from ._venue_time import require_aware, time_left

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
    "ProductStatus",
    "Quote",
    "RedeemEstimate",
    "RedeemOrder",
    "StakeOrder",
]

CATEGORY = "SmartLeverage"
#: Advance Earn's orderLinkId: at most 36 characters (docs/v5/finance/advanced-earn/
#: smart-lvg/create-order.mdx: a reused one "returns an error indicating the order already
#: exists"); "permanently recorded per product type" is Bybit's MCP server's word
#: (trading-mcp src/tools/advanceearn/placeAdvanceEarnOrder.ts), the docs give no duration.
ADVANCE_EARN_IDS = IdRule(36)
T = TypeVar("T")
#: How long a quote must still be valid when an order is built from it: the order may wait
#: for rate-limit capacity, and the venue checks expiry on arrival.
QUOTE_MARGIN = timedelta(seconds=2)
#: How long the venue honours a redeem estimate.
ESTIMATE_LIFETIME = timedelta(minutes=10)


class Direction(OpenStrEnum):
    LONG = "Long"
    SHORT = "Short"


class OrderType(OpenStrEnum):
    STAKE = "Stake"
    REDEEM = "Redeem"


class AccountType(OpenStrEnum):
    FUND = "FUND"
    UNIFIED = "UNIFIED"


class OrderStatus(OpenStrEnum):
    """Pending -> Success (position created) -> Settled; or Fail."""

    PENDING = "Pending"
    SUCCESS = "Success"
    SETTLED = "Settled"
    FAIL = "Fail"

    @property
    def is_terminal(self) -> bool:
        """Whether the order is done being placed (an unknown status is not)."""
        return self in (OrderStatus.SUCCESS, OrderStatus.SETTLED, OrderStatus.FAIL)


class PositionStatus(OpenStrEnum):
    ACTIVE = "Active"
    REDEEMING = "Redeeming"
    SETTLED = "Settled"


class ProductStatus(OpenStrEnum):
    """Whether a product takes new orders."""

    AVAILABLE = "Available"
    NOT_AVAILABLE = "NotAvailable"


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
    ``initial_price``). Build a stake from it with :meth:`StakeOrder.from_quote`, which
    refuses a quote without an offer or about to expire.
    """

    category: str
    product_id: str
    current_price: Decimal
    breakeven_price: Decimal | None = None
    #: When the offer expires, on the venue's clock.
    expire_at: datetime | None = None
    max_investment_amount: Decimal | None = None
    #: The venue's clock as the client that fetched the quote knows it (set by
    #: ``AdvanceEarn.quote``): ``expire_at`` is measured on it.
    server_time: ServerTime | None = attrs.field(default=None, eq=False, repr=False, metadata=LOCAL)
    #: The product quoted, when the client had listed it (set by ``AdvanceEarn.quote``).
    product: Product | None = attrs.field(default=None, eq=False, repr=False, metadata=LOCAL)

    def expires_in(self, now: datetime | None = None) -> timedelta | None:
        """How long the offer stays valid at ``now`` (negative once expired); ``None`` when
        there is no offer.

        ``now`` is the venue's time; by default the client's estimate of it (from the
        venue's answers), or this machine's clock for a quote not fetched by a client.
        """
        if self.expire_at is None or self.breakeven_price is None:
            return None
        return time_left(self.expire_at, self.server_time, now, "quote.expire_at")


@attrs.frozen(kw_only=True)
class _Acknowledgement:
    """What every Advance Earn category's acknowledgement says: the venue's id of the order
    and the client's. Each category has its own class, so that ``wait_for_order`` tells them
    apart by type; none is another's subclass."""

    order_id: str
    order_link_id: str


@attrs.frozen(kw_only=True)
class OrderAck(_Acknowledgement):
    """The venue accepted a SmartLeverage order (processing is asynchronous: see
    ``wait_for_order``). A DualAssets order's acknowledgement is a ``DualAssetsAck``."""

    #: The Advance Earn category of the order, always ``"SmartLeverage"``.
    category: ClassVar[str] = CATEGORY


@attrs.frozen(kw_only=True)
class _OrderState:
    """What every Advance Earn category's order says of itself, first in each one's fields."""

    order_id: str
    order_link_id: str
    product_id: str
    order_type: OrderType
    amount: Decimal
    status: OrderStatus
    created_time: datetime


@attrs.frozen(kw_only=True)
class _PositionState:
    """What every Advance Earn category's position says of itself, first in each one's
    fields."""

    position_id: str
    product_id: str
    amount: Decimal
    status: PositionStatus


@attrs.frozen(kw_only=True)
class OrderInfo(_OrderState):
    """An order's state (``GET /v5/earn/advance/order``)."""

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
class Position(_PositionState):
    """A SmartLeverage position (``GET /v5/earn/advance/position``)."""

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
    fetched_at: datetime | None = attrs.field(default=None, metadata=LOCAL)
    #: The clock ``fetched_at`` was read from; ``from_estimate`` measures the age on it.
    clock: Clock | None = attrs.field(default=None, eq=False, repr=False, metadata=LOCAL)


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
class MarketTime:
    """``GET /v5/market/time``."""

    time_second: int
    time_nano: int


# --- requests -----------------------------------------------------------------------------


_ACCOUNT = one_of("FUND", "UNIFIED")


@attrs.frozen(kw_only=True)
class StakeOrder:
    """Subscribe to a SmartLeverage product.

    Build it with :meth:`from_quote` from a fresh :class:`Quote`. Built by hand, take
    ``initial_price`` from the quote's ``current_price`` (the venue refuses the order with
    180030 if the market is more than 5% away from it) and ``breakeven_price`` from the
    quote's ``breakeven_price``, while the quote is valid.
    """

    category: ClassVar[str] = CATEGORY
    order_type: ClassVar[OrderType] = OrderType.STAKE

    product_id: str = attrs.field(validator=text())
    coin: str = attrs.field(validator=text())
    amount: Decimal = attrs.field(validator=positive_decimal())
    initial_price: Decimal = attrs.field(validator=positive_decimal())
    breakeven_price: Decimal = attrs.field(validator=positive_decimal())
    account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=ADVANCE_EARN_IDS.check())
    #: When the quote it was built from expires (the venue's clock; ``None`` built by hand):
    #: ``place_order`` refuses its first send within 2 s of it. Not sent.
    quote_expires_at: datetime | None = attrs.field(default=None, eq=False, validator=QUOTE_EXPIRY)

    @classmethod
    def from_quote(
        cls,
        quote: Quote,
        *,
        amount: Decimal,
        account_type: str = "FUND",
        coin: str | None = None,
        product: Product | None = None,
        now: datetime | None = None,
        margin: timedelta = QUOTE_MARGIN,
        order_link_id: str | None = None,
    ) -> StakeOrder:
        """A stake of ``amount`` at ``quote``'s offer: its ``current_price`` as the initial
        price, its ``breakeven_price`` as the breakeven price.

        Refuses with :class:`~asyncexch.InvalidRequest`, before anything is sent:

        * ``quote``: no active offer (no breakeven price), or an offer that has expired or
          expires within ``margin`` (default 2 s) at ``now``: the venue's time, by default as
          the client that fetched the quote knows it (see :meth:`Quote.expires_in`);
        * ``amount``: above the offer's ``max_investment_amount``; and, when the product is
          known (``product``, or the one the client had listed when it fetched the quote),
          below its ``min_purchase_amount`` or with more decimal places than its
          ``order_precision_digital``;
        * ``product``: a product other than the quoted one.

        ``coin`` defaults to the product's invest coin; with no product known, to ``"USDT"``,
        the coin SmartLeverage products are bought with (a wrong coin is refused by the venue,
        180002, without effect).
        """
        if not isinstance(quote, Quote):
            raise InvalidRequest("quote", f"must be a Quote, got {quote!r}")
        product = offered_product(quote, product, quote.product, Product, "quote")
        breakeven_price = _live_offer(quote, now, margin)
        _check_stake_amount(amount, quote, product)
        extra: dict[str, Any] = {} if order_link_id is None else {"order_link_id": order_link_id}
        return cls(
            product_id=quote.product_id,
            coin=coin if coin is not None else product.invest_coin if product else "USDT",
            amount=amount,
            initial_price=quote.current_price,
            breakeven_price=breakeven_price,
            account_type=account_type,
            quote_expires_at=quote.expire_at,
            **extra,
        )

    def to_params(self) -> dict[str, object]:
        """The request body, in the documented field order, decimals written as Bybit reads them."""
        return {
            "category": CATEGORY,
            "productId": self.product_id,
            "coin": self.coin,
            "orderType": self.order_type.value,
            "amount": plain(self.amount),
            "accountType": self.account_type,
            "orderLinkId": self.order_link_id,
            "smartLeverageStakeExtra": {
                "initialPrice": plain(self.initial_price),
                "breakevenPrice": plain(self.breakeven_price),
            },
        }


class _Redeemable(Protocol):
    """What a redeem is built from: a position of a category that redeems early."""

    @property
    def position_id(self) -> str: ...
    @property
    def product_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def status(self) -> PositionStatus: ...
    @property
    def redeemable(self) -> bool: ...
    @property
    def invest_coin(self) -> str: ...
    @property
    def account_type(self) -> str: ...


PositionT = TypeVar("PositionT", bound=_Redeemable)
#: The redeem class a constructor builds.
RedeemT = TypeVar("RedeemT", bound="EarlyRedeem[Any]")


def _own_id_rule(
    instance: EarlyRedeem[Any], attribute: attrs.Attribute[Any], value: object
) -> None:
    """The ``orderLinkId`` rule of the redeem's category (each category remembers its own)."""
    type(instance).id_rule.check()(instance, attribute, value)


@attrs.frozen(kw_only=True)
class EarlyRedeem(Generic[PositionT]):
    """An early redeem of a position, against a fresh :class:`RedeemEstimate`: what every
    category that redeems early shares (SmartLeverage's :class:`RedeemOrder`, DoubleWin's
    ``DoubleWinRedeemOrder``); the category, its redeem extra's key and its lockout before
    settlement are the subclass's."""

    category: ClassVar[str]
    order_type: ClassVar[OrderType] = OrderType.REDEEM
    #: The category's orderLinkId rule.
    id_rule: ClassVar[IdRule]
    #: The key of the category's redeem extra in the request body.
    redeem_extra: ClassVar[str]
    #: How long before settlement the category refuses a redeem (in the refusal's words).
    redeem_lockout: ClassVar[str]
    #: The category's position type.
    position_type: ClassVar[type[Any]]

    product_id: str = attrs.field(validator=text())
    position_id: str = attrs.field(validator=text())
    est_redeem_amount: Decimal = attrs.field(validator=positive_decimal())
    is_slippage_protected: bool = attrs.field(default=True, validator=flag())
    account_type: str = attrs.field(default="FUND", validator=_ACCOUNT)
    #: The position's staked amount (not the estimate).
    amount: Decimal | None = attrs.field(default=None, validator=optional(positive_decimal()))
    coin: str | None = attrs.field(default=None, validator=optional(text()))
    order_link_id: str = attrs.field(factory=new_order_link_id, validator=_own_id_rule)

    @classmethod
    def from_position(
        cls: type[RedeemT],
        position: PositionT,
        estimate: RedeemEstimate,
        *,
        slippage_protected: bool = True,
        account_type: str | None = None,
        now: datetime | None = None,
        max_age: timedelta = ESTIMATE_LIFETIME,
        order_link_id: str | None = None,
    ) -> RedeemT:
        """An early redeem of ``position`` at ``estimate``: product, staked amount, invest coin
        and account type from the position; position id and estimated amount from the
        estimate.

        Refuses with :class:`~asyncexch.InvalidRequest`, before anything is sent: a position
        that is not redeemable now (a redeem pending, or settlement less than the category's
        lockout away: 60 minutes for SmartLeverage, 30 for DoubleWin); an estimate for
        another position, one that failed, or one older than ``max_age`` (see
        :meth:`from_estimate`). ``account_type`` defaults to the position's (``"FUND"`` when
        the position does not say).
        """
        if not isinstance(position, cls.position_type):
            raise InvalidRequest(
                "position", f"must be a {cls.position_type.__name__}, got {position!r}"
            )
        if not isinstance(estimate, RedeemEstimate):
            raise InvalidRequest("estimate", f"must be a RedeemEstimate, got {estimate!r}")
        if estimate.position_id != position.position_id:
            raise InvalidRequest(
                "estimate",
                f"is for position {estimate.position_id}, not {position.position_id}",
            )
        if not position.redeemable:
            raise InvalidRequest(
                "position",
                f"{position.position_id} is not redeemable now ({position.status}; Bybit "
                f"refuses a redeem while one is pending or within {cls.redeem_lockout} of "
                "settlement)",
            )
        if not position.invest_coin:
            raise InvalidRequest("position", f"{position.position_id} names no invest coin")
        if account_type is None:
            account_type = position.account_type if position.account_type else "FUND"
        return cls.from_estimate(
            estimate,
            product_id=position.product_id,
            account_type=account_type,
            is_slippage_protected=slippage_protected,
            amount=position.amount,
            coin=position.invest_coin,
            now=now,
            max_age=max_age,
            order_link_id=order_link_id,
        )

    @classmethod
    def from_estimate(
        cls: type[RedeemT],
        estimate: RedeemEstimate,
        *,
        product_id: str,
        account_type: str = "FUND",
        is_slippage_protected: bool = True,
        amount: Decimal | None = None,
        coin: str | None = None,
        now: datetime | None = None,
        max_age: timedelta = ESTIMATE_LIFETIME,
        order_link_id: str | None = None,
    ) -> RedeemT:
        """A redeem of ``estimate``'s position at its estimated amount.

        Prefer :meth:`from_position`, which also sends the staked ``amount`` and ``coin``.
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
        require_aware("estimate.fetched_at", estimate.fetched_at)
        if not isinstance(max_age, timedelta):
            raise InvalidRequest("max_age", f"must be a timedelta, got {max_age!r}")
        if now is None:
            clock = estimate.clock or SystemClock()
            now = utc(clock.time())
        require_aware("now", now)
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
            "category": self.category,
            "productId": self.product_id,
            "orderType": self.order_type.value,
        }
        if self.amount is not None:
            params["amount"] = plain(self.amount)
        if self.coin is not None:
            params["coin"] = self.coin
        params["accountType"] = self.account_type
        params["orderLinkId"] = self.order_link_id
        params[self.redeem_extra] = {
            "positionId": self.position_id,
            "estRedeemAmount": plain(self.est_redeem_amount),
            "isSlippageProtected": self.is_slippage_protected,
        }
        return params


@attrs.frozen(kw_only=True)
class RedeemOrder(EarlyRedeem[Position]):
    """Redeem a SmartLeverage position early.

    Build it with :meth:`from_position`, from the position and a fresh
    :class:`RedeemEstimate`: the safe way. It sends the position's staked ``amount`` and
    invest ``coin`` as Bybit's official tools do (the API page calls both optional; a server
    that follows the official tools refuses a redeem without them) and lets the client
    recognise its own redeem after a lost answer (Bybit records a redeem with the staked
    amount, not the estimate).

    ``is_slippage_protected`` is on by default (the venue's default is off): an unprotected
    redeem executes however far the payout falls below ``est_redeem_amount``, and on 5x-200x
    products that can be most of the position. Turn it off only to exit at any price.
    """

    category: ClassVar[str] = CATEGORY
    id_rule: ClassVar[IdRule] = ADVANCE_EARN_IDS
    redeem_extra: ClassVar[str] = "smartLeverageRedeemExtra"
    redeem_lockout: ClassVar[str] = "60 minutes"
    position_type: ClassVar[type[Any]] = Position


def _live_offer(quote: Quote, now: datetime | None, margin: object) -> Decimal:
    """The breakeven price of ``quote``'s offer, if the offer is live for ``margin`` more at
    ``now`` (the venue's time); else the refusal says when it expired."""
    margin = checked_margin(margin)
    if quote.breakeven_price is None or quote.expire_at is None:
        raise InvalidRequest(
            "quote", f"product {quote.product_id} has no active offer (no breakeven price)"
        )
    remaining = quote.expires_in(now)
    assert remaining is not None  # an offer with an expiry, checked above
    check_time_left("quote", quote.expire_at, remaining, margin)
    return quote.breakeven_price


def _check_stake_amount(amount: object, quote: Quote, product: Product | None) -> None:
    """``amount`` within the offer's maximum and, when known, the product's purchase rules."""
    check_positive("amount", amount)
    assert isinstance(amount, Decimal)  # checked
    limit = quote.max_investment_amount
    if limit is not None:
        check_positive("quote.max_investment_amount", limit)
    if limit is not None and amount > limit:
        raise InvalidRequest("amount", f"{amount} is above the offer's maximum {limit}")
    if product is not None:
        check_purchase(amount, AmountRule.of(product))
