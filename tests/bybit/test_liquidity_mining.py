"""Liquidity Mining on the wire: each request against the docs' request example, each answer
read from the docs' response example, and the exactly-once placement of its orders."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    BadParameter,
    InvalidRequest,
    OrderAlreadyExists,
    OrderStatusUnknown,
    PositionOrderPending,
)
from asyncexch.bybit import (
    DEFAULT_LIMITS,
    AddLiquidity,
    AddMargin,
    ApyShare,
    BybitClient,
    LiquidationRecord,
    LiquidityMiningAck,
    LiquidityMiningOrderInfo,
    LiquidityMiningPosition,
    LiquidityMiningProduct,
    LiquidityOrderStatus,
    LiquidityOrderType,
    LiquidityPositionStatus,
    ProductStatus,
    Reinvest,
    RemoveLiquidity,
    RemoveType,
    YieldRecord,
    YieldStatus,
    YieldType,
)
from tests.builders import liquidity_mining as docs
from tests.builders.bybit import API_KEY, fail, ms, ok

MakeClient = Callable[..., BybitClient]


def body(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# --- requests as the docs write them --------------------------------------------------------


def test_add_liquidity_is_the_docs_example_without_its_untabled_coin() -> None:
    order = AddLiquidity(
        product_id="36", quote_amount=Decimal("200"), leverage=Decimal("2"), order_link_id="lm-001"
    )
    expected = {key: value for key, value in docs.ADD_BODY.items() if key != "coin"}

    assert order.to_params() == expected
    assert list(order.to_params()) == list(expected)


def test_add_liquidity_sends_each_account_with_its_amount_only() -> None:
    order = AddLiquidity(
        product_id="5", base_amount=Decimal("0.5"), base_account_type="UNIFIED", order_link_id="b"
    )

    assert order.to_params() == {
        "productId": "5",
        "baseAmount": "0.5",
        "baseAccountType": "UNIFIED",
        "orderLinkId": "b",
    }


def test_the_other_orders_are_the_docs_examples() -> None:
    remove = RemoveLiquidity(
        product_id="1001",
        position_id="5001",
        remove_rate=50,
        remove_type="Normal",
        order_link_id="lm-remove-001-20260312",
    )
    reinvest = Reinvest(product_id="5", position_id="1498", order_link_id="lm-reinvest-01")
    margin = AddMargin(
        product_id="5", position_id="1498", amount=Decimal("1000"), order_link_id="lm-add-m-01"
    )

    assert remove.to_params() == docs.REMOVE_BODY
    assert reinvest.to_params() == docs.REINVEST_BODY
    assert margin.to_params() == docs.MARGIN_BODY


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: AddLiquidity(product_id="5"), "quote_amount"),
        (lambda: AddLiquidity(product_id="5", quote_amount=Decimal("-1")), "quote_amount"),
        (
            lambda: AddLiquidity(product_id="5", quote_amount=Decimal(1), leverage=Decimal("0.5")),
            "leverage",
        ),
        (
            lambda: AddLiquidity(
                product_id="5", quote_amount=Decimal(1), quote_account_type="SPOT"
            ),
            "quote_account_type",
        ),
        (lambda: RemoveLiquidity(product_id="5", position_id="1", remove_rate=0), "remove_rate"),
        (lambda: RemoveLiquidity(product_id="5", position_id="1", remove_rate=101), "remove_rate"),
        (
            lambda: RemoveLiquidity(product_id="5", position_id="1", remove_type="Half"),
            "remove_type",
        ),
        (lambda: Reinvest(product_id="5", position_id=""), "position_id"),
        (lambda: AddMargin(product_id="5", position_id="1", amount=Decimal(0)), "amount"),
        (
            lambda: Reinvest(product_id="5", position_id="1", order_link_id="x" * 41),
            "order_link_id",
        ),
        (lambda: Reinvest(product_id="5", position_id="1", order_link_id="a b"), "order_link_id"),
    ],
)
def test_a_bad_order_is_refused_at_construction(build: Callable[[], Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build()
    assert caught.value.field == field


def test_an_order_link_id_of_40_characters_is_accepted_and_kept() -> None:
    order = Reinvest(product_id="5", position_id="1", order_link_id="x" * 40)
    fresh = Reinvest(product_id="5", position_id="1")

    assert order.to_params()["orderLinkId"] == "x" * 40
    assert fresh.order_link_id == fresh.to_params()["orderLinkId"]
    assert fresh.order_link_id != Reinvest(product_id="5", position_id="1").order_link_id


# --- answers as the docs write them ---------------------------------------------------------


async def test_products_read_the_docs_example_without_signing(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(docs.PRODUCT).mock(return_value=ok(docs.PRODUCTS))

    (product,) = await make_client().liquidity_mining.products(base_coin="ETH")

    assert product == LiquidityMiningProduct(
        product_id="5",
        base_coin="ETH",
        quote_coin="USDT",
        status=ProductStatus.AVAILABLE,
        max_leverage=3,
        min_investment_quote=Decimal("1"),
        min_investment_base=Decimal("0.01"),
        max_investment_quote=Decimal("150000"),
        max_investment_base=Decimal("50"),
        min_withdrawal_amount=Decimal("20"),
        min_reinvest_amount=Decimal("10"),
        base_coin_precision=8,
        quote_coin_precision=4,
        yield_coins=["USDT"],
        apy_e8=13714946,
        apy7d_e8=338344880,
        pool_liquidity_value=Decimal("1361221.17"),
        daily_yield=Decimal("1028.3745"),
        slippage_rate_e8_list=[0, 100000, 300000, 500000],
        slippage_levels=[Decimal(0), Decimal(500), Decimal(100000), Decimal(500000)],
    )
    assert product.apy == Decimal("0.13714946")
    request = route.calls.last.request
    assert request.url.query == b"baseCoin=ETH"
    assert "X-BAPI-SIGN" not in request.headers


async def test_an_apy_breakdown_is_read_per_coin(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    entry = {**docs.PRODUCTS["products"][0], "apyBreakdown": [{"coin": "USDT", "apy": "0.12"}]}
    bybit_mock.get(docs.PRODUCT).mock(return_value=ok({"products": [entry]}))

    (product,) = await make_client().liquidity_mining.products()

    assert product.apy_breakdown == [ApyShare(coin="USDT", apy=Decimal("0.12"))]
    assert product.apy7d_breakdown == []


async def test_orders_read_the_docs_example_and_page_up_to_50(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    first = {**docs.ORDERS, "nextPageCursor": "page2"}
    second = {"orders": [docs.order_info(orderId="o2", orderLinkId="lm-002")], "nextPageCursor": ""}
    route = bybit_mock.get(docs.ORDER).mock(side_effect=[ok(first), ok(second)])

    orders = [
        order
        async for order in make_client().liquidity_mining.orders(
            product_id="36", status="Success", page_size=50
        )
    ]

    assert orders[0] == LiquidityMiningOrderInfo(
        order_id="5e651d09-6169-4f72-a609-8622ff421d19",
        order_link_id="lm-001",
        product_id="36",
        order_type=LiquidityOrderType.ADD_LIQUIDITY,
        status=LiquidityOrderStatus.SUCCESS,
        created_time=ms(1775123507000),
        base_coin="TON",
        quote_coin="USDT",
        quote_amount=Decimal("200"),
        base_amount=Decimal("0"),
        remove_type=RemoveType.NORMAL,
        remove_rate=0,
        leverage=Decimal("2"),
        slippage_value=Decimal("0.02"),
    )
    assert [order.order_id for order in orders] == [orders[0].order_id, "o2"]
    assert [call.request.url.query for call in route.calls] == [
        b"limit=50&productId=36&status=Success",
        b"cursor=page2&limit=50&productId=36&status=Success",
    ]


@pytest.mark.parametrize(
    ("changes", "field"), [({"page_size": 51}, "page_size"), ({"status": "Fail"}, "status")]
)
def test_orders_refuse_what_bybit_refuses(
    changes: dict[str, Any], field: str, make_client: MakeClient
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        make_client().liquidity_mining.orders(**changes)
    assert caught.value.field == field


async def test_positions_read_the_docs_example(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(docs.POSITION).mock(return_value=ok(docs.POSITIONS))

    positions = [p async for p in make_client().liquidity_mining.positions(base_coin="ETH")]

    assert positions == [
        LiquidityMiningPosition(
            position_id="1498",
            product_id="5",
            base_coin="ETH",
            quote_coin="USDT",
            quote_amount=Decimal("1637.7537"),
            base_amount=Decimal("0.80131605"),
            status=LiquidityPositionStatus.ACTIVE,
            principal_quote_amount=Decimal("817.5297"),
            principal_base_amount=Decimal("0.39999891"),
            principal_liquidity_value=Decimal("1635.0595"),
            leveraged_value=Decimal("3275.5075"),
            loan=Decimal("1640.448"),
            claimable_yield=Decimal("0"),
            current_apr_e8=27856097,
            leverage=Decimal("2.003295552626342963"),
            margin=Decimal("0"),
            liquidation_price=Decimal("538.272"),
            current_price_y=Decimal("2043.83"),
            created_time=ms(1775116860000),
        )
    ]
    assert positions[0].current_apr == Decimal("0.27856097")
    assert route.calls.last.request.url.query == b"baseCoin=ETH"
    assert route.calls.last.request.headers["X-BAPI-API-KEY"] == API_KEY


async def test_yield_and_liquidation_records_read_the_docs_examples(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    yields = bybit_mock.get(docs.YIELD_RECORDS).mock(return_value=ok(docs.YIELDS))
    bybit_mock.get(docs.LIQUIDATION_RECORDS).mock(return_value=ok(docs.LIQUIDATIONS))
    mining = make_client().liquidity_mining

    paid = [record async for record in mining.yield_records(base_coin="ETH")]
    liquidated = [record async for record in mining.liquidation_records(base_coin="BTC")]

    assert paid == [
        YieldRecord(
            coin="USDT",
            amount=Decimal("0.0098"),
            base_coin="ETH",
            quote_coin="USDT",
            yield_type=YieldType.MANUAL,
            status=YieldStatus.COMPLETE,
            created_time=ms(1775125850000),
        )
    ]
    assert liquidated == [
        LiquidationRecord(
            base_coin="BTC",
            quote_coin="USDT",
            base_amount=Decimal("0.05234"),
            quote_amount=Decimal("1580.21"),
            liquidation_price=Decimal("30200.00"),
            liquidation_time=ms(1741824000000),
        )
    ]
    assert yields.calls.last.request.url.query == b"baseCoin=ETH&limit=20"


def test_each_endpoint_has_its_documented_bucket() -> None:
    limits = {name: (rule.limit, rule.per) for name, rule in DEFAULT_LIMITS.items()}
    assert {
        name: limit for name, limit in limits.items() if name.startswith("lm_")
    } == docs.DOCUMENTED_LIMITS


# --- placing exactly once -------------------------------------------------------------------

ADD = AddLiquidity(
    product_id="36", quote_amount=Decimal("200"), leverage=Decimal("2"), order_link_id="lm-001"
)
ADD_ACK = LiquidityMiningAck(
    order_id="5e651d09-6169-4f72-a609-8622ff421d19",
    order_link_id="lm-001",
    order_type=LiquidityOrderType.ADD_LIQUIDITY,
)


@pytest.mark.parametrize(
    ("call", "order", "path", "expected"),
    [
        ("add_liquidity", ADD, docs.ADD_LIQUIDITY, ADD.to_params()),
        (
            "remove_liquidity",
            RemoveLiquidity(
                product_id="1001",
                position_id="5001",
                remove_rate=50,
                order_link_id="lm-remove-001-20260312",
            ),
            docs.REMOVE_LIQUIDITY,
            docs.REMOVE_BODY,
        ),
        (
            "reinvest",
            Reinvest(product_id="5", position_id="1498", order_link_id="lm-reinvest-01"),
            docs.REINVEST,
            docs.REINVEST_BODY,
        ),
        (
            "add_margin",
            AddMargin(
                product_id="5",
                position_id="1498",
                amount=Decimal("1000"),
                order_link_id="lm-add-m-01",
            ),
            docs.ADD_MARGIN,
            docs.MARGIN_BODY,
        ),
    ],
)
async def test_each_order_goes_to_its_path_and_is_acknowledged(
    call: str,
    order: Any,
    path: str,
    expected: dict[str, Any],
    make_client: MakeClient,
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.post(path).mock(
        return_value=ok({"orderId": "id-1", "orderLinkId": order.order_link_id})
    )

    ack = await getattr(make_client().liquidity_mining, call)(order)

    assert ack == LiquidityMiningAck(
        order_id="id-1", order_link_id=order.order_link_id, order_type=order.order_type
    )
    assert body(route) == expected
    assert route.calls.last.request.headers["X-BAPI-API-KEY"] == API_KEY


async def test_an_order_of_another_kind_is_refused_without_sending(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(docs.REINVEST)
    with pytest.raises(InvalidRequest, match="must be a Reinvest"):
        await make_client().liquidity_mining.reinvest(ADD)  # type: ignore[arg-type]
    assert not route.called


async def test_already_exists_is_looked_up_by_the_id(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.post(docs.ADD_LIQUIDITY).mock(return_value=fail(180025, "Order already exists"))
    lookup = bybit_mock.get(docs.ORDER).mock(return_value=ok(docs.ORDERS))

    ack = await make_client().liquidity_mining.add_liquidity(ADD)

    assert ack == ADD_ACK
    assert lookup.calls.last.request.url.query == b"orderLinkId=lm-001"


@pytest.mark.parametrize(
    "changes",
    [{"quoteAmount": "201"}, {"baseAmount": "1"}, {"productId": "37"}, {"orderType": "Reinvest"}],
)
async def test_another_order_under_the_id_is_already_exists(
    changes: dict[str, Any], make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.post(docs.ADD_LIQUIDITY).mock(return_value=fail(180025, "Order already exists"))
    bybit_mock.get(docs.ORDER).mock(
        return_value=ok({"orders": [docs.order_info(**changes)], "nextPageCursor": ""})
    )

    with pytest.raises(OrderAlreadyExists, match="different order"):
        await make_client().liquidity_mining.add_liquidity(ADD)


async def test_the_shared_placement_refuses_in_liquidity_minings_words(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """Another order under the id is told by its type and product (the order list has no one
    amount), and an id Bybit says exists but no lookup finds points at Liquidity Mining's
    order history, not Earn's."""
    bybit_mock.post(docs.ADD_LIQUIDITY).mock(return_value=fail(180025, "Order already exists"))
    lookup = bybit_mock.get(docs.ORDER).mock(
        return_value=ok({"orders": [docs.order_info(productId="37")], "nextPageCursor": ""})
    )
    client = make_client()

    with pytest.raises(OrderAlreadyExists) as other:
        await client.liquidity_mining.add_liquidity(ADD)
    assert str(other.value).endswith(
        f"orderLinkId lm-001 belongs to a different order {ADD_ACK.order_id} "
        "(AddLiquidity of product 37)"
    )

    lookup.mock(return_value=ok({"orders": [], "nextPageCursor": ""}))
    with pytest.raises(OrderStatusUnknown) as unknown:
        await client.liquidity_mining.add_liquidity(ADD)
    assert (
        "no order with it was found in 4 lookups over 1.5 s. Check the order history "
        "(liquidity_mining.orders(order_link_id='lm-001'), or Bybit's Liquidity Mining order "
        "page) before acting"
    ) in str(unknown.value)


