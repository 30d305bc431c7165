"""Advance Earn by category: one reader per category over the endpoints all categories share.

Bybit serves every Advance Earn category from the same paths, and ``category`` decides the
shape of each answer. A reader holds one category's shapes (its product, order and position
types) and reads them through the shared endpoints, so every category shares the paging, the
converter and the rate-limit buckets.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast

import attrs

from .._batch import gather_or_cancel
from .._clock import Clock, utc
from .._convert import millis
from .._endpoint import Endpoint
from .._session import Session
from .._validators import text, whole
from ..errors import InvalidRequest, MalformedResponse
from ._discount_buy import (
    CATEGORY as DISCOUNT_BUY,
)
from ._discount_buy import (
    DiscountBuyAck,
    DiscountBuyOrderInfo,
    DiscountBuyPosition,
    DiscountBuyProduct,
    DiscountBuyQuote,
    OfferBoard,
)
from ._discount_buy import (
    quote_from_board as discount_quote_from_board,
)
from ._dual_assets import (
    CATEGORY as DUAL_ASSETS,
)
from ._dual_assets import (
    DualAssetsAck,
    DualAssetsOrderInfo,
    DualAssetsPosition,
    DualAssetsProduct,
    DualAssetsQuote,
    QuoteBoard,
    quote_from_board,
)
from ._endpoints import ORDER, POSITION, PRODUCT, QUOTE, REDEEM_ESTIMATE, read_as
from ._live_quotes import LiveQuote, QuoteGap
from ._models import (
    CATEGORY as SMART_LEVERAGE,
)
from ._models import (
    OrderAck,
    OrderInfo,
    OrderStatus,
    Page,
    Position,
    Product,
    Quote,
    RedeemEstimate,
)
from ._offer_topics import (
    DISCOUNT_BUY_OFFERS,
    DUAL_ASSETS_OFFERS,
    SMART_LEVERAGE_OFFERS,
    OfferTopic,
)
from ._paging import find_order, pages
from ._stream_slot import stream_of
from ._waiting import find_placed, wait_until_final

__all__ = ["DiscountBuy", "DualAssets", "SmartLeverage"]

#: The venue's page sizes for orders and positions.
_PAGE_SIZES = whole(high=20)
_TEXT = text()


class _Listed(Protocol):
    @property
    def product_id(self) -> str: ...


class _Acknowledged(Protocol):
    @property
    def order_id(self) -> str: ...


class _Ordered(Protocol):
    @property
    def order_id(self) -> str: ...

    @property
    def order_link_id(self) -> str: ...

    @property
    def status(self) -> OrderStatus: ...


ProductT = TypeVar("ProductT", bound=_Listed)
InfoT = TypeVar("InfoT", bound=_Ordered)
PositionT = TypeVar("PositionT")
AckT = TypeVar("AckT", bound=_Acknowledged)
Q = TypeVar("Q")
T = TypeVar("T")


@attrs.frozen
class _Shapes(Generic[ProductT, InfoT, PositionT, AckT]):
    """One category: its name, the shared endpoints reading its products, orders and
    positions, and the type of its acknowledgements."""

    category: str
    product: Endpoint[Page[ProductT]]
    order: Endpoint[Page[InfoT]]
    position: Endpoint[Page[PositionT]]
    ack: type[AckT]


def _shapes(
    category: str,
    product: type[ProductT],
    order: type[InfoT],
    position: type[PositionT],
    ack: type[AckT],
) -> _Shapes[ProductT, InfoT, PositionT, AckT]:
    """A category's shapes from its model types: the shared endpoints read pages of them."""
    return _Shapes(
        category,
        read_as(PRODUCT, _page_of(product)),
        read_as(ORDER, _page_of(order)),
        read_as(POSITION, _page_of(position)),
        ack,
    )


def _page_of(item: type[T]) -> type[Page[T]]:
    # A type parameter that is a variable is beyond the type checkers; at run time it is
    # the same class as ``Page[DualAssetsProduct]`` written out.
    page: type[Page[T]] = cast(Any, Page)[item]
    return page


