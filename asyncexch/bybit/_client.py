"""The Bybit client and its Advance Earn API: the categories, and placing their orders."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, overload

import attrs
import httpx

from .._batch import BatchReport, gather_or_cancel
from .._clock import Clock
from .._endpoint import Endpoint
from .._limits import RateLimit, RateLimiter
from .._observe import AttemptHook, CallObserver
from .._proxy import ProxyURL, as_proxy
from .._retry import RetryPolicy
from .._session import MAX_BODY, Session, TransportChoice
from .._venue import Secret, as_secret
from .._venue_client import VenueClient
from ..errors import (
    ConfigurationError,
    ExchangeError,
    InvalidRequest,
)
from ._categories import DualAssets, SmartLeverage
from ._dual_assets import DualAssetsAck, DualAssetsOrderInfo
from ._dual_assets_order import DualAssetsOrder
from ._endpoints import PLACE_ORDER
from ._hosts import TESTNET, Region, base_url_for
from ._liquidity_mining_client import LiquidityMining
from ._models import (
    OrderAck,
    OrderInfo,
    Position,
    Product,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from ._placement import OrderPlacement
from ._venue import BybitVenue

__all__ = ["AdvanceEarn", "BybitClient", "OrderBatchReport"]

logger = logging.getLogger("asyncexch")
#: An order of any Advance Earn category.
Order = StakeOrder | RedeemOrder | DualAssetsOrder
_ORDER_TYPES = (StakeOrder, RedeemOrder, DualAssetsOrder)
#: The acknowledgement of an order of any Advance Earn category.
Ack = OrderAck | DualAssetsAck


class BybitClient(VenueClient):
    """An async Bybit V5 client. Use it as an async context manager.

    ``api_key``/``api_secret`` may be omitted for public data only. A secret containing
    ``PRIVATE KEY`` is used as an RSA key (needs ``asyncexch[rsa]``), anything else as an
    HMAC secret. ``limits`` overrides the documented per-bucket limits (bucket names:
    ``place_order``, ``order``, ``position``, ``redeem_estimate``, ``product``, ``quote``,
    ``ip``) or, as ``False``, turns client-side pacing off. Clients of the same key on one
    event loop share their buckets; Bybit counts private limits per UID, so keys of one UID
    share them: give their clients the same ``limit_scope`` (the UID, or any name) and they
    share one set of buckets (the IP-wide buckets are shared by host anyway). Liquidity
    Mining's buckets, one per endpoint: ``lm_product`` (per IP), ``lm_add_liquidity``,
    ``lm_remove_liquidity``, ``lm_reinvest``, ``lm_add_margin``, ``lm_claim_interest`` (5/s
    each), ``lm_order``, ``lm_position``, ``lm_yield_records``, ``lm_liquidation_records``
    (10/s each).

    The host: mainnet by default; ``testnet=True``, ``demo=True`` (demo trading, with the demo
    account's own keys) or ``region=`` (``"NL"``, ``"TR"``, ``"KZ"``, ``"GE"``, ``"AE"``,
    ``"EU"``, ``"ID"``, ``"JP"``, ``"HK"``, ``"bytick"``: :data:`REGIONS`) pick one of
    Bybit's; ``base_url`` names any other. Every mainnet host counts against the same IP-wide
    limit, so clients on different regional hosts share that bucket. ``referer`` is a broker
    or referral id sent as the ``Referer`` header of every request. See
    :class:`asyncexch.Session` for the other arguments.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        testnet: bool = False,
        demo: bool = False,
        region: Region | None = None,
        referer: str | None = None,
        recv_window: int = 5000,
        limits: Mapping[str, RateLimit] | Literal[False] | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportChoice = None,
        timeout: float = 10.0,
        max_in_flight: int | None = None,
        max_body: int = MAX_BODY,
        proxy: str | ProxyURL | None = None,
        on_attempt: AttemptHook | None = None,
        telemetry: CallObserver | None = None,
        limit_scope: str | None = None,
    ) -> None:
        """Check the host arguments and build the venue and its session.

        Long because it takes the session's keyword arguments one per line and hands each
        on by name: an argument table, which a split would only move.
        """
        secret = as_secret(api_secret)
        del api_secret  # from here on, a traceback's locals show only Secret(***)
        proxy_url = as_proxy(proxy)
        del proxy  # and a proxy's password masked
        if base_url is not None and (testnet or demo or region is not None):
            raise ConfigurationError(
                "pass base_url, or testnet/demo/region, not both: testnet=True means "
                f"{TESTNET}, and a base_url says the host itself"
            )
        url = base_url or base_url_for(testnet=testnet, demo=demo, region=region)
        venue = BybitVenue(
            api_key,
            secret,
            base_url=url,
            recv_window=recv_window,
            limit_scope=limit_scope,
            referer=referer,
        )
        self.session: Session = Session(
            venue,
            base_url=url,
            limits=limits,
            limiter=limiter,
            retry=retry,
            clock=clock,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            max_in_flight=max_in_flight,
            max_body=max_body,
            proxy=proxy_url,
            on_attempt=on_attempt,
            telemetry=telemetry,
            owner="BybitClient",
        )
        self._venue = venue
        #: Advance Earn: SmartLeverage (its calls directly, and ``.smart_leverage``) and
        #: DualAssets (``.dual_assets``).
        self.advance_earn: AdvanceEarn = AdvanceEarn(self.session)
        #: Liquidity Mining (``/v5/earn/liquidity-mining/*``).
        self.liquidity_mining: LiquidityMining = LiquidityMining(self.session)

    async def sync_clock(self) -> None:
        """Learn the offset between Bybit's clock and ours from ``/v5/market/time``.

        Optional: the client also learns it from every answer, and re-learns it on its own
        when Bybit refuses a timestamp (10002).
        """
        await self.session.sync_clock()

    def __repr__(self) -> str:
        # Safe on a client whose constructor failed half-way (tracebacks show it).
        venue = getattr(self, "_venue", None)
        session = getattr(self, "session", None)
        return f"<BybitClient {venue!r} base_url={getattr(session, 'base_url', None)!r}>"


