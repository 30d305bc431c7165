"""The Bybit simulator's Earn answers, in the shapes of the docs' examples (every number a
string but ``term``, ``rewardIntervalMinute`` and ``redeemProcessingMinute``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ._earn_records import ON_CHAIN, SimEarnOrder, SimEarnPosition, SimEarnProduct

__all__ = ["earn_order_json", "earn_position_json", "earn_product_json"]


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def earn_product_json(product: SimEarnProduct) -> dict[str, Any]:
    on_chain = product.category == ON_CHAIN
    return {
        "category": product.category,
        "estimateApr": f"{_text(product.apr * 100)}%",
        "coin": product.coin,
        "minStakeAmount": _text(product.min_stake),
        "maxStakeAmount": _text(product.max_stake),
        "precision": str(product.precision),
        "productId": product.product_id,
        "status": product.status,
        "bonusEvents": [],
        "minRedeemAmount": "",
        "maxRedeemAmount": "",
        "duration": product.duration,
        "term": product.term_days,
        "swapCoin": "",
        "swapCoinPrecision": "",
        "stakeExchangeRate": "",
        "redeemExchangeRate": "",
        "rewardDistributionType": "Simple" if on_chain else "",
        "rewardIntervalMinute": 0,
        "redeemProcessingMinute": int(product.redeem_delay // 60),
        "stakeTime": "",
        "interestCalculationTime": "",
    }


def earn_order_json(order: SimEarnOrder, product: SimEarnProduct) -> dict[str, Any]:
    pending_stake = order.category == ON_CHAIN and order.status == "Pending"
    return {
        "coin": order.coin,
        "orderValue": _text(order.amount),
        "orderType": order.order_type,
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "status": order.status,
        "createdAt": str(order.created_ms),
        "productId": order.product_id,
        "updatedAt": str(order.updated_ms),
        "swapOrderValue": "",
        "estimateRedeemTime": "",
        "estimateStakeTime": str(order.created_ms + int(product.stake_delay * 1000))
        if pending_stake and order.order_type == "Stake"
        else "",
    }


def earn_position_json(position: SimEarnPosition, claimable: Decimal) -> dict[str, Any]:
    on_chain = position.category == ON_CHAIN
    return {
        "coin": position.coin,
        "productId": position.product_id,
        "amount": _text(position.amount),
        "totalPnl": "0" if on_chain else "",
        "claimableYield": "" if on_chain else _text(claimable),
        "id": position.position_id,
        "status": position.status if on_chain else "",
        "orderId": position.order_id if on_chain else "",
        "estimateRedeemTime": "",
        "estimateStakeTime": "",
        "estimateInterestCalculationTime": "",
        "settlementTime": "",
        "autoReinvest": "",
        "availableAmount": _text(position.available),
        "freezeDetails": [
            {"amount": _text(amount), "description": description}
            for description, amount in position.frozen.items()
        ],
    }
