"""Bybit's DualAssets answers as its docs write them: the "result" objects of the response
examples in bybit-exchange/docs
docs/v5/finance/advanced-earn/dual-asset/{product-info,product-quote,order,position}.mdx,
verbatim (the quote: two ladders of offers; the order: ``settlementTime`` ``"0"`` and the
APYs as strings although the table types them int64)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx

from asyncexch.bybit import (
    DualAssetsDirection,
    DualAssetsOffer,
    DualAssetsOrder,
    DualAssetsProduct,
    ProductStatus,
)
from tests.builders.bybit import SERVER_MS, ok

PRODUCT_RESULT = """
{
    "category": "DualAssets",
    "list": [
        {
            "category": "DualAssets",
            "productId": "36340",
            "baseCoin": "XRP",
            "quoteCoin": "USDT",
            "expectReceiveAt": "1773908399000",
            "duration": "1d",
            "status": "Available",
            "isVipProduct": false,
            "subscribeStartAt": "1773734400000",
            "subscribeEndAt": "1773820799000",
            "applyStartAt": "1773734400000",
            "settlementTime": "1773907199000",
            "minPurchaseQuoteAmount": "10",
            "minPurchaseBaseAmount": "10",
            "remainingAmountQuote": "1000000",
            "remainingAmountBase": "10000",
            "orderPrecisionDigitalQuote": 4,
            "orderPrecisionDigitalBase": 2
        }
    ]
}
"""
QUOTE_RESULT = """
{
    "category": "DualAssets",
    "list": [
        {
            "productId": "36340",
            "currentPrice": "1.5275",
            "buyLowPrice": [
                {"selectPrice": "1.52", "apyE8": "810810000",
                 "maxInvestmentAmount": "2000", "expiredAt": "1773814863140"},
                {"selectPrice": "1.51", "apyE8": "770310000",
                 "maxInvestmentAmount": "2000", "expiredAt": "1773814863140"},
                {"selectPrice": "1.5", "apyE8": "729810000",
                 "maxInvestmentAmount": "2000", "expiredAt": "1773814863140"},
                {"selectPrice": "1.4", "apyE8": "33927427",
                 "maxInvestmentAmount": "15982.7136", "expiredAt": "1773814764000"},
                {"selectPrice": "1.45", "apyE8": "47326344",
                 "maxInvestmentAmount": "15982.7136", "expiredAt": "1773814764000"},
                {"selectPrice": "1.527398", "apyE8": "259263094",
                 "maxInvestmentAmount": "15982.7136", "expiredAt": "1773814770000"}
            ],
            "sellHighPrice": [
                {"selectPrice": "1.54", "apyE8": "729810000",
                 "maxInvestmentAmount": "1309.92", "expiredAt": "1773814863140"},
                {"selectPrice": "1.55", "apyE8": "49979611",
                 "maxInvestmentAmount": "10480", "expiredAt": "1773814764000"},
                {"selectPrice": "1.52", "apyE8": "810810000",
                 "maxInvestmentAmount": "1309.92", "expiredAt": "1773814863140"},
                {"selectPrice": "1.53", "apyE8": "770310000",
                 "maxInvestmentAmount": "1309.92", "expiredAt": "1773814863140"}
            ]
        }
    ]
}
"""
#: The answer's time (``"time": 1773814753684``).
QUOTED_MS = 1773814753684
ORDER_RESULT = """
{
    "category": "DualAssets",
    "list": [
        {
            "orderId": "ef9644c2-0c98-40e5-ae33-8aa5b6d85058",
            "orderLinkId": "54b3589b-da55-4b17-acdd-aa75912c9eb9",
            "productId": "36320",
            "category": "DualAssets",
            "orderType": "Stake",
            "amount": "20",
            "coin": "USDT",
            "baseCoin": "ETH",
            "quoteCoin": "USDT",
            "status": "Success",
            "createdTime": "1773815357000",
            "updatedTime": "1773815357000",
            "direction": "BuyLow",
            "targetPrice": "2325",
            "settlementTime": "0",
            "estimateApyE8": "771808500",
            "duration": "3d",
            "accountType": "UNIFIED",
            "toAccountType": "",
            "selectApyE8": "857565000",
            "isVip": false,
            "settlementCoin": "ETH",
            "settlementAmount": "0",
            "orderMode": "Normal",
            "settlementPrice": "",
            "refundStatus": "",
            "trialBonusAmount": "",
            "trialBonusPnl": ""
        }
    ],
    "nextPageCursor": ""
}
"""
POSITION_RESULT = """
{
    "category": "DualAssets",
    "list": [
        {
            "positionId": "19035",
            "productId": "36320",
            "category": "DualAssets",
            "baseCoin": "ETH",
            "quoteCoin": "USDT",
            "investCoin": "USDT",
            "amount": "20",
            "apyE8": "902700000",
            "direction": "BuyLow",
            "targetPrice": "2325",
            "settlementTime": "1774079999000",
            "status": "Active",
            "orderId": "ef9644c2-0c98-40e5-ae33-8aa5b6d85058",
            "duration": "3d",
            "expectReturnCoin": "USDT",
            "expectReturnAmount": "21.4838",
            "accountType": "UNIFIED",
            "toAccountType": "FUND",
            "yieldStartAt": "1773820799000",
            "yieldEndAt": "1774079999000"
        }
    ],
    "nextPageCursor": ""
}
"""

#: What the client sends for the docs' create-order example (``dual_assets_order()``): the
#: docs' request table's types (productId a string).
STAKE_WIRE = (
    b'{"category":"DualAssets","productId":"36320","orderType":"Stake","amount":"20",'
    b'"accountType":"UNIFIED","coin":"USDT","orderLinkId":"54b3589b-da55-4b17-acdd-aa75912c9eb",'
    b'"dualAssetsExtra":{"orderDirection":"BuyLow","selectPrice":"2325","apyE8":857565000}}'
)


def da_info(order: DualAssetsOrder, **changes: Any) -> dict[str, Any]:
    """The venue's record of ``order`` (Pending), as the order list writes it, with
    ``changes``."""
    item: dict[str, Any] = {
        "orderId": "97f198e9-b14b-4703-b4a6-a4aa06ba1499",
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "category": "DualAssets",
        "orderType": "Stake",
        "amount": format(order.amount, "f"),
        "coin": order.coin,
        "status": "Pending",
        "createdTime": str(SERVER_MS),
        "direction": order.direction.value,
        "targetPrice": format(order.select_price, "f"),
        "selectApyE8": str(order.apy_e8),
    }
    item.update(changes)
    return item


def da_page(*items: Any) -> httpx.Response:
    """An order list page of ``items``, the last."""
    return ok({"category": "DualAssets", "list": list(items), "nextPageCursor": ""})


#: When :func:`da_offer` expires.
OFFER_EXPIRES = datetime(2026, 3, 18, 6, 21, 3, 140000, tzinfo=timezone.utc)


def da_offer(**changes: Any) -> DualAssetsOffer:
    """The docs' create-order example's offer (BuyLow ETH at 2325, APY 8.57565 %, up to 2000
    USDT), expiring at :data:`OFFER_EXPIRES`, with ``changes``."""
    fields: dict[str, Any] = {
        "product_id": "36320",
        "direction": DualAssetsDirection.BUY_LOW,
        "select_price": Decimal("2325"),
        "apy_e8": 857565000,
        "max_investment_amount": Decimal("2000"),
        "expired_at": OFFER_EXPIRES,
    }
    return DualAssetsOffer(**{**fields, **changes})


def da_product(**changes: Any) -> DualAssetsProduct:
    """The product of :func:`da_offer` (ETH-USDT, 3 days; 10 USDT or 0.005 ETH at least, 4 and
    3 decimal places), with ``changes``."""
    fields: dict[str, Any] = {
        "category": "DualAssets",
        "product_id": "36320",
        "base_coin": "ETH",
        "quote_coin": "USDT",
        "duration": "3d",
        "status": ProductStatus.AVAILABLE,
        "min_purchase_quote_amount": Decimal("10"),
        "min_purchase_base_amount": Decimal("0.005"),
        "remaining_amount_quote": Decimal("1000000"),
        "remaining_amount_base": Decimal("100"),
        "order_precision_digital_quote": 4,
        "order_precision_digital_base": 3,
    }
    return DualAssetsProduct(**{**fields, **changes})
