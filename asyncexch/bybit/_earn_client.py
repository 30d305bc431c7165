"""Bybit Earn (``bybit.earn``): FlexibleSaving and OnChain products, orders and positions,
and placing stakes and redeems exactly once.

Placement is Advance Earn's (:class:`~asyncexch.bybit._placement.Placement`: an unknown
outcome or an "already exists" is settled by a lookup by orderLinkId), with Earn's id rule:
Bybit refuses a reused orderLinkId for 30 minutes only. So a call's retries end well inside
those 30 minutes (a session whose retry deadline could outlive them is refused), and an order
first sent too long ago is looked up, never resent: after the window a resend would be a
second order under the same id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from .._session import Session
from .._validators import whole
from ..errors import InvalidRequest
from ._categories import _AdvanceCategory, _millis, _Shapes
from ._earn import EarnAck, EarnCategory, EarnOrderInfo, EarnPosition, EarnProduct, as_category
from ._earn_endpoints import EARN_ORDER, EARN_PLACE_ORDER, EARN_POSITION, EARN_PRODUCT
from ._earn_order import EARN_IDS, EarnRedeem, EarnStake
from ._placement import Placement

__all__ = ["Earn", "EarnReader"]

#: The longest ``startTime``-``endTime`` span the order list takes (order-history.mdx).
MAX_ORDER_WINDOW = timedelta(days=7)
_PAGE_SIZES = whole(high=100)
EarnOrder = EarnStake | EarnRedeem


class EarnReader(_AdvanceCategory[EarnProduct, EarnOrderInfo, EarnPosition, EarnAck]):
    """One Earn category (``bybit.earn.flexible_saving``, ``bybit.earn.on_chain``): its
    products, orders and positions, and waiting for an order."""

    def __init__(self, session: Session, category: EarnCategory) -> None:
        super().__init__(
            session, _Shapes(category.value, EARN_PRODUCT, EARN_ORDER, EARN_POSITION, EarnAck)
        )

    async def products(
        self, *, coin: str | None = None, duration: str | None = None
    ) -> list[EarnProduct]:
        """The category's products, optionally for one ``coin`` (upper case); ``duration``
        (``Fixed``, ``Flexible``) filters OnChain products here, after reading them."""
        listed = await super().products(coin=coin)
        return [item for item in listed if duration in (None, item.duration)]

    def orders(
        self,
        *,
        product_id: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[EarnOrderInfo]:
        """The category's orders, newest first, a page (1-100, default 50) at a time.

        Refused before sending (:class:`~asyncexch.InvalidRequest`): OnChain without
        ``order_id`` or ``order_link_id`` (Bybit requires one), and a ``start_time``-
        ``end_time`` span over 7 days. Without times Bybit returns the last 7 days. Asked by
        ``order_link_id`` alone, Bybit returns the latest order of a reused id only.
        """
        _PAGE_SIZES.at("page_size", page_size)
        if self.category == EarnCategory.ON_CHAIN and order_id is None and order_link_id is None:
            raise InvalidRequest("order_id", "or order_link_id is required for OnChain orders")
        start, end = _millis(start_time), _millis(end_time)
        if start is not None and end is not None:
            if not 0 <= end - start <= MAX_ORDER_WINDOW // timedelta(milliseconds=1):
                raise InvalidRequest(
                    "end_time", f"must be from start_time to {MAX_ORDER_WINDOW} after it"
                )
        filters: dict[str, object] = {
            "orderId": order_id,
            "orderLinkId": order_link_id,
            "productId": product_id,
            "startTime": start,
            "endTime": end,
        }
        return self._paged(self._shapes.order, filters, page_size)

    async def staked(
        self, *, product_id: str | None = None, coin: str | None = None
    ) -> list[EarnPosition]:
        """The category's staked positions (one request: Bybit does not page them).
        FlexibleSaving lists fully redeemed positions too; OnChain only active ones."""
        page = await self._session.call(
            self._shapes.position,
            {"category": self.category, "productId": product_id, "coin": coin},
        )
        return page.items


class Earn:
    """Bybit Earn: FlexibleSaving and OnChain (``bybit.earn``).

    ``products``, ``orders`` and ``positions`` take the category first; ``place_order``
    takes an :class:`EarnStake` or :class:`EarnRedeem`; ``wait_for_order`` an
    :class:`EarnAck`. ``flexible_saving`` and ``on_chain`` are the same calls for one
    category.
    """

    def __init__(self, session: Session) -> None:
        #: Earn, category FlexibleSaving.
        self.flexible_saving: EarnReader = EarnReader(session, EarnCategory.FLEXIBLE_SAVING)
        #: Earn, category OnChain.
        self.on_chain: EarnReader = EarnReader(session, EarnCategory.ON_CHAIN)
        self._placement: Placement[EarnOrder, EarnAck, EarnOrderInfo] = Placement.per_category(
            session,
            EARN_PLACE_ORDER,
            find=self._find_placed,
            ack_of=_ack_of,
            same=_same_order,
            remembered=EARN_IDS.remembered,
        )

    def reader(self, category: EarnCategory | str) -> EarnReader:
        """The reader of ``category`` (``"FlexibleSaving"`` or ``"OnChain"``)."""
        known = as_category(category)
        return self.on_chain if known is EarnCategory.ON_CHAIN else self.flexible_saving

    async def products(
        self, category: EarnCategory | str, *, coin: str | None = None
    ) -> list[EarnProduct]:
        """The category's products, optionally for one ``coin`` (upper case)."""
        return await self.reader(category).products(coin=coin)

    async def place_order(self, order: EarnStake | EarnRedeem) -> EarnAck:
        """Place a stake or a redeem; the acknowledgement of exactly one order.

        Retries reuse ``order.order_link_id``. An unknown outcome or an "already exists" is
        settled by looking the order up by that id (the same order: its acknowledgement;
        another: :class:`~asyncexch.OrderAlreadyExists`). Bybit refuses a reused id for 30
        minutes only, so retries stay inside them, and placing the same order object again
        once a whole call (retry deadline, one attempt, 2 minutes' margin) could end past
        those 30 minutes after its first attempt (by default after 26:40) only looks it up:
        :class:`~asyncexch.OrderStatusUnknown` when it is not found (then build a new order,
        with a new id, to place it). Raises :class:`~asyncexch.ConfigurationError` when the
        client's retry deadline and timeout could outlive the 30 minutes.
        """
        if not isinstance(order, (EarnStake, EarnRedeem)):
            raise InvalidRequest("order", f"must be an EarnStake or EarnRedeem, got {order!r}")
        return await self._placement.place(order, None)

    def orders(
        self,
        category: EarnCategory | str,
        *,
        product_id: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[EarnOrderInfo]:
        """The category's orders, newest first (see :meth:`EarnReader.orders`)."""
        return self.reader(category).orders(
            product_id=product_id,
            order_id=order_id,
            order_link_id=order_link_id,
            start_time=start_time,
            end_time=end_time,
            page_size=page_size,
        )

    async def positions(
        self,
        category: EarnCategory | str,
        *,
        product_id: str | None = None,
        coin: str | None = None,
    ) -> list[EarnPosition]:
        """The category's staked positions, with ``available_amount`` and
        ``freeze_details`` (see :meth:`EarnReader.staked`)."""
        return await self.reader(category).staked(product_id=product_id, coin=coin)

    async def wait_for_order(
        self, order: EarnAck, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> EarnOrderInfo:
        """Poll the order, in its category, until it is Success or Fail; an OnChain stake
        may stay Pending for a long while. Raises :class:`~asyncexch.OrderWaitTimeout`
        (carrying the last state seen) after ``timeout`` seconds."""
        if not isinstance(order, EarnAck):
            raise InvalidRequest("order", f"must be an EarnAck, got {order!r}")
        return await self.reader(order.category).wait_for_order(
            order, timeout=timeout, poll_interval=poll_interval
        )

    async def _find_placed(self, order: EarnOrder) -> EarnOrderInfo | None:
        return await self.reader(order.category)._find_placed(order.order_link_id)


def _ack_of(order: EarnOrder, order_id: str, order_link_id: str) -> EarnAck:
    return EarnAck(category=order.category, order_id=order_id, order_link_id=order_link_id)


def _same_order(existing: EarnOrderInfo, order: EarnOrder) -> bool:
    """Whether the order Bybit holds under the id is the one asked for: the same product,
    type, coin and amount."""
    return (
        existing.product_id == order.product_id
        and existing.order_type == order.order_type
        and existing.coin == order.coin
        and existing.amount == order.amount
    )
