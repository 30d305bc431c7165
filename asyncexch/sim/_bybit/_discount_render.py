"""The JSON Bybit answers DiscountBuy requests with, as its docs' examples write it: amounts,
prices, coupons, ids and times as strings (``instUid`` and ``knockoutCouponE8`` as JSON
numbers for a product quoted the MCP server's way), the precision as a number."""

from __future__ import annotations

from typing import Any

from .._json import decimal_text
from ._discount_records import (
    DISCOUNT_BUY,
    SimDiscountBuyOffer,
    SimDiscountBuyOrder,
    SimDiscountBuyPosition,
    SimDiscountBuyProduct,
)
from ._records import duration_ms

__all__ = ["discount_offer_json", "discount_order_json", "discount_position_json"]
__all__ += ["discount_product_json"]


def discount_product_json(
    product: SimDiscountBuyProduct, now_ms: int, receive_delay_ms: int
) -> dict[str, Any]:
    """An item of ``product``: open for subscription from a day ago to a day from now, a
    stake now settling after the product's term and credited ``receive_delay_ms`` later."""
    settlement_ms = now_ms + duration_ms(product.duration)
    return {
        "category": DISCOUNT_BUY,
        "productId": product.product_id,
        "coin": product.coin,
        "underlyingAsset": product.underlying_asset,
        "settlementTime": str(settlement_ms),
        "duration": product.duration,
        "isVipProduct": product.is_vip,
        "subscribeStartAt": str(now_ms - 86_400_000),
        "subscribeEndAt": str(now_ms + 86_400_000),
        "minPurchaseAmount": decimal_text(product.min_purchase_amount),
        "remainingAmount": decimal_text(product.remaining_amount),
        "orderPrecisionDigital": product.precision,
        "expectReceiveAt": str(settlement_ms + receive_delay_ms),
    }


def discount_offer_json(
    product: SimDiscountBuyProduct, offer: SimDiscountBuyOffer
) -> dict[str, Any]:
    """An item of ``offers``, in the docs' example's order (``category`` last)."""
    numbers = product.json_numbers
    return {
        "productId": offer.product_id,
        "currentPrice": decimal_text(offer.current_price),
        "purchasePrice": decimal_text(offer.purchase_price),
        "knockoutPrice": decimal_text(offer.knockout_price),
        "knockoutCouponE8": offer.coupon_e8 if numbers else str(offer.coupon_e8),
        "maxInvestmentAmount": decimal_text(offer.max_investment_amount),
        "instUid": int(offer.inst_uid) if numbers else offer.inst_uid,
        "expiredAt": str(offer.expire_ms or 0),
        "category": DISCOUNT_BUY,
    }


def discount_order_json(
    product: SimDiscountBuyProduct, order: SimDiscountBuyOrder
) -> dict[str, Any]:
    """An item of ``order``: the settlement fields empty until settled, ``toAccountType``
    ``FUND`` once settled and the deduction account once failed, ``refundStatus`` only on a
    failed order."""
    settled = order.status == "Settled"
    to_account = "FUND" if settled else order.account_type if order.status == "Fail" else ""
    amount, price = order.settlement_amount, order.settlement_price
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "category": DISCOUNT_BUY,
        "orderType": "Stake",
        "amount": decimal_text(order.amount),
        "coin": product.coin,
        "underlyingAsset": product.underlying_asset,
        "status": order.status,
        "createdTime": str(order.created_ms),
        "purchasePrice": decimal_text(order.purchase_price),
        "knockoutPrice": decimal_text(order.knockout_price),
        "knockoutCouponE8": str(order.coupon_e8),
        "duration": product.duration,
        "settlementTime": str(order.settlement_ms or 0),
        "accountType": order.account_type,
        "toAccountType": to_account,
        "settlementPrice": decimal_text(price) if price is not None else "",
        "settlementCoin": order.settlement_coin,
        "settlementAmount": decimal_text(amount) if amount is not None else "",
        "settleType": order.settle_type,
        "isVip": product.is_vip,
        "refundStatus": order.refund_status,
    }


def discount_position_json(
    product: SimDiscountBuyProduct, position: SimDiscountBuyPosition
) -> dict[str, Any]:
    """An item of ``position``, in the docs' example's order."""
    return {
        "positionId": position.position_id,
        "productId": position.product_id,
        "category": DISCOUNT_BUY,
        "coin": product.coin,
        "underlyingAsset": product.underlying_asset,
        "amount": decimal_text(position.amount),
        "purchasePrice": decimal_text(position.purchase_price),
        "knockoutPrice": decimal_text(position.knockout_price),
        "knockoutCouponE8": str(position.coupon_e8),
        "status": position.status,
        "orderId": position.order_id,
        "duration": product.duration,
        "settlementTime": str(position.settlement_ms),
        "accountType": position.account_type,
        "toAccountType": "FUND",
        "settleType": position.settle_type,
        "expectReceiveAt": str(position.receive_ms),
    }
