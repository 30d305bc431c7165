"""Advance Earn, category DoubleWin: its reader over the shared endpoints, its fixed-range
quote and its RFQ leverage quote."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from decimal import Decimal

import attrs

from .._decimals import check_positive, plain
from .._session import Session
from .._validators import text
from ..errors import InvalidRequest
from ._categories import _AdvanceCategory, _RedeemEstimates, _shapes
from ._double_win import (
    CATEGORY,
    DoubleWinAck,
    DoubleWinLeverage,
    DoubleWinOrderInfo,
    DoubleWinPosition,
    DoubleWinProduct,
    DoubleWinQuote,
)
from ._double_win_order import check_range
from ._endpoints import DOUBLE_WIN_LEVERAGE, QUOTE, read_as
from ._live_quotes import LiveQuote, QuoteGap
from ._offer_topics import DOUBLE_WIN_OFFERS
from ._stream_slot import stream_of

__all__ = ["DoubleWin"]

_TEXT = text()
_QUOTE = read_as(QUOTE, DoubleWinQuote)
_LEVERAGE = read_as(DOUBLE_WIN_LEVERAGE, DoubleWinLeverage)


class DoubleWin(
    _RedeemEstimates,
    _AdvanceCategory[DoubleWinProduct, DoubleWinOrderInfo, DoubleWinPosition, DoubleWinAck],
):
    """Advance Earn, category DoubleWin: stake on the market leaving a price range, at a
    quoted leverage; redeem early.

    A fixed-range product is quoted by :meth:`quote`, an RFQ one by :meth:`leverage` for a
    range of the caller's. Stake with ``bybit.advance_earn.place_order(
    DoubleWinOrder.from_leverage(quote, amount=...))``; redeem with
    ``DoubleWinRedeemOrder.from_position(position, estimate)`` after :meth:`redeem_estimates`.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(
            session,
            _shapes(
                CATEGORY, DoubleWinProduct, DoubleWinOrderInfo, DoubleWinPosition, DoubleWinAck
            ),
        )

    async def quote(self, product_id: str) -> DoubleWinQuote:
        """A fixed-range product's quote: the current price and, while quoted, the maximum
        leverage, its expiry and the maximum amount. RFQ products are quoted by
        :meth:`leverage` (an RFQ product listed by this client is refused here)."""
        _TEXT.at("product_id", product_id)
        product = self._products.get(product_id)
        if product is not None and product.is_rfq_product:
            raise InvalidRequest(
                "product_id", f"{product_id} is an RFQ product: quote a range with leverage()"
            )
        quote = await self._quoted(_QUOTE, product_id)
        return attrs.evolve(quote, server_time=self._session.server_time, product=product)

    def watch_quotes(
        self, product_ids: Iterable[str] | None = None
    ) -> AsyncGenerator[LiveQuote[DoubleWinQuote] | QuoteGap, None]:
        """Live quotes of fixed-range ``product_ids`` (every one when ``None``) from the
        stream ``earn.doublewin.offers``, which pushes no RFQ product: each a
        :class:`LiveQuote` whose ``quote`` builds a stake
        (``DoubleWinOrder.from_leverage(live.quote, amount=...)``), and a :class:`QuoteGap`
        after a reconnection. Shares the client's one connection (see
        ``AdvanceEarn.stream``)."""
        return self._watch(DOUBLE_WIN_OFFERS, product_ids)

    def live_quote(self, product_id: str) -> LiveQuote[DoubleWinQuote] | None:
        """The product's latest streamed quote while its leverage is valid for 2 s more (on
        the venue's clock as the client knows it); ``None`` otherwise: fetch :meth:`quote`."""
        return stream_of(self._session).quote_cache.live(DOUBLE_WIN_OFFERS, product_id)

    async def leverage(
        self,
        product_id: str,
        *,
        initial_price: Decimal,
        lower_price: Decimal,
        upper_price: Decimal,
    ) -> DoubleWinLeverage:
        """An RFQ product's quote for the range ``lower_price``..``upper_price`` around
        ``initial_price`` (the current index price): the leverage, its expiry and the
        maximum amount (signed ``GET /v5/earn/advance/double-win-leverage``).

        Refused before sending (:class:`~asyncexch.InvalidRequest`): prices that are not
        positive decimals, a range that does not hold the initial price
        (``lower < initial < upper``), and, when this client has listed the product, a
        fixed-range product, or bounds off its ``price_tick_size`` or outside its deviation
        ratios from the initial price.
        """
        _TEXT.at("product_id", product_id)
        for field, value in (
            ("initial_price", initial_price),
            ("lower_price", lower_price),
            ("upper_price", upper_price),
        ):
            check_positive(field, value)
        check_range(initial_price, lower_price, upper_price)
        product = self._products.get(product_id)
        if product is not None:
            _check_rfq_range(product, initial_price, lower_price, upper_price)
        quote = await self._session.call(
            _LEVERAGE,
            {
                "productId": product_id,
                "initialPrice": plain(initial_price),
                "lowerPrice": plain(lower_price),
                "upperPrice": plain(upper_price),
            },
        )
        return attrs.evolve(quote, server_time=self._session.server_time, product=product)


def _check_rfq_range(
    product: DoubleWinProduct, initial: Decimal, lower: Decimal, upper: Decimal
) -> None:
    """The bounds on the product's tick, each at a deviation from ``initial`` within the
    product's ratios (the docs' tip; the exact formula is not stated: ``|bound - initial| /
    initial`` here)."""
    if not product.is_rfq_product:
        raise InvalidRequest(
            "product_id", f"{product.product_id} is a fixed-range product: use quote()"
        )
    tick = product.price_tick_size
    for field, bound in (("lower_price", lower), ("upper_price", upper)):
        if tick is not None and tick > 0 and bound % tick != 0:
            raise InvalidRequest(field, f"{bound} is not a multiple of the tick {tick}")
        deviation = abs(bound - initial) / initial
        low, high = product.min_deviation_ratio, product.max_deviation_ratio
        if (low is not None and deviation < low) or (high is not None and deviation > high):
            raise InvalidRequest(
                field,
                f"{bound} deviates {deviation:.4f} from {initial}; product "
                f"{product.product_id} allows {low} to {high}",
            )
