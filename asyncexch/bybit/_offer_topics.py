"""Advance Earn's offer topics on ``/v5/public/fp``: each a topic name and a decoder.

A category's stream is data, not protocol code: :class:`OfferTopic` names the topic, the
compact item the venue pushes (an attrs class the shared converter reads, its keys in field
metadata) and how an item becomes the category's REST quote.

Keys, from docs/v5/finance/advanced-earn/websocket/{smart-lvg,dual-asset,double-win,
discount-buy}-offer.mdx:

* ``earn.smartleverage.offers``: ``p`` productId, ``b`` breakeven price, ``e`` quote expiry
  (ms), ``m`` max single order amount, ``c`` current price; all strings. The page's subscribe
  example names ``earn.dualassets.offers`` (a copy-paste slip; its push example names this
  topic).
* ``earn.dualassets.offers``: ``p`` productId, ``c`` current price, ``b`` BuyLow and ``s``
  SellHigh lists of ``{s selectPrice, a apyE8, m max amount, x expiry ms}``; a push is "a full
  snapshot of all online product quotes".
* ``earn.doublewin.offers``: ``p`` productId, ``c`` index price, ``l`` maximum leverage,
  ``m`` max single order amount, ``e`` quote expiry (ms); all strings. Fixed-range products
  only (``isRfqProduct`` false): an RFQ product is quoted by ``DoubleWin.leverage``.
* ``earn.discountbuy.offers``: ``p`` productId, ``c`` index price, ``b`` purchase (anchor
  buy) price, ``k`` knock-out price, ``e`` the knock-out coupon times 10^8 (**not** an
  expiry, unlike SmartLeverage and DoubleWin), ``m`` max amount, ``i`` instUid, ``x`` expiry
  (ms, ``"0"``: none set); all strings. Each item is one market maker's offer.

Unconfirmed, and read both ways: ``p`` (DualAssets) and ``a`` are int64 in the tables and
strings in the examples (either is read); whether a product without an offer is pushed with
empty ``b``/``e``/``m`` (read as no offer) or not pushed at all; whether frames carry a
``ts`` (the examples show none: ``LiveQuote.pushed_at`` is then ``None``). DiscountBuy:
whether a push carries every offer of a product (read so: a product's items in one push are
its offers now, one quote; a product's offers spread over several pushes would each replace
the last), whether a product left without offers is pushed at all (an offer without expiry
then stays in the quote cache until a push replaces it), and ``i``/``e`` as JSON numbers
(Bybit's MCP server writes ``instUid`` and the coupon so over REST: read either way, ``i``
kept as received). DoubleWin: whether an unquoted product is pushed with empty ``l``/``e``
/``m`` (read as no offer).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs

from .._clock import ServerTime
from ._discount_buy import CATEGORY as DISCOUNT_BUY
from ._discount_buy import DiscountBuyProduct, DiscountBuyQuote, OfferBoard
from ._discount_buy import _OfferItem as _DiscountOfferItem
from ._discount_buy import quote_from_board as discount_quote_from_board
from ._double_win import CATEGORY as DOUBLE_WIN
from ._double_win import DoubleWinProduct, DoubleWinQuote
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
from ._offer_checks import epoch_is_none

__all__ = [
    "DISCOUNT_BUY_OFFERS",
    "DOUBLE_WIN_OFFERS",
    "DUAL_ASSETS_OFFERS",
    "SMART_LEVERAGE_OFFERS",
    "OfferTopic",
]

Q = TypeVar("Q")
_EXPIRED_AT = operator.attrgetter("expired_at")


@attrs.frozen
class OfferTopic(Generic[Q]):
    """One category's offer topic: its ``name`` on the wire, its ``category``, the compact
    ``item`` class a push's ``data[]`` entries are read as (it has a ``product_id``), how an
    item becomes the category's quote (``to_quote(item, server_time, product)``), and when a
    quote's last offer expires. ``per_product``, when a product's quote spans several items
    of a push (DiscountBuy: one per market maker), turns a push's items into one per product
    for ``to_quote``."""

    name: str
    category: str
    item: type[Any]
    to_quote: Callable[[Any, ServerTime | None, Any], Q]
    expires_at: Callable[[Q], datetime | None]
    per_product: Callable[[list[Any]], list[Any]] | None = None


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
class _DualPoint(_OfferItem):
    """An offer of the REST quote's (so the quote takes it as is), under the compact keys."""

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


def _dual_assets_quote(
    item: _DualAssetsItem, server_time: ServerTime | None, product: DualAssetsProduct | None
) -> DualAssetsQuote:
    # The REST quote's own assembly, so a pushed offer is the very object a fetched one is.
    entry = _ProductQuote(
        product_id=item.product_id,
        current_price=item.current_price,
        buy_low_price=[*item.buy_low],
        sell_high_price=[*item.sell_high],
    )
    board = QuoteBoard(items=[entry], category=DUAL_ASSETS)
    return quote_from_board(board, item.product_id, server_time=server_time, product=product)


