"""What one venue endpoint is: the facts the session needs to call it safely."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

__all__ = ["Endpoint"]

T = TypeVar("T")


@attrs.frozen
class Endpoint(Generic[T]):
    """One endpoint of a venue.

    ``buckets`` names the rate-limit buckets a call takes, most specific first (the endpoint's
    own bucket, then shared pools such as the IP-wide one); the first is the one server
    feedback pauses. ``idempotent`` says whether a request whose outcome is unknown may be
    sent again. It follows the method (a GET may be resent, anything else may not) unless the
    endpoint says otherwise, and then its definition says why (a read sent as POST; an order
    carrying a client order id the venue deduplicates on; a cancel that changes nothing more
    the second time).
    ``changes_state`` marks requests that place or change orders: when their final outcome is
    unknown the caller gets :class:`~asyncexch.OrderStatusUnknown`.
    """

    name: str
    method: str
    path: str
    result: type[T]
    signed: bool = True
    buckets: tuple[str, ...] = ()
    cost: int = 1
    idempotent: bool = attrs.field(
        default=attrs.Factory(lambda self: self.method == "GET", takes_self=True)
    )
    changes_state: bool = False
