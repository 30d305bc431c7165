"""What falls due at an instant: the Advance Earn books' pending orders whose due time has
come, and their active positions past their settlement time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

from .._instant import Instant

__all__ = ["matured_positions", "pending_due"]


class _Order(Protocol):
    status: str
    due: float


class _Position(Protocol):
    status: str
    settlement_ms: int


OrderT = TypeVar("OrderT", bound=_Order)
PositionT = TypeVar("PositionT", bound=_Position)


def pending_due(orders: Iterable[OrderT], at: Instant) -> Iterator[OrderT]:
    """The orders still ``Pending`` whose due time (monotonic) has come by ``at``, each
    checked as it is reached."""
    return (order for order in orders if order.status == "Pending" and order.due <= at.monotonic)


def matured_positions(positions: Iterable[PositionT], at: Instant) -> Iterator[PositionT]:
    """The ``Active`` positions whose settlement time (epoch ms) has passed by ``at``, each
    checked as it is reached."""
    return (p for p in positions if p.status == "Active" and p.settlement_ms <= at.ms)
