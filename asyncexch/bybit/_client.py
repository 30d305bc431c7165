"""The Bybit client and its Advance Earn API: the categories, and placing their orders."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, get_args, overload

import httpx

from .._batch import BatchReport, gather_or_cancel
from .._clock import Clock
from .._limits import RateLimit, RateLimiter
from .._observe import AttemptHook, CallObserver
from .._proxy import ProxyURL, as_proxy
from .._retry import RetryPolicy
from .._session import MAX_BODY, Session, TransportChoice
from .._stream_connection import StreamConnector
from .._venue import Secret, as_secret
from .._venue_client import VenueClient
from ..errors import (
    ConfigurationError,
    ExchangeError,
    InvalidRequest,
)
from ._categories import DiscountBuy, DualAssets, SmartLeverage
from ._discount_buy import DiscountBuyAck, DiscountBuyOrderInfo
from ._discount_buy_order import DiscountBuyOrder
from ._double_win import DoubleWinAck, DoubleWinOrderInfo
from ._double_win_category import DoubleWin
from ._double_win_order import DoubleWinOrder, DoubleWinRedeemOrder
from ._dual_assets import DualAssetsAck, DualAssetsOrderInfo
from ._dual_assets_order import DualAssetsOrder
from ._earn_client import Earn
from ._endpoints import PLACE_ORDER
from ._hosts import TESTNET, Region, base_url_for
from ._liquidity_mining_client import LiquidityMining
from ._models import (
    QUOTE_MARGIN,
    OrderAck,
    OrderInfo,
    Position,
    Product,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from ._offer_checks import check_quote_left
from ._placement import Placement
from ._quote_stream import QuoteStream
from ._stream_slot import close_stream_of, stream_of
from ._venue import BybitVenue
from ._venue_time import venue_now

__all__ = [
    "AdvanceEarn",
    "AdvanceEarnAck",
    "AdvanceEarnCategory",
    "AdvanceEarnOrder",
    "BybitClient",
    "OrderBatchReport",
]

logger = logging.getLogger("asyncexch")
#: An order of any Advance Earn category: what ``advance_earn.place_order``/``place_orders``
#: take (a type alias, for annotating mixed batches).
AdvanceEarnOrder = (
    StakeOrder
    | RedeemOrder
    | DualAssetsOrder
    | DoubleWinOrder
    | DoubleWinRedeemOrder
    | DiscountBuyOrder
)
_ORDER_NAMES = [kind.__name__ for kind in get_args(AdvanceEarnOrder)]
#: What ``place_order`` takes, as its refusal names it.
_ORDER_KINDS = f"a {', '.join(_ORDER_NAMES[:-1])} or {_ORDER_NAMES[-1]}"
#: The orders built from a quote: each keeps when its quote expires (``quote_expires_at``).
_QUOTED_TYPES = (StakeOrder, DualAssetsOrder, DoubleWinOrder, DiscountBuyOrder)
#: The acknowledgement of an order of any Advance Earn category: what a mixed batch's
#: ``place_orders`` reports for each order placed (a type alias).
AdvanceEarnAck = OrderAck | DualAssetsAck | DoubleWinAck | DiscountBuyAck
#: The object reading one Advance Earn category (``AdvanceEarn.categories``' values).
AdvanceEarnCategory = SmartLeverage | DualAssets | DoubleWin | DiscountBuy
#: An order's state, of any Advance Earn category.
_AdvanceEarnInfo = OrderInfo | DualAssetsOrderInfo | DoubleWinOrderInfo | DiscountBuyOrderInfo
_ACK_TYPES: dict[str, type[AdvanceEarnAck]] = {
    ack.category: ack for ack in (OrderAck, DualAssetsAck, DoubleWinAck, DiscountBuyAck)
}


class BybitClient(VenueClient):
    """An async Bybit V5 client. Use it as an async context manager.

    ``api_key``/``api_secret`` may be omitted for public data only. A secret containing
    ``PRIVATE KEY`` is used as an RSA key (needs ``asyncexch[rsa]``), anything else as an
    HMAC secret. ``limits`` overrides the documented per-bucket limits (bucket names:
    ``place_order``, ``order``, ``position``, ``redeem_estimate``, ``product``, ``quote``,
    ``double_win_leverage``, ``ip``; Earn's ``earn_place_order``, ``earn_order``,
    ``earn_position``, ``earn_product``) or, as ``False``, turns client-side pacing off.
    Clients of the same key on one event loop share their buckets; Bybit counts private limits
    per UID, so keys of one UID share them: give their clients the same ``limit_scope`` (the
    UID, or any name) and they share one set of buckets (the IP-wide buckets are shared by
    host anyway). Liquidity Mining's buckets, one per endpoint: ``lm_product`` (per IP),
    ``lm_add_liquidity``, ``lm_remove_liquidity``, ``lm_reinvest``, ``lm_add_margin``,
    ``lm_claim_interest`` (5/s each), ``lm_order``, ``lm_position``, ``lm_yield_records``,
    ``lm_liquidation_records`` (10/s each).

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
        #: Advance Earn: SmartLeverage (its calls directly, and ``.smart_leverage``),
        #: DualAssets (``.dual_assets``) and DiscountBuy (``.discount_buy``).
        self.advance_earn: AdvanceEarn = AdvanceEarn(self.session)
        #: Earn: FlexibleSaving and OnChain (``/v5/earn/*``).
        self.earn: Earn = Earn(self.session)
        #: Liquidity Mining (``/v5/earn/liquidity-mining/*``).
        self.liquidity_mining: LiquidityMining = LiquidityMining(self.session)

    async def aclose(self) -> None:
        """Close the offer stream, if one was opened, and the HTTP connections."""
        try:
            await close_stream_of(self.session)
        finally:
            await super().aclose()

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
#: what its results are). A batch with DualAssets or DiscountBuy orders takes a
#: ``BatchReport[OrderAck | DualAssetsAck | DiscountBuyAck | ExchangeError]``.
OrderBatchReport = BatchReport[OrderAck | ExchangeError]


