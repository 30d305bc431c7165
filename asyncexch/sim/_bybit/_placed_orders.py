"""One category's orders by the ``orderLinkId`` they were placed under: Bybit remembers an
id per UID and category for good, so a second order under it is a reuse, answered by the
exchange's reuse rule (:meth:`~._engine.AdvanceEarnBook.answer_reuse`)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Generic, Protocol, TypeVar

from .._instant import Instant
from ._due import DueQueue
from ._records import SimAccount

__all__ = ["PlacedOrders"]


class _Order(Protocol):
    @property
    def order_id(self) -> str: ...

    @property
    def placed_at(self) -> float: ...

    @property
    def due(self) -> float: ...


OrderT = TypeVar("OrderT", bound=_Order)


class PlacedOrders(Generic[OrderT]):
    """The orders of one category: ``orders`` by id (the book's own dictionary) and by
    (UID, ``orderLinkId``), and each new one in ``pending`` by its due time. ``answer_reuse``
    refuses a reuse, or returns to let the first order answer it."""

    def __init__(
        self,
        orders: MutableMapping[str, OrderT],
        answer_reuse: Callable[[float, Instant], None],
        pending: DueQueue[OrderT],
    ) -> None:
        self._orders = orders
        self._answer_reuse = answer_reuse
        self._pending = pending
        self._by_link: dict[tuple[str, str], OrderT] = {}

    def once(
        self, account: SimAccount, link: str, at: Instant, place: Callable[[], OrderT]
    ) -> OrderT:
        """The account's order under ``link``: the first one placed under it, if the reuse
        rule lets it answer (it raises otherwise), or else the one ``place`` makes now,
        recorded."""
        previous = self._by_link.get((account.uid, link))
        if previous is not None:
            self._answer_reuse(previous.placed_at, at)
            return previous
        order = place()
        self._orders[order.order_id] = order
        self._pending.add(order, order.due)
        self._by_link[(account.uid, link)] = order
        return order
