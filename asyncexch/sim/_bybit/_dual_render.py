"""The JSON Bybit answers DualAssets requests with, as its docs' examples write it: amounts,
prices, APYs and times as strings, the precisions as numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._json import decimal_text
from ._dual_records import (
    DUAL_ASSETS,
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsPosition,
    SimDualAssetsProduct,
)
from ._records import duration_ms

__all__ = ["dual_order_json", "dual_position_json", "dual_product_json", "dual_quote_json"]


def dual_product_json(product: SimDualAssetsProduct, now_ms: int) -> dict[str, Any]:
    """An item of ``product``: open for subscription from a day ago to a day from now, a
    stake now earning for the product's term."""
    term = duration_ms(product.duration)
    return {
        "category": DUAL_ASSETS,
        "productId": product.product_id,
        "baseCoin": product.base_coin,
        "quoteCoin": product.quote_coin,
        "expectReceiveAt": str(now_ms + term + 3_600_000),
        "duration": product.duration,
        "status": product.status,
        "isVipProduct": False,
        "subscribeStartAt": str(now_ms - 86_400_000),
        "subscribeEndAt": str(now_ms + 86_400_000),
        "applyStartAt": str(now_ms),
        "settlementTime": str(now_ms + term),
        "minPurchaseQuoteAmount": decimal_text(product.min_quote_amount),
        "minPurchaseBaseAmount": decimal_text(product.min_base_amount),
        "remainingAmountQuote": decimal_text(product.remaining_quote),
        "remainingAmountBase": decimal_text(product.remaining_base),
        "orderPrecisionDigitalQuote": product.precision_quote,
        "orderPrecisionDigitalBase": product.precision_base,
    }


def _offer_json(offer: SimDualAssetsOffer) -> dict[str, Any]:
    return {
        "selectPrice": decimal_text(offer.select_price),
        "apyE8": str(offer.apy_e8),
        "maxInvestmentAmount": decimal_text(offer.max_investment_amount),
        "expiredAt": str(offer.expire_ms),
    }


def dual_quote_json(
    product_id: str,
    current: Decimal,
    buy_low: list[SimDualAssetsOffer],
    sell_high: list[SimDualAssetsOffer],
) -> dict[str, Any]:
    """``product-extra-info``: one entry with the market price and both ladders."""
    return {
        "category": DUAL_ASSETS,
        "list": [
            {
                "productId": product_id,
                "currentPrice": decimal_text(current),
                "buyLowPrice": [_offer_json(offer) for offer in buy_low],
                "sellHighPrice": [_offer_json(offer) for offer in sell_high],
            }
        ],
    }


def dual_order_json(product: SimDualAssetsProduct, order: SimDualAssetsOrder) -> dict[str, Any]:
    """An item of ``order``: the settlement fields empty (or ``"0"``) until settled."""
    settled = order.status == "Settled"
    amount, price = order.settlement_amount, order.settlement_price
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "category": DUAL_ASSETS,
        "orderType": "Stake",
        "amount": decimal_text(order.amount),
        "coin": order.coin,
        "baseCoin": product.base_coin,
        "quoteCoin": product.quote_coin,
        "status": order.status,
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
        "direction": order.direction,
        "targetPrice": decimal_text(order.select_price),
        "settlementTime": str(order.settlement_ms or 0),
        "estimateApyE8": str(order.confirmed_apy_e8),
        "duration": product.duration,
        "accountType": order.account_type,
        "toAccountType": "FUND" if settled else "",
        "selectApyE8": str(order.apy_e8),
        "isVip": False,
        "settlementCoin": order.settlement_coin,
        "settlementAmount": decimal_text(amount) if amount is not None else "0",
        "orderMode": "Normal",
        "settlementPrice": decimal_text(price) if price is not None else "",
        "refundStatus": "",
        "trialBonusAmount": "",
        "trialBonusPnl": "",
    }


def dual_position_json(
    product: SimDualAssetsProduct,
    position: SimDualAssetsPosition,
    expected: tuple[str, Decimal],
) -> dict[str, Any]:
    """An item of ``position``; ``expected`` is what it pays if the target is not reached."""
    return {
        "positionId": position.position_id,
        "productId": position.product_id,
        "category": DUAL_ASSETS,
        "baseCoin": product.base_coin,
        "quoteCoin": product.quote_coin,
        "investCoin": position.coin,
        "amount": decimal_text(position.amount),
        "apyE8": str(position.apy_e8),
        "direction": position.direction,
        "targetPrice": decimal_text(position.target_price),
        "settlementTime": str(position.settlement_ms),
        "status": position.status,
        "orderId": position.order_id,
        "duration": product.duration,
        "expectReturnCoin": expected[0],
        "expectReturnAmount": decimal_text(expected[1]),
        "accountType": position.account_type,
        "toAccountType": "FUND",
        "yieldStartAt": str(position.yield_start_ms),
        "yieldEndAt": str(position.settlement_ms),
    }
