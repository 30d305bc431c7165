"""Advance Earn's offer topics on ``/v5/public/fp``: each a topic name and a decoder.

A category's stream is data, not protocol code: :class:`OfferTopic` names the topic, the
compact item the venue pushes (an attrs class the shared converter reads, its keys in field
metadata) and how an item becomes the category's REST quote. DoubleWin and DiscountBuy come
as two more topics of this kind.

Keys, from docs/v5/finance/advanced-earn/websocket/{smart-lvg,dual-asset}-offer.mdx:

* ``earn.smartleverage.offers``: ``p`` productId, ``b`` breakeven price, ``e`` quote expiry
  (ms), ``m`` max single order amount, ``c`` current price; all strings. The page's subscribe
  example names ``earn.dualassets.offers`` (a copy-paste slip; its push example names this
  topic).
* ``earn.dualassets.offers``: ``p`` productId, ``c`` current price, ``b`` BuyLow and ``s``
  SellHigh lists of ``{s selectPrice, a apyE8, m max amount, x expiry ms}``; a push is "a full
  snapshot of all online product quotes".

Unconfirmed, and read both ways: ``p`` (DualAssets) and ``a`` are int64 in the tables and
strings in the examples (either is read); whether a product without an offer is pushed with
empty ``b``/``e``/``m`` (read as no offer) or not pushed at all; whether frames carry a
``ts`` (the examples show none: ``LiveQuote.pushed_at`` is then ``None``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs

from .._clock import ServerTime
from ._dual_assets import CATEGORY as DUAL_ASSETS
from ._dual_assets import (
    DualAssetsProduct,
    DualAssetsQuote,
    QuoteBoard,
    _OfferItem,
    _ProductQuote,
    quote_from_board,
)
from ._models import CATEGORY as SMART_LEVERAGE
from ._models import Product, Quote

__all__ = ["DUAL_ASSETS_OFFERS", "SMART_LEVERAGE_OFFERS", "OfferTopic"]

Q = TypeVar("Q")


@attrs.frozen
class OfferTopic(Generic[Q]):
    """One category's offer topic: its ``name`` on the wire, its ``category``, the compact
    ``item`` class a push's ``data[]`` entries are read as (it has a ``product_id``), how an
    item becomes the category's quote (``to_quote(item, server_time, product)``), and when a
    quote's last offer expires."""

    name: str
    category: str
    item: type[Any]
    to_quote: Callable[[Any, ServerTime | None, Any], Q]
    expires_at: Callable[[Q], datetime | None]


def _key(letter: str) -> dict[str, str]:
    return {"key": letter}


@attrs.frozen(kw_only=True)
class _SmartLeverageItem:
    product_id: str = attrs.field(metadata=_key("p"))
    current_price: Decimal = attrs.field(metadata=_key("c"))
    breakeven_price: Decimal | None = attrs.field(default=None, metadata=_key("b"))
    expire_at: datetime | None = attrs.field(default=None, metadata=_key("e"))
    max_investment_amount: Decimal | None = attrs.field(default=None, metadata=_key("m"))


def _smart_leverage_quote(
    item: _SmartLeverageItem, server_time: ServerTime | None, product: Product | None
) -> Quote:
    return Quote(
        category=SMART_LEVERAGE,
        product_id=item.product_id,
        current_price=item.current_price,
        breakeven_price=item.breakeven_price,
        expire_at=item.expire_at,
        max_investment_amount=item.max_investment_amount,
        server_time=server_time,
        product=product,
    )


def _smart_leverage_expiry(quote: Quote) -> datetime | None:
    return quote.expire_at if quote.breakeven_price is not None else None


#: SmartLeverage's offers: one :class:`Quote` per product.
SMART_LEVERAGE_OFFERS: OfferTopic[Quote] = OfferTopic(
    "earn.smartleverage.offers",
    SMART_LEVERAGE,
    _SmartLeverageItem,
    _smart_leverage_quote,
    _smart_leverage_expiry,
)


@attrs.frozen(kw_only=True)
class _DualPoint:
    select_price: Decimal = attrs.field(metadata=_key("s"))
    apy_e8: int = attrs.field(metadata=_key("a"))
    max_investment_amount: Decimal = attrs.field(metadata=_key("m"))
    expired_at: datetime = attrs.field(metadata=_key("x"))


@attrs.frozen(kw_only=True)
class _DualAssetsItem:
    product_id: str = attrs.field(metadata=_key("p"))
    current_price: Decimal = attrs.field(metadata=_key("c"))
    buy_low: list[_DualPoint] = attrs.field(factory=list, metadata=_key("b"))
    sell_high: list[_DualPoint] = attrs.field(factory=list, metadata=_key("s"))


def _points(points: list[_DualPoint]) -> list[_OfferItem]:
    return [
        _OfferItem(
            select_price=point.select_price,
            apy_e8=point.apy_e8,
            max_investment_amount=point.max_investment_amount,
            expired_at=point.expired_at,
        )
        for point in points
    ]


def _dual_assets_quote(
    item: _DualAssetsItem, server_time: ServerTime | None, product: DualAssetsProduct | None
) -> DualAssetsQuote:
    # The REST quote's own assembly, so a pushed offer is the very object a fetched one is.
    entry = _ProductQuote(
        product_id=item.product_id,
        current_price=item.current_price,
        buy_low_price=_points(item.buy_low),
        sell_high_price=_points(item.sell_high),
    )
    board = QuoteBoard(items=[entry], category=DUAL_ASSETS)
    return quote_from_board(board, item.product_id, server_time=server_time, product=product)


def _dual_assets_expiry(quote: DualAssetsQuote) -> datetime | None:
    return max((offer.expired_at for offer in (*quote.buy_low, *quote.sell_high)), default=None)


#: DualAssets' offers: one :class:`DualAssetsQuote` per product, with its BuyLow and
#: SellHigh offers.
DUAL_ASSETS_OFFERS: OfferTopic[DualAssetsQuote] = OfferTopic(
    "earn.dualassets.offers",
    DUAL_ASSETS,
    _DualAssetsItem,
    _dual_assets_quote,
    _dual_assets_expiry,
)

#: Every offer topic by name.
OFFER_TOPICS: Mapping[str, OfferTopic[Any]] = {
    topic.name: topic for topic in (SMART_LEVERAGE_OFFERS, DUAL_ASSETS_OFFERS)
}
