"""Finding out whether a ChainUP order whose answer was lost was placed.

The contract API has no client order id, so the truth is in the order lists. This module
holds the pieces ``ChainupContractClient.reconcile`` is made of:

* :class:`Ledger`: what the client knows of its contracts' order ids (the *watermark*: the
  highest id seen; ids the venue issued to this client's own orders) and of its own sends
  whose fate is not known yet.
* :func:`scan`: every order of one list that may be newer than a bound, read page by page
  whatever the list's sort order, re-read when the list changes under the reading.
* :class:`Bounds`: how new an order must be to be the one sent.
* :func:`decide`: the verdict from the exact matches.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone

import attrs

from ..errors import MalformedResponse, OrderStatusUnknown
from ._models import CloseType, ContractOrder, OrderList, OrderType, TakeOrder

__all__ = [
    "Attempt",
    "Bounds",
    "Ledger",
    "ReconcileStatus",
    "Reconciliation",
    "TakeOrderUnknown",
    "decide",
    "matches",
    "page_ids",
    "scan",
]

#: Sends whose fate is unknown and ids of the client's own orders, remembered at most.
_REMEMBERED = 10_000
#: How long a watermark bounds the lists: older, the client looks at the newest orders again
#: before sending (an identical order placed by someone else since would pass for this one).
WATERMARK_LIFETIME = 60.0
#: Times a list is read again when its count changed while it was read.
_SCANS = 3
#: No order is created before this, or more than a day after the client's clock.
_EARLIEST = datetime(2001, 1, 1, tzinfo=timezone.utc)


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
class Attempt:
    """One ``take_order`` of this client: the order, the watermark it was sent under and when
    that watermark last bounded every list (monotonic), and when it last left (monotonic, and
    on the clock's wall time). Only the last send counts: ``take_order`` is never resent after
    an outcome that may have placed it, so every earlier send was refused unprocessed."""

    order: TakeOrder
    watermark: int | None
    bounded_at: float
    sent: float | None = None
    sent_wall: float | None = None


class TakeOrderUnknown(OrderStatusUnknown):
    """A ``take_order`` whose outcome is unknown, with what ``reconcile`` needs.

    ``watermark`` is the highest order id the client had seen on the contract before sending
    (``None`` when it could not look); the venue issues ids in increasing order, so the order,
    if placed, has a higher one.
    """

    def __init__(
        self,
        message: str,
        *,
        request: object,
        sent_at: float | None,
        watermark: int | None,
        attempt: Attempt | None = None,
    ) -> None:
        super().__init__(message, request=request, sent_at=sent_at)
        self.watermark = watermark
        #: The client's record of this send (tells it apart from an identical one).
        self.attempt = attempt


class Ledger:
    """What one client knows of order ids on the venue and of its own unresolved sends."""

    def __init__(self) -> None:
        self._watermarks: dict[int, int] = {}
        #: When each contract's watermark last bounded every list (monotonic).
        self._bounded_at: dict[int, float] = {}
        self._own: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._unresolved: list[Attempt] = []

    def watermark(self, contract_id: int) -> int | None:
        return self._watermarks.get(contract_id)

    def bounded_at(self, contract_id: int) -> float | None:
        """When the watermark last bounded every list (``None``: never)."""
        return self._bounded_at.get(contract_id)

    def needs_look(self, contract_id: int, now: float) -> bool:
        """Whether the newest orders must be read before sending on the contract."""
        at = self._bounded_at.get(contract_id)
        return at is None or now - at > WATERMARK_LIFETIME

    def learn(self, contract_id: int, orders: Sequence[ContractOrder]) -> None:
        """Raise the watermark to the highest id among ``orders`` of this contract (an item
        of another contract, or a malformed one, says nothing about this contract's ids)."""
        highest = max((o.order_id for o in orders if o.contract_id == contract_id), default=None)
        self._raise(contract_id, highest)

    def looked(self, contract_id: int, now: float) -> None:
        """Every list of the contract was read up to its newest order just now."""
        self._watermarks.setdefault(contract_id, 0)
        self._bounded_at[contract_id] = now

    def own(self, contract_id: int, order_id: int, sent: float) -> None:
        """The venue gave ``order_id`` to an order of this client sent at ``sent``: the order
        was created after that, and every order created after it has a higher id, so the
        watermark bounds every list from ``sent`` on; and it never matches another order."""
        self.claim(contract_id, order_id)
        self._bounded_at[contract_id] = max(sent, self._bounded_at.get(contract_id, sent))

    def claim(self, contract_id: int, order_id: int) -> None:
        """A reconcile found ``order_id`` to be this client's order: it never matches another
        (and, being real, raises the watermark; unlike :meth:`own` it says nothing of ids
        issued since)."""
        self._raise(contract_id, order_id)
        self._own[contract_id, order_id] = None
        while len(self._own) > _REMEMBERED:
            self._own.popitem(last=False)

    def is_own(self, contract_id: int, order_id: int) -> bool:
        """Whether the order is this client's own (ids are told apart per contract: nothing
        says the venue numbers its contracts' orders from one sequence)."""
        return (contract_id, order_id) in self._own

    def open(self, attempt: Attempt) -> None:
        self._unresolved.append(attempt)
        del self._unresolved[: max(0, len(self._unresolved) - _REMEMBERED)]

    def resolve(self, attempt: Attempt | None) -> None:
        if attempt is not None and attempt in self._unresolved:
            self._unresolved.remove(attempt)

    def siblings(self, attempt: Attempt | None, order: TakeOrder, settle: float) -> list[Attempt]:
        """This client's other sends of an identical order whose fate is unknown and whose
        order could have an id above ``attempt``'s watermark: it may have been processed
        after that watermark bounded the lists (a send is processed within ``settle``)."""
        bounded = attempt.bounded_at if attempt is not None else -math.inf
        return [
            other
            for other in self._unresolved
            if other is not attempt
            and same_key(other.order, order)
            and (other.sent is None or other.sent + settle > bounded)
        ]

    def _raise(self, contract_id: int, order_id: int | None) -> None:
        if order_id is not None and order_id > self._watermarks.get(contract_id, -1):
            self._watermarks[contract_id] = order_id


# --- reading the lists ---------------------------------------------------------------------------

ReadPage = Callable[[str, int, int], Awaitable[OrderList]]


async def scan(
    read_page: ReadPage,
    which: str,
    page_size: int,
    max_pages: int,
    older: Callable[[Sequence[ContractOrder]], bool],
) -> list[ContractOrder]:
    """The orders of list ``which`` that may be newer than a bound, whatever its sort order.

    ``older(page)`` says whether every order on a (non-empty) page is older than the bound.
    The first pages show how the list is sorted (by order id, which grows with time): newest
    first, it is read until a page is entirely older; oldest first, from its last page back
    until one is; sorted any other way, or when the pages contradict the sort, whole. An early
    stop needs the sort confirmed by two pages. A list whose count changes while it is read is
    read again (an order leaving a page already read would move another past the reading);
    one that keeps changing, that repeats a page, or that needs more than ``max_pages`` pages
    is a :class:`MalformedResponse`.
    """
    for _ in range(_SCANS):
        found, steady = await _scan_once(read_page, which, page_size, max_pages, older)
        if steady:
            return found
    raise MalformedResponse(f"order list {which} kept changing while it was read ({_SCANS} times)")


async def _scan_once(
    read_page: ReadPage,
    which: str,
    size: int,
    max_pages: int,
    older: Callable[[Sequence[ContractOrder]], bool],
) -> tuple[list[ContractOrder], bool]:
    """One reading of a list: what it found, and whether the list held still meanwhile."""
    first = await read_page(which, 1, size)
    first_ids = page_ids(which, 1, size, (), first)
    count, served = first.count, len(first.order_list)
    if served == 0 and count > 0:
        raise MalformedResponse(f"order list {which}: page 1 is empty but counts {count}")
    if 0 < served < size and count != served:
        # Shorter than asked, yet not the whole list by its own count (it counts more, or
        # fewer than it served: then the count cannot tell a capped page from the end):
        # the venue serves shorter pages than asked, so ask for what it serves.
        size = served
    reading = _Reading(read_page, which, size, max_pages, first, first_ids)
    if served < size:
        return reading.found, True  # one short page: the whole list
    # A full first page: more may follow whatever the count says (it can be too low).
    if reading.sort == "asc":  # oldest first: the last pages, then back from the one before
        last = max(2, -(-count // size))  # integer ceiling: 10**18 orders do not overflow
        number = last
        while True:  # the count may be low: on while the pages are full
            page = await reading.read(number, newer=True)
            if page is None:
                return reading.found, False
            if len(page.order_list) < size:
                break  # the end of the list
            number += 1
        for number in range(last - 1, 1, -1):
            page = await reading.read(number)
            if page is None:
                return reading.found, False
            if reading.stops(page.order_list, older):
                break
        return reading.found, True
    number = 2
    while True:  # newest first, or unsorted: forward to the end of the list
        page = await reading.read(number)
        if page is None:
            return reading.found, False
        if len(page.order_list) < size or reading.stops(page.order_list, older):
            return reading.found, True
        number += 1


class _Reading:
    """One reading of a list: the pages read, the sort they show (checked page after page:
    each later page must hold ids no higher than the lowest read since the newest ones, and,
    oldest first, none lower than the first page's), and whether reading may stop early."""

    def __init__(
        self,
        read_page: ReadPage,
        which: str,
        size: int,
        max_pages: int,
        first: OrderList,
        first_ids: tuple[int, ...],
    ) -> None:
        self._read_page = read_page
        self._which = which
        self._size = size
        self._max_pages = max_pages
        self._count = first.count
        self._reads = 1
        self.found = list(first.order_list)
        self._previous = first_ids
        sort = _sort_of(self._previous)
        self.sort = None if sort == "mixed" else sort
        self._oldest = max(self._previous) if self.sort == "asc" and self._previous else None
        self._floor = min(self._previous) if self.sort == "desc" else None
        self._newest = -1  # oldest first: the highest id of the newest pages read so far

    async def read(self, number: int, *, newer: bool = False) -> OrderList | None:
        """Page ``number`` (its orders kept), or ``None`` when the list's count changed.
        ``newer``: oldest first, a page from the last on, expected newer than any read."""
        self._reads += 1
        if self._reads > self._max_pages:
            raise MalformedResponse(
                f"order list {self._which} needs more than {self._max_pages} pages of "
                f"{self._size} to read"
            )
        page = await self._read_page(self._which, number, self._size)
        ids = self._previous = page_ids(self._which, number, self._size, self._previous, page)
        self.found.extend(page.order_list)
        if page.count != self._count:
            return None
        self._check(ids, newer)
        return page

    def _check(self, ids: tuple[int, ...], newer: bool) -> None:
        if self.sort is None or not ids:
            return
        if _sort_of(ids) not in (self.sort, None) or (  # a page out of order, or the other way
            self._oldest is not None and min(ids) < self._oldest
        ):
            self.sort = None  # the pages contradict the sort: read everything
            return
        if newer:  # oldest first, the last pages: each above the one before
            if min(ids) <= self._newest:
                self.sort = None
            elif self._floor is None:
                self._floor = min(ids)  # every page before the last is older than this
            self._newest = max(ids)
            return
        if self._floor is not None and max(ids) > self._floor:
            self.sort = None
            return
        self._floor = min(ids) if self._floor is None else min(self._floor, min(ids))

    def stops(
        self, page: Sequence[ContractOrder], older: Callable[[Sequence[ContractOrder]], bool]
    ) -> bool:
        """Whether the rest of the list is older still: the sort held over two pages at
        least and this whole page is older than the bound."""
        return self.sort is not None and self._reads >= 2 and bool(page) and older(page)


def page_ids(
    which: str, number: int, size: int, previous: tuple[int, ...], page: OrderList
) -> tuple[int, ...]:
    """The ids on page ``number`` of list ``which``, after checking that the venue served at
    most the ``size`` asked for and did not serve the ``previous`` page again (a venue that
    ignores the page number would otherwise be read without end)."""
    ids = tuple(order.order_id for order in page.order_list)
    if len(ids) > size:
        raise MalformedResponse(
            f"order list {which}: page {number} holds {len(ids)} orders, {size} were asked for"
        )
    if ids and ids == previous:
        raise MalformedResponse(f"order list {which}: page {number} repeats the page before")
    return ids


def _sort_of(ids: Sequence[int]) -> str | None:
    """``"desc"``/``"asc"`` when ``ids`` strictly fall/rise, ``"mixed"`` when neither, ``None``
    when too short to tell."""
    if len(ids) < 2:
        return None
    pairs = list(itertools.pairwise(ids))
    if all(a > b for a, b in pairs):
        return "desc"
    if all(a < b for a, b in pairs):
        return "asc"
    return "mixed"


# --- deciding ----------------------------------------------------------------------------------


def plausible(moment: datetime | None, now: datetime) -> datetime | None:
    """``moment`` if an order can have been created then, else ``None`` (unknown)."""
    if moment is None or not _EARLIEST <= moment <= now + timedelta(days=1):
        return None
    return moment


@attrs.frozen
class Bounds:
    """How new an order must be to be the one sent: an id above ``watermark`` (the highest
    order id seen before the send) when known, else created within [``start``, ``end``] on
    the venue's clock (both ``None`` without a send time)."""

    watermark: int | None
    start: datetime | None
    end: datetime | None

    @classmethod
    def around(
        cls,
        sent_at: datetime | None,
        watermark: int | None,
        *,
        window: timedelta,
        tolerance: timedelta,
        arrives_within: float,
    ) -> Bounds:
        """The bounds of an order sent at ``sent_at`` and processed, if at all, within
        ``arrives_within`` seconds; the clocks may be ``tolerance`` apart."""
        if sent_at is None:
            return cls(watermark, None, None)
        # Created from a clock-difference before the send to the latest it can arrive (in
        # the venue's clock, up to ``tolerance`` off) or ``window``, whichever is later.
        latest = max(window, timedelta(seconds=arrives_within) + tolerance)
        return cls(watermark, sent_at - tolerance, sent_at + latest)

    def older(self, page: Sequence[ContractOrder]) -> bool:
        """Whether every order on the page is older than anything this order can be."""
        if self.watermark is not None:
            return all(item.order_id <= self.watermark for item in page)
        return self.start is not None and all(
            item.created_at is not None and item.created_at < self.start for item in page
        )


def decide(
    found: Sequence[ContractOrder],
    *,
    watermark: int | None,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    in_doubt: bool,
) -> Reconciliation:
    """The verdict from the exact matches ``found`` (the client's own orders left out).

    With a watermark, a match above it is fresh, and one below it that the venue says was
    created within the window too (ids only roughly in time order) makes the answer
    ambiguous. Without, matches created in ``[start, end]`` are fresh, and one without a
    plausible time makes the answer ambiguous. ``in_doubt``: an identical order of this client
    is also of unknown fate, so a single fresh match may be either.
    """
    dated = True
    if watermark is not None:
        fresh = [m for m in found if m.order_id > watermark]
        if start is not None and end is not None:
            late = [
                m
                for m in found
                if m.order_id <= watermark
                and (created := plausible(m.created_at, now)) is not None
                and start <= created <= end
            ]
            if late:
                fresh += late
                dated = False
    else:
        assert start is not None and end is not None  # the caller asks for one of the two
        fresh = []
        for match in found:
            created = plausible(match.created_at, now)
            if created is None:
                fresh.append(match)
                dated = False
            elif start <= created <= end:
                fresh.append(match)
    candidates = tuple(fresh)
    if not fresh:
        return Reconciliation(status=ReconcileStatus.NOT_PLACED, order=None, candidates=())
    if len(fresh) == 1 and dated and not in_doubt:
        return Reconciliation(status=ReconcileStatus.PLACED, order=fresh[0], candidates=candidates)
    return Reconciliation(status=ReconcileStatus.AMBIGUOUS, order=None, candidates=candidates)


def same_key(one: TakeOrder, other: TakeOrder) -> bool:
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


def matches(candidate: ContractOrder, order: TakeOrder) -> bool:
    """Whether a listed order is exactly ``order``, as far as the list shows."""
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
