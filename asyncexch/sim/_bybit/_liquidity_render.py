"""Liquidity Mining records as Bybit writes them (advanced-earn/liquidity-mining/*.mdx):
strings for amounts, ids and times; JSON numbers for ``maxLeverage``, the precisions and
``removeRate``, as the docs' examples do."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from ._liquidity_engine import LiquidityMiningBook
from ._liquidity_records import (
    SimLiquidationRecord,
    SimLiquidityOrder,
    SimLiquidityPosition,
    SimLiquidityProduct,
    SimYieldRecord,
)

__all__ = [
    "liquidation_json",
    "liquidity_order_json",
    "liquidity_position_json",
    "liquidity_product_json",
    "yield_json",
]


def _text(amount: Decimal, places: int | None = None) -> str:
    if places is not None:
        amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    return format(amount.normalize(), "f") if amount else "0"


def liquidity_product_json(product: SimLiquidityProduct) -> dict[str, Any]:
    return {
        "productId": product.product_id,
        "baseCoin": product.base_coin,
        "quoteCoin": product.quote_coin,
        "status": product.status,
        "maxLeverage": product.max_leverage,
        "minInvestmentQuote": _text(product.min_investment_quote),
        "minInvestmentBase": _text(product.min_investment_base),
        "maxInvestmentQuote": _text(product.max_investment_quote),
        "maxInvestmentBase": _text(product.max_investment_base),
        "minWithdrawalAmount": _text(product.min_withdrawal_amount),
        "baseCoinPrecision": product.base_precision,
        "quoteCoinPrecision": product.quote_precision,
        "minReinvestAmount": _text(product.min_reinvest_amount),
        "yieldCoins": [product.quote_coin],
        "apyE8": str(product.apy_e8),
        "apy7dE8": str(product.apy_e8),
        "poolLiquidityValue": "1361221.17",
        "dailyYield": "1028.3745",
        "apyBreakdown": [],
        "apy7dBreakdown": [],
        "slippageRateE8List": ["0", "100000", "300000", "500000"],
    }


def liquidity_order_json(order: SimLiquidityOrder, product: SimLiquidityProduct) -> dict[str, Any]:
    """An order; ``quoteAmount`` is an addition's or a margin's amount, a reinvestment's
    yield, a removal's payout (once done)."""
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "orderType": order.order_type,
        "baseCoin": product.base_coin,
        "quoteCoin": product.quote_coin,
        "quoteAmount": _text(order.quote_amount),
        "baseAmount": _text(order.base_amount),
        "status": order.status,
        "removeType": order.remove_type,
        "removeRate": order.remove_rate,
        "leverage": _text(order.leverage),
        "slippageValue": "" if order.slippage_value is None else _text(order.slippage_value),
        "createdTime": str(order.created_ms),
    }


def liquidity_position_json(
    book: LiquidityMiningBook, position: SimLiquidityPosition, price: Decimal
) -> dict[str, Any]:
    """A position, its amounts computed at ``price``."""
    product = book.products[position.product_id]
    pooled = book.pooled_now(position, price)
    quote_places, base_places = product.quote_precision, product.base_precision
    equity = pooled - position.loan + position.margin
    return {
        "positionId": position.position_id,
        "productId": position.product_id,
        "baseCoin": product.base_coin,
        "quoteCoin": product.quote_coin,
        "quoteAmount": _text(pooled / 2, quote_places),
        "baseAmount": _text(pooled / 2 / price, base_places),
        "principalQuoteAmount": _text(position.principal_quote, quote_places),
        "principalBaseAmount": _text(position.principal_base, base_places),
        "principalLiquidityValue": _text(position.principal_value, quote_places),
        "leveragedValue": _text(pooled, quote_places),
        "loan": _text(position.loan, quote_places),
        "claimableYield": _text(position.claimable_yield, quote_places),
        "currentApr": str(product.apy_e8),
        "leverage": _text(pooled / equity if equity > 0 else position.leverage, 18),
        "margin": _text(position.margin, quote_places),
        "liquidationPrice": _text(book.liquidation_price(position), quote_places),
        "currentPriceY": _text(price, quote_places),
        "status": position.status,
        "createdTime": str(position.created_ms),
    }


def yield_json(record: SimYieldRecord) -> dict[str, Any]:
    return {
        "coin": record.coin,
        "amount": _text(record.amount),
        "baseCoin": record.base_coin,
        "quoteCoin": record.quote_coin,
        "type": record.kind,
        "status": record.status,
        "createdTime": str(record.created_ms),
    }


def liquidation_json(record: SimLiquidationRecord) -> dict[str, Any]:
    return {
        "baseCoin": record.base_coin,
        "quoteCoin": record.quote_coin,
        "baseAmount": _text(record.base_amount),
        "quoteAmount": _text(record.quote_amount),
        "liquidationPrice": _text(record.liquidation_price),
        "liquidationTime": str(record.liquidation_ms),
    }
