"""The ChainUP contract (futures) open-API v1 client."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal

import httpx

from .._clock import Clock, utc
from .._decimals import decimal_places, is_sized
from .._limits import RateLimit, RateLimiter
from .._observe import AttemptHook, CallObserver
from .._proxy import ProxyURL, as_proxy
from .._retry import RetryPolicy
from .._session import MAX_BODY, Session, TransportChoice
from .._validators import whole
from .._venue import Secret, as_secret
from .._venue_client import VenueClient
from ..errors import (
    ConfigurationError,
    ExchangeError,
    InvalidRequest,
    MalformedResponse,
    OrderStatusUnknown,
)
from ._endpoints import (
    ACCOUNT_BALANCE,
    CANCEL_ALL,
    CANCEL_ORDER,
    CHANGE_LEVEL,
    CONTRACTS,
    HOLD_CONTRACTS,
    MARKET,
    ORDER_INFO,
    ORDER_LIST,
    POSITIONS,
    TAKE_ORDER,
    TRANSFER_MARGIN,
)
from ._models import (
    Balance,
    Contract,
    ContractOrder,
    MarginMode,
    OpenContract,
    OrderCreated,
    OrderDetail,
    OrderList,
    Position,
    TakeOrder,
    Ticker,
)
from ._reconcile import (
    Attempt,
    Bounds,
    Ledger,
    ReconcileStatus,
    Reconciliation,
    TakeOrderUnknown,
    decide,
    matches,
    page_ids,
    scan,
)
from ._venue import VENUE_TIMEZONE, ChainupVenue, Encoding

__all__ = ["ChainupContractClient", "OrderQuery"]

logger = logging.getLogger("asyncexch")
OrderQuery = Literal["active", "filled", "history"]
TransferMarginParam = Literal["contactId", "contractId"]
_ORDER_QUERY = {"active": "1", "filled": "2", "history": "3"}
#: The lists an order can be in: current, filled and finished (history).
_LISTS = ("1", "2", "3")
#: The largest page the venue serves.
_PAGE_SIZE = 200
_PAGE_SIZES = whole(high=_PAGE_SIZE)
#: Order, contract and position ids, leverage and page counts: integers from 1.
_ID = whole()
#: Pages of one list a search reads at most (10,000 orders at 200 a page).
_MAX_PAGES = 50
#: Pages ``orders()`` reads at most before calling the venue's paging broken.
_MAX_ORDER_PAGES = 1_000
#: The longest window and tolerance a reconcile takes.
_LONGEST = timedelta(days=1)


class ChainupContractClient(VenueClient):
    """An async client for a ChainUP white-label exchange's contract open-API v1.

    ``base_url`` is the exchange's host (every ChainUP exchange has its own). The body is a
    JSON object of strings by default; ``encoding="form"`` sends it form-encoded. The venue
    documents no rate limits: every endpoint is paced at 5/s by default (``limits=`` to
    change, ``False`` to switch off) and backs off on codes 119, 110041 and 110042. See
    :class:`asyncexch.Session` for the other arguments.

    ``take_order`` is never sent twice: the venue has no client order id, so an attempt whose
    outcome is unknown raises :class:`~asyncexch.OrderStatusUnknown`, and :meth:`reconcile`
    looks the order up.

    Where the venue's sources disagree, the reading is an option:

    * ``venue_timezone``: the timezone of dates the venue sends as text
      (``"2019-01-21 20:43:44"``); ChainUP's deployments run on UTC+8, the default.
    * ``transfer_margin_param``: the published page spells ``transfer_margin``'s contract
      parameter ``contactId`` (the default); ChainUP's apps send ``contractId``.
    * ``allow_cross_margin``: the published page says only isolated margin (``copType=2``) is
      supported now; a ``TakeOrder`` for cross margin is refused before sending unless this
      is true.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | Secret | None = None,
        *,
        base_url: str,
        encoding: Encoding = "json",
        venue_timezone: tzinfo = VENUE_TIMEZONE,
        transfer_margin_param: TransferMarginParam = "contactId",
        allow_cross_margin: bool = False,
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
    ) -> None:
        """Check the venue's readings and build the venue and its session.

        Long because it takes the session's keyword arguments one per line and hands each
        on by name: an argument table, which a split would only move.
        """
        secret = as_secret(api_secret)
        del api_secret  # from here on, a traceback's locals show only Secret(***)
        proxy_url = as_proxy(proxy)
        del proxy  # and a proxy's password masked
        if transfer_margin_param not in ("contactId", "contractId"):
            raise ConfigurationError(
                "transfer_margin_param must be 'contactId' or 'contractId', "
                f"got {transfer_margin_param!r}"
            )
        if not isinstance(allow_cross_margin, bool):
            raise ConfigurationError(
                f"allow_cross_margin must be a bool, got {allow_cross_margin!r}"
            )
        self._venue = ChainupVenue(
            api_key, secret, base_url=base_url, encoding=encoding, venue_timezone=venue_timezone
        )
        self.session: Session = Session(
            self._venue,
            base_url=base_url,
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
            owner="ChainupContractClient",
        )
        self._transfer_margin_param = transfer_margin_param
        self._allow_cross_margin = allow_cross_margin
        self._contracts: dict[int, Contract] | None = None
        #: Order ids on the venue and this client's unresolved sends; see :meth:`reconcile`.
        self._ledger = Ledger()
        self._learning: dict[int, asyncio.Lock] = {}

    # --- market data --------------------------------------------------------------------

    async def contracts(self, *, refresh: bool = False) -> list[Contract]:
        """Every contract's configuration; fetched once, then cached (``refresh`` re-reads).

        Once loaded, :meth:`take_order` checks orders against their contract before sending.
        """
        if self._contracts is None or refresh:
            info = await self.session.call(CONTRACTS, {})
            self._contracts = {contract.id: contract for contract in info.market.values()}
        return list(self._contracts.values())

    async def ticker(self, contract_id: int) -> Ticker:
        """The contract's ticker: last, bid, ask, index and mark prices (a signed call)."""
        return await self.session.call(MARKET, {"contractId": _ID.at("contract_id", contract_id)})

    # --- orders -------------------------------------------------------------------------

    async def take_order(self, order: TakeOrder) -> OrderCreated:
        """Place ``order`` once; the venue's order id and the liquidation price.

        Checked before sending: cross margin (unless ``allow_cross_margin``); and, once the
        contracts are loaded (:meth:`contracts`), that the contract exists, that ``level`` is
        one of its leverage levels, the volume within its minimum and maximum and the price
        within its precision. A request the venue refused before processing it (119, 100005,
        100008, 2) follows the retry rules; one whose outcome is unknown (timeout after
        sending, dropped connection, 5xx, code 1) is not sent again:
        :class:`~asyncexch.OrderStatusUnknown` carries the order, the send time and the
        watermark for :meth:`reconcile`.
        """
        self._check_take_order(order)
        contract_id = order.contract_id
        watermark = await self._watermark(contract_id)
        bounded_at = self._ledger.bounded_at(contract_id)
        attempt = Attempt(order, watermark, -math.inf if bounded_at is None else bounded_at)
        self._ledger.open(attempt)
        created = await self._send_once(attempt)
        self._ledger.resolve(attempt)
        assert attempt.sent is not None  # an answer came, so it was sent
        self._ledger.own(contract_id, created.order_id, attempt.sent)
        return created

    async def _send_once(self, attempt: Attempt) -> OrderCreated:
        """Send the attempt's order (resent only where the venue refused it unprocessed).

        A failure that leaves the order unplaced resolves the attempt in the ledger; one
        that may have placed it leaves the attempt open and raises :class:`TakeOrderUnknown`
        carrying it.
        """
        order = attempt.order
        clock = self.session.clock

        def mark_sent() -> None:
            attempt.sent, attempt.sent_wall = clock.monotonic(), clock.time()

        try:
            return await self.session.call(
                TAKE_ORDER,
                order.to_params(),
                request=order,
                on_sent=mark_sent,
                label=f"contract {order.contract_id} {order.side} {order.volume}",
            )
        except OrderStatusUnknown as unknown:
            # Unresolved until reconciled; what reconcile needs rides on the error.
            raise TakeOrderUnknown(
                str(unknown),
                request=order,
                # The last send: any before it was refused unprocessed (never resent after
                # an outcome that may have placed it), so only this one can have arrived.
                sent_at=attempt.sent_wall if attempt.sent_wall is not None else unknown.sent_at,
                watermark=attempt.watermark,
                attempt=attempt,
            ) from unknown.__cause__
        except ExchangeError:
            self._ledger.resolve(attempt)  # refused, or never reached the venue
            raise
        except BaseException:
            if attempt.sent is None:  # cancelled before it left: not placed
                self._ledger.resolve(attempt)
            raise

    def _check_take_order(self, order: TakeOrder) -> None:
        """Refuse, naming the field, what is not a ``TakeOrder``, cross margin unless allowed,
        and what the loaded contract would refuse."""
        if not isinstance(order, TakeOrder):
            raise InvalidRequest("order", f"must be a TakeOrder, got {order!r}")
        if order.cop_type is MarginMode.CROSS and not self._allow_cross_margin:
            raise InvalidRequest(
                "cop_type",
                "cross margin (copType=1) is 'not supported now' by the published API; pass "
                "allow_cross_margin=True to the client if this venue supports it",
            )
        self._check_against_contract(order)

    def _check_against_contract(self, order: TakeOrder) -> None:
        """Refuse what the loaded contract would refuse, naming the field."""
        self._check_leverage(order.contract_id, order.level, "level")
        contract = (self._contracts or {}).get(order.contract_id)
        if contract is None:
            return
        low, high = contract.min_order_volume, contract.max_order_volume
        if low is not None and order.volume < low:
            raise InvalidRequest("volume", f"{order.volume} is below the contract's minimum {low}")
        if high is not None and order.volume > high:
            raise InvalidRequest("volume", f"{order.volume} is above the contract's maximum {high}")
        places = contract.price_precision
        if order.price is not None and places is not None and decimal_places(order.price) > places:
            raise InvalidRequest(
                "price", f"{order.price} has more than the contract's {places} decimal places"
            )

    def _check_leverage(self, contract_id: int, level: int | None, field: str) -> None:
        """Refuse an unknown contract or a leverage it does not offer, once contracts are known."""
        if self._contracts is None:
            return
        contract = self._contracts.get(contract_id)
        if contract is None:
            raise InvalidRequest("contract_id", f"no contract {contract_id}")
        levels = contract.leverage_levels
        if level is not None and levels and level not in levels:
            raise InvalidRequest(field, f"must be one of {levels}, got {level}")

    async def cancel_order(self, order_id: int, contract_id: int) -> None:
        """Cancel one order."""
        await self.session.call(
            CANCEL_ORDER,
            {
                "orderId": _ID.at("order_id", order_id),
                "contractId": _ID.at("contract_id", contract_id),
            },
        )

    async def cancel_all(self, contract_id: int) -> None:
        """Cancel every open order on the contract."""
        await self.session.call(CANCEL_ALL, {"contractId": _ID.at("contract_id", contract_id)})

    async def order_info(self, contract_id: int, order_ids: Sequence[int]) -> list[OrderDetail]:
        """The orders' details with their trades."""
        if not order_ids:
            raise InvalidRequest("order_ids", "must not be empty")
        ids = ",".join(str(_ID.at("order_ids", order_id)) for order_id in order_ids)
        return await self.session.call(
            ORDER_INFO, {"contract_id": _ID.at("contract_id", contract_id), "ids": ids}
        )

    def orders(
        self,
        contract_id: int,
        *,
        which: OrderQuery = "active",
        page_size: int = 100,
        max_pages: int = _MAX_ORDER_PAGES,
    ) -> AsyncIterator[ContractOrder]:
        """The contract's orders (``active``, ``filled`` or finished ``history``) in the
        venue's order (undocumented), fetched a page at a time (``order_list_v2``) as you
        iterate. A venue that serves the same page again, or more than ``max_pages`` pages,
        raises :class:`MalformedResponse`."""
        _ID.at("contract_id", contract_id)
        if not isinstance(which, str) or which not in _ORDER_QUERY:
            raise InvalidRequest("which", f"must be one of {sorted(_ORDER_QUERY)}, got {which!r}")
        _PAGE_SIZES.at("page_size", page_size)
        _ID.at("max_pages", max_pages)
        return self._orders(contract_id, _ORDER_QUERY[which], page_size, max_pages)

    async def _orders(
        self, contract_id: int, which: str, page_size: int, max_pages: int
    ) -> AsyncIterator[ContractOrder]:
        previous: tuple[int, ...] = ()
        seen = 0
        for page_no in range(1, max_pages + 1):
            page = await self._page(contract_id, which, page_no, page_size)
            previous = page_ids(which, page_no, page_size, previous, page)
            for order in page.order_list:
                yield order
            seen += len(page.order_list)
            if not page.order_list or seen >= page.count:
                return
        raise MalformedResponse(f"order list {which} has more than {max_pages} pages")

    async def _page(self, contract_id: int, which: str, page_no: int, page_size: int) -> OrderList:
        page: OrderList = await self.session.call(
            ORDER_LIST,
            {
                "contractId": contract_id,
                "order_type": which,
                "pageNo": page_no,
                "pageSize": page_size,
            },
        )
        self._ledger.learn(contract_id, page.order_list)
        return page

    async def positions(self, contract_id: int | None = None) -> list[Position]:
        """Open positions, on one contract or all."""
        params = {} if contract_id is None else {"contractId": _ID.at("contract_id", contract_id)}
        return (await self.session.call(POSITIONS, params)).positions

    async def open_contracts(self) -> list[OpenContract]:
        """The contracts with an open position (``hold_contract_list``)."""
        return await self.session.call(HOLD_CONTRACTS, {})

    async def account_balance(self) -> list[Balance]:
        """The contract account's balance per margin coin."""
        return await self.session.call(ACCOUNT_BALANCE, {})

    async def change_leverage(self, contract_id: int, leverage: int, position_id: int) -> None:
        """Set a position's leverage (checked against the contract's levels once known)."""
        contract, level = _ID.at("contract_id", contract_id), _ID.at("leverage", leverage)
        self._check_leverage(contract, level, "leverage")
        await self.session.call(
            CHANGE_LEVEL,
            {
                "contractId": contract,
                "leverageLevel": level,
                "positionId": _ID.at("position_id", position_id),
            },
        )

    async def transfer_margin(self, contract_id: int, position_id: int, amount: Decimal) -> None:
        """Add margin to an isolated position (a negative ``amount`` takes it out).

        The contract goes in the parameter named by ``transfer_margin_param``.
        """
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
            raise InvalidRequest("amount", f"must be a non-zero decimal.Decimal, got {amount!r}")
        if not is_sized(amount):
            raise InvalidRequest("amount", f"{amount} is out of range for an amount")
        await self.session.call(
            TRANSFER_MARGIN,
            {
                self._transfer_margin_param: _ID.at("contract_id", contract_id),
                "positionId": _ID.at("position_id", position_id),
                "amount": format(amount, "f"),
            },
        )

    # --- finding out what happened --------------------------------------------------------

    async def reconcile(
        self,
        unknown: OrderStatusUnknown | TakeOrder,
        *,
        sent_at: datetime | None = None,
        watermark: int | None = None,
        window: timedelta = timedelta(minutes=2),
        tolerance: timedelta = timedelta(seconds=60),
        settle: timedelta | None = None,
        page_size: int = _PAGE_SIZE,
        max_pages: int = _MAX_PAGES,
    ) -> Reconciliation:
        """Whether an order whose outcome was unknown was placed.

        Pass the error ``take_order`` raised (a :class:`TakeOrderUnknown`). It first waits
        until the request can no longer arrive: ``settle`` after it was sent (by default the
        session's attempt deadline and a second); then it reads every list that can hold the
        order (current, filled, history), whatever their sort order, and keeps the exact
        matches: contract, side, type, volume, a limit order's price, and open/close and
        position where the venue shows them. Then:

        * **By order id** (``watermark``: the highest order id on the contract the client had
          seen before sending). The venue issues ids in increasing order, so this order, if
          placed, has a higher one: one match above the watermark -> ``PLACED``; none ->
          ``NOT_PLACED``; several -> ``AMBIGUOUS``. A match below it that the venue says was
          created after the send (ids only roughly in time order) makes it ``AMBIGUOUS``.
        * **By creation time**, without a watermark: matches created between ``sent_at`` minus
          ``tolerance`` (the clocks' difference: the venue accepts ``time`` a minute off) and
          ``window`` after it (at least the wait above plus ``tolerance``) count, if the venue
          gives times; a match without a plausible time makes the answer ``AMBIGUOUS``.

        ``sent_at`` is the request's last send: ``take_order`` resends only what the venue
        refused unprocessed, and never after an outcome that may have placed the order.

        Orders this client knows are its own others (acknowledged, or found by an earlier
        reconcile) never count. An identical order of this client whose fate is also unknown
        makes a single match ``AMBIGUOUS`` (either could be it); given a bare ``TakeOrder``
        rather than the error, its own send counts as such an order.

        Limits: another process or person placing an identical order on the same contract
        between the watermark (refreshed before a send when older than a minute) and this
        order's arrival makes a match look like this order (one match: ``PLACED`` though it may
        not be; two: ``AMBIGUOUS``). A venue that processes a request later than ``settle``
        after it was sent (its gateway gave up on it first) can list the order after this
        reconcile said ``NOT_PLACED``: give such a venue a longer ``settle``. When the lists
        cannot be read, keep changing while read, or run past ``max_pages`` pages, the fate is
        still unknown: :class:`TakeOrderUnknown` is raised again, never ``NOT_PLACED``.
        """
        order, sent_at, watermark, attempt = _what_to_find(unknown, sent_at, watermark)
        _check_search(window, tolerance, settle, page_size, max_pages)
        arrives_within = await self._wait_until_arrived(sent_at, settle)
        bounds = Bounds.around(
            sent_at, watermark, window=window, tolerance=tolerance, arrives_within=arrives_within
        )
        try:
            found = await self._matches(order, bounds, page_size, max_pages)
        except ExchangeError as error:
            raise _still_unknown(order, sent_at, watermark, attempt, error) from error
        return self._verdict(order, attempt, found, bounds, arrives_within)

    async def _wait_until_arrived(
        self, sent_at: datetime | None, settle: timedelta | None
    ) -> float:
        """Wait until a request sent at ``sent_at`` can no longer arrive; the seconds after
        its send within which the venue may still process it."""
        clock = self.session.clock
        # How long after its send a request may still be processed: what the session allows
        # an attempt, or the caller's longer word for a slow venue.
        arrives_within = self.session.attempt_deadline + 1.0
        wait_for = arrives_within if settle is None else settle.total_seconds()
        if sent_at is not None:
            await clock.sleep(sent_at.timestamp() + wait_for - clock.time())
        return max(arrives_within, wait_for)

    async def _matches(
        self, order: TakeOrder, bounds: Bounds, page_size: int, max_pages: int
    ) -> list[ContractOrder]:
        """The exact matches of ``order`` in every list that can hold it, each once."""

        async def read_page(which: str, number: int, size: int) -> OrderList:
            return await self._page(order.contract_id, which, number, size)

        found: dict[int, ContractOrder] = {}
        for which in _LISTS:
            for candidate in await scan(read_page, which, page_size, max_pages, bounds.older):
                if matches(candidate, order):
                    found[candidate.order_id] = candidate
        return list(found.values())

    def _verdict(
        self,
        order: TakeOrder,
        attempt: Attempt | None,
        found: list[ContractOrder],
        bounds: Bounds,
        arrives_within: float,
    ) -> Reconciliation:
        """The verdict on the matches ``found``, recorded in the ledger."""
        # What is this client's own, and which identical sends are in doubt, as of now: an
        # acknowledgement that came in while the lists were read counts.
        result = decide(
            [c for c in found if not self._ledger.is_own(order.contract_id, c.order_id)],
            watermark=bounds.watermark,
            start=bounds.start,
            end=bounds.end,
            now=utc(self.session.clock.time()),
            in_doubt=bool(self._ledger.siblings(attempt, order, arrives_within)),
        )
        if result.status is not ReconcileStatus.AMBIGUOUS:
            self._ledger.resolve(attempt)
        if result.order is not None:
            self._ledger.claim(order.contract_id, result.order.order_id)
        return result

    async def _watermark(self, contract_id: int) -> int | None:
        """The highest order id on the contract as far as this client knows: every order with
        a lower id existed before now. Before a send, when no order of this client's or no
        look at the lists bounded it within the last minute, the newest orders of every list
        are read again (``None`` if that fails and nothing is known)."""
        clock = self.session.clock
        if self._ledger.needs_look(contract_id, clock.monotonic()):
            lock = self._learning.setdefault(contract_id, asyncio.Lock())
            async with lock:
                if self._ledger.needs_look(contract_id, clock.monotonic()):
                    await self._look(contract_id)
        return self._ledger.watermark(contract_id)

    async def _look(self, contract_id: int) -> None:
        """Read the newest orders of every list (the ids rise the watermark as they pass)."""
        started = self.session.clock.monotonic()

        async def read_page(which: str, number: int, size: int) -> OrderList:
            return await self._page(contract_id, which, number, size)

        try:
            for which in _LISTS:
                await scan(read_page, which, _PAGE_SIZE, _MAX_PAGES, lambda page: True)
        except ConfigurationError:
            raise  # no keys, a closed client: nothing can be sent at all
        except ExchangeError as error:
            logger.warning(
                "take_order: could not read the newest orders of contract %d (%s); if an "
                "order's outcome is unknown, reconcile goes by %s",
                contract_id,
                error,
                "an older watermark"
                if self._ledger.watermark(contract_id) is not None
                else "creation times",
            )
            return
        self._ledger.looked(contract_id, started)

    def __repr__(self) -> str:
        # Safe on a client whose constructor failed half-way (tracebacks show it).
        venue = getattr(self, "_venue", None)
        session = getattr(self, "session", None)
        return f"<ChainupContractClient {venue!r} base_url={getattr(session, 'base_url', None)!r}>"


