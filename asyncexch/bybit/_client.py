"""The Bybit client and its Advance Earn (SmartLeverage) API."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal, TypeVar

import attrs
import httpx

from .._batch import BatchReport, gather_or_cancel
from .._clock import Clock, utc
from .._convert import millis
from .._endpoint import Endpoint
from .._limits import RateLimit, RateLimiter
from .._observe import AttemptHook, CallObserver
from .._proxy import ProxyURL, as_proxy
from .._retry import RetryPolicy
from .._session import MAX_BODY, Session, TransportChoice
from .._validators import seconds, text, whole
from .._venue import Secret, as_secret
from .._venue_client import VenueClient
from ..errors import (
    ApiError,
    ConfigurationError,
    ExchangeError,
    InvalidRequest,
    MalformedResponse,
    OrderAlreadyExists,
    OrderStatusUnknown,
    OrderWaitTimeout,
    Outcome,
)
from ._endpoints import ORDER, PLACE_ORDER, POSITION, PRODUCT, QUOTE, REDEEM_ESTIMATE
from ._errors import may_mean_already_exists
from ._hosts import TESTNET, Region, base_url_for
from ._models import (
    CATEGORY,
    OrderAck,
    OrderInfo,
    Page,
    Position,
    Product,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from ._venue import BybitVenue

__all__ = ["AdvanceEarn", "BybitClient", "OrderBatchReport"]

logger = logging.getLogger("asyncexch")
T = TypeVar("T")
Order = StakeOrder | RedeemOrder
#: How often, and how far apart, an order is looked up by its orderLinkId before concluding
#: that the venue does not hold it (a new order may take a moment to become visible).
_LOOKUP_TRIES = 4
_LOOKUP_PAUSE = 0.5
#: How many orderLinkIds whose placement ended unknown a client remembers: a later refusal of
#: one of them is checked by a lookup, since an earlier attempt may have placed it.
_REMEMBERED_UNKNOWN = 10_000
#: The venue's page sizes for orders and positions.
_PAGE_SIZES = whole(high=20)
_TEXT = text()


class BybitClient(VenueClient):
    """An async Bybit V5 client. Use it as an async context manager.

    ``api_key``/``api_secret`` may be omitted for public data only. A secret containing
    ``PRIVATE KEY`` is used as an RSA key (needs ``asyncexch[rsa]``), anything else as an
    HMAC secret. ``limits`` overrides the documented per-bucket limits (bucket names:
    ``place_order``, ``order``, ``position``, ``redeem_estimate``, ``product``, ``quote``,
    ``ip``) or, as ``False``, turns client-side pacing off. Clients of the same key on one
    event loop share their buckets; Bybit counts private limits per UID, so keys of one UID
    share them: give their clients the same ``limit_scope`` (the UID, or any name) and they
    share one set of buckets (the IP-wide buckets are shared by host anyway).

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
        #: Advance Earn (SmartLeverage).
        self.advance_earn: AdvanceEarn = AdvanceEarn(self.session)

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


#: The record of a ``place_orders`` batch: ``OrderBatchReport(len(orders))`` needs no
#: annotation (a bare ``BatchReport`` cannot tell what its results are).
OrderBatchReport = BatchReport[OrderAck | ExchangeError]


