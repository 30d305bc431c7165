"""Placing a stake-only category's order exactly once through ``advance_earn.place_order``,
the same for DualAssets and DiscountBuy: "already exists" and a lost answer are settled by a
lookup in the order's own category, and another order under the id is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
import respx

from asyncexch import InvalidRequest, OrderAlreadyExists
from asyncexch.bybit import BybitClient, DiscountBuyAck, DualAssetsAck
from tests.builders import discount_buy, dual_assets
from tests.builders.bybit import ORDER, PLACE, dual_assets_order, fail, ok

MakeClient = Callable[..., BybitClient]


@attrs.frozen
class Category:
    """One stake-only category's docs example: its order, the venue's record of it, an order
    list page, its acknowledgement type, its id, its pinned wire body, and changes that make
    the record another order."""

    name: str
    order: Callable[[], Any]
    info: Callable[..., dict[str, Any]]
    page: Callable[..., httpx.Response]
    ack: type[Any]
    link: str
    wire: bytes
    others: tuple[dict[str, Any], ...]


DUAL_ASSETS = Category(
    "DualAssets",
    dual_assets_order,
    dual_assets.da_info,
    dual_assets.da_page,
    DualAssetsAck,
    "54b3589b-da55-4b17-acdd-aa75912c9eb",
    dual_assets.STAKE_WIRE,
    ({"direction": "SellHigh"}, {"amount": "21"}, {"productId": "36321"}),
)
DISCOUNT_BUY = Category(
    "DiscountBuy",
    discount_buy.discount_buy_order,
    discount_buy.db_info,
    discount_buy.db_page,
    DiscountBuyAck,
    "my-order-001",
    discount_buy.STAKE_WIRE,
    ({"settleType": "Quote"}, {"amount": "201"}, {"productId": "7038"}),
)
CATEGORIES = pytest.mark.parametrize(
    "category", [DUAL_ASSETS, DISCOUNT_BUY], ids=lambda category: category.name
)


@CATEGORIES
@pytest.mark.parametrize("code", [180025, 180031, 10014])
async def test_already_exists_is_looked_up_in_the_orders_own_category(
    category: Category, code: int, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    order = category.order()
    bybit_mock.post(PLACE).mock(return_value=fail(code, "Order already exists"))
    lookup = bybit_mock.get(ORDER).mock(return_value=category.page(category.info(order)))

    ack = await make_client().advance_earn.place_order(order)

    assert ack == category.ack(
        order_id=category.info(order)["orderId"], order_link_id=category.link
    )
    assert lookup.calls.last.request.url.query == (
        f"category={category.name}&limit=1&orderLinkId={category.link}".encode()
    )


@CATEGORIES
@pytest.mark.parametrize("other", [0, 1, 2], ids=["extra", "amount", "product"])
async def test_another_order_under_the_id_is_already_exists(
    category: Category, other: int, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """The record differs by the category's extra (direction, settle type), the amount or
    the product."""
    order = category.order()
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    record = category.info(order, **category.others[other])
    bybit_mock.get(ORDER).mock(return_value=category.page(record))

    with pytest.raises(OrderAlreadyExists, match="different order"):
        await make_client().advance_earn.place_order(order)


@CATEGORIES
async def test_a_lost_answer_is_learned_by_a_lookup_in_the_category(
    category: Category, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """The first answer is lost after the venue took the order; the retry meets "already
    exists"; the lookup, in the order's category, finds the same order."""
    order = category.order()
    place = bybit_mock.post(PLACE).mock(
        side_effect=[httpx.ReadTimeout("lost"), fail(180025, "Order already exists")]
    )
    lookup = bybit_mock.get(ORDER).mock(return_value=category.page(category.info(order)))

    ack = await make_client().advance_earn.place_order(order)

    assert ack == category.ack(
        order_id=category.info(order)["orderId"], order_link_id=category.link
    )
    assert [call.request.content for call in place.calls] == [category.wire, category.wire]
    assert f"category={category.name}".encode() in lookup.calls.last.request.url.query


@CATEGORIES
async def test_anything_but_an_order_is_refused_without_sending(
    category: Category, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """The docs' body itself, as a dict, is not an order: refused, naming the order type."""
    route = bybit_mock.post(PLACE).mock(return_value=ok({}))
    with pytest.raises(InvalidRequest, match=f"{category.name}Order") as caught:
        await make_client().advance_earn.place_order(json.loads(category.wire))
    assert caught.value.field == "order"
    assert route.call_count == 0
