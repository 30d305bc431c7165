"""The DualAssets stake: its body on the wire, its checks, ``from_offer``, and placing it
exactly once through ``advance_earn.place_order`` (the lookup in its own category)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
import respx

from asyncexch import (
    InvalidRequest,
)
from asyncexch.bybit import (
    BybitClient,
    DualAssetsAck,
    DualAssetsDirection,
    DualAssetsOrder,
    DualAssetsOrderInfo,
    InterestCard,
    OrderAck,
    OrderType,
)
from tests.builders.bybit import (
    API_KEY,
    ORDER,
    PLACE,
    acknowledge_by_category,
    dual_assets_order,
    ok,
    stake_order,
)
from tests.builders.dual_assets import OFFER_EXPIRES, da_info, da_offer, da_page, da_product
from tests.builders.dual_assets import STAKE_WIRE as WIRE_BODY

UTC = timezone.utc
MakeClient = Callable[..., BybitClient]
LINK = "54b3589b-da55-4b17-acdd-aa75912c9eb"
#: The docs' request example (dual-asset/create-order.mdx), as written there.
DOCS_BODY = """
{
    "category": "DualAssets",
    "productId": 36320,
    "orderType": "Stake",
    "amount": "20",
    "accountType": "UNIFIED",
    "coin": "USDT",
    "orderLinkId": "54b3589b-da55-4b17-acdd-aa75912c9eb",
    "dualAssetsExtra": {
        "orderDirection": "BuyLow",
        "selectPrice": "2325",
        "apyE8": 857565000
    }
}
"""
NOW = OFFER_EXPIRES - timedelta(seconds=30)


# --- the body -----------------------------------------------------------------------------


def test_the_body_is_the_docs_example_with_the_tables_types() -> None:
    order = dual_assets_order()
    params = order.to_params()
    docs = json.loads(DOCS_BODY)
    # Everything as the docs' example writes it, in its order, but productId: the example
    # sends a JSON number, the request table says string (and so does every other page).
    assert list(params) == list(docs)
    assert params == {**docs, "productId": "36320"}
    assert type(params["productId"]) is str
    assert order.order_type is OrderType.STAKE and order.category == "DualAssets"


def test_an_interest_card_goes_after_the_extra() -> None:
    card = InterestCard(award_id=123456789012, spec_code="DA_BOOST_5")
    params = dual_assets_order(interest_card=card).to_params()
    assert list(params)[-2:] == ["dualAssetsExtra", "interestCard"]
    assert params["interestCard"] == {"awardId": 123456789012, "specCode": "DA_BOOST_5"}


@pytest.mark.parametrize(
    "direction", ["SellHigh", "SELL_HIGH", "sell_high", DualAssetsDirection.SELL_HIGH]
)
def test_a_direction_is_a_member_its_name_or_its_wire_value(direction: Any) -> None:
    order = dual_assets_order(direction=direction)
    assert order.direction is DualAssetsDirection.SELL_HIGH
    assert order.to_params()["dualAssetsExtra"] == {
        "orderDirection": "SellHigh",
        "selectPrice": "2325",
        "apyE8": 857565000,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product_id": ""}, "product_id"),
        ({"coin": ""}, "coin"),
        ({"amount": 20.0}, "amount"),
        ({"amount": Decimal("0")}, "amount"),
        ({"direction": "Sideways"}, "direction"),
        ({"direction": DualAssetsDirection("Sideways")}, "direction"),
        ({"select_price": Decimal("-1")}, "select_price"),
        ({"apy_e8": -1}, "apy_e8"),
        ({"apy_e8": "857565000"}, "apy_e8"),
        ({"apy_e8": True}, "apy_e8"),
        ({"apy_e8": 2**63}, "apy_e8"),
        ({"account_type": "SPOT"}, "account_type"),
        ({"interest_card": {"awardId": 1}}, "interest_card"),
        ({"order_link_id": "x" * 37}, "order_link_id"),
        ({"order_link_id": "a b"}, "order_link_id"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_a_bad_field_is_refused_at_construction(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        dual_assets_order(**changes)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"award_id": 0}, "award_id"),
        ({"award_id": 2**63}, "award_id"),
        ({"spec_code": ""}, "spec_code"),
    ],
)
def test_an_interest_card_checks_its_fields(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        InterestCard(**{"award_id": 1, "spec_code": "S", **changes})
    assert caught.value.field == field


def test_an_order_keeps_its_id_and_a_fresh_one_fits_the_rule() -> None:
    order = DualAssetsOrder(
        product_id="1",
        coin="USDT",
        amount=Decimal("10"),
        direction="BuyLow",
        select_price=Decimal("1"),
        apy_e8=0,
    )
    assert 1 <= len(order.order_link_id) <= 36
    assert order.to_params()["orderLinkId"] == order.order_link_id
    assert attrs.evolve(order, amount=Decimal("11")).order_link_id == order.order_link_id
    assert dual_assets_order(order_link_id="x" * 36).order_link_id == "x" * 36


# --- from_offer ---------------------------------------------------------------------------


def test_from_offer_takes_the_offer_and_the_products_invest_coin() -> None:
    buy = DualAssetsOrder.from_offer(
        da_offer(product=da_product()), amount=Decimal("20"), account_type="UNIFIED", now=NOW
    )
    assert buy.to_params() == {
        **json.loads(DOCS_BODY),
        "productId": "36320",
        "orderLinkId": buy.order_link_id,
    }
    sell = DualAssetsOrder.from_offer(
        da_offer(direction=DualAssetsDirection.SELL_HIGH, select_price=Decimal("2500")),
        amount=Decimal("0.125"),
        product=da_product(),
        now=NOW,
        order_link_id="sell-1",
        interest_card=InterestCard(award_id=7, spec_code="S"),
    )
    assert (sell.coin, sell.direction, sell.select_price, sell.order_link_id) == (
        "ETH",
        DualAssetsDirection.SELL_HIGH,
        Decimal("2500"),
        "sell-1",
    )
    assert sell.interest_card == InterestCard(award_id=7, spec_code="S")
    # Without a product the coin must be given, and is taken as given.
    alone = DualAssetsOrder.from_offer(da_offer(), amount=Decimal("20"), coin="USDT", now=NOW)
    assert alone.coin == "USDT"


@pytest.mark.parametrize(
    ("offer_changes", "kwargs", "field"),
    [
        ({}, {"now": NOW, "amount": Decimal("2000.01")}, "amount"),
        ({}, {"now": NOW, "amount": Decimal("9.99")}, "amount"),  # the quote coin's minimum
        ({}, {"now": NOW, "amount": Decimal("10.00001")}, "amount"),  # 4 places for BuyLow
        ({}, {"now": NOW, "coin": "ETH"}, "coin"),  # BuyLow invests the quote coin
        ({"expired_at": datetime(2026, 3, 18, 7)}, {"now": NOW}, "offer.expired_at"),
        (
            {"direction": DualAssetsDirection.SELL_HIGH},
            {"now": NOW, "amount": Decimal("0.0041")},
            "amount",
        ),
        (
            {"direction": DualAssetsDirection.SELL_HIGH},
            {"now": NOW, "product": da_product(min_purchase_base_amount=Decimal("NaN"))},
            "product",
        ),
        ({}, {"now": NOW, "product": da_product(order_precision_digital_quote=-1)}, "product"),
    ],
    ids=[
        "above-max",
        "below-min",
        "too-precise",
        "wrong-coin",
        "naive-expiry",
        "sell-below-base-min",
        "nan-minimum",
        "negative-precision",
    ],
)
def test_from_offer_refuses_before_sending(
    offer_changes: dict[str, Any], kwargs: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"amount": Decimal("20"), "product": da_product(), **kwargs}
    with pytest.raises(InvalidRequest) as caught:
        DualAssetsOrder.from_offer(da_offer(**offer_changes), **arguments)
    assert caught.value.field == field


def test_from_offer_needs_a_coin_when_the_product_is_unknown() -> None:
    with pytest.raises(InvalidRequest, match="coin=") as caught:
        DualAssetsOrder.from_offer(da_offer(), amount=Decimal("20"), now=NOW)
    assert caught.value.field == "coin"


# --- placing it ---------------------------------------------------------------------------


async def test_place_order_sends_the_body_and_acknowledges_in_the_category(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(
        return_value=ok({"orderId": "97f198e9-b14b-4703-b4a6-a4aa06ba1499", "orderLinkId": LINK})
    )
    ack = await make_client().advance_earn.place_order(dual_assets_order())

    assert ack == DualAssetsAck(order_id="97f198e9-b14b-4703-b4a6-a4aa06ba1499", order_link_id=LINK)
    request = route.calls.last.request
    assert request.content == WIRE_BODY
    assert request.headers["X-BAPI-API-KEY"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"


async def test_a_mixed_batch_acknowledges_each_order_in_its_category_then_waits_there(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.post(PLACE).mock(side_effect=acknowledge_by_category)
    dual = dual_assets_order()
    orders_route = bybit_mock.get(ORDER).mock(
        return_value=da_page(da_info(dual, orderId="id-DualAssets", status="Success"))
    )
    earn = make_client().advance_earn

    smart = stake_order()
    results = await earn.place_orders([smart, dual])

    smart_ack, dual_ack = results
    assert smart_ack == OrderAck(order_id="id-SmartLeverage", order_link_id=smart.order_link_id)
    assert dual_ack == DualAssetsAck(order_id="id-DualAssets", order_link_id=dual.order_link_id)
    assert isinstance(dual_ack, DualAssetsAck)
    done = await earn.wait_for_order(dual_ack, timeout=5)
    assert type(done) is DualAssetsOrderInfo and done.order_id == "id-DualAssets"
    assert orders_route.calls.last.request.url.query == (
        b"category=DualAssets&limit=1&orderId=id-DualAssets"
    )
