"""What falls due at an instant: the Advance Earn books' pending orders whose due time has
come, and their active positions past their settlement time.

A book settles on every request, so looking at every order and position it ever held each
time makes a long run quadratic (a 10,000-order batch spent most of its time there). A
:class:`DueQueue` hands a settle step only the candidates: what came due by the instant, in
the order the book added them, plus what came due earlier and may still act; the step keeps
its own test (:func:`pending_due`, :func:`matured_positions`), so what settles, and in which
order, is what scanning everything would settle.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar

from .._instant import Instant

__all__ = ["DueQueue", "matured_positions", "pending_due"]


class _Order(Protocol):
    status: str
    due: float


class _Position(Protocol):
    status: str
    settlement_ms: int


OrderT = TypeVar("OrderT", bound=_Order)
PositionT = TypeVar("PositionT", bound=_Position)
T = TypeVar("T")


def pending_due(orders: Iterable[OrderT], at: Instant) -> Iterator[OrderT]:
    """The orders still ``Pending`` whose due time (monotonic) has come by ``at``, each
    checked as it is reached."""
    return (order for order in orders if order.status == "Pending" and order.due <= at.monotonic)


def matured_positions(positions: Iterable[PositionT], at: Instant) -> Iterator[PositionT]:
    """The ``Active`` positions whose settlement time (epoch ms) has passed by ``at``, each
    checked as it is reached."""
    return (p for p in positions if p.status == "Active" and p.settlement_ms <= at.ms)


class DueQueue(Generic[T]):
    """A book's items (orders or positions) by the time they fall due, each added once, when
    the book adds it to its dictionary, with a due time that never changes.

    :meth:`due_by` promises a superset of what a settle step's test can select at an instant,
    in the order the items were added: every item whose due time has come by then and that
    ``finished`` did not say was done when last asked. ``finished`` must be final: an item it
    calls done never comes due again (a settled order or position), so forgetting it is
    exact; items past their time but not done (a position Redeeming at its settlement time)
    stay candidates until they are.
    """

    def __init__(self, finished: Callable[[T], bool]) -> None:
        self._finished = finished
        self._waiting: list[tuple[float, int, T]] = []
        #: Items whose time has come and that were not done when last asked, by their rank.
        self._come: dict[int, T] = {}
        self._ranks = itertools.count()

    def add(self, item: T, due: float) -> None:
        """Hold ``item``, due at ``due`` (the clock the settle step compares it with)."""
        heapq.heappush(self._waiting, (due, next(self._ranks), item))

    def due_by(self, now: float) -> list[T]:
        """The candidates at ``now``, in the order they were added: the items done since the
        last call are forgotten first, then those whose due time has come join."""
        come = self._come
        waiting = self._waiting
        if not come and (not waiting or waiting[0][0] > now):
            return []  # the usual answer, on every request: nothing due
        for rank in [rank for rank, item in come.items() if self._finished(item)]:
            del come[rank]
        while waiting and waiting[0][0] <= now:
            _, rank, item = heapq.heappop(waiting)
            come[rank] = item
        return [come[rank] for rank in sorted(come)]
