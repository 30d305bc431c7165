"""The ChainUP contract (futures) open-API v1 client."""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal

import attrs
import httpx

from .._clock import Clock, utc
from .._decimals import decimal_places, is_sized
from .._limits import RateLimit, RateLimiter
from .._resource import AsyncResource
from .._retry import RetryPolicy
from .._session import MAX_BODY, Session, TransportChoice
from .._venue import Secret, as_secret
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
    CloseType,
    Contract,
    ContractOrder,
    MarginMode,
    OpenContract,
    OrderCreated,
    OrderDetail,
    OrderList,
    OrderType,
    Position,
    TakeOrder,
    Ticker,
)
from ._venue import VENUE_TIMEZONE, ChainupVenue, Encoding

__all__ = ["ChainupContractClient", "OrderQuery", "ReconcileStatus", "Reconciliation"]

logger = logging.getLogger("asyncexch")
OrderQuery = Literal["active", "filled", "history"]
TransferMarginParam = Literal["contactId", "contractId"]
_ORDER_QUERY = {"active": "1", "filled": "2", "history": "3"}
#: The lists an order can be in: current, filled and finished (history).
_LISTS = ("1", "2", "3")
#: The largest page the venue serves.
_PAGE_SIZE = 200
#: Pages of one list a search reads at most (10,000 orders at 200 a page).
_MAX_PAGES = 50
#: Orders this client acknowledged, remembered so a search never takes one for another order.
_REMEMBERED_ORDERS = 10_000


class ReconcileStatus(enum.Enum):
    """What :meth:`ChainupContractClient.reconcile` found."""

    #: Exactly one order matches: it was placed.
    PLACED = "placed"
    #: No order matches: it was not placed.
    NOT_PLACED = "not_placed"
    #: Several orders match, or one matches that the client cannot tell from an older identical
    #: order: which one, if any, is this order is unknown. Do not send it again blindly.
    AMBIGUOUS = "ambiguous"


@attrs.frozen(kw_only=True)
class Reconciliation:
    """The truth about an order whose outcome was unknown."""

    status: ReconcileStatus
    #: The order, when exactly one matched.
    order: ContractOrder | None
    #: Every order that matched.
    candidates: tuple[ContractOrder, ...]

    @property
    def placed(self) -> bool | None:
        """True or False when known, None when ambiguous."""
        if self.status is ReconcileStatus.AMBIGUOUS:
            return None
        return self.status is ReconcileStatus.PLACED


@attrs.define(eq=False)
class _Unresolved:
    """A take_order of this client whose fate is not known (in flight, or unknown)."""

    order: TakeOrder
    sent: bool = False


