"""Bybit Earn (``bybit.earn``: FlexibleSaving, OnChain): the docs' examples decoded, the
request bodies and queries on the wire, the checks made before sending, and exactly-once
placement under Earn's 30-minute orderLinkId rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    ConfigurationError,
    InvalidRequest,
    OrderAlreadyExists,
    OrderStatusUnknown,
    RateLimit,
    RetryPolicy,
    VirtualClock,
    order_link_id_for,
)
from asyncexch.bybit import (
    DEFAULT_LIMITS,
    EARN_IDS,
    BybitClient,
    EarnAck,
    EarnCategory,
    EarnOrderInfo,
    EarnPosition,
    EarnProduct,
    EarnRedeem,
    EarnStake,
    FreezeDetail,
    InterestCard,
    OrderStatus,
    OrderType,
    Page,
    ProductStatus,
)
from asyncexch.bybit._earn_endpoints import (
    EARN_ORDER,
    EARN_PLACE_ORDER,
    EARN_POSITION,
    EARN_PRODUCT,
)
from tests.builders.bybit import fail, ms, ok, read
from tests.builders.earn import (
    ORDER,
    ORDER_RESULT,
    PLACE,
    PLACE_BODY,
    PLACE_RESULT,
    POSITION,
    POSITION_RESULT,
    PRODUCT,
    PRODUCT_RESULT,
)

UTC = timezone.utc
MakeClient = Callable[..., BybitClient]


def docs_redeem() -> EarnRedeem:
    """The docs' create-order example, built as a caller would."""
    return EarnRedeem(
        category="FlexibleSaving",
        product_id="430",
        coin="BTC",
        amount=Decimal("0.35"),
        order_link_id="btc-earn-001",
    )


def info_of(order: EarnStake | EarnRedeem, **changes: Any) -> dict[str, Any]:
    """An order-list item for ``order`` as Bybit writes one."""
    item = {
        "coin": order.coin,
        "orderValue": str(order.amount),
        "orderType": order.order_type.value,
        "orderId": "0572b030-6a0b-423f-88c4-b6ce31c0c82d",
        "orderLinkId": order.order_link_id,
        "status": "Pending",
        "createdAt": "1739936607000",
        "productId": order.product_id,
        "updatedAt": "1739936607000",
        "swapOrderValue": "",
        "estimateRedeemTime": "",
        "estimateStakeTime": "",
    }
    return {**item, **changes}


def page(*items: dict[str, Any]) -> httpx.Response:
    return ok({"list": list(items), "nextPageCursor": ""})


# --- the docs' examples ----------------------------------------------------------------


def test_product_decodes_from_the_documented_example() -> None:
    (product,) = read(PRODUCT_RESULT, Page[EarnProduct]).items
    assert product == EarnProduct(
        category=EarnCategory.FLEXIBLE_SAVING,
        product_id="430",
        coin="BTC",
        estimate_apr="3%",
        min_stake_amount=Decimal("0.001"),
        max_stake_amount=Decimal("10"),
        precision=8,
        status=ProductStatus.AVAILABLE,
    )


def test_order_decodes_from_the_documented_example() -> None:
    (info,) = read(ORDER_RESULT, Page[EarnOrderInfo]).items
    assert info == EarnOrderInfo(
        order_id="ad98d473-4e17-46da-ab30-5563f62a97fa",
        order_link_id="",
        product_id="428",
        coin="USDT",
        order_type=OrderType.STAKE,
        amount=Decimal("1000"),
        status=OrderStatus.SUCCESS,
        created_at=ms(1759983689000),
        updated_at=ms(1759983689000),
    )


def test_position_decodes_from_the_documented_example() -> None:
    (position,) = read(POSITION_RESULT, Page[EarnPosition]).items
    assert position == EarnPosition(
        coin="BTC",
        product_id="8",
        amount=Decimal("0.1"),
        position_id="326",
        available_amount=Decimal("4900"),
        freeze_details=[
            FreezeDetail(amount=Decimal("100"), description="Locked in Fixed-Rate Loan")
        ],
        total_pnl=Decimal("0.000027397260273973"),
        claimable_yield=Decimal("0"),
        status="Active",
        order_id="1a5a8945-e042-4dd5-a93f-c0f0577377ad",
        estimate_interest_calculation_time=ms(1744243200000),
        settlement_time=ms(1744675200000),
        auto_reinvest="Enable",
    )