class AdvanceEarn:
    """Bybit V5 Advance Earn: one object per category, and placing any category's orders.

    ``smart_leverage``, ``dual_assets`` and ``discount_buy`` read their category's products,
    quotes, orders and positions. ``place_order``, ``place_orders`` and ``wait_for_order``
    take an order or an acknowledgement of any category. ``products``, ``quote``, ``orders``,
    ``positions`` and ``redeem_estimates`` here are SmartLeverage's, as they always were.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        #: Advance Earn, category SmartLeverage.
        self.smart_leverage: SmartLeverage = SmartLeverage(session)
        #: Advance Earn, category DualAssets.
        self.dual_assets: DualAssets = DualAssets(session)
        #: Advance Earn, category DoubleWin.
        self.double_win: DoubleWin = DoubleWin(session)
        #: Advance Earn, category DiscountBuy.
        self.discount_buy: DiscountBuy = DiscountBuy(session)
        #: The objects above by their category's wire name (``"DualAssets"``), read-only.
        self.categories: Mapping[str, AdvanceEarnCategory] = MappingProxyType(
            {
                reader.category: reader
                for reader in (
                    self.smart_leverage,
                    self.dual_assets,
                    self.double_win,
                    self.discount_buy,
                )
            }
        )
        #: Exactly-once placement: lookups by orderLinkId settle unknowns and "exists".
        self._placement: Placement[AdvanceEarnOrder, AdvanceEarnAck, _AdvanceEarnInfo] = (
            Placement.per_category(
                session,
                PLACE_ORDER,
                find=self._find_placed,
                ack_of=_ack_of,
                same=_same_order,
                first_send=self._check_quote_left,
            )
        )

    def stream(
        self,
        *,
        url: str | None = None,
        connector: StreamConnector | None = None,
        ping_interval: float | None = None,
        dead_after: float | None = None,
        ack_timeout: float | None = None,
        connect_timeout: float | None = None,
        backoff: tuple[float, float] | None = None,
        max_connects: int | None = None,
        random_source: random.Random | None = None,
    ) -> QuoteStream:
        """This client's offer stream (one WebSocket connection for every category's
        ``watch_quotes``): ``async with earn.stream() as stream:`` keeps it open.

        Options, given before its first use: ``url`` (by default the stream host of the
        client's REST host, ``wss://stream.bybit.com/v5/public/fp`` for mainnet),
        ``connector`` (the ``websockets`` one by default: needs ``asyncexch[stream]``),
        ``ping_interval`` (20 s), ``dead_after`` (30 s without a frame), ``ack_timeout``
        (10 s), ``connect_timeout`` (10 s), ``backoff`` ((0.5, 30) s: first and largest
        pause), ``max_connects`` (100 per 5 minutes) and ``random_source`` (the jitter's).
        """
        options = {
            "connector": connector,
            "ping_interval": ping_interval,
            "dead_after": dead_after,
            "ack_timeout": ack_timeout,
            "connect_timeout": connect_timeout,
            "backoff": backoff,
            "max_connects": max_connects,
            "random_source": random_source,
        }
        return stream_of(self._session, url, options)

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

    @overload
    async def place_order(self, order: DoubleWinOrder | DoubleWinRedeemOrder) -> DoubleWinAck: ...

    @overload
    async def place_order(self, order: DiscountBuyOrder) -> DiscountBuyAck: ...

    async def place_order(self, order: AdvanceEarnOrder) -> AdvanceEarnAck:
        """Place a stake or redeem order of any category; the acknowledgement of exactly one
        order: an :class:`OrderAck` for a SmartLeverage order, a :class:`DualAssetsAck` for a
        DualAssets one, a :class:`DoubleWinAck` for a DoubleWin stake or redeem, a
        :class:`DiscountBuyAck` for a DiscountBuy one.

        Retries reuse ``order.order_link_id``, so the venue never holds two orders for it.
        If Bybit says the id already exists (an earlier attempt of this call, or an earlier
        call with the same order object or intent key), the existing order is looked up in
        the order's category and its acknowledgement returned when it is the same order
        (product, type, amount, a DualAssets stake's direction and a DiscountBuy stake's
        settle type);
        :class:`OrderAlreadyExists` when it is a different one. When the venue's state stays
        unknown after every attempt, :class:`OrderStatusUnknown` is raised: placing the same
        order object again is safe and tells the truth.

        An order built from a quote is refused (:class:`InvalidRequest` on ``order``), with
        nothing sent, when its quote has expired or expires within 2 s on the venue's clock
        as the client knows it: when the call starts, and again as its first attempt leaves,
        after its rate-limit wait. An order sent before is never refused by this: an attempt
        may have placed it, and the lookup by its id tells.
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
        orders: Iterable[AdvanceEarnOrder],
        *,
        on_result: Callable[[int, AdvanceEarnAck | ExchangeError], None] | None = None,
        report: BatchReport[AdvanceEarnAck | ExchangeError] | None = None,
    ) -> list[AdvanceEarnAck | ExchangeError]: ...

    async def place_orders(
        self,
        orders: Iterable[AdvanceEarnOrder],
        *,
        on_result: Callable[[int, Any], None] | None = None,
        report: BatchReport[Any] | None = None,
    ) -> list[OrderAck | ExchangeError] | list[AdvanceEarnAck | ExchangeError]:
        """Place many orders concurrently, of one category or mixed; one result per order, in
        the orders' order.

        Each result is the order's acknowledgement (:class:`OrderAck`,
        :class:`DualAssetsAck` or :class:`DiscountBuyAck`) or the :class:`ExchangeError` it
        ended with; one order's failure does not stop the others. Orders take the rate limit
        in the order given. ``on_result(index, result)`` is called as each order finishes.
        Each order's quote is checked as in :meth:`place_order`, as the order's turn comes:
        an order whose quote expires while it waits is refused, unsent.

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
                result: AdvanceEarnAck | ExchangeError = await self._place(batch[index], mark_sent)
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
        self, order: DoubleWinAck, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> DoubleWinOrderInfo: ...

    @overload
    async def wait_for_order(
        self, order: DiscountBuyAck, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> DiscountBuyOrderInfo: ...

    @overload
    async def wait_for_order(
        self, order: OrderAck | str, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> OrderInfo: ...

    async def wait_for_order(
        self,
        order: AdvanceEarnAck | str,
        *,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
    ) -> OrderInfo | DualAssetsOrderInfo | DoubleWinOrderInfo | DiscountBuyOrderInfo:
        """Poll the order until its status is final (Success, Settled or Fail).

        ``order`` is an acknowledgement or a SmartLeverage order id. A
        :class:`DualAssetsAck` is waited for in DualAssets (a :class:`DualAssetsOrderInfo`),
        a :class:`DoubleWinAck` in DoubleWin (a :class:`DoubleWinOrderInfo`), a
        :class:`DiscountBuyAck` in DiscountBuy (a :class:`DiscountBuyOrderInfo`), an
        :class:`OrderAck` or an order id in SmartLeverage (an :class:`OrderInfo`). Polls go
        through the order-info rate limit like every other call. Raises
        :class:`OrderWaitTimeout` (carrying the last state seen) after ``timeout`` seconds.
        """
        if isinstance(order, DualAssetsAck):
            return await self.dual_assets.wait_for_order(
                order, timeout=timeout, poll_interval=poll_interval
            )
        if isinstance(order, DoubleWinAck):
            return await self.double_win.wait_for_order(
                order, timeout=timeout, poll_interval=poll_interval
            )
        if isinstance(order, DiscountBuyAck):
            return await self.discount_buy.wait_for_order(
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

    async def _place(
        self, order: AdvanceEarnOrder, on_sent: Callable[[], None] | None
    ) -> AdvanceEarnAck:
        """Place ``order`` once, however many attempts it takes (:class:`Placement`)."""
        if not isinstance(order, AdvanceEarnOrder):
            raise InvalidRequest("order", f"must be {_ORDER_KINDS}, got {order!r}")
        return await self._placement.place(order, on_sent)

    def _check_quote_left(self, order: AdvanceEarnOrder) -> None:
        """Refuse an order whose quote expires within :data:`QUOTE_MARGIN`, on the venue's
        clock as this client knows it: the venue would refuse it stale."""
        if isinstance(order, _QUOTED_TYPES):
            now = venue_now(self._session.server_time)
            check_quote_left(order.quote_expires_at, now, QUOTE_MARGIN)

    async def _find_placed(self, order: AdvanceEarnOrder) -> _AdvanceEarnInfo | None:
        """The order Bybit holds under ``order``'s id in its category, if any."""
        return await self._category_of(order)._find_placed(order.order_link_id)

    def _category_of(self, order: AdvanceEarnOrder) -> AdvanceEarnCategory:
        """The category object ``order`` is placed in."""
        return self.categories[order.category]


def _ack_of(order: AdvanceEarnOrder, order_id: str, order_link_id: str) -> AdvanceEarnAck:
    """The acknowledgement of ``order``'s category: the venue's answer is one shape for all."""
    return _ACK_TYPES[order.category](order_id=order_id, order_link_id=order_link_id)


def _same_order(existing: _AdvanceEarnInfo, order: AdvanceEarnOrder) -> bool:
    """Whether the order Bybit holds under the id is the one asked for.

    The product and the order type must match, and the amount, which Bybit records as the
    order's amount for a stake and the position's staked amount for a redeem (never the
    estimate), and a DualAssets stake's direction and a DiscountBuy stake's settle type
    when Bybit names them. Bybit's order list
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
    if (
        isinstance(order, DiscountBuyOrder)
        and isinstance(existing, DiscountBuyOrderInfo)
        and existing.settle_type is not None
        and existing.settle_type != order.settle_type
    ):
        return False
    return order.amount is None or existing.amount == order.amount
