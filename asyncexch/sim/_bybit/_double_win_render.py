"""The JSON Bybit answers DoubleWin requests with, as its docs' examples write it: amounts,
prices, leverages and times as strings, the precision a number, ``redeemable`` a bool."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._json import decimal_text
from ._double_win_records import (
    DOUBLE_WIN,
    SimDoubleWinOrder,
    SimDoubleWinPosition,
    SimDoubleWinProduct,
    SimDoubleWinQuote,
)
from ._records import duration_ms

__all__ = [
    "double_win_leverage_json",
    "double_win_order_json",
    "double_win_position_json",
    "double_win_product_json",
    "double_win_quote_json",
]


def _text(value: Decimal | None) -> str:
    return "" if value is None else decimal_text(value)


def double_win_product_json(product: SimDoubleWinProduct, now_ms: int) -> dict[str, Any]:
    """An item of ``product``: buffers for a fixed range, tick and ratios for RFQ."""
    term = duration_ms(product.duration)
    rfq = product.is_rfq
    return {
        "category": DOUBLE_WIN,
        "productId": product.product_id,
        "investCoin": product.invest_coin,
        "underlyingAsset": product.underlying_asset,
        "duration": product.duration,
        "expectReceiveAt": str(now_ms + term + 900_000),
        "minPurchaseAmount": decimal_text(product.min_purchase_amount),
        "subscribeStartAt": str(now_ms - 86_400_000),
        "subscribeEndAt": str(now_ms + 86_400_000),
        "settlementTime": str(now_ms + term),
        "orderPrecisionDigital": product.precision,
        "isRfqProduct": rfq,
        "lowerPriceBuffer": "" if rfq else decimal_text(product.lower_buffer),
        "upperPriceBuffer": "" if rfq else decimal_text(product.upper_buffer),
        "minDeviationRatio": decimal_text(product.min_deviation) if rfq else "",
        "maxDeviationRatio": decimal_text(product.max_deviation) if rfq else "",
        "priceTickSize": decimal_text(product.price_tick) if rfq else "",
    }


def double_win_quote_json(quote: SimDoubleWinQuote) -> dict[str, Any]:
    """``product-extra-info`` for a fixed-range product."""
    return {
        "productId": quote.product_id,
        "leverage": decimal_text(quote.leverage),
        "expireTime": str(quote.expire_ms),
        "maxInvestmentAmount": decimal_text(quote.max_investment_amount),
        "currentPrice": decimal_text(quote.initial),
        "category": DOUBLE_WIN,
    }


def double_win_leverage_json(quote: SimDoubleWinQuote) -> dict[str, Any]:
    """``double-win-leverage``: the request's prices echoed, the leverage and its expiry."""
    return {
        "productId": quote.product_id,
        "initialPrice": decimal_text(quote.initial),
        "lowerPrice": _text(quote.lower),
        "upperPrice": _text(quote.upper),
        "leverage": decimal_text(quote.leverage),
        "expireTime": str(quote.expire_ms),
        "maxInvestmentAmount": decimal_text(quote.max_investment_amount),
    }


def double_win_order_json(product: SimDoubleWinProduct, order: SimDoubleWinOrder) -> dict[str, Any]:
    """An item of ``order``: the settlement fields empty until settled."""
    settled = order.status in ("Settled", "Fail")
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "category": DOUBLE_WIN,
        "orderType": order.order_type,
        "investCoin": product.invest_coin,
        "amount": decimal_text(order.amount),
        "underlyingAsset": product.underlying_asset,
        "initialPrice": decimal_text(order.initial_price),
        "lowerPrice": decimal_text(order.lower_price),
        "upperPrice": decimal_text(order.upper_price),
        "leverage": decimal_text(order.leverage),
        "settlementTime": str(order.settlement_ms or ""),
        "duration": product.duration,
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
        "status": order.status,
        "settlementPrice": _text(order.settlement_price),
        "pnl": _text(order.pnl),
        "refundStatus": order.refund_status,
        "accountType": order.account_type,
        "toAccountType": "FUND" if settled else "",
    }


def double_win_position_json(
    product: SimDoubleWinProduct, position: SimDoubleWinPosition, redeemable: bool
) -> dict[str, Any]:
    """An item of ``position``."""
    return {
        "positionId": position.position_id,
        "productId": position.product_id,
        "category": DOUBLE_WIN,
        "investCoin": product.invest_coin,
        "underlyingAsset": product.underlying_asset,
        "amount": decimal_text(position.amount),
        "leverage": decimal_text(position.leverage),
        "initialPrice": decimal_text(position.initial_price),
        "lowerPrice": decimal_text(position.lower_price),
        "upperPrice": decimal_text(position.upper_price),
        "duration": product.duration,
        "settlementTime": str(position.settlement_ms),
        "createdTime": str(position.created_ms),
        "status": position.status,
        "redeemable": redeemable,
        "accountType": position.account_type,
        "orderId": position.order_id,
    }
