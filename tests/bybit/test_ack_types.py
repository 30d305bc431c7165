"""The acknowledgement and order-info types ``advance_earn`` promises, checked twice: by mypy
(``assert_type``: the test suite is type-checked) and at run time against a respx venue that
answers each category in its own shapes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import httpx
import respx

from asyncexch import ExchangeError
from asyncexch.bybit import (
    AdvanceEarnAck,
    BybitClient,
    DualAssetsAck,
    DualAssetsOrder,
    DualAssetsOrderInfo,
    OrderAck,
    OrderInfo,
    StakeOrder,
)
from tests.builders.bybit import ORDER, PLACE, dual_assets_order, ok, redeem_order, stake_order
from tests.builders.dual_assets import ORDER_RESULT

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # mypy checks as Python 3.10
    from typing_extensions import assert_type

MakeClient = Callable[..., BybitClient]
SMART_ITEM: dict[str, Any] = {
    "productId": "12999",
    "category": "SmartLeverage",
    "orderType": "Stake",
    "amount": "100",
    "createdTime": "1775038326000",
}
DUAL_ITEM: dict[str, Any] = json.loads(ORDER_RESULT)["list"][0]


def answer_like_bybit(bybit_mock: respx.MockRouter) -> None:
    """Acknowledge every order as ``<category>-<orderLinkId>``; report each order done, in
    the shape of the category asked for."""

    def place(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        link = body["orderLinkId"]
        return ok({"orderId": f"{body['category']}-{link}", "orderLinkId": link})

    def order(request: httpx.Request) -> httpx.Response:
        category, order_id = request.url.params["category"], request.url.params["orderId"]
        shape = DUAL_ITEM if category == "DualAssets" else SMART_ITEM
        item = {**shape, "orderId": order_id, "orderLinkId": f"link-{order_id}"}
        return ok({"category": category, "list": [{**item, "status": "Success"}]})

    bybit_mock.post(PLACE).mock(side_effect=place)
    bybit_mock.get(ORDER).mock(side_effect=order)


async def test_each_category_places_and_waits_in_its_own_types(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    answer_like_bybit(bybit_mock)
    earn = make_client().advance_earn
    stake, dual = stake_order(), dual_assets_order()

    smart_ack = assert_type(await earn.place_order(stake), OrderAck)
    dual_ack = assert_type(await earn.place_order(dual), DualAssetsAck)
    smart_info = assert_type(await earn.wait_for_order(smart_ack, timeout=5), OrderInfo)
    dual_info = assert_type(await earn.wait_for_order(dual_ack, timeout=5), DualAssetsOrderInfo)
    by_id = assert_type(await earn.wait_for_order(smart_ack.order_id, timeout=5), OrderInfo)

    link = stake.order_link_id
    assert smart_ack == OrderAck(order_id=f"SmartLeverage-{link}", order_link_id=link)
    link = dual.order_link_id
    assert dual_ack == DualAssetsAck(order_id=f"DualAssets-{link}", order_link_id=link)
    assert (type(smart_info), smart_info.order_id) == (OrderInfo, smart_ack.order_id)
    assert (type(dual_info), dual_info.order_id) == (DualAssetsOrderInfo, dual_ack.order_id)
    assert by_id == smart_info
    assert_type(await earn.smart_leverage.wait_for_order(smart_ack, timeout=5), OrderInfo)
    assert_type(await earn.dual_assets.wait_for_order(dual_ack, timeout=5), DualAssetsOrderInfo)


async def test_a_batch_reports_the_acks_its_orders_can_have(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    answer_like_bybit(bybit_mock)
    earn = make_client().advance_earn
    orders: list[StakeOrder | DualAssetsOrder] = [stake_order(), dual_assets_order()]

    smart = assert_type(
        await earn.place_orders([stake_order(), redeem_order()]), list[OrderAck | ExchangeError]
    )
    mixed = assert_type(
        await earn.place_orders(orders),
        list[AdvanceEarnAck | ExchangeError],
    )
    either = assert_type(await earn.place_order(orders[1]), OrderAck | DualAssetsAck)

    assert [type(result) for result in smart] == [OrderAck, OrderAck]
    assert [type(result) for result in mixed] == [OrderAck, DualAssetsAck]
    assert either == mixed[1]  # the same order object: acknowledged again, not placed twice