#: The record of a ``place_orders`` batch of SmartLeverage orders:
#: ``OrderBatchReport(len(orders))`` needs no annotation (a bare ``BatchReport`` cannot tell
#: what its results are). A batch with DualAssets orders takes a
#: ``BatchReport[OrderAck | DualAssetsAck | ExchangeError]``.
OrderBatchReport = BatchReport[OrderAck | ExchangeError]


class AdvanceEarn:
    """Bybit V5 Advance Earn: one object per category, and placing any category's orders.

    ``smart_leverage`` and ``dual_assets`` read their category's products, quotes, orders and
    positions. ``place_order``, ``place_orders`` and ``wait_for_order`` take an order or an
    acknowledgement of any category. ``products``, ``quote``, ``orders``, ``positions`` and
    ``redeem_estimates`` here are SmartLeverage's, as they always were.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        #: Advance Earn, category SmartLeverage.
        self.smart_leverage: SmartLeverage = SmartLeverage(session)
        #: Advance Earn, category DualAssets.
        self.dual_assets: DualAssets = DualAssets(session)
        self._placement: OrderPlacement[Order, Ack] = OrderPlacement(
            session, _AdvancePlacement(self)
        )

    async def products(
        self, *, coin: str | None = None, duration: str | None = None
    ) -> list[Product]:
        """The SmartLeverage products, optionally for one underlying ``coin`` (upper case)."""
        return await self.smart_leverage.products(coin=coin, duration=duration)

    async def quote(self, product_id: str) -> Quote:
        """The SmartLeverage product's current quote: ``current_price`` and, if quoted,
        ``breakeven_price`` (see :meth:`SmartLeverage.quote`)."""
        return await self.smart_leverage.quote(product_id)

    @overload
    async def place_order(self, order: StakeOrder | RedeemOrder) -> OrderAck: ...

    @overload
    async def place_order(self, order: DualAssetsOrder) -> DualAssetsAck: ...

    async def place_order(self, order: Order) -> Ack:
        """Place a stake or redeem order of any category; the acknowledgement of exactly one
        order: an :class:`OrderAck` for a SmartLeverage order, a :class:`DualAssetsAck` for a
        DualAssets one.

        Retries reuse ``order.order_link_id``, so the venue never holds two orders for it.
        If Bybit says the id already exists (an earlier attempt of this call, or an earlier
        call with the same order object or intent key), the existing order is looked up in
        the order's category and its acknowledgement returned when it is the same order
        (product, type, amount, and a DualAssets stake's direction);
        :class:`OrderAlreadyExists` when it is a different one. When the venue's state stays
        unknown after every attempt, :class:`OrderStatusUnknown` is raised: placing the same
        order object again is safe and tells the truth.
        """
        return await self._place(order, None)

    @overload
    async def place_orders(
        self,
        orders: Iterable[StakeOrder | RedeemOrder],
        *,
        on_result: Callable[[int, OrderAck | ExchangeError], None] | None = None,
        report: OrderBatchReport | None = None,
    ) -> list[OrderAck | ExchangeError]: ...

    @overload
    async def place_orders(
        self,
        orders: Iterable[Order],
        *,
        on_result: Callable[[int, Ack | ExchangeError], None] | None = None,
        report: BatchReport[Ack | ExchangeError] | None = None,
    ) -> list[Ack | ExchangeError]: ...

    async def place_orders(
        self,
        orders: Iterable[Order],
        *,
        on_result: Callable[[int, Any], None] | None = None,
        report: BatchReport[Any] | None = None,
    ) -> list[OrderAck | ExchangeError] | list[Ack | ExchangeError]:
        """Place many orders concurrently, of one category or mixed; one result per order, in
        the orders' order.

        Each result is the order's acknowledgement (:class:`OrderAck` or
        :class:`DualAssetsAck`) or the :class:`ExchangeError` it ended with; one order's
        failure does not stop the others. Orders take the rate limit in the order given.
        ``on_result(index, result)`` is called as each order finishes.

        Cancelling the call cancels every order not yet sent; ``report`` (a
        :class:`BatchReport` of the batch's size: an :data:`OrderBatchReport` for
        SmartLeverage orders) then tells which orders were sent and which finished. Orders
        sent but unfinished can be placed again, with the same objects, to learn their outcome
        without creating a second order.
        """
        # ``Any`` only here: the overloads tie the report's and the callback's result type to
        # the orders' categories, which one signature cannot say.
        batch = list(orders)
        if report is None:
            report = BatchReport(len(batch))
        elif len(report.sent) != len(batch):
            raise InvalidRequest(
                "report", f"is sized for {len(report.sent)} orders, not {len(batch)}"
            )
        record = report

        async def place(index: int) -> None:
            def mark_sent() -> None:
                record.sent[index] = True

            try:
                result: Ack | ExchangeError = await self._place(batch[index], mark_sent)
            except ExchangeError as error:
                result = error
            record.results[index] = result
            if on_result is not None:
                try:
                    on_result(index, result)
                except Exception:
                    logger.exception("place_orders: on_result raised for order %d", index)

        await gather_or_cancel([place(index) for index in range(len(batch))])
        return [result for result in record.results if result is not None]

    @overload
    async def wait_for_order(
        self, order: DualAssetsAck, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> DualAssetsOrderInfo: ...

    @overload
    async def wait_for_order(
        self, order: OrderAck | str, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> OrderInfo: ...

    async def wait_for_order(
        self,
        order: Ack | str,
        *,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
    ) -> OrderInfo | DualAssetsOrderInfo:
        """Poll the order until its status is final (Success, Settled or Fail).

        ``order`` is an acknowledgement or a SmartLeverage order id. A
        :class:`DualAssetsAck` is waited for in DualAssets (a :class:`DualAssetsOrderInfo`),
        an :class:`OrderAck` or an order id in SmartLeverage (an :class:`OrderInfo`). Polls go
        through the order-info rate limit like every other call. Raises
        :class:`OrderWaitTimeout` (carrying the last state seen) after ``timeout`` seconds.
        """
        if isinstance(order, DualAssetsAck):
            return await self.dual_assets.wait_for_order(
                order, timeout=timeout, poll_interval=poll_interval
            )
        return await self.smart_leverage.wait_for_order(
            order, timeout=timeout, poll_interval=poll_interval
        )

    def orders(
        self,
        *,
        product_id: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 20,
    ) -> AsyncIterator[OrderInfo]:
        """SmartLeverage orders, newest first, fetched a page at a time as you iterate."""
        return self.smart_leverage.orders(
            product_id=product_id,
            order_id=order_id,
            order_link_id=order_link_id,
            start_time=start_time,
            end_time=end_time,
            page_size=page_size,
        )

    def positions(
        self, *, product_id: str | None = None, coin: str | None = None, page_size: int = 20
    ) -> AsyncIterator[Position]:
        """SmartLeverage positions, fetched a page at a time as you iterate."""
        return self.smart_leverage.positions(product_id=product_id, coin=coin, page_size=page_size)

    async def redeem_estimates(self, position_ids: Sequence[str]) -> list[RedeemEstimate]:
        """What redeeming each SmartLeverage position would pay now, in the order of
        ``position_ids`` (see :meth:`SmartLeverage.redeem_estimates`)."""
        return await self.smart_leverage.redeem_estimates(position_ids)

    async def _place(self, order: Order, on_sent: Callable[[], None] | None) -> Ack:
        """Place ``order`` once, however many attempts it takes (:class:`OrderPlacement`)."""
        if not isinstance(order, _ORDER_TYPES):
            raise InvalidRequest(
                "order",
                f"must be a StakeOrder, RedeemOrder or DualAssetsOrder, got {order!r}",
            )
        return await self._placement.place(order, on_sent)

    def _category_of(self, order: Order) -> SmartLeverage | DualAssets:
        """The category object ``order`` is placed in."""
        return self.dual_assets if isinstance(order, DualAssetsOrder) else self.smart_leverage


@attrs.frozen
class _AdvancePlacement:
    """Advance Earn's :class:`PlacementRule`: one endpoint, ids per category, orders looked
    up in their category."""

    earn: AdvanceEarn

    def endpoint(self, order: Order) -> Endpoint[Any]:
        return PLACE_ORDER

    def scope(self, order: Order) -> str:
        return order.category

    async def find_placed(self, order: Order) -> OrderInfo | DualAssetsOrderInfo | None:
        return await self.earn._category_of(order)._find_placed(order.order_link_id)

    def same_order(self, existing: OrderInfo | DualAssetsOrderInfo, order: Order) -> bool:
        return _same_order(existing, order)

    def describe(self, existing: OrderInfo | DualAssetsOrderInfo) -> str:
        return f"{existing.order_type} {existing.amount} of product {existing.product_id}"

    def history(self, order: Order) -> str:
        return (
            f"orders(order_link_id={order.order_link_id!r}) of category {order.category}, or "
            "Bybit's Earn order page"
        )

    def ack_of(self, order: Order, order_id: str, order_link_id: str) -> Ack:
        return _ack_of(order, order_id, order_link_id)


def _ack_of(order: Order, order_id: str, order_link_id: str) -> Ack:
    """The acknowledgement of ``order``'s category: the venue's answer is one shape for all."""
    ack_type = DualAssetsAck if isinstance(order, DualAssetsOrder) else OrderAck
    return ack_type(order_id=order_id, order_link_id=order_link_id)


def _same_order(existing: OrderInfo | DualAssetsOrderInfo, order: Order) -> bool:
    """Whether the order Bybit holds under the id is the one asked for.

    The product and the order type must match, and the amount, which Bybit records as the
    order's amount for a stake and the position's staked amount for a redeem (never the
    estimate), and a DualAssets stake's direction when Bybit names it. Bybit's order list
    does not name a redeem's position: a redeem built without the staked amount
    (``RedeemOrder.from_estimate`` without ``amount``) matches on product and type alone.
    """
    if existing.product_id != order.product_id or existing.order_type != order.order_type:
        return False
    if (
        isinstance(order, DualAssetsOrder)
        and isinstance(existing, DualAssetsOrderInfo)
        and existing.direction is not None
        and existing.direction != order.direction
    ):
        return False
    return order.amount is None or existing.amount == order.amount
