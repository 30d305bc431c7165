"""Bybit's DiscountBuy answers and stake as its docs write them: the "result" objects of the
response examples and the request body in bybit-exchange/docs
docs/v5/finance/advanced-earn/discount-buy/{product-info,product-quote,create-order,order,
position}.mdx, verbatim (a top-level ``"category": ""`` on the product, order and position
answers; ``instUid`` and ``knockoutCouponE8`` strings), and the stake the docs send."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx

from asyncexch.bybit import DiscountBuyOffer, DiscountBuyOrder, DiscountBuyProduct
from tests.builders.bybit import SERVER_MS, ok

PRODUCT_RESULT = """
{
    "category": "",
    "list": [
        {
            "category": "DiscountBuy",
            "productId": "7038",
            "coin": "USDT",
            "underlyingAsset": "BTC",
            "settlementTime": "1776240000000",
            "duration": "1d",
            "isVipProduct": true,
            "subscribeStartAt": "1776124800000",
            "subscribeEndAt": "1776211199000",
            "minPurchaseAmount": "100",
            "remainingAmount": "10000000",
            "orderPrecisionDigital": 4,
            "expectReceiveAt": "1776240900000"
        },
        {
            "category": "DiscountBuy",
            "productId": "7037",
            "coin": "USDT",
            "underlyingAsset": "BTC",
            "settlementTime": "1776240000000",
            "duration": "1d",
            "isVipProduct": false,
            "subscribeStartAt": "1776124800000",
            "subscribeEndAt": "1776211199000",
            "minPurchaseAmount": "100",
            "remainingAmount": "9998547.575",
            "orderPrecisionDigital": 4,
            "expectReceiveAt": "1776240900000"
        }
    ]
}
"""
QUOTE_RESULT = """
{
    "offers": [
        {
            "productId": "7037",
            "currentPrice": "74514.26",
            "purchasePrice": "74014",
            "knockoutPrice": "76000",
            "knockoutCouponE8": "1000000",
            "maxInvestmentAmount": "100000",
            "instUid": "100307526",
            "expiredAt": "1776153608188",
            "category": "DiscountBuy"
        }
    ]
}
"""
#: The quote answer's time (``"time": 1776153594375``).
QUOTED_MS = 1776153594375
#: The create-order request example, as written there.
STAKE_BODY = """
{
    "category": "DiscountBuy",
    "productId": "7037",
    "orderType": "Stake",
    "amount": "200",
    "coin": "USDT",
    "accountType": "FUND",
    "orderLinkId": "my-order-001",
    "discountBuyExtra": {
        "initialPrice": "74571.32",
        "purchasePrice": "74019",
        "knockoutPrice": "76050",
        "knockoutCouponE8": "1000000",
        "settleType": "Base",
        "instUid": "100307526"
    }
}
"""
#: The create-order response example's result.
ACK_RESULT = {"orderId": "38f6f5ce-57e2-4d69-b4d3-c39464389ccb", "orderLinkId": "my-order-001"}
ORDER_RESULT = """
{
    "category": "",
    "list": [
        {
            "orderId": "38f6f5ce-57e2-4d69-b4d3-c39464389ccb",
            "orderLinkId": "my-order-001",
            "productId": "7037",
            "category": "DiscountBuy",
            "orderType": "Stake",
            "amount": "200",
            "coin": "USDT",
            "underlyingAsset": "BTC",
            "status": "Success",
            "createdTime": "1776154116000",
            "purchasePrice": "74019",
            "knockoutPrice": "76050",
            "knockoutCouponE8": "1000000",
            "duration": "1d",
            "settlementTime": "1776240000000",
            "accountType": "FUND",
            "toAccountType": "",
            "settlementPrice": "",
            "settlementCoin": "",
            "settlementAmount": "",
            "settleType": "Base",
            "isVip": false,
            "refundStatus": ""
        }
    ],
    "nextPageCursor": ""
}
"""
POSITION_RESULT = """
{
    "category": "",
    "list": [
        {
            "positionId": "11959",
            "productId": "7037",
            "category": "DiscountBuy",
            "coin": "USDT",
            "underlyingAsset": "BTC",
            "amount": "200",
            "purchasePrice": "74019",
            "knockoutPrice": "76050",
            "knockoutCouponE8": "1000000",
            "status": "Active",
            "orderId": "38f6f5ce-57e2-4d69-b4d3-c39464389ccb",
            "duration": "1d",
            "settlementTime": "1776240000000",
            "accountType": "FUND",
            "toAccountType": "FUND",
            "settleType": "Base",
            "expectReceiveAt": "1776240900000"
        }
    ],
    "nextPageCursor": ""
}
"""


def discount_buy_order(**overrides: Any) -> DiscountBuyOrder:
    """The docs' DiscountBuy stake example (200 USDT in product 7037 from FUND, settled in
    Base, orderLinkId ``my-order-001``), with ``overrides``."""
    fields: dict[str, Any] = {
        "product_id": "7037",
        "amount": Decimal("200"),
        "settle_type": "Base",
        "initial_price": Decimal("74571.32"),
        "purchase_price": Decimal("74019"),
        "knockout_price": Decimal("76050"),
        "knockout_coupon_e8": 1000000,
        "inst_uid": "100307526",
        "account_type": "FUND",
        "order_link_id": "my-order-001",
    }
    fields.update(overrides)
    return DiscountBuyOrder(**fields)


#: What the client sends for the docs' example: the example itself, byte for byte in order.
STAKE_WIRE = json.dumps(json.loads(STAKE_BODY), separators=(",", ":")).encode()


def db_info(order: DiscountBuyOrder, **changes: Any) -> dict[str, Any]:
    """The venue's record of ``order`` (Pending), as the order list writes it, with
    ``changes``."""
    item: dict[str, Any] = {
        "orderId": ACK_RESULT["orderId"],
        "orderLinkId": order.order_link_id,
        "productId": order.product_id,
        "category": "DiscountBuy",
        "orderType": "Stake",
        "amount": format(order.amount, "f"),
        "coin": "USDT",
        "underlyingAsset": "BTC",
        "status": "Pending",
        "createdTime": str(SERVER_MS),
        "settleType": order.settle_type.value,
        "refundStatus": "",
    }
    item.update(changes)
    return item


def db_page(*items: Any) -> httpx.Response:
    """An order list page of ``items``, the last."""
    return ok({"category": "", "list": list(items), "nextPageCursor": ""})


#: When :func:`db_offer` expires.
OFFER_EXPIRES = datetime(2026, 4, 14, 8, 0, 8, 188000, tzinfo=timezone.utc)


def db_offer(**changes: Any) -> DiscountBuyOffer:
    """The docs' create-order example's offer (its prices, coupon and market maker),
    expiring at :data:`OFFER_EXPIRES`, with ``changes``."""
    fields: dict[str, Any] = {
        "product_id": "7037",
        "current_price": Decimal("74571.32"),
        "purchase_price": Decimal("74019"),
        "knockout_price": Decimal("76050"),
        "knockout_coupon_e8": 1000000,
        "max_investment_amount": Decimal("100000"),
        "inst_uid": "100307526",
        "expired_at": OFFER_EXPIRES,
    }
    return DiscountBuyOffer(**{**fields, **changes})


def db_product(**changes: Any) -> DiscountBuyProduct:
    """The product of :func:`db_offer` (USDT on BTC, a day; 100 at least, 4 decimal places),
    with ``changes``."""
    fields: dict[str, Any] = {
        "category": "DiscountBuy",
        "product_id": "7037",
        "coin": "USDT",
        "underlying_asset": "BTC",
        "duration": "1d",
        "min_purchase_amount": Decimal("100"),
        "remaining_amount": Decimal("9998547.575"),
        "order_precision_digital": 4,
    }
    return DiscountBuyProduct(**{**fields, **changes})


def db_stake_body(offer: Any, link: str, amount: str) -> dict[str, Any]:
    """A stake of ``amount`` USDT from FUND under ``link`` at the simulator's ``offer`` (a
    ``SimDiscountBuyOffer``), its values as the quote writes them, settled in Base."""
    return {
        "category": "DiscountBuy",
        "productId": offer.product_id,
        "orderType": "Stake",
        "amount": amount,
        "coin": "USDT",
        "accountType": "FUND",
        "orderLinkId": link,
        "discountBuyExtra": {
            "initialPrice": str(offer.current_price),
            "purchasePrice": str(offer.purchase_price),
            "knockoutPrice": str(offer.knockout_price),
            "knockoutCouponE8": str(offer.coupon_e8),
            "settleType": "Base",
            "instUid": offer.inst_uid,
        },
    }