class _AdvanceCategory(Generic[ProductT, InfoT, PositionT, AckT]):
    """What every Advance Earn category has: products, orders, positions, and waiting for an
    order to be done."""

    def __init__(self, session: Session, shapes: _Shapes[ProductT, InfoT, PositionT, AckT]) -> None:
        self._session = session
        self._clock = session.clock
        self._shapes = shapes
        #: The products listed so far, by id: a quote of one carries it.
        self._products: dict[str, ProductT] = {}

    @property
    def category(self) -> str:
        """The category's name on the wire (``SmartLeverage``, ``DualAssets``)."""
        return self._shapes.category

    async def _quoted(self, endpoint: Endpoint[T], product_id: str) -> T:
        """The quote endpoint's answer for one of the category's products, read as
        ``endpoint`` reads it."""
        _TEXT.at("product_id", product_id)
        return await self._session.call(
            endpoint, {"category": self.category, "productId": product_id}
        )

    async def products(
        self, *, coin: str | None = None, duration: str | None = None
    ) -> list[ProductT]:
        """The category's products, optionally for one ``coin`` (upper case) and one
        ``duration`` (``"1d"``, ...)."""
        if coin is not None and coin != coin.upper():
            raise InvalidRequest("coin", f"must be upper case, got {coin!r}")
        page = await self._session.call(
            self._shapes.product, {"category": self.category, "coin": coin, "duration": duration}
        )
        self._products.update((product.product_id, product) for product in page.items)
        return page.items

    def orders(
        self,
        *,
        product_id: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 20,
    ) -> AsyncIterator[InfoT]:
        """The category's orders, newest first, fetched a page at a time as you iterate."""
        _PAGE_SIZES.at("page_size", page_size)
        return self._paged(
            self._shapes.order,
            {
                "productId": product_id,
                "orderId": order_id,
                "orderLinkId": order_link_id,
                "startTime": _millis(start_time),
                "endTime": _millis(end_time),
            },
            page_size,
        )

    def positions(
        self, *, product_id: str | None = None, coin: str | None = None, page_size: int = 20
    ) -> AsyncIterator[PositionT]:
        """The category's positions, fetched a page at a time as you iterate."""
        _PAGE_SIZES.at("page_size", page_size)
        filters: dict[str, object] = {"productId": product_id, "coin": coin}
        return self._paged(self._shapes.position, filters, page_size)

    def _watch(
        self, topic: OfferTopic[Q], product_ids: Iterable[str] | None
    ) -> AsyncGenerator[LiveQuote[Q] | QuoteGap, None]:
        """``topic``'s quotes through the client's one stream, carrying the listed products."""
        stream = stream_of(self._session)
        stream.catalogs[self.category] = self._products
        return stream.watch(topic, product_ids)

    async def wait_for_order(
        self,
        order: AckT | str,
        *,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
    ) -> InfoT:
        """Poll the order until its status is final (Success, Settled or Fail).

        ``order`` is an acknowledgement of this category or an order id. Polls go through the
        order-info rate limit like every other call. Raises :class:`OrderWaitTimeout`
        (carrying the last state seen) after ``timeout`` seconds.
        """
        if isinstance(order, str):
            order_id = _TEXT.at("order", order)
        elif isinstance(order, self._shapes.ack):
            order_id = order.order_id
        else:
            # Another category's acknowledgement (the types refuse it; a caller without them
            # is told here, before anything is sent).
            raise InvalidRequest(
                "order",
                f"must be a {self.category} acknowledgement ({self._shapes.ack.__name__}) or "
                f"an order id, got {order!r}",
            )
        return await wait_until_final(
            self._clock,
            lambda: self._find(order_id=order_id),
            order_id,
            timeout=timeout,
            poll_interval=poll_interval,
        )

    async def _find_placed(self, order_link_id: str) -> InfoT | None:
        """The order placed under ``order_link_id``, allowing it a moment to become visible."""
        return await find_placed(self._clock, lambda: self._find(order_link_id=order_link_id))

    async def _find(
        self, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> InfoT | None:
        found: InfoT | None = await find_order(
            self._session,
            self._shapes.order,
            {"category": self.category, "limit": 1},
            order_id=order_id,
            order_link_id=order_link_id,
        )
        return found

    def _paged(
        self, endpoint: Endpoint[Page[Any]], filters: dict[str, object], page_size: int
    ) -> AsyncIterator[Any]:
        return pages(self._session, endpoint, {"category": self.category, **filters}, page_size)


class _RedeemEstimates:
    """Redeem estimates, for a category that redeems early (SmartLeverage, DoubleWin): the
    same endpoint, ``category`` telling them apart. Mixed into an ``_AdvanceCategory``."""

    _session: Session
    _clock: Clock
    _shapes: _Shapes[Any, Any, Any, Any]

    async def redeem_estimates(self, position_ids: Sequence[str]) -> list[RedeemEstimate]:
        """What redeeming each position would pay now, in the order of ``position_ids``.

        Bybit takes at most 5 ids per request; more are split into concurrent requests. Each
        estimate is stamped with ``fetched_at`` for :meth:`RedeemOrder.from_estimate` (and
        ``DoubleWinRedeemOrder.from_estimate``).
        """
        ids = list(position_ids)
        if not ids:
            raise InvalidRequest("position_ids", "must not be empty")
        for position_id in ids:
            _TEXT.at("position_ids", position_id)
            if "," in position_id:
                raise InvalidRequest("position_ids", f"{position_id!r} contains a comma")

        async def chunk(part: list[str]) -> list[RedeemEstimate]:
            # Stamped before asking: the estimate is at least this old, never younger.
            fetched_at = utc(self._clock.time())
            answer = await self._session.call(
                REDEEM_ESTIMATE, {"category": self._shapes.category, "positionIds": ",".join(part)}
            )
            return [
                attrs.evolve(estimate, fetched_at=fetched_at, clock=self._clock)
                for estimate in answer.items
            ]

        parts = await gather_or_cancel([chunk(ids[i : i + 5]) for i in range(0, len(ids), 5)])
        by_id = {estimate.position_id: estimate for part in parts for estimate in part}
        missing = [position_id for position_id in ids if position_id not in by_id]
        if missing:
            raise MalformedResponse(f"redeem estimates are missing for positions {missing}")
        return [by_id[position_id] for position_id in ids]


class SmartLeverage(_RedeemEstimates, _AdvanceCategory[Product, OrderInfo, Position, OrderAck]):
    """Advance Earn, category SmartLeverage: leveraged products with a fixed direction.

    ``bybit.advance_earn``'s own ``products``, ``quote``, ``orders``, ``positions`` and
    ``redeem_estimates`` are these.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session, _Shapes(SMART_LEVERAGE, PRODUCT, ORDER, POSITION, OrderAck))

    async def quote(self, product_id: str) -> Quote:
        """The product's current quote: ``current_price`` and, if quoted, ``breakeven_price``.

        The quote knows the venue's clock as this client does, so
        :meth:`StakeOrder.from_quote` can tell how long its offer stays valid, and carries the
        product when this client has listed it, so ``from_quote`` can check the amount
        against the product's minimum and precision.
        """
        quote = await self._quoted(QUOTE, product_id)
        return attrs.evolve(
            quote,
            server_time=self._session.server_time,
            product=self._products.get(quote.product_id),
        )

    def watch_quotes(
        self, product_ids: Iterable[str] | None = None
    ) -> AsyncGenerator[LiveQuote[Quote] | QuoteGap, None]:
        """Live quotes of ``product_ids`` (every product when ``None``) from the stream
        ``earn.smart_leverage.offers``: each a :class:`LiveQuote` whose ``quote`` builds a
        stake (``StakeOrder.from_quote(live.quote, amount=...)``), and a :class:`QuoteGap`
        after a reconnection. Shares the client's one connection (see
        ``AdvanceEarn.stream``)."""
        return self._watch(SMART_LEVERAGE_OFFERS, product_ids)

    def live_quote(self, product_id: str) -> LiveQuote[Quote] | None:
        """The product's latest streamed quote while its offer is valid for 2 s more (on the
        venue's clock as the client knows it); ``None`` otherwise: fetch :meth:`quote`."""
        return stream_of(self._session).quote_cache.live(SMART_LEVERAGE_OFFERS, product_id)