def test_an_unknown_category_and_status_are_kept() -> None:
    body = ORDER_RESULT.replace('"Success"', '"Frozen"')
    (info,) = read(body, Page[EarnOrderInfo]).items
    assert info.status == "Frozen" and not info.status.known
    product = read(PRODUCT_RESULT.replace('"FlexibleSaving"', '"FixedTerm"'), Page[EarnProduct])
    assert product.items[0].category == "FixedTerm" and not product.items[0].category.known


# --- orders as built -------------------------------------------------------------------


def test_the_redeem_body_is_the_docs_example() -> None:
    assert docs_redeem().to_params() == json.loads(PLACE_BODY)


def test_a_stake_body_carries_the_interest_card_and_a_redeem_its_extras() -> None:
    stake = EarnStake(
        category="FlexibleSaving",
        product_id="430",
        coin="BTC",
        amount=Decimal("0.5"),
        account_type="UNIFIED",
        interest_card=InterestCard(award_id=123, spec_code="X1"),
        order_link_id="s-1",
    )
    assert stake.to_params() == {
        "category": "FlexibleSaving",
        "orderType": "Stake",
        "accountType": "UNIFIED",
        "amount": "0.5",
        "coin": "BTC",
        "productId": "430",
        "orderLinkId": "s-1",
        "interestCard": {"awardId": 123, "specCode": "X1"},
    }
    redeem = EarnRedeem(
        category=EarnCategory.ON_CHAIN,
        product_id="428",
        coin="USDT",
        amount=Decimal("1000"),
        redeem_position_id="326",
        to_account_type="FUND",
        order_link_id="r-1",
    )
    assert redeem.to_params() == {
        "category": "OnChain",
        "orderType": "Redeem",
        "accountType": "FUND",
        "amount": "1000",
        "coin": "USDT",
        "productId": "428",
        "orderLinkId": "r-1",
        "redeemPositionId": "326",
        "toAccountType": "FUND",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "OnChain", "account_type": "UNIFIED"}, "account_type"),
        ({"category": "Fixed"}, "category"),
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"order_link_id": "x" * 37}, "order_link_id"),
        ({"order_link_id": "a b"}, "order_link_id"),
        (
            {"category": "OnChain", "interest_card": InterestCard(award_id=1, spec_code="a")},
            "interest_card",
        ),
    ],
)
def test_a_stake_is_refused_when_built_wrong(changes: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {
        "category": "FlexibleSaving",
        "product_id": "430",
        "coin": "BTC",
        "amount": Decimal("1"),
        **changes,
    }
    with pytest.raises(InvalidRequest) as refused:
        EarnStake(**fields)
    assert refused.value.field == field


def test_an_on_chain_redeem_takes_the_fund_account_only() -> None:
    with pytest.raises(InvalidRequest, match="'FUND' for OnChain"):
        EarnRedeem(
            category="OnChain",
            product_id="428",
            coin="USDT",
            amount=Decimal("1"),
            account_type="UNIFIED",
        )


def test_from_product_checks_the_amount_against_the_product() -> None:
    (product,) = read(PRODUCT_RESULT, Page[EarnProduct]).items
    stake = EarnStake.from_product(product, amount=Decimal("0.5"), order_link_id="p-1")
    assert (stake.category, stake.product_id, stake.coin, stake.amount) == (
        EarnCategory.FLEXIBLE_SAVING,
        "430",
        "BTC",
        Decimal("0.5"),
    )
    for amount, why in [
        (Decimal("0.0009"), "outside"),
        (Decimal("10.1"), "outside"),
        (Decimal("0.123456789"), "8 decimal places"),
    ]:
        with pytest.raises(InvalidRequest, match=why):
            EarnStake.from_product(product, amount=amount)


def test_earn_ids_are_forgotten_after_30_minutes() -> None:
    assert EARN_IDS.remembered == timedelta(minutes=30)
    assert EARN_IDS.max_length == 36


def test_an_intent_id_for_earn_carries_its_issue_time() -> None:
    """A key used again for a later intent gets another id, so no Earn id repeats after the
    30 minutes Bybit remembers it."""
    first = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    one = order_link_id_for("stake-BTC", issued=first)
    assert EARN_IDS.is_valid(one)
    assert one != order_link_id_for("stake-BTC", issued=first + timedelta(minutes=31))


# --- reads on the wire -----------------------------------------------------------------


async def test_products_positions_and_orders_send_the_documented_queries(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    products = bybit_mock.get(PRODUCT).mock(return_value=ok(json.loads(PRODUCT_RESULT)))
    positions = bybit_mock.get(POSITION).mock(return_value=ok(json.loads(POSITION_RESULT)))
    orders = bybit_mock.get(ORDER).mock(return_value=ok(json.loads(ORDER_RESULT)))
    earn = make_client().earn

    (product,) = await earn.products("FlexibleSaving", coin="BTC")
    (position,) = await earn.positions(EarnCategory.FLEXIBLE_SAVING, coin="USDT")
    listed = [
        item
        async for item in earn.orders("OnChain", order_id="9640dc23-df1a-448a-ad24-e1a48028a51f")
    ]

    assert product.product_id == "430" and position.available_amount == Decimal("4900")
    assert [info.order_id for info in listed] == ["ad98d473-4e17-46da-ab30-5563f62a97fa"]
    assert products.calls.last.request.url.query == b"category=FlexibleSaving&coin=BTC"
    assert "X-BAPI-SIGN" not in products.calls.last.request.headers
    assert positions.calls.last.request.url.query == b"category=FlexibleSaving&coin=USDT"
    assert orders.calls.last.request.url.query == (
        b"category=OnChain&limit=50&orderId=9640dc23-df1a-448a-ad24-e1a48028a51f"
    )


async def test_order_queries_are_checked_before_sending(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(return_value=page())
    earn = make_client().earn
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match="required for OnChain"):
        earn.orders("OnChain")
    with pytest.raises(InvalidRequest, match="7 days"):
        earn.orders(
            "FlexibleSaving", start_time=start, end_time=start + timedelta(days=7, seconds=1)
        )
    with pytest.raises(InvalidRequest, match="7 days"):
        earn.orders("FlexibleSaving", start_time=start, end_time=start - timedelta(seconds=1))
    with pytest.raises(InvalidRequest, match="page_size"):
        earn.orders("FlexibleSaving", page_size=101)
    assert not route.called
    listed = earn.orders(
        "FlexibleSaving", start_time=start, end_time=start + timedelta(days=7), page_size=100
    )
    assert [item async for item in listed] == []
    assert route.calls.last.request.url.query == (
        b"category=FlexibleSaving&endTime=1794096000000&limit=100&startTime=1793491200000"
    )


# --- placing ---------------------------------------------------------------------------


async def test_place_order_sends_the_docs_body_and_acknowledges_in_its_category(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(json.loads(PLACE_RESULT)))
    ack = await make_client().earn.place_order(docs_redeem())
    assert ack == EarnAck(
        category=EarnCategory.FLEXIBLE_SAVING,
        order_id="0572b030-6a0b-423f-88c4-b6ce31c0c82d",
        order_link_id="btc-earn-001",
    )
    assert json.loads(route.calls.last.request.content) == json.loads(PLACE_BODY)


async def test_a_lost_answer_is_learned_by_a_lookup_in_the_category(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    order = docs_redeem()
    place = bybit_mock.post(PLACE).mock(
        side_effect=[httpx.ReadTimeout("lost"), fail(180025, "Order already exists")]
    )
    lookup = bybit_mock.get(ORDER).mock(return_value=page(info_of(order)))

    ack = await make_client().earn.place_order(order)

    assert ack.order_id == "0572b030-6a0b-423f-88c4-b6ce31c0c82d"
    assert len(place.calls) == 2
    assert lookup.calls.last.request.url.query == (
        b"category=FlexibleSaving&limit=1&orderLinkId=btc-earn-001"
    )


@pytest.mark.parametrize(
    "changes",
    [{"orderValue": "0.36"}, {"orderType": "Stake"}, {"productId": "431"}, {"coin": "ETH"}],
)
async def test_another_order_under_the_id_is_already_exists(
    changes: dict[str, Any], make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    order = docs_redeem()
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    bybit_mock.get(ORDER).mock(return_value=page(info_of(order, **changes)))
    with pytest.raises(OrderAlreadyExists, match="different order"):
        await make_client().earn.place_order(order)


async def test_a_retry_deadline_that_could_outlive_30_minutes_is_refused(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(json.loads(PLACE_RESULT)))
    client = make_client(retry=RetryPolicy(deadline=1500.0), timeout=100.0)
    with pytest.raises(ConfigurationError, match="forgets an orderLinkId"):
        await client.earn.place_order(docs_redeem())
    assert not route.called
    # Advance Earn, which Bybit remembers for ever, takes the same client as it did.
    assert client.advance_earn is not None


async def test_placing_again_inside_the_window_resends_and_after_it_only_looks_up(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """Every attempt of the first call is lost; placing the same object 10 minutes later
    resends it (Bybit still refuses a second order under the id); 26:40 after the first
    attempt it is only looked up: a resend could land after Bybit forgot the id."""
    order = docs_redeem()
    place = bybit_mock.post(PLACE).mock(side_effect=httpx.ReadTimeout("lost"))
    lookup = bybit_mock.get(ORDER).mock(return_value=page())
    client = make_client(retry=RetryPolicy(max_attempts=2, deadline=60.0))

    with pytest.raises(OrderStatusUnknown):
        await client.earn.place_order(order)
    first_calls = len(place.calls)
    assert first_calls == 2

    clock.advance(600)
    with pytest.raises(OrderStatusUnknown):
        await client.earn.place_order(order)
    assert len(place.calls) == 4

    clock.advance(1000)
    lookups = len(lookup.calls)
    with pytest.raises(OrderStatusUnknown, match="forgets an id 0:30:00 after its first use"):
        await client.earn.place_order(order)
    assert len(place.calls) == 4  # not resent
    assert len(lookup.calls) > lookups

    lookup.mock(return_value=page(info_of(order, status="Success")))
    ack = await client.earn.place_order(order)
    assert ack.order_link_id == "btc-earn-001" and len(place.calls) == 4


async def test_wait_for_order_polls_in_the_acks_category(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    order = docs_redeem()
    route = bybit_mock.get(ORDER).mock(
        side_effect=[page(info_of(order)), page(info_of(order, status="Success"))]
    )
    ack = EarnAck(
        category=EarnCategory.ON_CHAIN,
        order_id="0572b030-6a0b-423f-88c4-b6ce31c0c82d",
        order_link_id="btc-earn-001",
    )
    info = await make_client().earn.wait_for_order(ack, poll_interval=1.0)
    assert info.status is OrderStatus.SUCCESS
    assert route.calls.last.request.url.query == (
        b"category=OnChain&limit=1&orderId=0572b030-6a0b-423f-88c4-b6ce31c0c82d"
    )


def test_earn_endpoints_take_their_own_buckets_and_the_ip_bucket() -> None:
    assert (EARN_PLACE_ORDER.buckets, EARN_ORDER.buckets) == (
        ("earn_place_order", "ip"),
        ("earn_order", "ip"),
    )
    assert EARN_PLACE_ORDER.idempotent and EARN_PLACE_ORDER.changes_state
    assert not EARN_PRODUCT.signed and EARN_POSITION.signed
    assert {name: DEFAULT_LIMITS[name] for name in DEFAULT_LIMITS if name.startswith("earn_")} == {
        "earn_place_order": RateLimit(5, per=1.0),
        "earn_order": RateLimit(10, per=1.0),
        "earn_position": RateLimit(10, per=1.0),
        "earn_product": RateLimit(50, per=1.0),
    }


async def test_the_earn_buckets_pace_and_may_be_overridden(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    def acknowledge(request: httpx.Request) -> httpx.Response:
        link = json.loads(request.content)["orderLinkId"]
        return ok({"orderId": f"id-{link}", "orderLinkId": link})

    route = bybit_mock.post(PLACE).mock(side_effect=acknowledge)
    client = make_client(limits={"earn_place_order": RateLimit(2, per=1.0)})
    started = clock.monotonic()
    for n in range(3):
        order = EarnStake(
            category="FlexibleSaving",
            product_id="430",
            coin="BTC",
            amount=Decimal("1"),
            order_link_id=f"pace-{n}",
        )
        await client.earn.place_order(order)
    assert len(route.calls) == 3
    assert clock.monotonic() - started >= 1.0  # the third waited for the window
