"""The DiscountBuy stake: its body on the wire (the docs' example), its checks,
``from_offer``, and placing it exactly once through ``advance_earn.place_order`` (the lookup
in its own category)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import respx

from asyncexch import InvalidRequest
from asyncexch.bybit import (
    BybitClient,
    DiscountBuyAck,
    DiscountBuyOrder,
    DiscountBuyOrderInfo,
    DualAssetsAck,
    OrderType,
    SettleType,
)
from tests.builders.bybit import ORDER, PLACE, acknowledge_by_category, dual_assets_order, ok
from tests.builders.discount_buy import (
    ACK_RESULT,
    OFFER_EXPIRES,
    STAKE_BODY,
    db_info,
    db_offer,
    db_page,
    db_product,
    discount_buy_order,
)
from tests.builders.discount_buy import STAKE_WIRE as WIRE_BODY

UTC = timezone.utc
MakeClient = Callable[..., BybitClient]
LINK = "my-order-001"
NOW = OFFER_EXPIRES - timedelta(seconds=10)


# --- the body -----------------------------------------------------------------------------


def test_the_body_is_the_docs_example() -> None:
    order = discount_buy_order()
    params = order.to_params()
    docs = json.loads(STAKE_BODY)
    assert list(params) == list(docs)
    assert list(params["discountBuyExtra"]) == list(docs["discountBuyExtra"])  # type: ignore[call-overload]
    assert params == docs
    assert order.order_type is OrderType.STAKE and order.category == "DiscountBuy"


def test_a_numeric_inst_uid_goes_back_as_a_number() -> None:
    """The MCP server's reading: the quote wrote ``instUid`` as a JSON number, so the stake
    sends that number (the coupon stays a string, as the docs' table has it)."""
    extra = discount_buy_order(inst_uid=100307526).to_params()["discountBuyExtra"]
    assert isinstance(extra, dict)
    assert extra["instUid"] == 100307526 and type(extra["instUid"]) is int
    assert extra["knockoutCouponE8"] == "1000000"


@pytest.mark.parametrize("settle", ["Quote", "QUOTE", "quote", SettleType.QUOTE])
def test_a_settle_type_is_a_member_its_name_or_its_wire_value(settle: Any) -> None:
    order = discount_buy_order(settle_type=settle)
    assert order.settle_type is SettleType.QUOTE
    assert order.to_params()["discountBuyExtra"]["settleType"] == "Quote"  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"settle_type": "Both"}, "settle_type"),
        ({"amount": 200}, "amount"),
        ({"amount": Decimal("-1")}, "amount"),
        ({"initial_price": Decimal("74571.123456789")}, "initial_price"),
        ({"purchase_price": Decimal("0")}, "purchase_price"),
        ({"knockout_price": 76050.0}, "knockout_price"),
        ({"knockout_coupon_e8": "1000000"}, "knockout_coupon_e8"),
        ({"knockout_coupon_e8": -1}, "knockout_coupon_e8"),
        ({"inst_uid": ""}, "inst_uid"),
        ({"inst_uid": True}, "inst_uid"),
        ({"inst_uid": 1.5}, "inst_uid"),
        ({"account_type": "SPOT"}, "account_type"),
        ({"product_id": ""}, "product_id"),
        ({"order_link_id": "x" * 41}, "order_link_id"),
        ({"order_link_id": "my.order"}, "order_link_id"),
    ],
)
def test_a_bad_field_is_refused_at_construction(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        discount_buy_order(**changes)
    assert caught.value.field == field


def test_an_id_of_40_characters_fits_and_a_fresh_one_is_made_once() -> None:
    assert discount_buy_order(order_link_id="a-_Z9" * 8).order_link_id == "a-_Z9" * 8
    order = DiscountBuyOrder.from_offer(
        db_offer(), amount=Decimal("200"), settle_type="Base", now=NOW
    )
    assert 1 <= len(order.order_link_id) <= 40
    assert order.to_params()["orderLinkId"] == order.order_link_id


# --- from_offer ---------------------------------------------------------------------------


def test_from_offer_takes_the_offers_values_as_they_are() -> None:
    built = DiscountBuyOrder.from_offer(
        db_offer(), amount=Decimal("200"), settle_type="Base", now=NOW, order_link_id=LINK
    )
    assert built == discount_buy_order()
    numeric = DiscountBuyOrder.from_offer(
        db_offer(inst_uid=100307526), amount=Decimal("200"), settle_type=SettleType.QUOTE, now=NOW
    )
    assert numeric.inst_uid == 100307526 and numeric.settle_type is SettleType.QUOTE
    # With the product known: its coin, and from UNIFIED.
    unified = DiscountBuyOrder.from_offer(
        db_offer(product=db_product()),
        amount=Decimal("100.0001"),
        settle_type="Quote",
        account_type="UNIFIED",
        now=NOW,
    )
    assert (unified.coin, unified.account_type, unified.amount) == (
        "USDT",
        "UNIFIED",
        Decimal("100.0001"),
    )


def test_an_offer_without_expiry_is_always_live() -> None:
    timeless = db_offer(expired_at=None)
    order = DiscountBuyOrder.from_offer(
        timeless, amount=Decimal("200"), settle_type="Base", now=datetime(2099, 1, 1, tzinfo=UTC)
    )
    assert order.purchase_price == Decimal("74019")


@pytest.mark.parametrize(
    ("offer_changes", "kwargs", "field"),
    [
        ({}, {"now": NOW, "amount": Decimal("100000.01")}, "amount"),
        ({}, {"now": NOW, "amount": Decimal("99.9999")}, "amount"),
        ({}, {"now": NOW, "amount": Decimal("100.00001")}, "amount"),
        ({}, {"now": NOW, "product": db_product(remaining_amount=Decimal("150"))}, "amount"),
        ({}, {"now": NOW, "settle_type": "Both"}, "settle_type"),
        ({}, {"now": NOW, "product": db_product(order_precision_digital=-1)}, "product"),
    ],
    ids=[
        "above-max",
        "below-min",
        "too-precise",
        "above-remaining",
        "bad-settle-type",
        "negative-precision",
    ],
)
def test_from_offer_refuses_before_sending(
    offer_changes: dict[str, Any], kwargs: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {
        "amount": Decimal("200"),
        "settle_type": "Base",
        "product": db_product(),
        **kwargs,
    }
    with pytest.raises(InvalidRequest) as caught:
        DiscountBuyOrder.from_offer(db_offer(**offer_changes), **arguments)
    assert caught.value.field == field


# --- placing it ---------------------------------------------------------------------------


async def test_place_order_sends_the_docs_body_and_acknowledges_in_the_category(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ACK_RESULT))
    ack = await make_client().advance_earn.place_order(discount_buy_order())

    assert ack == DiscountBuyAck(order_id=ACK_RESULT["orderId"], order_link_id=LINK)
    assert ack.category == "DiscountBuy"
    assert route.calls.last.request.content == WIRE_BODY


async def test_a_mixed_batch_acknowledges_each_order_in_its_category_then_waits_there(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.post(PLACE).mock(side_effect=acknowledge_by_category)
    discount = discount_buy_order()
    orders_route = bybit_mock.get(ORDER).mock(
        return_value=db_page(
            db_info(discount, orderId="id-DiscountBuy", status="Fail", refundStatus="REFUNDING")
        )
    )
    earn = make_client().advance_earn

    dual = dual_assets_order()
    dual_ack, discount_ack = await earn.place_orders([dual, discount])

    assert dual_ack == DualAssetsAck(order_id="id-DualAssets", order_link_id=dual.order_link_id)
    assert discount_ack == DiscountBuyAck(order_id="id-DiscountBuy", order_link_id=LINK)
    assert isinstance(discount_ack, DiscountBuyAck)
    done = await earn.wait_for_order(discount_ack, timeout=5)
    assert type(done) is DiscountBuyOrderInfo and done.refund_status == "REFUNDING"
    assert orders_route.calls.last.request.url.query == (
        b"category=DiscountBuy&limit=1&orderId=id-DiscountBuy"
    )


async def test_the_category_waits_only_for_its_own_acknowledgements(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(return_value=db_page())
    discount = make_client().advance_earn.discount_buy
    with pytest.raises(InvalidRequest, match="DiscountBuyAck") as caught:
        await discount.wait_for_order(DualAssetsAck(order_id="1", order_link_id="x"))  # type: ignore[arg-type]
    assert caught.value.field == "order" and route.call_count == 0
