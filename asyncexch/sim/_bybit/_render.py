"""The JSON Bybit answers with: products, quotes, orders, positions and redeem estimates, every
amount and price a string of its digits, every time a string of epoch milliseconds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._json import decimal_text
from ._records import CATEGORY, SimOrder, SimPosition, SimProduct, SimQuote, duration_ms

__all__ = ["estimate_json", "order_json", "position_json", "product_json", "quote_json"]


def product_json(product: SimProduct, now_ms: int) -> dict[str, Any]:
    """An item of ``product``: open for subscription from a day ago to a day from now."""
    return {
        "category": CATEGORY,
        "productId": product.product_id,
        "investCoin": product.invest_coin,
        "underlyingAsset": product.underlying_asset,
        "direction": product.direction,
        "leverage": decimal_text(product.leverage),
        "duration": product.duration,
        "subscribeStartAt": str(now_ms - 86_400_000),
        "subscribeEndAt": str(now_ms + 86_400_000),
        "settlementTime": str(now_ms + duration_ms(product.duration)),
        "expectReceiveAt": str(now_ms + duration_ms(product.duration) + 3_600_000),
        "minPurchaseAmount": decimal_text(product.min_purchase_amount),
        "remainingAmount": decimal_text(product.remaining_amount),
        "orderPrecisionDigital": product.order_precision_digital,
    }


def quote_json(quote: SimQuote) -> dict[str, Any]:
    """``product-extra-info``: the quote a stake must be priced from."""
    return {
        "category": CATEGORY,
        "productId": quote.product_id,
        "breakevenPrice": decimal_text(quote.breakeven_price),
        "currentPrice": decimal_text(quote.current_price),
        "expireAt": str(quote.expire_ms),
        "maxInvestmentAmount": decimal_text(quote.max_investment_amount),
    }


def order_json(product: SimProduct, order: SimOrder) -> dict[str, Any]:
    """An item of ``order``; prices and profit empty until known."""
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "category": CATEGORY,
        "orderType": order.order_type,
        "amount": decimal_text(order.amount),
        "createdTime": str(order.created_ms),
        "status": order.status,
        "duration": product.duration,
        "accountType": order.account_type,
        "settlementTime": "",
        "refundStatus": order.refund_status,
        "investCoin": product.invest_coin,
        "underlyingAsset": product.underlying_asset,
        "direction": product.direction,
        "leverage": decimal_text(product.leverage),
        "breakevenPrice": _text_or_empty(order.breakeven_price),
        "initialPrice": _text_or_empty(order.initial_price),
        "settlementPrice": _text_or_empty(order.settlement_price),
        "pnl": decimal_text(order.pnl) if order.pnl is not None else "",
        "toAccountType": order.account_type if order.status in ("Settled", "Fail") else "",
    }


def position_json(product: SimProduct, position: SimPosition, redeemable: bool) -> dict[str, Any]:
    """An item of ``position``."""
    return {
        "positionId": position.position_id,
        "productId": position.product_id,
        "category": CATEGORY,
        "investCoin": product.invest_coin,
        "amount": decimal_text(position.amount),
        "duration": product.duration,
        "settlementTime": str(position.settlement_ms),
        "accountType": position.account_type,
        "orderId": position.order_id,
        "underlyingAsset": product.underlying_asset,
        "direction": product.direction,
        "leverage": decimal_text(product.leverage),
        "breakevenPrice": decimal_text(position.breakeven_price),
        "initialPrice": decimal_text(position.initial_price),
        "status": position.status,
        "createdTime": str(position.created_ms),
        "redeemable": redeemable,
        "orderLinkId": position.order_link_id,
    }


def estimate_json(position_id: str, amount: Decimal | None, now_ms: int) -> dict[str, Any]:
    """An item of ``get-redeem-est-amount-list``: the estimate, or ``success: false`` when
    there is none (``amount`` ``None``)."""
    if amount is None:
        return {
            "success": False,
            "positionId": position_id,
            "estRedeemAmount": "",
            "estRedeemTime": "",
            "slippageRate": "",
        }
    return {
        "success": True,
        "positionId": position_id,
        "estRedeemAmount": decimal_text(amount),
        "estRedeemTime": str(now_ms),
        "slippageRate": "0.05",
    }


def _text_or_empty(value: Decimal | None) -> str:
    """A price's digits; empty when there is none (or it is zero, as Bybit leaves it)."""
    return decimal_text(value) if value else ""
