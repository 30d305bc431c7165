"""Placing an order exactly once, by its orderLinkId: what every Bybit family whose
state-changing calls carry an id shares (Advance Earn's and Earn's place-order, Liquidity
Mining's four order calls).

An order carries an orderLinkId fixed when it is built; every attempt resends it. When an
attempt's outcome is unknown, or the venue refuses an id it may already hold, the order is
looked up by that id: the same order found is the acknowledgement, another order is
:class:`~asyncexch.OrderAlreadyExists`, none found leaves the refusal (or the unknown) as it
was. A venue that forgets an id after a while (:attr:`IdRule.remembered`, Earn's 30 minutes)
gets one more rule: an order whose first attempt left too long ago for a whole new call to
land inside that window is never resent; it is only looked up (see :meth:`Placement.place`).
A family may also refuse an order's first send (``first_send``: an Advance Earn order whose
quote expired); an order sent before is never refused by it, since an attempt may have
placed it and only a lookup tells.

What differs between families is handed to :class:`Placement` as functions: the endpoint
of an order, its id space, how to find it, what "the same order" means, the
acknowledgement, and the words of the refusals. The families whose ids live per category
(Advance Earn, Earn) take :meth:`Placement.per_category`.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .._clock import Clock
from .._endpoint import Endpoint
from .._session import Session
from ..errors import (
    ApiError,
    ConfigurationError,
    ExchangeError,
    OrderAlreadyExists,
    OrderStatusUnknown,
    Outcome,
)
from ._errors import may_mean_already_exists
from ._waiting import LOOKUP_PAUSE, LOOKUP_TRIES

__all__ = ["WINDOW_MARGIN", "Placement"]

logger = logging.getLogger("asyncexch")
#: How many orderLinkIds whose placement ended unknown a client remembers: a later refusal of
#: one of them is checked by a lookup, since an earlier attempt may have placed it.
_REMEMBERED_UNKNOWN = 10_000
#: What a call must leave free of a venue's id window: an attempt waits for rate-limit
#: capacity before it leaves, and the venue's clock is not ours.
WINDOW_MARGIN = timedelta(minutes=2)


class _Placeable(Protocol):
    @property
    def order_link_id(self) -> str: ...

    def to_params(self) -> dict[str, object]: ...


class _Identified(Protocol):
    """An acknowledgement, or what the venue holds under an id."""

    @property
    def order_id(self) -> str: ...

    @property
    def order_link_id(self) -> str: ...


class _Categorized(_Placeable, Protocol):
    """An order of a family whose ids live per category (Advance Earn, Earn)."""

    @property
    def category(self) -> str: ...


class _HeldAmount(_Identified, Protocol):
    """What such a family holds under an id: enough to say which order it is."""

    @property
    def order_type(self) -> Any: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def product_id(self) -> str: ...


OrderT = TypeVar("OrderT", bound=_Placeable)
AckT = TypeVar("AckT", bound=_Identified)
HeldT = TypeVar("HeldT", bound=_Identified)
CategorizedT = TypeVar("CategorizedT", bound=_Categorized)
HeldAmountT = TypeVar("HeldAmountT", bound=_HeldAmount)


class Placement(Generic[OrderT, AckT, HeldT]):
    """Exactly-once placement of one family's orders.

    ``endpoint`` places every order, or is a function giving the endpoint of each (Liquidity
    Mining: one per order type); its answer has ``order_id`` and ``order_link_id``.
    ``scope(order)`` names the id space the order's id lives in (an Advance Earn category, a
    family); ``find(order)`` looks the order up by its orderLinkId there (allowing it a moment
    to become visible); ``ack_of(order, order_id, order_link_id)`` makes its
    acknowledgement; ``same(held, order)`` says whether the order held under the id is the
    one asked for, ``describe(held)`` says in a few words what it is (for the refusal saying
    it is another order), ``history(order)`` where a caller looks the id up by hand.
    ``remembered`` is how long the venue refuses a reused id (``None``: for ever).
    ``first_send(order)`` may refuse (raise an :class:`ExchangeError`) an order never sent
    before: it runs when :meth:`place` is called and again when the first attempt is about
    to leave, after its rate-limit wait.
    """

    def __init__(
        self,
        session: Session,
        endpoint: Endpoint[Any] | Callable[[OrderT], Endpoint[Any]],
        *,
        scope: Callable[[OrderT], str],
        find: Callable[[OrderT], Awaitable[HeldT | None]],
        ack_of: Callable[[OrderT, str, str], AckT],
        same: Callable[[HeldT, OrderT], bool],
        describe: Callable[[HeldT], str],
        history: Callable[[OrderT], str],
        remembered: timedelta | None = None,
        first_send: Callable[[OrderT], None] | None = None,
    ) -> None:
        self._session = session
        self._clock = session.clock
        self._endpoint = endpoint
        self._scope = scope
        self._find = find
        self._ack_of = ack_of
        self._same = same
        self._describe = describe
        self._history = history
        self._remembered = remembered
        self._first_send = first_send
        #: (scope, orderLinkId) of placements whose outcome was left untold.
        self._maybe_placed: OrderedDict[tuple[str, str], None] = OrderedDict()
        #: (scope, orderLinkId) -> when its first attempt left (monotonic): for a venue
        #: that forgets ids, and so that ``first_send`` never refuses an order sent before.
        self._first_sent: OrderedDict[tuple[str, str], float] = OrderedDict()

    @staticmethod
    def per_category(
        session: Session,
        endpoint: Endpoint[Any],
        *,
        find: Callable[[CategorizedT], Awaitable[HeldAmountT | None]],
        ack_of: Callable[[CategorizedT, str, str], AckT],
        same: Callable[[HeldAmountT, CategorizedT], bool],
        remembered: timedelta | None = None,
        first_send: Callable[[CategorizedT], None] | None = None,
    ) -> Placement[CategorizedT, AckT, HeldAmountT]:
        """The placement of a family whose orders go to one endpoint and whose ids live per
        category (Advance Earn, Earn): another order under an id is told by its type, amount
        and product, and the id is looked up in the category's order history."""
        return Placement(
            session,
            endpoint,
            scope=_category,
            find=find,
            ack_of=ack_of,
            same=same,
            describe=_type_amount_product,
            history=_category_history,
            remembered=remembered,
            first_send=first_send,
        )

    async def place(self, order: OrderT, on_sent: Callable[[], None] | None = None) -> AckT:
        """Place ``order`` once, however many attempts it takes; remember its id when the
        call ends without telling whether the venue holds it.

        With a finite ``remembered``: refuses (:class:`ConfigurationError`) a session whose
        retries could outlive the window, and an order first sent so long ago that this call
        could land after the venue forgot its id is only looked up (:meth:`_look_up_only`).
        """
        key = (self._scope(order), order.order_link_id)
        if self._remembered is not None:
            self._check_window_fits()
            first = self._first_sent.get(key)
            if first is not None and not self._call_fits(first):
                return await self._look_up_only(order, first)
        check: Callable[[], None] | None = None
        if self._first_send is not None and key not in self._first_sent:
            check = functools.partial(self._first_send, order)
            check()  # before any rate-limit wait: a refused order takes no capacity
        placing = _Placing(self._clock, on_sent, check)
        try:
            ack = await self._acknowledged(order, placing)
        except BaseException as error:
            # Sent, and the call ended without telling whether the venue holds the order (its
            # fate unknown, cancelled, or refused after an attempt that may have placed it):
            # a later refusal of this id is checked by a lookup.
            if placing.left_untold(error):
                self._remember(self._maybe_placed, key, None)
            raise
        finally:
            if placing.sent_mono is not None:
                self._remember(self._first_sent, key, self._first_sent.get(key, placing.sent_mono))
        self._maybe_placed.pop(key, None)
        return ack

    def _call_budget(self) -> float:
        """Seconds from a call's first attempt to the latest moment any of its attempts can
        reach the venue: the retry deadline, one attempt, and the margin."""
        return (
            self._session.retry.deadline
            + self._session.attempt_deadline
            + WINDOW_MARGIN.total_seconds()
        )

    def _check_window_fits(self) -> None:
        assert self._remembered is not None
        window = self._remembered.total_seconds()
        if self._call_budget() > window:
            raise ConfigurationError(
                f"the retry deadline ({self._session.retry.deadline:g} s) and an attempt "
                f"({self._session.attempt_deadline:g} s) must end {WINDOW_MARGIN} before "
                f"Bybit forgets an orderLinkId ({window:g} s after its first use): a resend "
                "after that would place a second order; lower RetryPolicy.deadline or timeout"
            )

    def _call_fits(self, first_sent: float) -> bool:
        """Whether a call starting now ends inside the window opened by ``first_sent``."""
        assert self._remembered is not None
        ends = self._clock.monotonic() + self._call_budget()
        return ends <= first_sent + self._remembered.total_seconds()

    async def _look_up_only(self, order: OrderT, first_sent: float) -> AckT:
        """``order``'s fate, read by its id and never by sending it again: the venue may have
        forgotten the id, and a resend would then be a new order."""
        link = order.order_link_id
        age = self._clock.monotonic() - first_sent
        logger.info(
            "place_order: orderLinkId %s was first sent %.0f s ago; Bybit forgets it after "
            "%s, so it is looked up, not resent",
            link,
            age,
            self._remembered,
        )
        why = (
            f"orderLinkId {link} was first sent {age:.0f} s ago and Bybit forgets an id "
            f"{self._remembered} after its first use: resending it now could place a second "
            "order"
        )
        try:
            held = await self._find(order)
        except ExchangeError as lookup:
            raise OrderStatusUnknown(
                f"{why}, and looking it up failed ({lookup}); look it up later "
                f"(orders(order_link_id={link!r}))",
                request=order,
            ) from lookup
        if held is None or not self._same(held, order):
            # Another order under the id: the venue forgot it and it was used again, and
            # Bybit lists only the latest order of a reused id.
            found = "no order" if held is None else f"only another order ({held.order_id})"
            raise OrderStatusUnknown(
                f"{why}, and {found} was found under it: if it is not placed, build a new "
                "order (a new orderLinkId) to place it",
                request=order,
            )
        logger.info("place_order: orderLinkId %s is placed as %s", link, held.order_id)
        return self._ack_of(order, held.order_id, held.order_link_id)

    async def _acknowledged(self, order: OrderT, placing: _Placing) -> AckT:
        """The acknowledgement of ``order``: the venue's answer, or what a refusal that may
        mean it is placed turns out to be (:meth:`_check_refusal`); never another order's."""
        link = order.order_link_id
        answer = await self._send_order(order, placing)
        # Checked outside _send_order's except blocks: no chaining to the refusal.
        if isinstance(answer, ApiError):
            ack = await self._check_refusal(order, answer, placing.sent_at)
        else:
            ack = self._ack_of(order, answer.order_id, answer.order_link_id)
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

    async def _send_order(self, order: OrderT, placing: _Placing) -> Any:
        """The venue's answer to ``order``: its acknowledgement, or a refusal to check by a
        lookup (one after an attempt that may have placed the order, or one that may mean its
        id exists already). Any other failure is raised."""
        key = (self._scope(order), order.order_link_id)
        endpoint = self._endpoint if isinstance(self._endpoint, Endpoint) else self._endpoint(order)
        try:
            return await self._session.call(
                endpoint,
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
                key in self._maybe_placed or may_mean_already_exists(error)
            ):
                raise
            return error

    async def _check_refusal(self, order: OrderT, refusal: ApiError, sent_at: float | None) -> AckT:
        """What a refusal of ``order`` means, learned by looking the order up by its id in
        its id space.

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
            existing = await self._find(order)
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
                    f"was found in {LOOKUP_TRIES} lookups over "
                    f"{(LOOKUP_TRIES - 1) * LOOKUP_PAUSE:g} s. Check the order history "
                    f"({self._history(order)}) before acting; placing the same order object "
                    "again is safe and tells the truth",
                    request=order,
                    sent_at=sent_at,
                ) from refusal
            logger.info("place_order: orderLinkId %s is not placed; the refusal stands", link)
            raise refusal
        if not self._same(existing, order):
            raise OrderAlreadyExists(
                refusal.code,
                f"orderLinkId {link} belongs to a different order {existing.order_id} "
                f"({self._describe(existing)})",
                refusal.venue,
                http_status=refusal.http_status,
            ) from refusal
        logger.info("place_order: orderLinkId %s is already placed as %s", link, existing.order_id)
        return self._ack_of(order, existing.order_id, existing.order_link_id)

    @staticmethod
    def _remember(
        memory: OrderedDict[tuple[str, str], Any], key: tuple[str, str], value: Any
    ) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > _REMEMBERED_UNKNOWN:
            memory.popitem(last=False)


def _category(order: _Categorized) -> str:
    return order.category


def _type_amount_product(held: _HeldAmount) -> str:
    return f"{held.order_type} {held.amount} of product {held.product_id}"


def _category_history(order: _Categorized) -> str:
    return (
        f"orders(order_link_id={order.order_link_id!r}) of category {order.category}, or "
        "Bybit's Earn order page"
    )


@attrs.define
class _Placing:
    """One ``place_order`` call as it goes: when it was first handed to the transport, and
    whether an attempt's outcome was unknown. ``before_first`` may refuse the first attempt
    as it is about to leave (after its rate-limit wait): it then leaves unsent."""

    clock: Clock
    on_sent: Callable[[], None] | None
    before_first: Callable[[], None] | None = None
    sent_at: float | None = None
    sent_mono: float | None = None
    unknown_seen: bool = False

    def mark_sent(self) -> None:
        if self.sent_at is None:
            if self.before_first is not None:
                self.before_first()
            self.sent_at = self.clock.time()
            self.sent_mono = self.clock.monotonic()
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
