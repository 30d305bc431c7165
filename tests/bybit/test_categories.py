"""Advance Earn by category (``advance_earn.smart_leverage``, ``.dual_assets``) against respx,
on virtual time: the category on the wire, the category's own shapes, shared paging and
buckets, and waiting in the acknowledgement's category."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import respx

from asyncexch import BucketState, InvalidRequest, VirtualClock
from asyncexch.bybit import (
    BybitClient,
    DualAssets,
    DualAssetsAck,
    DualAssetsDirection,
    DualAssetsOrderInfo,
    DualAssetsPosition,
    DualAssetsProduct,
    OrderAck,
    OrderInfo,
    OrderStatus,
    SmartLeverage,
)
from tests.builders.bybit import ORDER, POSITION, PRODUCT, QUOTE, SERVER_MS, ok
from tests.builders.dual_assets import ORDER_RESULT, POSITION_RESULT, PRODUCT_RESULT
from tests.builders.dual_assets import QUOTE_RESULT as DA_QUOTE

MakeClient = Callable[..., BybitClient]
UTC = timezone.utc
#: SmartLeverage's answers, as its docs' examples write them (smart-lvg/*.mdx).
PRODUCT_ITEM: dict[str, Any] = {
    "category": "SmartLeverage",
    "productId": "12999",
    "investCoin": "USDT",
    "underlyingAsset": "BTC",
    "direction": "Long",
    "leverage": "10",
    "duration": "7d",
    "minPurchaseAmount": "10",
    "remainingAmount": "9994748366.907",
    "orderPrecisionDigital": 4,
}
QUOTE_RESULT: dict[str, Any] = {
    "category": "SmartLeverage",
    "productId": "12999",
    "breakevenPrice": "68650.62",
    "expireAt": "1775036984839",
    "maxInvestmentAmount": "1000",
    "currentPrice": "68403.67",
}


def order_item(order_id: str, status: str) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "orderLinkId": f"link-{order_id}",
        "productId": "12999",
        "category": "SmartLeverage",
        "orderType": "Stake",
        "amount": "100",
        "createdTime": "1775038326000",
        "status": status,
    }


def result(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


def da_order(order_id: str, status: str = "Pending", **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = dict(result(ORDER_RESULT)["list"][0])
    item.update(orderId=order_id, orderLinkId=f"link-{order_id}", status=status, **changes)
    return item


def da_page(*items: Any, cursor: str = "") -> httpx.Response:
    return ok({"category": "DualAssets", "list": list(items), "nextPageCursor": cursor})


@pytest.fixture
def client(make_client: MakeClient) -> BybitClient:
    return make_client()


async def test_the_categories_are_objects_of_their_own(client: BybitClient) -> None:
    earn = client.advance_earn
    assert isinstance(earn.smart_leverage, SmartLeverage)
    assert isinstance(earn.dual_assets, DualAssets)
    assert (earn.smart_leverage.category, earn.dual_assets.category) == (
        "SmartLeverage",
        "DualAssets",
    )


async def test_dual_assets_products_are_asked_for_and_read_in_their_category(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(PRODUCT).mock(return_value=ok(result(PRODUCT_RESULT)))
    products = await client.advance_earn.dual_assets.products(coin="XRP", duration="1d")
    request = route.calls.last.request
    assert request.url.query == b"category=DualAssets&coin=XRP&duration=1d"
    assert "X-BAPI-SIGN" not in request.headers  # public, like SmartLeverage's
    (product,) = products
    assert isinstance(product, DualAssetsProduct)
    assert (product.product_id, product.base_coin, product.remaining_amount_base) == (
        "36340",
        "XRP",
        Decimal("10000"),
    )
    with pytest.raises(InvalidRequest) as caught:
        await client.advance_earn.dual_assets.products(coin="xrp")
    assert caught.value.field == "coin"
    assert route.call_count == 1


async def test_a_dual_assets_quote_knows_the_listed_product_and_the_venues_clock(
    client: BybitClient, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    bybit_mock.get(PRODUCT).mock(return_value=ok(result(PRODUCT_RESULT)))
    # The answer's time says the venue is 30 s ahead of this machine's clock.
    route = bybit_mock.get(QUOTE).mock(return_value=ok(result(DA_QUOTE), time=SERVER_MS + 30_000))
    dual = client.advance_earn.dual_assets
    (product,) = await dual.products()

    quote = await dual.quote("36340")

    assert route.calls.last.request.url.query == b"category=DualAssets&productId=36340"
    assert quote.product is product
    assert quote.current_price == Decimal("1.5275")
    assert len(quote.buy_low) == 6 and len(quote.sell_high) == 4
    offer = quote.buy_low[0]
    assert offer.product is product
    assert offer.direction is DualAssetsDirection.BUY_LOW
    venue_now = datetime.fromtimestamp(SERVER_MS / 1000, UTC) + timedelta(seconds=30)
    assert quote.fetched_at is not None and offer.fetched_at == quote.fetched_at
    assert abs(quote.fetched_at - venue_now) <= timedelta(milliseconds=1)
    clock.advance(10)
    assert abs(offer.expires_in() - (offer.expired_at - venue_now - timedelta(seconds=10))) <= (
        timedelta(milliseconds=1)
    )


async def test_a_quote_of_an_unlisted_product_has_no_product(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(QUOTE).mock(return_value=ok(result(DA_QUOTE)))
    quote = await client.advance_earn.dual_assets.quote("36340")
    assert quote.product is None and quote.buy_low[0].product is None
    with pytest.raises(InvalidRequest) as caught:
        await client.advance_earn.dual_assets.quote("")
    assert caught.value.field == "product_id"


async def test_dual_assets_orders_follow_the_cursor_in_their_category(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(
        side_effect=[
            da_page(da_order("a"), da_order("b"), cursor="c1"),
            da_page(da_order("c", "Settled")),
        ]
    )
    since = datetime(2026, 3, 18, tzinfo=UTC)
    orders = [
        info
        async for info in client.advance_earn.dual_assets.orders(
            product_id="36320", start_time=since, page_size=2
        )
    ]
    assert [info.order_id for info in orders] == ["a", "b", "c"]
    assert all(isinstance(info, DualAssetsOrderInfo) for info in orders)
    assert orders[2].status is OrderStatus.SETTLED
    queries = [call.request.url.query for call in route.calls]
    assert queries == [
        b"category=DualAssets&limit=2&productId=36320&startTime=1773792000000",
        b"category=DualAssets&cursor=c1&limit=2&productId=36320&startTime=1773792000000",
    ]
    assert "X-BAPI-SIGN" in route.calls.last.request.headers
    with pytest.raises(InvalidRequest) as caught:
        client.advance_earn.dual_assets.orders(page_size=21)
    assert caught.value.field == "page_size"


async def test_dual_assets_positions_are_read_in_their_category(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(POSITION).mock(return_value=ok(result(POSITION_RESULT)))
    positions = [p async for p in client.advance_earn.dual_assets.positions(coin="USDT")]
    assert route.calls.last.request.url.query == b"category=DualAssets&coin=USDT&limit=20"
    (position,) = positions
    assert isinstance(position, DualAssetsPosition)
    assert (position.position_id, position.apy_e8, position.expect_return_amount) == (
        "19035",
        902700000,
        Decimal("21.4838"),
    )


async def test_smart_leverage_is_what_advance_earn_calls_directly(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    products = bybit_mock.get(PRODUCT).mock(
        return_value=ok({"category": "SmartLeverage", "list": [PRODUCT_ITEM]})
    )
    bybit_mock.get(QUOTE).mock(return_value=ok(QUOTE_RESULT))
    earn = client.advance_earn

    (listed,) = await earn.products(coin="BTC")
    quote = await earn.smart_leverage.quote("12999")  # knows what advance_earn listed
    assert quote.product is listed
    assert (await earn.smart_leverage.products(coin="BTC")) == [listed]
    assert [call.request.url.query for call in products.calls] == [
        b"category=SmartLeverage&coin=BTC"
    ] * 2


async def test_the_categories_share_the_endpoints_buckets(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(PRODUCT).mock(return_value=ok({"category": "", "list": []}))
    await client.advance_earn.products()
    await client.advance_earn.dual_assets.products()
    states: dict[str, BucketState] = {s.name: s for s in await client.limits_state()}
    assert states["product"].in_window == 2
    assert states["ip"].in_window == 2


async def test_wait_for_order_looks_in_the_acknowledgements_category(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(
        side_effect=[
            da_page(da_order("d-1")),
            da_page(da_order("d-1", "Success")),
            da_page(da_order("d-1", "Settled")),
        ]
    )
    ack = DualAssetsAck(order_id="d-1", order_link_id="link-d-1")

    info = await client.advance_earn.wait_for_order(ack, timeout=10, poll_interval=1)

    assert type(info) is DualAssetsOrderInfo
    assert info.status is OrderStatus.SUCCESS
    assert [call.request.url.query for call in route.calls] == [
        b"category=DualAssets&limit=1&orderId=d-1"
    ] * 2
    again = await client.advance_earn.dual_assets.wait_for_order("d-1", timeout=5)
    assert (again.order_id, again.status) == ("d-1", OrderStatus.SETTLED)


async def test_an_order_id_or_a_default_ack_waits_in_smart_leverage(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(
        return_value=ok({"category": "SmartLeverage", "list": [order_item("s-1", "Success")]})
    )
    by_id = await client.advance_earn.wait_for_order("s-1", timeout=5)
    by_ack = await client.advance_earn.wait_for_order(
        OrderAck(order_id="s-1", order_link_id="link-s-1"), timeout=5
    )
    assert isinstance(by_id, OrderInfo) and by_ack == by_id
    assert {call.request.url.query for call in route.calls} == {
        b"category=SmartLeverage&limit=1&orderId=s-1"
    }


async def test_a_category_refuses_another_categorys_ack_before_sending(
    client: BybitClient, bybit_mock: respx.MockRouter
) -> None:
    """The types refuse it; a caller without them is refused at run time."""
    route = bybit_mock.get(ORDER).mock(return_value=da_page())
    smart: Any = OrderAck(order_id="s-1", order_link_id="l")
    dual: Any = DualAssetsAck(order_id="d-1", order_link_id="l")
    with pytest.raises(InvalidRequest) as caught:
        await client.advance_earn.dual_assets.wait_for_order(smart)
    assert (caught.value.field, caught.value.message) == (
        "order",
        "must be a DualAssets acknowledgement (DualAssetsAck) or an order id, "
        "got OrderAck(order_id='s-1', order_link_id='l')",
    )
    with pytest.raises(InvalidRequest, match=r"a SmartLeverage acknowledgement \(OrderAck\)"):
        await client.advance_earn.smart_leverage.wait_for_order(dual)
    assert route.call_count == 0


def test_each_ack_names_its_category_and_only_its_ids_are_fields() -> None:
    smart = OrderAck(order_id="s-1", order_link_id="l")
    dual: object = DualAssetsAck(order_id="s-1", order_link_id="l")
    assert (smart.category, DualAssetsAck.category) == ("SmartLeverage", "DualAssets")
    assert [field.name for field in attrs.fields(DualAssetsAck)] == ["order_id", "order_link_id"]
    assert [field.name for field in attrs.fields(OrderAck)] == ["order_id", "order_link_id"]
    assert smart != dual  # the same ids in another category: another acknowledgement
    assert isinstance(dual, DualAssetsAck) and not isinstance(dual, OrderAck)
