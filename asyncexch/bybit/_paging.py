"""Reading Bybit's lists: every page of a cursor-paged list, and one order by its ids.
Shared by every family that pages (Advance Earn's categories, Liquidity Mining)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, TypeVar

from .._endpoint import Endpoint
from .._session import Session
from ..errors import MalformedResponse

__all__ = ["find_order", "pages"]


class _Identified(Protocol):
    @property
    def order_id(self) -> str: ...

    @property
    def order_link_id(self) -> str: ...


InfoT = TypeVar("InfoT", bound=_Identified)


async def pages(
    session: Session, endpoint: Endpoint[Any], params: Mapping[str, object], page_size: int
) -> AsyncIterator[Any]:
    """Every item of the list ``endpoint`` answers ``params`` with (its answer has ``items``
    and ``next_page_cursor``), ``page_size`` a request, as the caller iterates; a cursor
    that repeats is :class:`MalformedResponse`."""
    cursor = ""
    seen: set[str] = set()
    while True:
        page = await session.call(
            endpoint, {**params, "limit": page_size, "cursor": cursor or None}
        )
        for item in page.items:
            yield item
        cursor = page.next_page_cursor
        if not cursor or not page.items:
            return
        if cursor in seen:
            raise MalformedResponse(f"{endpoint.path}: the cursor {cursor!r} repeats")
        seen.add(cursor)


async def find_order(
    session: Session,
    endpoint: Endpoint[Any],
    params: Mapping[str, object],
    *,
    order_id: str | None = None,
    order_link_id: str | None = None,
) -> Any | None:
    """The order ``endpoint`` lists for ``params`` and the ids given, or ``None``: the venue's
    answer is checked, an order with other ids is not the one asked for."""
    page = await session.call(
        endpoint,
        {**params, "orderId": order_id, "orderLinkId": order_link_id},
        label=f"orderLinkId={order_link_id}" if order_link_id else f"orderId={order_id}",
    )
    for info in page.items:
        if (order_id is None or info.order_id == order_id) and (
            order_link_id is None or info.order_link_id == order_link_id
        ):
            return info
    return None
