"""Bybit Earn (FlexibleSaving, OnChain) as its docs show it: the ``result`` of each response
example, verbatim from ``docs/v5/finance/earn/easy-onchain/*.mdx`` (bybit-exchange/docs
@ 072c197d0c11), and the create-order request example."""

from __future__ import annotations

#: product-info.mdx, response example.
PRODUCT_RESULT = """
{
    "list": [
        {
            "category": "FlexibleSaving",
            "estimateApr": "3%",
            "coin": "BTC",
            "minStakeAmount": "0.001",
            "maxStakeAmount": "10",
            "precision": "8",
            "productId": "430",
            "status": "Available",
            "bonusEvents": [],
            "minRedeemAmount": "",
            "maxRedeemAmount": "",
            "duration": "",
            "term": 0,
            "swapCoin": "",
            "swapCoinPrecision": "",
            "stakeExchangeRate": "",
            "redeemExchangeRate": "",
            "rewardDistributionType": "",
            "rewardIntervalMinute": 0,
            "redeemProcessingMinute": 0,
            "stakeTime": "",
            "interestCalculationTime": ""
        }
    ]
}
"""

#: order-history.mdx, response example.
ORDER_RESULT = """
{
    "list": [
        {
            "coin": "USDT",
            "orderValue": "1000",
            "orderType": "Stake",
            "orderId": "ad98d473-4e17-46da-ab30-5563f62a97fa",
            "orderLinkId": "",
            "status": "Success",
            "createdAt": "1759983689000",
            "productId": "428",
            "updatedAt": "1759983689000",
            "swapOrderValue": "",
            "estimateRedeemTime": "",
            "estimateStakeTime": ""
        }
    ],
    "nextPageCursor": ""
}
"""

#: position.mdx, response example.
POSITION_RESULT = """
{
    "list": [
        {
            "coin": "BTC",
            "productId": "8",
            "amount": "0.1",
            "totalPnl": "0.000027397260273973",
            "claimableYield": "0",
            "id": "326",
            "status": "Active",
            "orderId": "1a5a8945-e042-4dd5-a93f-c0f0577377ad",
            "estimateRedeemTime": "",
            "estimateStakeTime": "",
            "estimateInterestCalculationTime": "1744243200000",
            "settlementTime": "1744675200000",
            "autoReinvest": "Enable",
            "availableAmount": "4900",
            "freezeDetails": [
                {
                    "amount": "100",
                    "description": "Locked in Fixed-Rate Loan"
                }
            ]
        }
    ]
}
"""

#: create-order.mdx, response example.
PLACE_RESULT = """
{
    "orderId": "0572b030-6a0b-423f-88c4-b6ce31c0c82d",
    "orderLinkId": "btc-earn-001"
}
"""

#: create-order.mdx, request example (a FlexibleSaving redeem).
PLACE_BODY = """
{
    "category": "FlexibleSaving",
    "orderType": "Redeem",
    "accountType": "FUND",
    "amount": "0.35",
    "coin": "BTC",
    "productId": "430",
    "orderLinkId": "btc-earn-001"
}
"""

PRODUCT = "/v5/earn/product"
PLACE = "/v5/earn/place-order"
ORDER = "/v5/earn/order"
POSITION = "/v5/earn/position"
