"""Bybit's DoubleWin answers and requests as its docs write them: the "result" objects of the
response examples in bybit-exchange/docs
docs/v5/finance/advanced-earn/double-win/{product-info,product-quote,leverage,order,position,
est-redeem}.mdx, verbatim, and create-order.mdx's request bodies (its "Redeem" block is an
RFQ stake; the real Redeem body is the zh-TW page's)."""

from __future__ import annotations

PRODUCT_RESULT = """
{
    "category": "DoubleWin",
    "list": [
        {
            "category": "DoubleWin",
            "productId": "14092",
            "investCoin": "USDT",
            "underlyingAsset": "BTC",
            "duration": "2d",
            "expectReceiveAt": "1775290500000",
            "minPurchaseAmount": "10",
            "subscribeStartAt": "1775088000000",
            "subscribeEndAt": "1775174399000",
            "settlementTime": "1775289600000",
            "orderPrecisionDigital": 4,
            "isRfqProduct": true,
            "lowerPriceBuffer": "",
            "upperPriceBuffer": "",
            "minDeviationRatio": "0.01",
            "maxDeviationRatio": "0.15",
            "priceTickSize": "500"
        }
    ]
}
"""

#: The answer's time.
PRODUCT_MS = 1775100184409

QUOTE_RESULT = """
{
    "productId": "14084",
    "leverage": "9.30452991038687184855947115",
    "expireTime": "1775102611946",
    "maxInvestmentAmount": "1000",
    "currentPrice": "66628.76",
    "category": "DoubleWin"
}
"""

#: The answer's time.
QUOTE_MS = 1775102648543

LEVERAGE_RESULT = """
{
    "productId": "14092",
    "initialPrice": "66333.94",
    "lowerPrice": "63000",
    "upperPrice": "70000",
    "leverage": "241.15",
    "expireTime": "1775106748000",
    "maxInvestmentAmount": "10000"
}
"""

#: The answer's time.
LEVERAGE_MS = 1775106718961

ORDER_RESULT = """
{
    "category": "DoubleWin",
    "list": [
        {
            "orderId": "05184c23-8a98-456c-a2af-0ef1c45116cc",
            "orderLinkId": "usdt-earn-009",
            "productId": "14084",
            "category": "DoubleWin",
            "orderType": "Stake",
            "investCoin": "USDT",
            "amount": "150",
            "underlyingAsset": "BTC",
            "initialPrice": "66445.69",
            "lowerPrice": "66245.69",
            "upperPrice": "66645.69",
            "leverage": "9.3309793178843419",
            "settlementTime": "1775203200000",
            "duration": "1d",
            "createdTime": "1775107011000",
            "updatedTime": "1775107011000",
            "status": "Success",
            "settlementPrice": "",
            "pnl": "",
            "refundStatus": "",
            "accountType": "FUND",
            "toAccountType": ""
        }
    ],
    "nextPageCursor": ""
}
"""

#: The answer's time.
ORDER_MS = 1775107200953

POSITION_RESULT = """
{
    "category": "DoubleWin",
    "list": [
        {
            "positionId": "2848",
            "productId": "14084",
            "category": "DoubleWin",
            "investCoin": "USDT",
            "underlyingAsset": "BTC",
            "amount": "150",
            "leverage": "9.3309793178843419",
            "initialPrice": "66445.69",
            "lowerPrice": "66245.69",
            "upperPrice": "66645.69",
            "duration": "1d",
            "settlementTime": "1775203200000",
            "createdTime": "1775107014000",
            "status": "Active",
            "redeemable": true,
            "accountType": "FUND",
            "orderId": "05184c23-8a98-456c-a2af-0ef1c45116cc"
        }
    ],
    "nextPageCursor": ""
}
"""

#: The answer's time.
POSITION_MS = 1775107714828

ESTIMATE_RESULT = """
{
    "list": [
        {
            "success": false,
            "positionId": "2847",
            "estRedeemAmount": "0",
            "estRedeemTime": "0",
            "slippageRate": "0.9"
        }
    ]
}
"""

#: The answer's time.
ESTIMATE_MS = 1775107977370

FIXED_STAKE_BODY = """
{
    "category": "DoubleWin",
    "productId": "14084",
    "coin": "USDT",
    "amount": "150",
    "orderType": "Stake",
    "accountType": "FUND",
    "orderLinkId": "usdt-earn-009",
    "doubleWinStakeExtra": {
        "initialPrice": "66445.69",
        "leverage": "9"
    }
}
"""

#: Titled "Redeem" in the docs, but an RFQ stake (its leverage 245.18 above the quote's
#: 241.15 for the same range: the docs contradict their own rule).

RFQ_STAKE_BODY = """
{
    "category": "DoubleWin",
    "productId": "14092",
    "coin": "USDT",
    "amount": "200",
    "orderType": "Stake",
    "accountType": "FUND",
    "orderLinkId": "usdt-earn-010",
    "doubleWinStakeExtra": {
        "initialPrice": "66333.94",
        "lowerPrice": "63000",
        "upperPrice": "70000",
        "leverage": "245.18"
    }
}
"""

#: i18n/zh-TW/.../advanced-earn/double-win/create-order.mdx: no amount, coin or accountType.
REDEEM_BODY = """
{"category":"DoubleWin","productId":"14084","orderType":"Redeem","orderLinkId":"usdt-redeem-001",
"doubleWinRedeemExtra":{"positionId":"2848","estRedeemAmount":"148.50","isSlippageProtected":true}}
"""