def _what_to_find(
    unknown: OrderStatusUnknown | TakeOrder, sent_at: datetime | None, watermark: int | None
) -> tuple[TakeOrder, datetime | None, int | None, Attempt | None]:
    """The order a reconcile looks for, its bounds and its send, from the error or as given."""
    attempt: Attempt | None = None
    if isinstance(unknown, OrderStatusUnknown):
        order = unknown.request
        if sent_at is None and unknown.sent_at is not None:
            stamp = unknown.sent_at
            if (
                isinstance(stamp, bool)
                or not isinstance(stamp, (int, float))
                or not (1e9 <= stamp <= 1e11)
            ):
                raise InvalidRequest("unknown", f"carries no usable send time: {stamp!r}")
            sent_at = utc(stamp)
        if isinstance(unknown, TakeOrderUnknown):
            attempt = unknown.attempt
            if watermark is None:
                watermark = unknown.watermark
    else:
        order = unknown
    if not isinstance(order, TakeOrder):
        raise InvalidRequest("unknown", f"does not carry a TakeOrder: {order!r}")
    if sent_at is not None and (not isinstance(sent_at, datetime) or sent_at.tzinfo is None):
        raise InvalidRequest("sent_at", f"must be a timezone-aware datetime, got {sent_at!r}")
    if watermark is not None and (isinstance(watermark, bool) or not isinstance(watermark, int)):
        raise InvalidRequest("watermark", f"must be an order id, got {watermark!r}")
    if sent_at is None and watermark is None:
        raise InvalidRequest("sent_at", "give the time the order was sent (or its watermark)")
    return order, sent_at, watermark, attempt


def _check_search(
    window: timedelta,
    tolerance: timedelta,
    settle: timedelta | None,
    page_size: int,
    max_pages: int,
) -> None:
    """Refuse, naming the argument, a reconcile's search out of range."""
    _check_span("window", window)
    _check_span("tolerance", tolerance)
    if settle is not None:
        _check_span("settle", settle)
    _PAGE_SIZES.at("page_size", page_size)
    _ID.at("max_pages", max_pages)


def _still_unknown(
    order: TakeOrder,
    sent_at: datetime | None,
    watermark: int | None,
    attempt: Attempt | None,
    error: ExchangeError,
) -> TakeOrderUnknown:
    """What a reconcile that could not read the lists raises: the fate is still unknown."""
    return TakeOrderUnknown(
        f"reconcile could not read the orders of contract {order.contract_id} ({error}); "
        "the order's fate is still unknown: reconcile again later",
        request=order,
        sent_at=None if sent_at is None else sent_at.timestamp(),
        watermark=watermark,
        attempt=attempt,
    )


def _check_span(field: str, value: object) -> None:
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= _LONGEST:
        raise InvalidRequest(field, f"must be a timedelta from 0 to a day, got {value!r}")