def _dual_assets_expiry(quote: DualAssetsQuote) -> datetime | None:
    return max(map(_EXPIRED_AT, quote.buy_low + quote.sell_high), default=None)


#: DualAssets' offers: one :class:`DualAssetsQuote` per product, with its BuyLow and
#: SellHigh offers.
DUAL_ASSETS_OFFERS: OfferTopic[DualAssetsQuote] = OfferTopic(
    "earn.dualassets.offers",
    DUAL_ASSETS,
    _DualAssetsItem,
    _dual_assets_quote,
    _dual_assets_expiry,
)


@attrs.frozen(kw_only=True)
class _DoubleWinItem:
    product_id: str = attrs.field(metadata=_key("p"))
    current_price: Decimal = attrs.field(metadata=_key("c"))
    leverage: Decimal | None = attrs.field(default=None, metadata=_key("l"))
    max_investment_amount: Decimal | None = attrs.field(default=None, metadata=_key("m"))
    expire_time: datetime | None = attrs.field(default=None, metadata=_key("e"))


def _double_win_quote(
    item: _DoubleWinItem, server_time: ServerTime | None, product: DoubleWinProduct | None
) -> DoubleWinQuote:
    return DoubleWinQuote(
        category=DOUBLE_WIN,
        product_id=item.product_id,
        current_price=item.current_price,
        leverage=item.leverage,
        expire_time=item.expire_time,
        max_investment_amount=item.max_investment_amount,
        server_time=server_time,
        product=product,
    )


def _double_win_expiry(quote: DoubleWinQuote) -> datetime | None:
    return quote.expire_time if quote.leverage is not None else None


#: DoubleWin's offers (fixed-range products only): one :class:`DoubleWinQuote` per product.
DOUBLE_WIN_OFFERS: OfferTopic[DoubleWinQuote] = OfferTopic(
    "earn.doublewin.offers",
    DOUBLE_WIN,
    _DoubleWinItem,
    _double_win_quote,
    _double_win_expiry,
)


@attrs.frozen(kw_only=True)
class _DiscountBuyItem(_DiscountOfferItem):
    """An offer of the REST quote's (so the quote takes it as is), under the compact keys."""

    product_id: str = attrs.field(metadata=_key("p"))
    current_price: Decimal = attrs.field(metadata=_key("c"))
    purchase_price: Decimal = attrs.field(metadata=_key("b"))
    knockout_price: Decimal = attrs.field(metadata=_key("k"))
    #: ``e`` is the coupon here, not an expiry.
    knockout_coupon_e8: int = attrs.field(metadata=_key("e"))
    max_investment_amount: Decimal = attrs.field(metadata=_key("m"))
    #: A string or a JSON number, kept as received (the stake sends it back unchanged).
    inst_uid: Any = attrs.field(metadata=_key("i"))
    #: ``"0"``: no expiry (``None``), as in the REST quote.
    expired_at: datetime | None = attrs.field(
        default=None, converter=epoch_is_none, metadata=_key("x")
    )


@attrs.frozen
class _DiscountBuyOffers:
    """One product's offers in a push."""

    product_id: str
    offers: tuple[_DiscountBuyItem, ...]


def _discount_buy_by_product(items: list[Any]) -> list[Any]:
    by_product: dict[str, list[_DiscountBuyItem]] = {}
    for item in items:
        by_product.setdefault(item.product_id, []).append(item)
    return [_DiscountBuyOffers(product, tuple(offers)) for product, offers in by_product.items()]


def _discount_buy_quote(
    item: _DiscountBuyOffers, server_time: ServerTime | None, product: DiscountBuyProduct | None
) -> DiscountBuyQuote:
    # The REST quote's own assembly (the same checks of instUid, "0" as no expiry).
    board = OfferBoard(offers=[*item.offers], category=DISCOUNT_BUY)
    return discount_quote_from_board(
        board, item.product_id, server_time=server_time, product=product
    )


#: An offer without expiry, as a quote's expiry: valid for as long as it is the latest.
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def _discount_buy_expiry(quote: DiscountBuyQuote) -> datetime | None:
    return max((offer.expired_at or _NEVER for offer in quote.offers), default=None)


#: DiscountBuy's offers: one :class:`DiscountBuyQuote` per product, holding the offers of
#: its market makers in the push (``expires_at`` is far future when one has no expiry).
DISCOUNT_BUY_OFFERS: OfferTopic[DiscountBuyQuote] = OfferTopic(
    "earn.discountbuy.offers",
    DISCOUNT_BUY,
    _DiscountBuyItem,
    _discount_buy_quote,
    _discount_buy_expiry,
    _discount_buy_by_product,
)

#: Every offer topic by name.
OFFER_TOPICS: Mapping[str, OfferTopic[Any]] = {
    topic.name: topic
    for topic in (SMART_LEVERAGE_OFFERS, DUAL_ASSETS_OFFERS, DOUBLE_WIN_OFFERS, DISCOUNT_BUY_OFFERS)
}
