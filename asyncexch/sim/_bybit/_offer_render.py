"""The compact JSON of the offer topics' items (docs/v5/finance/advanced-earn/websocket/
{smart-lvg,dual-asset,double-win,discount-buy}-offer.mdx): every value a string, as the
examples write them (the tables type DualAssets' ``p`` and ``a`` int64; ``numbers`` plays
that reading; a DiscountBuy product quoted the MCP server's way has ``i`` and ``e`` as JSON
numbers, as over REST)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._json import decimal_text
from ._discount_records import SimDiscountBuyOffer, SimDiscountBuyProduct
from ._discount_render import discount_offer_json
from ._double_win_records import SimDoubleWinQuote
from ._double_win_render import double_win_quote_json
from ._dual_records import SimDualAssetsOffer
from ._records import SimQuote

__all__ = ["DUAL_ASSETS_TOPIC", "SMART_LEVERAGE_TOPIC", "dual_assets_item", "smart_leverage_item"]
__all__ += ["DISCOUNT_BUY_TOPIC", "DOUBLE_WIN_TOPIC", "discount_buy_item", "double_win_item"]

SMART_LEVERAGE_TOPIC = "earn.smartleverage.offers"
DUAL_ASSETS_TOPIC = "earn.dualassets.offers"
DOUBLE_WIN_TOPIC = "earn.doublewin.offers"
DISCOUNT_BUY_TOPIC = "earn.discountbuy.offers"


def smart_leverage_item(quote: SimQuote) -> dict[str, Any]:
    """A SmartLeverage product's quote: ``p``, ``b``, ``e``, ``m``, ``c``."""
    return {
        "p": quote.product_id,
        "b": decimal_text(quote.breakeven_price),
        "e": str(quote.expire_ms),
        "m": decimal_text(quote.max_investment_amount),
        "c": decimal_text(quote.current_price),
    }


def dual_assets_item(
    product_id: str,
    current: Decimal,
    buy_low: list[SimDualAssetsOffer],
    sell_high: list[SimDualAssetsOffer],
    *,
    numbers: bool = False,
) -> dict[str, Any]:
    """A DualAssets product's quote: ``p``, ``c``, and the ``b`` (BuyLow) and ``s``
    (SellHigh) ladders of ``{s, a, m, x}``; ``numbers``: ``p`` and ``a`` as JSON numbers."""

    def point(offer: SimDualAssetsOffer) -> dict[str, Any]:
        return {
            "s": decimal_text(offer.select_price),
            "a": offer.apy_e8 if numbers else str(offer.apy_e8),
            "m": decimal_text(offer.max_investment_amount),
            "x": str(offer.expire_ms),
        }

    return {
        "p": int(product_id) if numbers and product_id.isdigit() else product_id,
        "c": decimal_text(current),
        "b": [point(offer) for offer in buy_low],
        "s": [point(offer) for offer in sell_high],
    }


def _compact(rest: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """The REST quote's JSON under the topic's compact keys, values as written there."""
    return {short: rest[name] for short, name in keys.items()}


def double_win_item(quote: SimDoubleWinQuote) -> dict[str, Any]:
    """A fixed-range DoubleWin product's quote: ``p``, ``c``, ``l``, ``m``, ``e`` (expiry)."""
    return _compact(
        double_win_quote_json(quote),
        {
            "p": "productId",
            "c": "currentPrice",
            "l": "leverage",
            "m": "maxInvestmentAmount",
            "e": "expireTime",
        },
    )


def discount_buy_item(product: SimDiscountBuyProduct, offer: SimDiscountBuyOffer) -> dict[str, Any]:
    """A DiscountBuy offer: ``p``, ``c``, ``b``, ``k``, ``e`` (the coupon times 10^8, not an
    expiry), ``m``, ``i``, ``x`` (expiry, ``"0"`` for none)."""
    return _compact(
        discount_offer_json(product, offer),
        {
            "p": "productId",
            "c": "currentPrice",
            "b": "purchasePrice",
            "k": "knockoutPrice",
            "e": "knockoutCouponE8",
            "m": "maxInvestmentAmount",
            "i": "instUid",
            "x": "expiredAt",
        },
    )