@pytest.mark.parametrize(
    ("existing", "same"),
    [
        ({"removeRate": 50, "removeType": "Normal"}, True),
        ({"removeRate": 0}, False),
        ({"removeRate": 50, "removeType": "SingleBaseCoin"}, False),
    ],
)
async def test_a_removal_is_the_same_order_by_rate_and_type(
    existing: dict[str, Any], same: bool, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    order = RemoveLiquidity(product_id="36", position_id="9", remove_rate=50, order_link_id="r-1")
    info = docs.order_info(orderLinkId="r-1", orderType="RemoveLiquidity", **existing)
    bybit_mock.post(docs.REMOVE_LIQUIDITY).mock(return_value=fail(180025, "exists"))
    bybit_mock.get(docs.ORDER).mock(return_value=ok({"orders": [info], "nextPageCursor": ""}))

    if same:
        ack = await make_client().liquidity_mining.remove_liquidity(order)
        assert ack.order_id == info["orderId"]
    else:
        with pytest.raises(OrderAlreadyExists):
            await make_client().liquidity_mining.remove_liquidity(order)


async def test_a_lost_answer_is_learned_by_a_lookup(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    place = bybit_mock.post(docs.ADD_LIQUIDITY).mock(
        side_effect=[httpx.ReadTimeout("lost"), fail(180025, "Order already exists")]
    )
    bybit_mock.get(docs.ORDER).mock(return_value=ok(docs.ORDERS))

    ack = await make_client().liquidity_mining.add_liquidity(ADD)

    assert ack == ADD_ACK
    assert [body(place, i) for i in range(2)] == [ADD.to_params(), ADD.to_params()]


async def test_a_second_pending_order_on_a_position_is_a_typed_refusal(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(docs.REINVEST).mock(
        return_value=fail(180006, "Only one pending order is allowed per position")
    )
    order = Reinvest(product_id="5", position_id="1498")

    with pytest.raises(PositionOrderPending, match="position 1498 has a pending order") as caught:
        await make_client().liquidity_mining.reinvest(order)

    assert caught.value.code == 180006
    assert isinstance(caught.value.__cause__, BadParameter)
    assert route.call_count == 1


async def test_a_claim_is_its_docs_body_and_is_not_resent_on_an_unknown_outcome(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(docs.CLAIM_INTEREST).mock(
        side_effect=[ok({}), httpx.ReadTimeout("lost"), ok({})]
    )
    mining = make_client().liquidity_mining

    await mining.claim_interest()
    with pytest.raises(OrderStatusUnknown):
        await mining.claim_interest("5")

    assert [body(route, i) for i in range(route.call_count)] == [
        {"productId": "-1"},
        {"productId": "5"},
    ]


async def test_a_claim_refused_before_processing_is_retried(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(docs.CLAIM_INTEREST).mock(
        side_effect=[fail(10006, "Too many visits!"), ok({})]
    )

    await make_client().liquidity_mining.claim_interest()

    assert route.call_count == 2


async def test_wait_for_order_polls_by_order_id_until_final(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    processing = {"orders": [docs.order_info(status="Processing")], "nextPageCursor": ""}
    route = bybit_mock.get(docs.ORDER).mock(side_effect=[ok(processing), ok(docs.ORDERS)])

    info = await make_client().liquidity_mining.wait_for_order(ADD_ACK, poll_interval=0.5)

    assert info.status is LiquidityOrderStatus.SUCCESS
    assert route.calls.last.request.url.query == (b"orderId=5e651d09-6169-4f72-a609-8622ff421d19")


async def test_a_pending_refusal_after_a_lost_answer_is_our_own_order(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """The first attempt placed the removal and its answer was lost; a venue that checks the
    position before the id refuses the retry as pending: the lookup finds the order."""
    order = RemoveLiquidity(product_id="36", position_id="9", remove_rate=50, order_link_id="r-2")
    info = docs.order_info(orderLinkId="r-2", orderType="RemoveLiquidity", removeRate=50)
    bybit_mock.post(docs.REMOVE_LIQUIDITY).mock(
        side_effect=[httpx.ReadTimeout("lost"), fail(180006, "pending order")]
    )
    lookup = bybit_mock.get(docs.ORDER).mock(
        return_value=ok({"orders": [info], "nextPageCursor": ""})
    )

    ack = await make_client().liquidity_mining.remove_liquidity(order)

    assert (ack.order_id, ack.order_link_id) == (info["orderId"], "r-2")
    assert lookup.calls.last.request.url.query == b"orderLinkId=r-2"
