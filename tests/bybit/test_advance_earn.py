"""The Advance Earn (SmartLeverage) API of BybitClient against respx, on virtual time."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx

from asyncexch import (
    BatchReport,
    ConfigurationError,
    ExchangeError,
    InsufficientBalance,
    InvalidRequest,
    MalformedResponse,
    OrderNotFound,
    OrderWaitTimeout,
    RateLimit,
    VirtualClock,
)
from asyncexch._demo import CATEGORIES as demo_categories
from asyncexch._watch import CATEGORIES as watch_categories
from asyncexch.bybit import (
    AdvanceEarn,
    BybitClient,
    OrderAck,
    OrderInfo,
    OrderStatus,
    Position,
    Product,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from tests.builders.bybit import (
    ESTIMATE,
    ORDER,
    PLACE,
    POSITION,
    PRODUCT,
    QUOTE,
    SERVER_MS,
    SUPERSCRIPT_TWO_TIMENOW,
    fail,
    ok,
    page,
    stake_order,
)

UTC = timezone.utc

MakeClient = Callable[..., BybitClient]

PRODUCT_ITEM: dict[str, Any] = {
    "category": "SmartLeverage",
    "productId": "12999",
    "investCoin": "USDT",
    "underlyingAsset": "BTC",
    "direction": "Long",
    "leverage": "10",
    "duration": "7d",
    "expectReceiveAt": "1775635800000",
    "subscribeStartAt": "1775001600000",
    "subscribeEndAt": "1775087999000",
    "settlementTime": "1775635200000",
    "minPurchaseAmount": "10",
    "remainingAmount": "9994748366.907",
    "orderPrecisionDigital": 4,
}
QUOTE_RESULT: dict[str, Any] = {
    "productId": "12999",
    "breakevenPrice": "68650.62",
    "expireAt": "1775036984839",
    "maxInvestmentAmount": "1000",
    "currentPrice": "68403.67",
    "category": "SmartLeverage",
}


def order_item(order_id: str = "o-1", status: str = "Pending", **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "orderId": order_id,
        "orderLinkId": f"link-{order_id}",
        "productId": "12999",
        "category": "SmartLeverage",
        "orderType": "Stake",
        "investCoin": "USDT",
        "amount": "100",
        "underlyingAsset": "BTC",
        "direction": "Long",
        "leverage": "10",
        "breakevenPrice": "68650.62",
        "initialPrice": "68403.67",
        "settlementTime": "1775635200000",
        "duration": "7d",
        "createdTime": "1775038326000",
        "status": status,
        "refundStatus": "",
        "accountType": "FUND",
    }
    item.update(changes)
    return item


def position_item(position_id: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "positionId": position_id,
        "productId": "12999",
        "category": "SmartLeverage",
        "investCoin": "USDT",
        "underlyingAsset": "BTC",
        "direction": "Long",
        "leverage": "10",
        "amount": "100",
        "breakevenPrice": "68650.62",
        "initialPrice": "68403.67",
        "duration": "7d",
        "settlementTime": "1775635200000",
        "createdTime": "1775038326000",
        "status": "Active",
        "redeemable": True,
        "accountType": "FUND",
        "orderLinkId": "",
        "orderId": f"order-of-{position_id}",
    }
    item.update(changes)
    return item


def body_of(request: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.content)
    return data


def stray_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running other than the test itself and the virtual clock's driver."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and "_drive" not in repr(task.get_coro())
    ]


@pytest.fixture
def earn(make_client: MakeClient) -> AdvanceEarn:
    return make_client().advance_earn


# --- products / quote -----------------------------------------------------------------------


async def test_products_by_coin(earn: AdvanceEarn, bybit_mock: respx.MockRouter) -> None:
    route = bybit_mock.get(PRODUCT).mock(
        return_value=ok({"category": "SmartLeverage", "list": [PRODUCT_ITEM]})
    )
    products = await earn.products(coin="BTC")
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.url.query == b"category=SmartLeverage&coin=BTC"
    assert "X-BAPI-SIGN" not in request.headers  # public endpoint
    assert isinstance(products, list)
    (product,) = products
    assert isinstance(product, Product)
    assert product.product_id == "12999"
    assert product.remaining_amount == Decimal("9994748366.907")
    assert product.order_precision_digital == 4


async def test_products_with_duration_and_without_coin(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(PRODUCT).mock(return_value=ok({"category": "SmartLeverage", "list": []}))
    assert await earn.products(duration="7d") == []
    assert route.calls.last.request.url.query == b"category=SmartLeverage&duration=7d"


async def test_products_refuses_a_lower_case_coin_without_sending(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(PRODUCT).mock(return_value=ok({"list": []}))
    with pytest.raises(InvalidRequest) as caught:
        await earn.products(coin="btc")
    assert caught.value.field == "coin"
    assert route.call_count == 0
    assert bybit_mock.calls.call_count == 0


async def test_quote(earn: AdvanceEarn, bybit_mock: respx.MockRouter) -> None:
    route = bybit_mock.get(QUOTE).mock(return_value=ok(QUOTE_RESULT))
    quote = await earn.quote("12999")
    assert route.calls.last.request.url.query == b"category=SmartLeverage&productId=12999"
    assert isinstance(quote, Quote)
    assert quote.current_price == Decimal("68403.67")
    assert quote.breakeven_price == Decimal("68650.62")
    assert quote.max_investment_amount == Decimal("1000")


async def test_quote_without_offer(earn: AdvanceEarn, bybit_mock: respx.MockRouter) -> None:
    bybit_mock.get(QUOTE).mock(
        return_value=ok(
            {**QUOTE_RESULT, "breakevenPrice": "", "expireAt": "", "maxInvestmentAmount": ""}
        )
    )
    quote = await earn.quote("12999")
    assert quote.breakeven_price is None
    assert quote.expire_at is None
    assert quote.max_investment_amount is None


async def test_quote_refuses_an_empty_product_id(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await earn.quote("")
    assert caught.value.field == "product_id"
    assert bybit_mock.calls.call_count == 0


async def test_malformed_result_raises_malformed_response(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(QUOTE).mock(return_value=ok({**QUOTE_RESULT, "currentPrice": "n/a"}))
    with pytest.raises(MalformedResponse, match=r"current_price|currentPrice"):
        await earn.quote("12999")


async def test_json_number_in_an_answer_is_read_exactly(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    body = json.dumps({"retCode": 0, "retMsg": "", "result": QUOTE_RESULT, "time": SERVER_MS})
    body = body.replace('"68403.67"', "6857.054400004785")
    bybit_mock.get(QUOTE).mock(return_value=httpx.Response(200, content=body.encode()))
    quote = await earn.quote("12999")
    assert quote.current_price == Decimal("6857.054400004785")


# --- paging ---------------------------------------------------------------------------------


def three_pages(
    items: list[list[dict[str, Any]]], cursors: list[str]
) -> Callable[[httpx.Request], httpx.Response]:
    """Answers page ``i`` when asked with the cursor that page ``i - 1`` gave."""
    by_cursor: dict[str | None, int] = {None: 0}
    for index, cursor in enumerate(cursors[:-1]):
        by_cursor[unquote(cursor)] = index + 1  # what the server reads from the query

    def answer(request: httpx.Request) -> httpx.Response:
        index = by_cursor[request.url.params.get("cursor")]
        return page(*items[index], cursor=cursors[index])

    return answer


async def test_orders_follow_the_cursor_across_three_pages(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    pages = [
        [order_item("o-1"), order_item("o-2")],
        [order_item("o-3"), order_item("o-4")],
        [order_item("o-5", status="Success")],
    ]
    cursors = ["c1", "c2", ""]
    route = bybit_mock.get(ORDER).mock(side_effect=three_pages(pages, cursors))

    seen = [info async for info in earn.orders(product_id="12999", page_size=2)]

    assert [info.order_id for info in seen] == ["o-1", "o-2", "o-3", "o-4", "o-5"]
    assert all(isinstance(info, OrderInfo) for info in seen)
    assert route.call_count == 3  # stopped on the empty cursor
    params = [call.request.url.params for call in route.calls]
    assert [p.get("cursor") for p in params] == [None, "c1", "c2"]
    for p in params:
        assert p["category"] == "SmartLeverage"
        assert p["productId"] == "12999"
        assert p["limit"] == "2"
    assert all("X-BAPI-SIGN" in call.request.headers for call in route.calls)


async def test_orders_are_fetched_lazily(earn: AdvanceEarn, bybit_mock: respx.MockRouter) -> None:
    pages = [[order_item("o-1")], [order_item("o-2")], [order_item("o-3")]]
    route = bybit_mock.get(ORDER).mock(side_effect=three_pages(pages, ["c1", "c2", ""]))
    iterator = earn.orders()
    assert route.call_count == 0
    calls_when_seen = {}
    async for info in iterator:
        calls_when_seen[info.order_id] = route.call_count
    assert calls_when_seen == {"o-1": 1, "o-2": 2, "o-3": 3}
    assert route.calls[0].request.url.params["limit"] == "20"  # the default page size


async def test_orders_time_filters_are_sent_as_millis(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(return_value=page())
    start = datetime(2026, 4, 1, 10, 12, 6, tzinfo=UTC)
    end = datetime(2026, 4, 2, tzinfo=UTC)
    assert [info async for info in earn.orders(start_time=start, end_time=end)] == []
    params = route.calls.last.request.url.params
    assert params["startTime"] == "1775038326000"
    assert params["endTime"] == str(int(end.timestamp() * 1000))


async def test_positions_follow_the_cursor_across_three_pages(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    pages = [
        [position_item("1"), position_item("2"), position_item("3")],
        [position_item("4")],
        [position_item("5"), position_item("6")],
    ]
    cursors = ["1252%3A1", "1252%3A2", ""]  # already-escaped cursors, as Bybit sends them
    route = bybit_mock.get(POSITION).mock(side_effect=three_pages(pages, cursors))

    seen = [position async for position in earn.positions(coin="BTC", page_size=3)]

    assert [position.position_id for position in seen] == ["1", "2", "3", "4", "5", "6"]
    assert all(isinstance(position, Position) for position in seen)
    assert route.call_count == 3
    params = [call.request.url.params for call in route.calls]
    assert [p.get("cursor") for p in params] == [None, "1252:1", "1252:2"]
    queries = [call.request.url.query.decode() for call in route.calls]
    assert "cursor=1252%3A1" in queries[1]
    assert all("coin=BTC" in query and "limit=3" in query for query in queries)


@pytest.mark.parametrize("kind", ["orders", "positions"])
async def test_a_repeating_cursor_is_malformed(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, kind: str
) -> None:
    counter = iter(range(1000))

    def answer(request: httpx.Request) -> httpx.Response:
        number = next(counter)
        if number > 10:  # without the check the iteration would never end
            return page()
        item = order_item(f"o-{number}") if kind == "orders" else position_item(str(number))
        return page(item, cursor="same")

    path = ORDER if kind == "orders" else POSITION
    route = bybit_mock.get(path).mock(side_effect=answer)
    iterator = earn.orders() if kind == "orders" else earn.positions()
    seen: list[object] = []
    with pytest.raises(MalformedResponse, match="same"):
        async for item in iterator:
            seen.append(item)
    assert route.call_count == 2
    assert len(seen) == 2


@pytest.mark.parametrize("page_size", [0, 21, -1])
@pytest.mark.parametrize("kind", ["orders", "positions"])
async def test_page_size_must_be_1_to_20(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, kind: str, page_size: int
) -> None:
    # Refused when the iterator is asked for, before any iteration or request.
    with pytest.raises(InvalidRequest) as caught:
        if kind == "orders":
            earn.orders(page_size=page_size)
        else:
            earn.positions(page_size=page_size)
    assert caught.value.field == "page_size"
    assert bybit_mock.calls.call_count == 0


# --- redeem estimates -----------------------------------------------------------------------


def estimate_answer(
    drop: str | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["positionIds"].split(",")
        items = [
            {
                "success": True,
                "positionId": position_id,
                "estRedeemAmount": f"{position_id}.5",
                "estRedeemTime": "1775038305626",
                "slippageRate": "0.97",
            }
            for position_id in reversed(ids)  # not in the order asked
            if position_id != drop
        ]
        return ok({"list": items})

    return answer


async def test_redeem_estimates_split_into_requests_of_five(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    ids = [str(1000 + index) for index in range(12)]
    route = bybit_mock.get(ESTIMATE).mock(side_effect=estimate_answer())
    await clock.sleep(42.0)  # the stamp must come from the client's clock

    estimates = await earn.redeem_estimates(ids)

    assert route.call_count == 3
    chunks = sorted(
        (tuple(call.request.url.params["positionIds"].split(",")) for call in route.calls),
        key=lambda chunk: chunk[0],
    )
    assert chunks == [tuple(ids[0:5]), tuple(ids[5:10]), tuple(ids[10:12])]
    assert sorted(len(chunk) for chunk in chunks) == [2, 5, 5]
    for call in route.calls:
        assert call.request.url.params["category"] == "SmartLeverage"
        query = call.request.url.query.decode()
        assert "positionIds=" + call.request.url.params["positionIds"] in query  # raw commas

    assert [estimate.position_id for estimate in estimates] == ids
    assert all(isinstance(estimate, RedeemEstimate) for estimate in estimates)
    assert [estimate.est_redeem_amount for estimate in estimates] == [
        Decimal(f"{position_id}.5") for position_id in ids
    ]
    expected_stamp = datetime.fromtimestamp(SERVER_MS / 1000 + 42.0, UTC)
    assert all(estimate.fetched_at == expected_stamp for estimate in estimates)


async def test_redeem_estimates_refuses_an_empty_list(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await earn.redeem_estimates([])
    assert caught.value.field == "position_ids"
    assert bybit_mock.calls.call_count == 0


@pytest.mark.parametrize("bad", ["", "12,13"])
async def test_redeem_estimates_refuses_bad_ids(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, bad: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await earn.redeem_estimates(["1277", bad])
    assert caught.value.field == "position_ids"
    assert bybit_mock.calls.call_count == 0


async def test_redeem_estimates_missing_an_id_is_malformed(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(ESTIMATE).mock(side_effect=estimate_answer(drop="1003"))
    with pytest.raises(MalformedResponse, match="1003"):
        await earn.redeem_estimates([str(1000 + index) for index in range(7)])


async def test_redeem_estimates_leaves_no_task_behind_when_a_chunk_fails(
    clock: VirtualClock, earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    """When one chunk fails the others are cancelled, not left running (and taking rate-limit
    capacity) after redeem_estimates has raised: a bare asyncio.gather would leave them."""
    seen: list[str] = []

    async def venue(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["positionIds"]
        seen.append(ids)
        if ids.startswith("1"):
            return fail(180020, "Position not found")
        await clock.sleep(5.0)
        return ok({"list": []})

    bybit_mock.get(ESTIMATE).mock(side_effect=venue)
    ids = ["1", "1", "1", "1", "1", "2", "2"]

    with pytest.raises(OrderNotFound) as caught:
        await earn.redeem_estimates(ids)
    leftovers = stray_tasks()
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    assert leftovers == []
    assert (caught.value.code, caught.value.message) == (180020, "Position not found")
    assert seen == ["1,1,1,1,1", "2,2"]  # both chunks left; the second was cancelled
    assert clock.monotonic() == 0.0  # raised at once, without waiting for the other


async def test_from_estimate_default_now_agrees_with_the_clock_that_stamped_it(
    clock: VirtualClock, earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    """fetched_at and the age check both come from the injected clock: under a virtual clock
    (tests, the simulator) the documented call accepts a fresh estimate."""
    bybit_mock.get(ESTIMATE).mock(
        return_value=ok(
            {"list": [{"success": True, "positionId": "1277", "estRedeemAmount": "76.8"}]}
        )
    )
    (estimate,) = await earn.redeem_estimates(["1277"])
    assert estimate.fetched_at == datetime.fromtimestamp(clock.time(), timezone.utc)

    RedeemOrder.from_estimate(estimate, product_id="12999")  # fresh: must not raise


# --- wait_for_order -------------------------------------------------------------------------


def order_sequence(
    clock: VirtualClock, statuses: list[str], times: list[float]
) -> Callable[[httpx.Request], httpx.Response]:
    """Answers the order lookup with ``statuses`` in turn (the last one repeats)."""
    calls = iter(range(10_000))

    def answer(request: httpx.Request) -> httpx.Response:
        times.append(clock.monotonic())
        number = next(calls)
        status = statuses[min(number, len(statuses) - 1)]
        order_id = request.url.params["orderId"]
        # initialPrice tells the answers apart
        return page(order_item(order_id, status=status, initialPrice=f"{68000 + number}"))

    return answer


@pytest.mark.parametrize("as_ack", [True, False])
async def test_wait_for_order_polls_until_success(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock, as_ack: bool
) -> None:
    times: list[float] = []
    route = bybit_mock.get(ORDER).mock(
        side_effect=order_sequence(clock, ["Pending", "Pending", "Success"], times)
    )
    ack = OrderAck(order_id="97f198e9-b14b", order_link_id="link-97f198e9-b14b")
    started = clock.monotonic()

    info = await earn.wait_for_order(ack if as_ack else "97f198e9-b14b", poll_interval=2.5)

    assert isinstance(info, OrderInfo)
    assert info.status is OrderStatus.SUCCESS
    assert info.order_id == "97f198e9-b14b"
    assert info.initial_price == Decimal("68002")  # the third answer
    assert route.call_count == 3
    assert times == pytest.approx([started, started + 2.5, started + 5.0])
    for call in route.calls:
        params = call.request.url.params
        assert params["orderId"] == "97f198e9-b14b"
        assert params["category"] == "SmartLeverage"


@pytest.mark.parametrize("final", ["Settled", "Fail"])
async def test_wait_for_order_returns_other_final_statuses(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock, final: str
) -> None:
    times: list[float] = []
    bybit_mock.get(ORDER).mock(side_effect=order_sequence(clock, ["Pending", final], times))
    info = await earn.wait_for_order("o-9")
    assert info.status.value == final
    assert info.status.is_terminal
    assert len(times) == 2


async def test_wait_for_order_keeps_polling_an_unknown_status(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    times: list[float] = []
    bybit_mock.get(ORDER).mock(
        side_effect=order_sequence(clock, ["Processing", "Processing", "Success"], times)
    )
    info = await earn.wait_for_order("o-9", poll_interval=1.0)
    assert info.status is OrderStatus.SUCCESS
    assert len(times) == 3


async def test_wait_for_order_times_out_with_the_last_state_seen(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    times: list[float] = []
    route = bybit_mock.get(ORDER).mock(side_effect=order_sequence(clock, ["Pending"], times))
    started = clock.monotonic()

    with pytest.raises(OrderWaitTimeout) as caught:
        await earn.wait_for_order("o-7", timeout=5.0, poll_interval=1.0)

    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, ExchangeError)
    elapsed = clock.monotonic() - started
    assert 5.0 <= elapsed <= 6.0
    assert 5 <= route.call_count <= 7
    last_seen = caught.value.last_seen
    assert isinstance(last_seen, OrderInfo)
    assert last_seen.status is OrderStatus.PENDING
    assert last_seen.order_id == "o-7"
    assert last_seen.initial_price == Decimal(68000 + route.call_count - 1)  # the last answer
    # polls spaced by poll_interval
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap == pytest.approx(1.0) for gap in gaps)


async def test_wait_for_order_times_out_with_none_when_never_found(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    route = bybit_mock.get(ORDER).mock(return_value=page())
    with pytest.raises(OrderWaitTimeout) as caught:
        await earn.wait_for_order("o-404", timeout=3.0, poll_interval=1.0)
    assert caught.value.last_seen is None
    assert route.call_count >= 3
    assert clock.monotonic() == pytest.approx(3.0)


async def test_wait_for_order_ignores_a_different_order(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(ORDER).mock(return_value=page(order_item("someone-else", status="Success")))
    with pytest.raises(OrderWaitTimeout) as caught:
        await earn.wait_for_order("o-1", timeout=2.0)
    assert caught.value.last_seen is None


async def test_wait_for_order_refuses_an_empty_id(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    with pytest.raises(InvalidRequest):
        await earn.wait_for_order("")
    assert bybit_mock.calls.call_count == 0


async def test_wait_for_order_honours_its_timeout(
    clock: VirtualClock, earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    """One poll may not take as long as the retry layer allows (here a 30 s rate-limit
    reset): the timeout bounds the whole wait."""
    reset_ms = SERVER_MS + 30_000
    answers = iter(
        [
            fail(
                10006,
                "Too many visits!",
                headers={"X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(reset_ms)},
            )
        ]
    )

    def venue(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or page(order_item("oid-1"))

    bybit_mock.get(ORDER).mock(side_effect=venue)
    started = clock.monotonic()

    with pytest.raises(OrderWaitTimeout) as caught:
        await earn.wait_for_order("oid-1", timeout=2.0)
    assert clock.monotonic() - started == 2.0
    assert caught.value.last_seen is None  # the one poll was refused: never seen
    assert str(caught.value) == "order oid-1 never found after 2.0 s"
    assert bybit_mock.calls.call_count == 1


# --- place_orders ---------------------------------------------------------------------------


def placing(
    orders: list[StakeOrder], failing: Callable[[int], bool]
) -> Callable[[httpx.Request], httpx.Response]:
    index_of = {order.order_link_id: index for index, order in enumerate(orders)}

    def answer(request: httpx.Request) -> httpx.Response:
        link = body_of(request)["orderLinkId"]
        index = index_of[link]
        if failing(index):
            return fail(180016, "Insufficient balance")
        return ok({"orderId": f"oid-{index}", "orderLinkId": link})

    return answer


async def test_place_orders_gives_one_result_per_order_in_order(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    orders = [stake_order(amount=Decimal(100 + index)) for index in range(20)]
    route = bybit_mock.post(PLACE).mock(side_effect=placing(orders, lambda index: index % 5 == 4))
    reported: list[tuple[int, OrderAck | ExchangeError]] = []

    results = await earn.place_orders(
        orders, on_result=lambda index, result: reported.append((index, result))
    )

    assert len(results) == 20
    for index, result in enumerate(results):
        if index % 5 == 4:
            assert isinstance(result, InsufficientBalance)
            assert result.code == 180016
        else:
            assert result == OrderAck(
                order_id=f"oid-{index}", order_link_id=orders[index].order_link_id
            )
    assert route.call_count == 20  # a refused order is not retried
    sent_links = sorted(body_of(call.request)["orderLinkId"] for call in route.calls)
    assert sent_links == sorted(order.order_link_id for order in orders)
    assert len(reported) == 20
    assert sorted(index for index, _ in reported) == list(range(20))
    for index, result in reported:
        assert result is results[index]


async def test_place_orders_survives_a_raising_callback(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    orders = [stake_order() for _ in range(6)]
    bybit_mock.post(PLACE).mock(side_effect=placing(orders, lambda index: index == 2))
    calls: list[int] = []

    def explode(index: int, result: OrderAck | ExchangeError) -> None:
        calls.append(index)
        raise RuntimeError("callback bug")

    results = await earn.place_orders(orders, on_result=explode)

    assert sorted(calls) == list(range(6))
    assert len(results) == 6
    assert isinstance(results[2], InsufficientBalance)
    assert all(isinstance(results[index], OrderAck) for index in (0, 1, 3, 4, 5))


async def test_place_orders_of_nothing(earn: AdvanceEarn, bybit_mock: respx.MockRouter) -> None:
    assert await earn.place_orders([]) == []
    assert bybit_mock.calls.call_count == 0


async def test_cancelled_batch_report_tells_what_was_sent(
    make_client: MakeClient, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    earn = make_client(limits={"place_order": RateLimit(2, per=1.0)}).advance_earn
    orders = [stake_order() for _ in range(10)]
    index_of = {order.order_link_id: index for index, order in enumerate(orders)}
    received: list[int] = []

    async def slow_venue(request: httpx.Request) -> httpx.Response:
        link = body_of(request)["orderLinkId"]
        received.append(index_of[link])
        await clock.sleep(0.3)  # the answer takes 0.3 s of virtual time
        return ok({"orderId": f"oid-{index_of[link]}", "orderLinkId": link})

    bybit_mock.post(PLACE).mock(side_effect=slow_venue)
    acks: list[int] = []
    report: BatchReport[OrderAck | ExchangeError] = BatchReport(10)

    task = asyncio.create_task(
        earn.place_orders(orders, on_result=lambda index, result: acks.append(index), report=report)
    )
    # Orders 0-1 leave at 0 s and are answered at 0.3 s, so 2-3 leave one second after that
    # answer (1.3 s) and are still in flight at 1.45 s; the others wait for the rate limit.
    await clock.sleep(1.45)
    assert sorted(acks) == [0, 1]
    assert sorted(received) == [0, 1, 2, 3]

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()

    sent = {index for index, was_sent in enumerate(report.sent) if was_sent}
    assert set(received) <= sent  # every order the venue got is marked sent
    assert not set(received) & set(report.unsent)  # no order marked unsent reached the venue
    assert set(report.unsent) == set(range(10)) - sent
    assert set(report.unsent) >= {4, 5, 6, 7, 8, 9}
    assert len(report.sent) == len(report.results) == 10
    for index in range(10):
        if index in acks:
            assert report.results[index] == OrderAck(
                order_id=f"oid-{index}", order_link_id=orders[index].order_link_id
            )
        else:
            assert report.results[index] is None
    assert set(report.unfinished) == {2, 3}  # sent, outcome unknown

    # Nothing more leaves after the cancellation.
    count = len(received)
    await clock.sleep(30.0)
    await asyncio.sleep(0)
    assert len(received) == count
    assert sorted(acks) == [0, 1]
    assert sent == {index for index, was_sent in enumerate(report.sent) if was_sent}


async def test_place_orders_refuses_a_report_of_the_wrong_size(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter
) -> None:
    report: BatchReport[OrderAck | ExchangeError] = BatchReport(3)
    with pytest.raises(InvalidRequest) as caught:
        await earn.place_orders([stake_order(), stake_order()], report=report)
    assert caught.value.field == "report"
    assert bybit_mock.calls.call_count == 0


async def test_place_orders_sends_nothing_after_it_has_raised(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """When one order fails, the orders still queued in the rate limiter are cancelled and
    awaited: none may be placed after place_orders has raised (its report is final)."""
    orders = [stake_order() for _ in range(4)]
    bad = orders[0].order_link_id
    arrived: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        link = body_of(request)["orderLinkId"]
        arrived.append(clock.monotonic())
        if link == bad:
            return ok({"orderId": "x", "orderLinkId": link}, headers=SUPERSCRIPT_TWO_TIMENOW)
        return ok({"orderId": f"oid-{link}", "orderLinkId": link})

    bybit_mock.post(PLACE).mock(side_effect=venue)
    earn = make_client(limits={"place_order": RateLimit(1, per=1.0)}).advance_earn

    results = await earn.place_orders(orders)
    returned_at = clock.monotonic()
    await clock.sleep(10.0)
    leftovers = stray_tasks()
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    late = [at for at in arrived if at > returned_at]
    assert late == [], f"{len(late)} orders reached the venue after place_orders returned"
    # The garbled header is ignored: every order is acknowledged, one a second.
    assert results == [
        OrderAck(order_id="x", order_link_id=bad),
        *(
            OrderAck(order_id=f"oid-{o.order_link_id}", order_link_id=o.order_link_id)
            for o in orders[1:]
        ),
    ]
    assert arrived == [0.0, 1.0, 2.0, 3.0]


# --- limit scope ------------------------------------------------------------------------------


async def test_keys_of_one_uid_share_buckets_through_limit_scope(
    make_client: MakeClient, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """Bybit counts private limits per UID: two keys of one UID given one ``limit_scope``
    take turns in one bucket; a key without it keeps its own."""
    arrivals: dict[str, float] = {}

    def venue(request: httpx.Request) -> httpx.Response:
        arrivals[request.headers["X-BAPI-API-KEY"]] = clock.monotonic()
        return ok({"orderId": "o", "orderLinkId": body_of(request)["orderLinkId"]})

    bybit_mock.post(PLACE).mock(side_effect=venue)
    limits = {"place_order": RateLimit(1, per=10.0)}
    first = make_client(api_key="key-a", limits=limits, limit_scope="uid-100001")
    second = make_client(api_key="key-b", limits=limits, limit_scope="uid-100001")
    alone = make_client(api_key="key-c", limits=limits)

    await asyncio.gather(
        first.advance_earn.place_order(stake_order()),
        second.advance_earn.place_order(stake_order()),
        alone.advance_earn.place_order(stake_order()),
    )

    assert arrivals["key-a"] == arrivals["key-c"] == 0.0
    assert arrivals["key-b"] == pytest.approx(10.0, abs=0.1)


@pytest.mark.parametrize("scope", ["", "x" * 65, "uid\n", "uidé", 100001])
def test_limit_scope_must_be_a_short_printable_name(scope: Any) -> None:
    with pytest.raises(ConfigurationError):
        BybitClient(limit_scope=scope)


# --- the documented flow --------------------------------------------------------------------


async def test_public_api_flow_end_to_end(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    bybit_mock.get(PRODUCT).mock(
        return_value=ok({"category": "SmartLeverage", "list": [PRODUCT_ITEM]})
    )
    bybit_mock.get(QUOTE).mock(return_value=ok(QUOTE_RESULT))
    placed: dict[str, dict[str, Any]] = {}
    lookups = iter(range(1000))

    def place(request: httpx.Request) -> httpx.Response:
        body = body_of(request)
        order_id = f"{body['orderType'].lower()}-{len(placed) + 1}"
        placed[order_id] = body
        return ok({"orderId": order_id, "orderLinkId": body["orderLinkId"]})

    def order_info(request: httpx.Request) -> httpx.Response:
        order_id = request.url.params["orderId"]
        body = placed[order_id]
        status = "Pending" if next(lookups) < 1 else "Success"
        return page(
            order_item(
                order_id,
                status=status,
                orderLinkId=body["orderLinkId"],
                orderType=body["orderType"],
                amount=body.get("amount", "0"),
            )
        )

    place_route = bybit_mock.post(PLACE).mock(side_effect=place)
    bybit_mock.get(ORDER).mock(side_effect=order_info)
    bybit_mock.get(POSITION).mock(return_value=page(position_item("1277", orderId="stake-1")))
    estimate_route = bybit_mock.get(ESTIMATE).mock(
        return_value=ok(
            {
                "list": [
                    {
                        "success": True,
                        "positionId": "1277",
                        "estRedeemAmount": "76.8356",
                        "estRedeemTime": "1775038305615",
                        "slippageRate": "0.97",
                    }
                ]
            }
        )
    )

    products = await earn.products(coin="BTC")
    product = products[0]
    quote = await earn.quote(product.product_id)
    assert quote.product == product  # the listed product rides along
    order = StakeOrder.from_quote(quote, amount=Decimal("100"), account_type="FUND")
    ack = await earn.place_order(order)
    assert ack == OrderAck(order_id="stake-1", order_link_id=order.order_link_id)
    assert placed["stake-1"] == {
        "category": "SmartLeverage",
        "productId": "12999",
        "coin": "USDT",
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "orderLinkId": order.order_link_id,
        "smartLeverageStakeExtra": {"initialPrice": "68403.67", "breakevenPrice": "68650.62"},
    }
    assert "X-BAPI-SIGN" in place_route.calls.last.request.headers

    info = await earn.wait_for_order(ack, timeout=60)
    assert info.status is OrderStatus.SUCCESS
    assert info.order_link_id == order.order_link_id

    (position,) = [p async for p in earn.positions(product_id=product.product_id)]
    assert position.order_id == ack.order_id
    estimates = await earn.redeem_estimates([position.position_id])
    assert estimate_route.calls.last.request.url.params["positionIds"] == "1277"
    assert estimates[0].fetched_at == datetime.fromtimestamp(clock.time(), UTC)

    redeem = RedeemOrder.from_position(position, estimates[0])
    redeem_ack = await earn.place_order(redeem)
    assert redeem_ack == OrderAck(order_id="redeem-2", order_link_id=redeem.order_link_id)
    assert placed["redeem-2"] == {
        "category": "SmartLeverage",
        "productId": "12999",
        "orderType": "Redeem",
        "amount": "100",  # the position's staked amount, as Bybit's official tools send it
        "coin": "USDT",
        "accountType": "FUND",
        "orderLinkId": redeem.order_link_id,
        "smartLeverageRedeemExtra": {
            "positionId": "1277",
            "estRedeemAmount": "76.8356",
            "isSlippageProtected": True,
        },
    }
    assert redeem.order_link_id != order.order_link_id
    assert place_route.call_count == 2


@pytest.mark.parametrize("order", ["13016", None, object()])
async def test_anything_but_an_order_is_refused_naming_every_kind_without_sending(
    earn: AdvanceEarn, bybit_mock: respx.MockRouter, order: object
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await earn.place_order(order)  # type: ignore[call-overload]

    assert caught.value.field == "order"
    assert caught.value.message.startswith(
        "must be a StakeOrder, RedeemOrder, DualAssetsOrder, DoubleWinOrder, "
        "DoubleWinRedeemOrder or DiscountBuyOrder, got "
    )
    assert not bybit_mock.calls


def test_categories_names_each_category_object_by_its_wire_name(earn: AdvanceEarn) -> None:
    assert dict(earn.categories) == {
        "SmartLeverage": earn.smart_leverage,
        "DualAssets": earn.dual_assets,
        "DoubleWin": earn.double_win,
        "DiscountBuy": earn.discount_buy,
    }
    assert all(name == reader.category for name, reader in earn.categories.items())
    with pytest.raises(TypeError):
        earn.categories["Other"] = earn.smart_leverage  # type: ignore[index]


def test_the_command_line_and_the_demo_take_every_category(earn: AdvanceEarn) -> None:
    assert tuple(earn.categories) == watch_categories == demo_categories