class ChainupContractClient(AsyncResource):
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
    ) -> None:
        secret = as_secret(api_secret)
        del api_secret  # from here on, a traceback's locals show only Secret(***)
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
        self.session = Session(
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
        )
        self._transfer_margin_param = transfer_margin_param
        self._allow_cross_margin = allow_cross_margin
        self._contracts: dict[int, Contract] | None = None
        #: The highest order id seen on each contract; see :meth:`reconcile`.
        self._watermarks: dict[int, int] = {}
        #: Contracts whose watermark bounds every list: looked at whole, or an order placed.
        self._bounded: set[int] = set()
        self._learning: dict[int, asyncio.Lock] = {}
        self._acknowledged: OrderedDict[int, None] = OrderedDict()
        self._unresolved: list[_Unresolved] = []

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened."""
        await self.session.aclose()

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
        return await self.session.call(MARKET, {"contractId": _whole("contract_id", contract_id)})

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
        if not isinstance(order, TakeOrder):
            raise InvalidRequest("order", f"must be a TakeOrder, got {order!r}")
        if order.cop_type is MarginMode.CROSS and not self._allow_cross_margin:
            raise InvalidRequest(
                "cop_type",
                "cross margin (copType=1) is 'not supported now' by the published API; pass "
                "allow_cross_margin=True to the client if this venue supports it",
            )
        self._check_against_contract(order)
        watermark = await self._watermark(order.contract_id)
        pending = _Unresolved(order)

        def mark_sent() -> None:
            pending.sent = True

        self._unresolved.append(pending)
        try:
            created: OrderCreated = await self.session.call(
                TAKE_ORDER, order.to_params(), request=order, on_sent=mark_sent
            )
        except OrderStatusUnknown as unknown:
            unknown.watermark = watermark
            raise  # unresolved until reconciled
        except ExchangeError:
            self._unresolved.remove(pending)  # refused, or never reached the venue
            raise
        except BaseException:
            if not pending.sent:  # cancelled before it left: not placed
                self._unresolved.remove(pending)
            raise
        self._unresolved.remove(pending)
        self._own(order.contract_id, created.order_id)
        return created

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
                "orderId": _whole("order_id", order_id),
                "contractId": _whole("contract_id", contract_id),
            },
        )

    async def cancel_all(self, contract_id: int) -> None:
        """Cancel every open order on the contract."""
        await self.session.call(CANCEL_ALL, {"contractId": _whole("contract_id", contract_id)})

    async def order_info(self, contract_id: int, order_ids: Sequence[int]) -> list[OrderDetail]:
        """The orders' details with their trades."""
        if not order_ids:
            raise InvalidRequest("order_ids", "must not be empty")
        ids = ",".join(str(_whole("order_ids", order_id)) for order_id in order_ids)
        details: list[OrderDetail] = await self.session.call(
            ORDER_INFO, {"contract_id": _whole("contract_id", contract_id), "ids": ids}
        )
        self._learn(contract_id, (detail.id for detail in details))
        return details

    def orders(
        self, contract_id: int, *, which: OrderQuery = "active", page_size: int = 100
    ) -> AsyncIterator[ContractOrder]:
        """The contract's orders (``active``, ``filled`` or finished ``history``) in the
        venue's order (undocumented), fetched a page at a time (``order_list_v2``) as you
        iterate. A venue that serves the same page again raises :class:`MalformedResponse`."""
        _whole("contract_id", contract_id)
        if which not in _ORDER_QUERY:
            raise InvalidRequest("which", f"must be one of {sorted(_ORDER_QUERY)}, got {which!r}")
        _check_page_size(page_size)
        return self._orders(contract_id, _ORDER_QUERY[which], page_size)

    async def _orders(
        self, contract_id: int, which: str, page_size: int
    ) -> AsyncIterator[ContractOrder]:
        previous: tuple[int, ...] = ()
        page_no = 1
        seen = 0
        while True:
            page = await self._page(contract_id, which, page_no, page_size)
            previous = _check_progress(page, previous, which, page_no)
            for order in page.order_list:
                yield order
            seen += len(page.order_list)
            if not page.order_list or seen >= page.count:
                return
            page_no += 1

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
        self._learn(contract_id, (order.order_id for order in page.order_list))
        return page

    async def positions(self, contract_id: int | None = None) -> list[Position]:
        """Open positions, on one contract or all."""
        params = {} if contract_id is None else {"contractId": _whole("contract_id", contract_id)}
        return (await self.session.call(POSITIONS, params)).positions

    async def open_contracts(self) -> list[OpenContract]:
        """The contracts with an open position (``hold_contract_list``)."""
        return await self.session.call(HOLD_CONTRACTS, {})

    async def account_balance(self) -> list[Balance]:
        """The contract account's balance per margin coin."""
        return await self.session.call(ACCOUNT_BALANCE, {})

    async def change_leverage(self, contract_id: int, leverage: int, position_id: int) -> None:
        """Set a position's leverage (checked against the contract's levels once known)."""
        contract, level = _whole("contract_id", contract_id), _whole("leverage", leverage)
        self._check_leverage(contract, level, "leverage")
        await self.session.call(
            CHANGE_LEVEL,
            {
                "contractId": contract,
                "leverageLevel": level,
                "positionId": _whole("position_id", position_id),
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
                self._transfer_margin_param: _whole("contract_id", contract_id),
                "positionId": _whole("position_id", position_id),
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
        tolerance: timedelta = timedelta(seconds=5),
        page_size: int = _PAGE_SIZE,
        max_pages: int = _MAX_PAGES,
    ) -> Reconciliation:
        """Whether an order whose outcome was unknown was placed.

        Call it once the request can no longer arrive (after its timeout). It reads every
        list that can hold the order (current, filled, history), whatever their sort order,
        and keeps the orders that match exactly: contract, side, type, volume, a limit order's
        price, and open/close and position where the venue shows them. Then:

        * **By order id** (``watermark``: the highest order id on the contract the client had
          seen before sending, carried by the error). The venue issues ids in increasing order,
          so this order, if placed, has a higher one: one match above the watermark ->
          ``PLACED``; none -> ``NOT_PLACED``; several -> ``AMBIGUOUS``. Lists are read only
          until they reach the watermark.
        * **By creation time**, without a watermark: matches created between ``sent_at`` minus
          ``tolerance`` (clock differences) and ``window`` after it count, if the venue gives
          times (``ctimeStr``, or ``ctime`` in milliseconds or as a date in the venue's
          timezone); a match without a time makes the answer ``AMBIGUOUS``.

        Orders this client knows are other orders of its own (acknowledged, or found by an
        earlier reconcile) never count. An identical order of this client whose fate is also
        unknown makes a single match ``AMBIGUOUS`` (either could be it).

        Limits: another process or person placing an identical order on the same contract
        between the watermark and this order's arrival makes a match look like this order
        (one match: ``PLACED`` though it may not be; two: ``AMBIGUOUS``). An order the venue
        has not yet listed is not found. Reading stops after ``max_pages`` pages of a list;
        when the lists cannot be read (or a list runs past that bound) the order's fate is
        still unknown: :class:`~asyncexch.OrderStatusUnknown` is raised, never ``NOT_PLACED``.
        """
        order, sent_at, watermark = _what_to_find(unknown, sent_at, watermark)
        _check_page_size(page_size)
        if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
            raise InvalidRequest("max_pages", f"must be an integer >= 1, got {max_pages!r}")
        start = end = None
        if sent_at is not None:
            start, end = sent_at - tolerance, sent_at + window
        mark = watermark  # narrowed for the closure

        def older(page: Sequence[ContractOrder]) -> bool:
            """Whether every order on the page is older than anything this order can be."""
            if mark is not None:
                return all(item.order_id <= mark for item in page)
            return start is not None and all(
                item.created_at is not None and item.created_at < start for item in page
            )

        matches: dict[int, ContractOrder] = {}
        try:
            for which in _LISTS:
                async for candidate in self._search(
                    order.contract_id, which, page_size, max_pages, older
                ):
                    if _matches(candidate, order):
                        matches[candidate.order_id] = candidate
        except ExchangeError as error:
            raise OrderStatusUnknown(
                f"reconcile could not read the orders of contract {order.contract_id} ({error}); "
                "the order's fate is still unknown: reconcile again later",
                request=order,
                sent_at=None if sent_at is None else sent_at.timestamp(),
                watermark=watermark,
            ) from error
        found = [m for m in matches.values() if m.order_id not in self._acknowledged]
        if watermark is not None:
            fresh = [m for m in found if m.order_id > watermark]
            dated = True
        else:
            assert start is not None and end is not None  # _what_to_find needs one of the two
            fresh = [m for m in found if m.created_at is None or start <= m.created_at <= end]
            dated = all(m.created_at is not None for m in fresh)
        siblings = [
            pending
            for pending in self._unresolved
            if pending.order is not order and _same_key(pending.order, order)
        ]
        candidates = tuple(fresh)
        if not fresh:
            result = Reconciliation(status=ReconcileStatus.NOT_PLACED, order=None, candidates=())
        elif len(fresh) == 1 and dated and not siblings:
            result = Reconciliation(
                status=ReconcileStatus.PLACED, order=fresh[0], candidates=candidates
            )
            self._own(order.contract_id, fresh[0].order_id)
        else:
            return Reconciliation(
                status=ReconcileStatus.AMBIGUOUS, order=None, candidates=candidates
            )
        self._resolve(order)
        return result

    async def _search(
        self,
        contract_id: int,
        which: str,
        page_size: int,
        max_pages: int,
        older: Callable[[Sequence[ContractOrder]], bool],
    ) -> AsyncIterator[ContractOrder]:
        """The orders of one list that may be newer than a bound, whatever the list's order.

        The first page shows how the list is sorted (by order id, which grows with time).
        Newest first: read on until a page is entirely ``older``. Oldest first: read from the
        last page back until one is. Sorted any other way (or a page that contradicts the
        sort): read every page. Each list is read for at most ``max_pages`` pages.
        """
        first = await self._page(contract_id, which, 1, page_size)
        previous = _check_progress(first, (), which, 1)
        for order in first.order_list:
            yield order
        if not first.order_list or first.count <= len(first.order_list):
            return
        # A venue may serve fewer than asked: its pages are as long as the first one.
        pages = math.ceil(first.count / min(page_size, len(first.order_list)))
        sort = _sort_of(previous)
        if sort == "desc" and older(first.order_list):
            return
        # Pages read after the first must go on getting older: never above the lowest id read
        # so far, and (oldest first) never below the first page, which holds the oldest.
        floor = min(previous) if sort == "desc" else None
        oldest = max(previous) if sort == "asc" else None
        numbers = range(pages, 1, -1) if sort == "asc" else range(2, pages + 1)
        for read, number in enumerate(numbers, start=2):
            if read > max_pages:
                raise MalformedResponse(
                    f"order list {which} of contract {contract_id} has more than {max_pages} "
                    f"pages to read before the bound"
                )
            page = await self._page(contract_id, which, number, page_size)
            ids = _check_progress(page, previous, which, number)
            for order in page.order_list:
                yield order
            if sort is not None and ids:
                if (
                    _sort_of(ids) not in (sort, None)
                    or (floor is not None and max(ids) > floor)
                    or (oldest is not None and min(ids) < oldest)
                ):
                    sort = None  # the pages contradict the sort: no early stop
                else:
                    floor = min(ids) if floor is None else min(floor, min(ids))
            if sort is not None and older(page.order_list):
                return
            previous = ids

    async def _watermark(self, contract_id: int) -> int | None:
        """The highest order id on the contract, as far as this client knows: every order with
        a lower id existed before now. Learned from one look at the newest orders of every list
        before the client's first order on the contract (``None`` if that look fails), then
        from every id seen."""
        if contract_id not in self._bounded:
            lock = self._learning.setdefault(contract_id, asyncio.Lock())
            async with lock:
                if contract_id not in self._bounded:
                    try:
                        for which in _LISTS:
                            async for _ in self._search(
                                contract_id, which, _PAGE_SIZE, _MAX_PAGES, lambda page: True
                            ):
                                pass  # _page learns the ids it sees
                    except ConfigurationError:
                        raise  # no keys, a closed client: nothing can be sent at all
                    except ExchangeError as error:
                        logger.warning(
                            "take_order: could not read the newest orders of contract %d (%s); "
                            "if an order's outcome is unknown, reconcile can only go by "
                            "creation times",
                            contract_id,
                            error,
                        )
                        return None
                    self._watermarks.setdefault(contract_id, 0)
                    self._bounded.add(contract_id)
        return self._watermarks[contract_id]

    def _learn(self, contract_id: int, order_ids: Iterator[int] | Sequence[int]) -> None:
        """Raise the contract's watermark to the highest of ``order_ids``."""
        highest = max(order_ids, default=None)
        if highest is not None and highest > self._watermarks.get(contract_id, -1):
            self._watermarks[contract_id] = highest

    def _own(self, contract_id: int, order_id: int) -> None:
        """Remember ``order_id`` as an order of this client's (never another's match); the
        venue issued it last, so it bounds every list."""
        self._learn(contract_id, (order_id,))
        self._bounded.add(contract_id)
        self._acknowledged[order_id] = None
        while len(self._acknowledged) > _REMEMBERED_ORDERS:
            self._acknowledged.popitem(last=False)

    def _resolve(self, order: TakeOrder) -> None:
        for pending in self._unresolved:
            if pending.order is order:
                self._unresolved.remove(pending)
                return

    def __repr__(self) -> str:
        # Safe on a client whose constructor failed half-way (tracebacks show it).
        venue = getattr(self, "_venue", None)
        session = getattr(self, "session", None)
        return f"<ChainupContractClient {venue!r} base_url={getattr(session, 'base_url', None)!r}>"


def _what_to_find(
    unknown: OrderStatusUnknown | TakeOrder, sent_at: datetime | None, watermark: int | None
) -> tuple[TakeOrder, datetime | None, int | None]:
    """The order a reconcile looks for and its bounds, from the error or as given."""
    if isinstance(unknown, OrderStatusUnknown):
        order = unknown.request
        if sent_at is None and unknown.sent_at is not None:
            sent_at = utc(unknown.sent_at)
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
    return order, sent_at, watermark


def _check_progress(
    page: OrderList, previous: tuple[int, ...], which: str, number: int
) -> tuple[int, ...]:
    """The page's order ids; a venue that serves the previous page again is malformed."""
    ids = tuple(order.order_id for order in page.order_list)
    if ids and ids == previous:
        raise MalformedResponse(f"order list {which}: page {number} repeats the page before it")
    return ids


def _sort_of(ids: Sequence[int]) -> str | None:
    """``"desc"``/``"asc"`` when ``ids`` strictly fall/rise, ``None`` when neither (or too short
    to tell)."""
    if len(ids) < 2:
        return None
    pairs = list(itertools.pairwise(ids))
    if all(a > b for a, b in pairs):
        return "desc"
    if all(a < b for a, b in pairs):
        return "asc"
    return None


def _same_key(one: TakeOrder, other: TakeOrder) -> bool:
    """Whether two orders would look the same in the venue's lists."""
    limit = one.order_type is OrderType.LIMIT
    return (
        one.contract_id == other.contract_id
        and one.side == other.side
        and one.order_type == other.order_type
        and one.volume == other.volume
        and (not limit or one.price == other.price)
        and one.close_type == other.close_type
        and one.position_id == other.position_id
    )


def _matches(candidate: ContractOrder, order: TakeOrder) -> bool:
    if (
        candidate.contract_id != order.contract_id
        or candidate.side != order.side
        or candidate.type != order.order_type
        or candidate.volume != order.volume
    ):
        return False
    # A market order's price on the venue may be the one sent, zero or the fill: not compared.
    limit = order.order_type is OrderType.LIMIT
    if limit and candidate.price is not None and candidate.price != order.price:
        return False
    action = "CLOSE" if order.close_type is CloseType.CLOSE else "OPEN"
    if candidate.action and candidate.action.upper() != action:
        return False
    return order.position_id is None or candidate.position_id in (None, order.position_id)


def _check_page_size(page_size: int) -> None:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 200:
        raise InvalidRequest("page_size", f"must be an integer 1-200, got {page_size!r}")


def _whole(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(field, f"must be an integer >= 1, got {value!r}")
    return value
