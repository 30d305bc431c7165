"""``bybit.liquidity_mining``: Bybit's Liquidity Mining API, its orders placed exactly once.

The four order calls (add and remove liquidity, reinvest, add margin) place like Advance
Earn's ``place_order`` (:mod:`._placement`): retries reuse the order's ``orderLinkId``; an
"already exists" refusal, or any refusal after an attempt whose outcome was unknown, is
checked by looking the order up by its id. Claiming interest carries no id (Bybit's docs,
MCP server and pybit agree): it is never resent once its outcome is unknown, and that
outcome is :class:`~asyncexch.OrderStatusUnknown`.

Bybit allows one pending order per position (remove, reinvest, add margin) and documents no
code for refusing a second: :class:`~asyncexch.PositionOrderPending` is raised for the code
the simulator uses, :data:`PENDING_ORDER_CODE`, and for any code a caller maps with
``pending_order_codes``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from .._endpoint import Endpoint
from .._session import Session
from .._validators import one_of, text, whole
from ..errors import ApiError, InvalidRequest, PositionOrderPending
from ._categories import _millis
from ._liquidity_mining import (
    LiquidationRecord,
    LiquidityMiningAck,
    LiquidityMiningOrderInfo,
    LiquidityMiningPosition,
    LiquidityMiningProduct,
    LiquidityOrderStatus,
    LiquidityOrderType,
    YieldRecord,
)
from ._liquidity_mining_endpoints import (
    ADD_LIQUIDITY,
    ADD_MARGIN,
    CLAIM_INTEREST,
    LIQUIDATION_RECORDS,
    LM_ORDER,
    LM_POSITION,
    LM_PRODUCT,
    REINVEST,
    REMOVE_LIQUIDITY,
    YIELD_RECORDS,
)
from ._liquidity_mining_orders import (
    ORDER_TYPES,
    AddLiquidity,
    AddMargin,
    LiquidityMiningOrder,
    Reinvest,
    RemoveLiquidity,
)
from ._paging import find_order, pages
from ._placement import Placement
from ._waiting import find_placed, wait_until_final

__all__ = ["ALL_PRODUCTS", "PENDING_ORDER_CODE", "LiquidityMining"]

#: ``claim_interest``'s product id for every position.
ALL_PRODUCTS = "-1"
#: The retCode the simulator refuses a second pending order on a position with. Bybit
#: documents the rule but no code; 180006 is "Validation failed" in its Earn table.
PENDING_ORDER_CODE = 180006
_PAGE_SIZES = whole(high=50)
_TEXT = text()
_STATUS_FILTER = one_of("Success", "Processing")
_ENDPOINTS: dict[type[Any], Endpoint[Any]] = {
    AddLiquidity: ADD_LIQUIDITY,
    RemoveLiquidity: REMOVE_LIQUIDITY,
    Reinvest: REINVEST,
    AddMargin: ADD_MARGIN,
}


class LiquidityMining:
    """Bybit Liquidity Mining: pools of two coins, positions with optional leverage.

    Every list is an async iterator over the venue's cursor pages (positions come in one
    answer). Amounts are :class:`~decimal.Decimal`; every enum is open.
    """

    def __init__(
        self, session: Session, *, pending_order_codes: Collection[int] = (PENDING_ORDER_CODE,)
    ) -> None:
        self._session = session
        self._clock = session.clock
        self._pending_codes = frozenset(pending_order_codes)
        self._placement: Placement[
            LiquidityMiningOrder, LiquidityMiningAck, LiquidityMiningOrderInfo
        ] = Placement(
            session,
            _endpoint_of,
            scope=_one_id_space,
            find=self._find_placed,
            ack_of=_ack_of,
            same=same_liquidity_order,
            describe=_type_and_product,
            history=_history,
        )

    async def products(
        self, *, base_coin: str | None = None, quote_coin: str | None = None
    ) -> list[LiquidityMiningProduct]:
        """The pools, optionally of one ``base_coin`` or ``quote_coin`` (public)."""
        answer = await self._session.call(
            LM_PRODUCT, {"baseCoin": base_coin, "quoteCoin": quote_coin}
        )
        return answer.items

    async def add_liquidity(self, order: AddLiquidity) -> LiquidityMiningAck:
        """Add liquidity (:class:`AddLiquidity`); see :meth:`place` for the guarantees."""
        return await self._checked(order, AddLiquidity)

    async def remove_liquidity(self, order: RemoveLiquidity) -> LiquidityMiningAck:
        """Remove a share of a position (:class:`RemoveLiquidity`); see :meth:`place`."""
        return await self._checked(order, RemoveLiquidity)

    async def reinvest(self, order: Reinvest) -> LiquidityMiningAck:
        """Reinvest a position's claimable yield (:class:`Reinvest`); see :meth:`place`."""
        return await self._checked(order, Reinvest)

    async def add_margin(self, order: AddMargin) -> LiquidityMiningAck:
        """Add margin to a position (:class:`AddMargin`); see :meth:`place`."""
        return await self._checked(order, AddMargin)

    async def place(self, order: LiquidityMiningOrder) -> LiquidityMiningAck:
        """Place any Liquidity Mining order; the acknowledgement of exactly one order.

        Retries reuse ``order.order_link_id``. If Bybit says the id exists, the order is
        looked up by it: the same order (product, type and what the order list shows of its
        amounts) is acknowledged, another raises :class:`OrderAlreadyExists`. An outcome
        still unknown after every attempt raises :class:`OrderStatusUnknown`: placing the
        same object again is safe. A second pending order on one position raises
        :class:`PositionOrderPending`. Processing is asynchronous: see
        :meth:`wait_for_order`.
        """
        if not isinstance(order, ORDER_TYPES):
            raise InvalidRequest(
                "order",
                f"must be an AddLiquidity, RemoveLiquidity, Reinvest or AddMargin, got {order!r}",
            )
        try:
            return await self._placement.place(order)
        except ApiError as error:
            if type(error) is PositionOrderPending or error.code not in self._pending_codes:
                raise
            raise PositionOrderPending(
                error.code,
                f"{error.message} (position {getattr(order, 'position_id', '?')} has a "
                "pending order; wait for it, then place this order again)",
                error.venue,
                http_status=error.http_status,
            ) from error

    async def _checked(
        self, order: LiquidityMiningOrder, expected: type[LiquidityMiningOrder]
    ) -> LiquidityMiningAck:
        """:meth:`place`, for an order of the ``expected`` type only."""
        if not isinstance(order, expected):
            raise InvalidRequest("order", f"must be a {expected.__name__}, got {order!r}")
        return await self.place(order)

    async def claim_interest(self, product_id: str = ALL_PRODUCTS) -> None:
        """Claim the accrued interest of the product's positions (``"-1"``, the default: of
        all), to the default account.

        Bybit gives a claim no id, so it cannot be made exactly-once: when its outcome is
        unknown it is not sent again and :class:`OrderStatusUnknown` is raised (check
        :meth:`yield_records` for a ``Manual`` record before claiming again).
        """
        _TEXT.at("product_id", product_id)
        await self._session.call(CLAIM_INTEREST, {"productId": product_id}, request=product_id)

    async def wait_for_order(
        self,
        order: LiquidityMiningAck | str,
        *,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
    ) -> LiquidityMiningOrderInfo:
        """Poll the order (an acknowledgement or an order id) until it is Success or Fail;
        :class:`OrderWaitTimeout`, with the last state seen, after ``timeout`` seconds."""
        if isinstance(order, LiquidityMiningAck):
            order_id = order.order_id
        else:
            order_id = _TEXT.at("order", order)
        return await wait_until_final(
            self._clock,
            lambda: self._find(order_id=order_id),
            order_id,
            timeout=timeout,
            poll_interval=poll_interval,
        )

    def orders(
        self,
        *,
        product_id: str | None = None,
        order_type: LiquidityOrderType | str | None = None,
        status: LiquidityOrderStatus | str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 20,
    ) -> AsyncIterator[LiquidityMiningOrderInfo]:
        """Orders, fetched a page (up to 50) at a time as you iterate. ``status`` filters
        ``Success`` or ``Processing`` (Bybit's only filters); without it, every status."""
        _PAGE_SIZES.at("page_size", page_size)
        if status is not None:
            _STATUS_FILTER.at("status", str(status))
        filters: dict[str, object] = {
            "orderId": order_id,
            "orderLinkId": order_link_id,
            "productId": product_id,
            "orderType": None if order_type is None else str(order_type),
            "status": None if status is None else str(status),
            "startTime": _millis(start_time),
            "endTime": _millis(end_time),
        }
        return self._paged(LM_ORDER, filters, page_size)

    async def positions(
        self, *, product_id: str | None = None, base_coin: str | None = None
    ) -> AsyncIterator[LiquidityMiningPosition]:
        """Active positions, their amounts computed now (Bybit answers them in one page)."""
        answer = await self._session.call(
            LM_POSITION, {"productId": product_id, "baseCoin": base_coin}
        )
        for position in answer.items:
            yield position

    def yield_records(self, **filters: Any) -> AsyncIterator[YieldRecord]:
        """Yield paid out, a page at a time: keyword filters ``base_coin``, ``quote_coin``,
        ``start_time``, ``end_time`` and ``page_size`` (up to 50)."""
        return self._records(YIELD_RECORDS, **filters)

    def liquidation_records(self, **filters: Any) -> AsyncIterator[LiquidationRecord]:
        """Liquidations, a page at a time (the filters of :meth:`yield_records`)."""
        return self._records(LIQUIDATION_RECORDS, **filters)

    def _records(
        self,
        endpoint: Endpoint[Any],
        *,
        base_coin: str | None = None,
        quote_coin: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 20,
    ) -> AsyncIterator[Any]:
        _PAGE_SIZES.at("page_size", page_size)
        filters: dict[str, object] = {
            "baseCoin": base_coin,
            "quoteCoin": quote_coin,
            "startTime": _millis(start_time),
            "endTime": _millis(end_time),
        }
        return self._paged(endpoint, filters, page_size)

    def _paged(
        self, endpoint: Endpoint[Any], filters: dict[str, object], page_size: int
    ) -> AsyncIterator[Any]:
        return pages(self._session, endpoint, filters, page_size)

    async def _find(
        self, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> LiquidityMiningOrderInfo | None:
        """One order by its id or its orderLinkId (Bybit: pass one alone)."""
        found: LiquidityMiningOrderInfo | None = await find_order(
            self._session, LM_ORDER, {}, order_id=order_id, order_link_id=order_link_id
        )
        return found

    async def _find_placed(self, order: LiquidityMiningOrder) -> LiquidityMiningOrderInfo | None:
        """The order Bybit holds under ``order``'s id, allowing it a moment to appear."""
        link = order.order_link_id
        return await find_placed(self._clock, lambda: self._find(order_link_id=link))


# What Liquidity Mining's placement needs to know (:class:`Placement`): an endpoint per
# order type, one id space for all four, and its own words for the refusals.


def _endpoint_of(order: LiquidityMiningOrder) -> Endpoint[Any]:
    return _ENDPOINTS[type(order)]


def _one_id_space(order: LiquidityMiningOrder) -> str:
    return "LiquidityMining"


def _ack_of(order: LiquidityMiningOrder, order_id: str, order_link_id: str) -> LiquidityMiningAck:
    return LiquidityMiningAck(
        order_id=order_id, order_link_id=order_link_id, order_type=order.order_type
    )


def _type_and_product(existing: LiquidityMiningOrderInfo) -> str:
    return f"{existing.order_type} of product {existing.product_id}"


def _history(order: LiquidityMiningOrder) -> str:
    return (
        f"liquidity_mining.orders(order_link_id={order.order_link_id!r}), or Bybit's "
        "Liquidity Mining order page"
    )


def same_liquidity_order(existing: LiquidityMiningOrderInfo, order: LiquidityMiningOrder) -> bool:
    """Whether the order Bybit holds under the id is the one asked for.

    Product and type must match. Bybit's order list names no position, so a removal,
    reinvestment or margin is matched on what it does show: an addition's amounts (a coin
    not added reads ``0``), a removal's rate and type, a margin's amount when the list
    shows one (the docs do not say which field holds it; the simulator writes
    ``quoteAmount``).
    """
    if existing.product_id != order.product_id or existing.order_type != order.order_type:
        return False
    if isinstance(order, AddLiquidity):
        return _zero_or(existing.quote_amount) == _zero_or(order.quote_amount) and _zero_or(
            existing.base_amount
        ) == _zero_or(order.base_amount)
    if isinstance(order, RemoveLiquidity):
        # Bybit reads a rate of 0 as 100 (a full removal).
        return (existing.remove_rate or 100) == order.remove_rate and existing.remove_type in (
            None,
            order.remove_type,
        )
    if isinstance(order, AddMargin):
        return not existing.quote_amount or existing.quote_amount == order.amount
    return True


def _zero_or(amount: Decimal | None) -> Decimal:
    return Decimal(0) if amount is None else amount
