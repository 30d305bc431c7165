"""Liquidity Mining as Bybit's docs write it (advanced-earn/liquidity-mining/*.mdx): the
paths, and each page's request and response examples, verbatim."""

from __future__ import annotations

from typing import Any

PATH = "/v5/earn/liquidity-mining/"
PRODUCT = PATH + "product"
ADD_LIQUIDITY = PATH + "add-liquidity"
REMOVE_LIQUIDITY = PATH + "remove-liquidity"
REINVEST = PATH + "reinvest"
ADD_MARGIN = PATH + "add-margin"
CLAIM_INTEREST = PATH + "claim-interest"
ORDER = PATH + "order"
POSITION = PATH + "position"
YIELD_RECORDS = PATH + "yield-records"
LIQUIDATION_RECORDS = PATH + "liquidation-records"

#: The documented rate limit of each endpoint, by the bucket both the client and the
#: simulator name it with: (requests, per seconds). Each side is checked against it on its
#: own (tests/bybit and tests/sim), so neither can copy the other's mistake.
DOCUMENTED_LIMITS = {
    "lm_product": (50, 1.0),
    "lm_add_liquidity": (5, 1.0),
    "lm_remove_liquidity": (5, 1.0),
    "lm_reinvest": (5, 1.0),
    "lm_add_margin": (5, 1.0),
    "lm_claim_interest": (5, 1.0),
    "lm_order": (10, 1.0),
    "lm_position": (10, 1.0),
    "lm_yield_records": (10, 1.0),
    "lm_liquidation_records": (10, 1.0),
}

#: product-info.mdx's response ``result``.
PRODUCTS: dict[str, Any] = {
    "products": [
        {
            "productId": "5",
            "baseCoin": "ETH",
            "quoteCoin": "USDT",
            "status": "Available",
            "maxLeverage": 3,
            "minInvestmentQuote": "1",
            "minInvestmentBase": "0.01",
            "maxInvestmentQuote": "150000",
            "maxInvestmentBase": "50",
            "minWithdrawalAmount": "20",
            "baseCoinPrecision": 8,
            "quoteCoinPrecision": 4,
            "minReinvestAmount": "10",
            "yieldCoins": ["USDT"],
            "apyE8": "13714946",
            "apy7dE8": "338344880",
            "poolLiquidityValue": "1361221.17",
            "dailyYield": "1028.3745",
            "slippage_levels": ["0", "500", "100000", "500000"],
            "apyBreakdown": [],
            "apy7dBreakdown": [],
            "slippageRateE8List": ["0", "100000", "300000", "500000"],
        }
    ]
}
#: The four order pages' request bodies (add-liquidity's also sends ``"coin": "USDT"``,
#: which its table does not list).
ADD_BODY: dict[str, Any] = {
    "productId": "36",
    "coin": "USDT",
    "quoteAmount": "200",
    "quoteAccountType": "FUND",
    "orderLinkId": "lm-001",
    "leverage": "2",
}
REMOVE_BODY: dict[str, Any] = {
    "productId": "1001",
    "orderLinkId": "lm-remove-001-20260312",
    "positionId": "5001",
    "removeRate": 50,
    "removeType": "Normal",
}
REINVEST_BODY: dict[str, Any] = {
    "productId": "5",
    "orderLinkId": "lm-reinvest-01",
    "positionId": "1498",
}
MARGIN_BODY: dict[str, Any] = {
    "productId": "5",
    "orderLinkId": "lm-add-m-01",
    "positionId": "1498",
    "amount": "1000",
    "quoteAccountType": "FUND",
}
#: order.mdx's response ``result``.
ORDERS: dict[str, Any] = {
    "orders": [
        {
            "orderId": "5e651d09-6169-4f72-a609-8622ff421d19",
            "orderLinkId": "lm-001",
            "productId": "36",
            "orderType": "AddLiquidity",
            "baseCoin": "TON",
            "quoteCoin": "USDT",
            "quoteAmount": "200",
            "baseAmount": "0",
            "status": "Success",
            "removeType": "Normal",
            "removeRate": 0,
            "leverage": "2",
            "slippageValue": "0.02",
            "createdTime": "1775123507000",
        }
    ],
    "nextPageCursor": "",
}
#: position.mdx's response ``result``.
POSITIONS: dict[str, Any] = {
    "positions": [
        {
            "positionId": "1498",
            "productId": "5",
            "baseCoin": "ETH",
            "quoteCoin": "USDT",
            "quoteAmount": "1637.7537",
            "baseAmount": "0.80131605",
            "principalQuoteAmount": "817.5297",
            "principalBaseAmount": "0.39999891",
            "principalLiquidityValue": "1635.0595",
            "leveragedValue": "3275.5075",
            "loan": "1640.448",
            "claimableYield": "0",
            "currentApr": "27856097",
            "leverage": "2.003295552626342963",
            "margin": "0",
            "liquidationPrice": "538.272",
            "currentPriceY": "2043.83",
            "status": "Active",
            "createdTime": "1775116860000",
        }
    ]
}
#: yield-records.mdx's response ``result``.
YIELDS: dict[str, Any] = {
    "records": [
        {
            "coin": "USDT",
            "amount": "0.0098",
            "baseCoin": "ETH",
            "quoteCoin": "USDT",
            "type": "Manual",
            "status": "Complete",
            "createdTime": "1775125850000",
        }
    ],
    "nextPageCursor": "",
}
#: liquidation-records.mdx's response ``result``.
LIQUIDATIONS: dict[str, Any] = {
    "records": [
        {
            "baseCoin": "BTC",
            "quoteCoin": "USDT",
            "baseAmount": "0.05234",
            "quoteAmount": "1580.21",
            "liquidationPrice": "30200.00",
            "liquidationTime": "1741824000000",
        }
    ],
    "nextPageCursor": "",
}


def order_info(**changes: Any) -> dict[str, Any]:
    """order.mdx's order, with ``changes``."""
    return {**ORDERS["orders"][0], **changes}
