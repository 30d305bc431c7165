"""Exactly-once placement on Bybit: an order carrying an ``orderLinkId``, placed once however
many attempts it takes.

Every Bybit family whose state-changing calls carry an ``orderLinkId`` (Advance Earn's
place-order, Liquidity Mining's four order calls) places the same way: retries reuse the id;
a refusal that may mean the id is already taken, or any refusal after an attempt whose outcome
was unknown, is checked by looking the order up by its id; the same order found is the
acknowledgement, another order is :class:`~asyncexch.OrderAlreadyExists`, none found leaves
the refusal standing (or, when the venue said the id exists, the state unknown). What differs
between families (the endpoint, how to look an order up, what "the same order" means, the
acknowledgement's type) is a :class:`PlacementRule`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .._clock import Clock
from .._endpoint import Endpoint
from .._session import Session
from ..errors import ApiError, ExchangeError, OrderAlreadyExists, OrderStatusUnknown, Outcome
from ._errors import may_mean_already_exists
from ._waiting import LOOKUP_PAUSE, LOOKUP_TRIES

__all__ = ["OrderPlacement", "PlacementRule"]

logger = logging.getLogger("asyncexch")
#: How many orderLinkIds whose placement ended unknown a client remembers: a later refusal of
#: one of them is checked by a lookup, since an earlier attempt may have placed it.
_REMEMBERED_UNKNOWN = 10_000


class _Linked(Protocol):
    @property
    def order_link_id(self) -> str: ...

    def to_params(self) -> dict[str, object]: ...


class _Placed(Protocol):
    @property
    def order_id(self) -> str: ...

    @property
    def order_link_id(self) -> str: ...


class _Answer(Protocol):
    @property
    def order_id(self) -> str: ...

    @property
    def order_link_id(self) -> str: ...


OrderT = TypeVar("OrderT", bound=_Linked)
AckT = TypeVar("AckT", bound=_Placed)
OrderC = TypeVar("OrderC", bound=_Linked, contravariant=True)
AckCo = TypeVar("AckCo", bound=_Placed, covariant=True)


class PlacementRule(Protocol[OrderC, AckCo]):
    """What one family's placement needs to know about its orders."""

    def endpoint(self, order: OrderC) -> Endpoint[Any]:
        """The endpoint placing ``order``; its answer has ``order_id`` and ``order_link_id``."""
        ...

    def scope(self, order: OrderC) -> str:
        """The space ``order``'s id lives in (an Advance Earn category, a family's name)."""
        ...

    async def find_placed(self, order: OrderC) -> Any | None:
        """The order the venue holds under ``order``'s id (given a moment to appear)."""
        ...

    def same_order(self, existing: Any, order: OrderC) -> bool:
        """Whether ``existing``, found under ``order``'s id, is ``order``."""
        ...

    def describe(self, existing: Any) -> str:
        """``existing`` in a few words, for the refusal that says it is another order."""
        ...

    def history(self, order: OrderC) -> str:
        """Where a caller looks ``order``'s id up by hand."""
        ...

    def ack_of(self, order: OrderC, order_id: str, order_link_id: str) -> AckCo:
        """The acknowledgement of ``order`` the venue placed as ``order_id``."""
        ...


class OrderPlacement(Generic[OrderT, AckT]):
    """Places orders of one family exactly once, by its :class:`PlacementRule`; remembers
    the ids whose placement ended unknown (a later refusal of one is checked by a lookup)."""

    def __init__(self, session: Session, rule: PlacementRule[OrderT, AckT]) -> None:
        self._session = session
        self._clock = session.clock
        self._rule = rule
        #: (scope, orderLinkId) of placements whose outcome was left untold.
        self._maybe_placed: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def place(self, order: OrderT, on_sent: Callable[[], None] | None = None) -> AckT:
        """Place ``order`` once, however many attempts it takes; remember its id when the call
        ends without telling whether the venue holds it."""
        placing = _Placing(self._clock, on_sent)
        key = (self._rule.scope(order), order.order_link_id)
        try:
            ack = await self._acknowledged(order, placing)
        except BaseException as error:
            # Sent, and the call ended without telling whether the venue holds the order (its
            # fate unknown, cancelled, or refused after an attempt that may have placed it):
            # a later refusal of this id is checked by a lookup.
            if placing.left_untold(error):
                self._remember_unknown(key)
            raise
        self._maybe_placed.pop(key, None)
        return ack

    async def _acknowledged(self, order: OrderT, placing: _Placing) -> AckT:
        """The acknowledgement of ``order``: the venue's answer, or what a refusal that may
        mean it is placed turns out to be (:meth:`_check_refusal`); never another order's."""
        link = order.order_link_id
        answer = await self._send_order(order, placing)
        # Checked outside _send_order's except blocks: no chaining to the refusal.
        if isinstance(answer, ApiError):
            ack = await self._check_refusal(order, answer, placing.sent_at)
        else:
            ack = self._rule.ack_of(order, answer.order_id, answer.order_link_id)
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

    async def _send_order(self, order: OrderT, placing: _Placing) -> _Answer | ApiError:
        """The venue's answer to ``order``: its acknowledgement, or a refusal to check by a
        lookup (one after an attempt that may have placed the order, or one that may mean its
        id exists already). Any other failure is raised."""
        key = (self._rule.scope(order), order.order_link_id)
        try:
            answer: _Answer = await self._session.call(
                self._rule.endpoint(order),
                order.to_params(),
                request=order,
                on_sent=placing.mark_sent,
                label=f"orderLinkId={order.order_link_id}",
            )
            return answer
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
            existing = await self._rule.find_placed(order)
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
                    f"({self._rule.history(order)}) before acting; placing the same order "
                    "object again is safe and tells the truth",
                    request=order,
                    sent_at=sent_at,
                ) from refusal
            logger.info("place_order: orderLinkId %s is not placed; the refusal stands", link)
            raise refusal
        if not self._rule.same_order(existing, order):
            raise OrderAlreadyExists(
                refusal.code,
                f"orderLinkId {link} belongs to a different order {existing.order_id} "
                f"({self._rule.describe(existing)})",
                refusal.venue,
                http_status=refusal.http_status,
            ) from refusal
        logger.info("place_order: orderLinkId %s is already placed as %s", link, existing.order_id)
        return self._rule.ack_of(order, existing.order_id, existing.order_link_id)

    def _remember_unknown(self, key: tuple[str, str]) -> None:
        self._maybe_placed[key] = None
        self._maybe_placed.move_to_end(key)
        while len(self._maybe_placed) > _REMEMBERED_UNKNOWN:
            self._maybe_placed.popitem(last=False)


@attrs.define
class _Placing:
    """One placement as it goes: when it was first handed to the transport, and whether an
    attempt's outcome was unknown."""

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