class AdvanceEarn:
    """Bybit V5 Advance Earn, category SmartLeverage."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._clock = session.clock
        #: The products listed so far, by id: a quote of one carries it (``Quote.product``).
        self._products: dict[str, Product] = {}
        self._maybe_placed: OrderedDict[str, None] = OrderedDict()

    async def products(
        self, *, coin: str | None = None, duration: str | None = None
    ) -> list[Product]:
        """The SmartLeverage products, optionally for one underlying ``coin`` (upper case)."""
        if coin is not None and coin != coin.upper():
            raise InvalidRequest("coin", f"must be upper case, got {coin!r}")
        page = await self._session.call(
            PRODUCT, {"category": CATEGORY, "coin": coin, "duration": duration}
        )
        self._products.update((product.product_id, product) for product in page.items)
        return page.items

    async def quote(self, product_id: str) -> Quote:
        """The product's current quote: ``current_price`` and, if quoted, ``breakeven_price``.

        The quote knows the venue's clock as this client does, so
        :meth:`StakeOrder.from_quote` can tell how long its offer stays valid, and carries the
        product when this client has listed it, so ``from_quote`` can check the amount
        against the product's minimum and precision.
        """
        _TEXT.at("product_id", product_id)
        quote = await self._session.call(QUOTE, {"category": CATEGORY, "productId": product_id})
        return attrs.evolve(
            quote,
            server_time=self._session.server_time,
            product=self._products.get(quote.product_id),
        )

    async def place_order(self, order: Order) -> OrderAck:
        """Place a stake or redeem order; the acknowledgement of exactly one order.

        Retries reuse ``order.order_link_id``, so the venue never holds two orders for it.
        If Bybit says the id already exists (an earlier attempt of this call, or an earlier
        call with the same order object or intent key), the existing order is looked up and
        its acknowledgement returned when it is the same order (product, type, amount);
        :class:`OrderAlreadyExists` when it is a different one. When the venue's state stays
        unknown after every attempt, :class:`OrderStatusUnknown` is raised: placing the same
        order object again is safe and tells the truth.
        """
        return await self._place(order, None)

    async def place_orders(
        self,
        orders: Iterable[Order],
        *,
        on_result: Callable[[int, OrderAck | ExchangeError], None] | None = None,
        report: OrderBatchReport | None = None,
    ) -> list[OrderAck | ExchangeError]:
        """Place many orders concurrently; one result per order, in the orders' order.

        Each result is the order's :class:`OrderAck` or the :class:`ExchangeError` it ended
        with; one order's failure does not stop the others. Orders take the rate limit in the
        order given. ``on_result(index, result)`` is called as each order finishes.

        Cancelling the call cancels every order not yet sent; ``report`` (an
        :data:`OrderBatchReport` of the batch's size) then tells which orders were
        sent and which finished. Orders sent but unfinished can be placed again, with the same
        objects, to learn their outcome without creating a second order.
        """
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
                result: OrderAck | ExchangeError = await self._place(batch[index], mark_sent)
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

    async def wait_for_order(
        self,
        order: OrderAck | str,
        *,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
    ) -> OrderInfo:
        """Poll the order until its status is final (Success, Settled or Fail).

        ``order`` is an acknowledgement or an order id. Polls go through the order-info rate
        limit like every other call. Raises :class:`OrderWaitTimeout` (carrying the last state
        seen) after ``timeout`` seconds.
        """
        order_id = order.order_id if isinstance(order, OrderAck) else order
        _TEXT.at("order", order_id)
        seconds(allow_zero=True).at("timeout", timeout)
        seconds().at("poll_interval", poll_interval)
        deadline = self._clock.monotonic() + timeout
        last: OrderInfo | None = None
        while True:
            remaining = deadline - self._clock.monotonic()
            if remaining > 0:
                poll = asyncio.ensure_future(self._find(order_id=order_id))
                expiry = asyncio.ensure_future(self._clock.sleep(remaining))
                try:
                    await asyncio.wait((poll, expiry), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    expiry.cancel()
                    if not poll.done():
                        poll.cancel()
                        await asyncio.gather(poll, return_exceptions=True)
                if not poll.cancelled():
                    last = poll.result() or last
                if last is not None and last.status.is_terminal:
                    return last
                remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                state = "never found" if last is None else f"still {last.status}"
                raise OrderWaitTimeout(
                    f"order {order_id} {state} after {timeout} s", last_seen=last
                )
            await self._clock.sleep(min(poll_interval, remaining))

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
        """Orders, newest first, fetched a page at a time as you iterate."""
        _PAGE_SIZES.at("page_size", page_size)
        return self._paged(
            ORDER,
            {
                "productId": product_id,
                "orderId": order_id,
                "orderLinkId": order_link_id,
                "startTime": _millis(start_time),
                "endTime": _millis(end_time),
            },
            page_size,
        )

    def positions(
        self, *, product_id: str | None = None, coin: str | None = None, page_size: int = 20
    ) -> AsyncIterator[Position]:
        """Positions, fetched a page at a time as you iterate."""
        _PAGE_SIZES.at("page_size", page_size)
        return self._paged(POSITION, {"productId": product_id, "coin": coin}, page_size)

    async def redeem_estimates(self, position_ids: Sequence[str]) -> list[RedeemEstimate]:
        """What redeeming each position would pay now, in the order of ``position_ids``.

        Bybit takes at most 5 ids per request; more are split into concurrent requests. Each
        estimate is stamped with ``fetched_at`` for :meth:`RedeemOrder.from_estimate`.
        """
        ids = list(position_ids)
        if not ids:
            raise InvalidRequest("position_ids", "must not be empty")
        for position_id in ids:
            _TEXT.at("position_ids", position_id)
            if "," in position_id:
                raise InvalidRequest("position_ids", f"{position_id!r} contains a comma")

        async def chunk(part: list[str]) -> list[RedeemEstimate]:
            # Stamped before asking: the estimate is at least this old, never younger.
            fetched_at = utc(self._clock.time())
            answer = await self._session.call(
                REDEEM_ESTIMATE, {"category": CATEGORY, "positionIds": ",".join(part)}
            )
            return [
                attrs.evolve(estimate, fetched_at=fetched_at, clock=self._clock)
                for estimate in answer.items
            ]

        parts = await gather_or_cancel([chunk(ids[i : i + 5]) for i in range(0, len(ids), 5)])
        by_id = {estimate.position_id: estimate for part in parts for estimate in part}
        missing = [position_id for position_id in ids if position_id not in by_id]
        if missing:
            raise MalformedResponse(f"redeem estimates are missing for positions {missing}")
        return [by_id[position_id] for position_id in ids]

    async def _place(self, order: Order, on_sent: Callable[[], None] | None) -> OrderAck:
        """Place ``order`` once, however many attempts it takes; remember its id when the call
        ends without telling whether the venue holds it."""
        if not isinstance(order, (StakeOrder, RedeemOrder)):
            raise InvalidRequest("order", f"must be a StakeOrder or RedeemOrder, got {order!r}")
        placing = _Placing(self._clock, on_sent)
        try:
            ack = await self._acknowledged(order, placing)
        except BaseException as error:
            # Sent, and the call ended without telling whether the venue holds the order (its
            # fate unknown, cancelled, or refused after an attempt that may have placed it):
            # a later refusal of this id is checked by a lookup.
            if placing.left_untold(error):
                self._remember_unknown(order.order_link_id)
            raise
        self._maybe_placed.pop(order.order_link_id, None)
        return ack

    async def _acknowledged(self, order: Order, placing: _Placing) -> OrderAck:
        """The acknowledgement of ``order``: the venue's answer, or what a refusal that may
        mean it is placed turns out to be (:meth:`_check_refusal`); never another order's."""
        link = order.order_link_id
        answer = await self._send_order(order, placing)
        # Checked outside _send_order's except blocks: no chaining to the refusal.
        if isinstance(answer, ApiError):
            ack = await self._check_refusal(order, answer, placing.sent_at)
        else:
            ack = answer
        if ack.order_link_id != link:
            # Not an acknowledgement of this order: what the venue did with it is unknown.
            raise OrderStatusUnknown(
                f"Bybit acknowledged orderLinkId {ack.order_link_id!r} (order "
                f"{ack.order_id}) for an order sent with {link!r}; place the same order "
                "again to learn its state",
                request=order,
                sent_at=placing.sent_at,
            )
        return ack

    async def _send_order(self, order: Order, placing: _Placing) -> OrderAck | ApiError:
        """The venue's answer to ``order``: its acknowledgement, or a refusal to check by a
        lookup (one after an attempt that may have placed the order, or one that may mean its
        id exists already). Any other failure is raised."""
        link = order.order_link_id
        try:
            return await self._session.call(
                PLACE_ORDER,
                order.to_params(),
                request=order,
                on_sent=placing.mark_sent,
                label=f"orderLinkId={order.order_link_id}",
            )
        except OrderStatusUnknown as unknown:
            placing.unknown_seen = True
            cause = unknown.__cause__
            if not (isinstance(cause, ApiError) and cause.outcome is Outcome.FAILED):
                raise
            # Refused after an attempt that may have placed it: the refusal may be the
            # venue's "already exists" in any code, or a check the placed order now fails.
            return cause
        except ApiError as error:
            if error.outcome is not Outcome.FAILED or not (
                link in self._maybe_placed or may_mean_already_exists(error)
            ):
                raise
            return error

    async def _check_refusal(
        self, order: Order, refusal: ApiError, sent_at: float | None
    ) -> OrderAck:
        """What a refusal of ``order`` means, learned by looking the order up by its id.

        Found and the same order: it is placed (its acknowledgement). Found and another
        order: :class:`OrderAlreadyExists`. Not found: the refusal as it came, unless the
        venue said the id exists, which leaves the order's state unknown.
        """
        link = order.order_link_id
        logger.info(
            "place_order: orderLinkId %s refused (%s); looking it up to learn whether it is placed",
            link,
            refusal,
        )
        try:
            existing = await self._find_placed(link)
        except ExchangeError as lookup:
            raise OrderStatusUnknown(
                f"orderLinkId {link} was refused ({refusal}) after an attempt that may have "
                f"placed it, and looking it up failed ({lookup}); place the same order again "
                "later to learn its state",
                request=order,
                sent_at=sent_at,
            ) from lookup
        if existing is None:
            if isinstance(refusal, OrderAlreadyExists):
                raise OrderStatusUnknown(
                    f"Bybit says orderLinkId {link} exists ({refusal}), but no order with it "
                    f"was found in {_LOOKUP_TRIES} lookups over "
                    f"{(_LOOKUP_TRIES - 1) * _LOOKUP_PAUSE:g} s. Check the order history "
                    f"(orders(order_link_id={link!r}), or Bybit's Earn order page) before "
                    "acting; placing the same order object again is safe and tells the truth",
                    request=order,
                    sent_at=sent_at,
                ) from refusal
            logger.info("place_order: orderLinkId %s is not placed; the refusal stands", link)
            raise refusal
        if not _same_order(existing, order):
            raise OrderAlreadyExists(
                refusal.code,
                f"orderLinkId {link} belongs to a different order {existing.order_id} "
                f"({existing.order_type} {existing.amount} of product {existing.product_id})",
                refusal.venue,
                http_status=refusal.http_status,
            ) from refusal
        logger.info("place_order: orderLinkId %s is already placed as %s", link, existing.order_id)
        return OrderAck(order_id=existing.order_id, order_link_id=existing.order_link_id)

    def _remember_unknown(self, order_link_id: str) -> None:
        self._maybe_placed[order_link_id] = None
        self._maybe_placed.move_to_end(order_link_id)
        while len(self._maybe_placed) > _REMEMBERED_UNKNOWN:
            self._maybe_placed.popitem(last=False)

    async def _find_placed(self, order_link_id: str) -> OrderInfo | None:
        """The order placed under ``order_link_id``, allowing it a moment to become visible."""
        for attempt in range(_LOOKUP_TRIES):
            found = await self._find(order_link_id=order_link_id)
            if found is not None:
                return found
            if attempt < _LOOKUP_TRIES - 1:
                await self._clock.sleep(_LOOKUP_PAUSE)
        return None

    async def _find(
        self, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> OrderInfo | None:
        page = await self._session.call(
            ORDER,
            {"category": CATEGORY, "orderId": order_id, "orderLinkId": order_link_id, "limit": 1},
            label=f"orderLinkId={order_link_id}" if order_link_id else f"orderId={order_id}",
        )
        for info in page.items:
            if (order_id is None or info.order_id == order_id) and (
                order_link_id is None or info.order_link_id == order_link_id
            ):
                return info
        return None

    async def _paged(
        self, endpoint: Endpoint[Page[T]], filters: dict[str, object], page_size: int
    ) -> AsyncIterator[T]:
        cursor = ""
        seen: set[str] = set()
        while True:
            params = {"category": CATEGORY, **filters, "limit": page_size, "cursor": cursor or None}
            page = await self._session.call(endpoint, params)
            for item in page.items:
                yield item
            cursor = page.next_page_cursor
            if not cursor or not page.items:
                return
            if cursor in seen:
                raise MalformedResponse(f"{endpoint.path}: the cursor {cursor!r} repeats")
            seen.add(cursor)


@attrs.define
class _Placing:
    """One ``place_order`` call as it goes: when it was first handed to the transport, and
    whether an attempt's outcome was unknown."""

    clock: Clock
    on_sent: Callable[[], None] | None
    sent_at: float | None = None
    unknown_seen: bool = False

    def mark_sent(self) -> None:
        if self.sent_at is None:
            self.sent_at = self.clock.time()
        if self.on_sent is not None:
            self.on_sent()

    def left_untold(self, error: BaseException) -> bool:
        """Whether the call was sent and, ending with ``error``, leaves untold whether the
        venue holds the order."""
        return self.sent_at is not None and (
            self.unknown_seen
            or isinstance(error, OrderStatusUnknown)
            or not isinstance(error, ExchangeError)
        )


def _same_order(existing: OrderInfo, order: Order) -> bool:
    """Whether the order Bybit holds under the id is the one asked for.

    The product and the order type must match, and the amount, which Bybit records as the
    order's amount for a stake and the position's staked amount for a redeem (never the
    estimate). Bybit's order list does not name a redeem's position: a redeem built without
    the staked amount (``RedeemOrder.from_estimate`` without ``amount``) matches on product
    and type alone.
    """
    if existing.product_id != order.product_id or existing.order_type != order.order_type:
        return False
    return order.amount is None or existing.amount == order.amount


def _millis(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidRequest("time", "must be timezone-aware")
    return millis(moment)