_DUAL_QUOTE = read_as(QUOTE, QuoteBoard)


class DualAssets(
    _AdvanceCategory[DualAssetsProduct, DualAssetsOrderInfo, DualAssetsPosition, DualAssetsAck]
):
    """Advance Earn, category DualAssets: stake one coin at a quoted target price, and end in
    it or in the pair's other coin, by where the market settles against the target.

    Stake with ``bybit.advance_earn.place_order(DualAssetsOrder.from_offer(offer, ...))``.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(
            session,
            _shapes(
                DUAL_ASSETS,
                DualAssetsProduct,
                DualAssetsOrderInfo,
                DualAssetsPosition,
                DualAssetsAck,
            ),
        )

    def watch_quotes(
        self, product_ids: Iterable[str] | None = None
    ) -> AsyncGenerator[LiveQuote[DualAssetsQuote] | QuoteGap, None]:
        """Live quotes of ``product_ids`` (every product when ``None``) from the stream
        ``earn.dualassets.offers``: each a :class:`LiveQuote` whose ``quote`` holds the
        offers (``DualAssetsOrder.from_offer(live.quote.buy_low[0], amount=...)``), and a
        :class:`QuoteGap` after a reconnection. Shares the client's one connection (see
        ``AdvanceEarn.stream``)."""
        return self._watch(DUAL_ASSETS_OFFERS, product_ids)

    def live_quote(self, product_id: str) -> LiveQuote[DualAssetsQuote] | None:
        """The product's latest streamed quote while one of its offers is valid for 2 s more
        (on the venue's clock as the client knows it); ``None`` otherwise: fetch
        :meth:`quote`."""
        return stream_of(self._session).quote_cache.live(DUAL_ASSETS_OFFERS, product_id)

    async def quote(self, product_id: str) -> DualAssetsQuote:
        """The product's current quote: the market price, and the target prices on offer in
        each direction (``buy_low``, ``sell_high``), each with its APY, its maximum and its
        expiry.

        Each offer knows the venue's clock as this client does, so
        :meth:`DualAssetsOrder.from_offer` can tell how long it stays valid, and carries the
        product when this client has listed it, so ``from_offer`` can check the amount and
        pick the coin.
        """
        board = await self._quoted(_DUAL_QUOTE, product_id)
        return quote_from_board(
            board,
            product_id,
            server_time=self._session.server_time,
            product=self._products.get(product_id),
        )


_DISCOUNT_QUOTE = read_as(QUOTE, OfferBoard)


class DiscountBuy(
    _AdvanceCategory[DiscountBuyProduct, DiscountBuyOrderInfo, DiscountBuyPosition, DiscountBuyAck]
):
    """Advance Earn, category DiscountBuy: stake USDT to buy the underlying below the market,
    unless the market reaches the knock-out price, which pays a coupon instead.

    Stake with ``bybit.advance_earn.place_order(DiscountBuyOrder.from_offer(offer, ...))``.
    Bybit's product list takes no ``duration`` (its skill: "ignored").
    """

    def __init__(self, session: Session) -> None:
        super().__init__(
            session,
            _shapes(
                DISCOUNT_BUY,
                DiscountBuyProduct,
                DiscountBuyOrderInfo,
                DiscountBuyPosition,
                DiscountBuyAck,
            ),
        )

    def watch_quotes(
        self, product_ids: Iterable[str] | None = None
    ) -> AsyncGenerator[LiveQuote[DiscountBuyQuote] | QuoteGap, None]:
        """Live quotes of ``product_ids`` (every product when ``None``) from the stream
        ``earn.discountbuy.offers``: each a :class:`LiveQuote` whose ``quote`` holds the
        product's offers in a push, one per market maker
        (``DiscountBuyOrder.from_offer(live.quote.offers[0], ...)``), and a
        :class:`QuoteGap` after a reconnection. Shares the client's one connection (see
        ``AdvanceEarn.stream``)."""
        return self._watch(DISCOUNT_BUY_OFFERS, product_ids)

    def live_quote(self, product_id: str) -> LiveQuote[DiscountBuyQuote] | None:
        """The product's latest streamed quote while one of its offers is valid for 2 s more
        (an offer without expiry always is; on the venue's clock as the client knows it);
        ``None`` otherwise: fetch :meth:`quote`."""
        return stream_of(self._session).quote_cache.live(DISCOUNT_BUY_OFFERS, product_id)

    async def quote(self, product_id: str) -> DiscountBuyQuote:
        """The product's offers now, one per market maker: the index price, the purchase
        and knock-out prices, the coupon, the maximum, the market maker's ``instUid`` (as
        Bybit wrote it) and the expiry (``None``: none set).

        Each offer knows the venue's clock as this client does, so
        :meth:`DiscountBuyOrder.from_offer` can tell whether it is still valid, and carries
        the product when this client has listed it, so ``from_offer`` can check the amount.
        """
        board = await self._quoted(_DISCOUNT_QUOTE, product_id)
        return discount_quote_from_board(
            board,
            product_id,
            server_time=self._session.server_time,
            product=self._products.get(product_id),
        )


def _millis(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidRequest("time", "must be timezone-aware")
    return millis(moment)
