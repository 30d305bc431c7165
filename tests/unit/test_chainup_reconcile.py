"""ChainUP reconcile on the answers the venue documents, and on the ones its apps receive.

``take_order`` has no client order id; after a lost answer, ``reconcile`` decides from the
order lists. The published ``order_list_v2`` item has no creation time and no open/close, so
the client decides by order id (the venue issues them in increasing order) against the
watermark it learned before sending; where a deployment adds ``ctime``/``ctimeStr``, by time.
The lists' sort order is undocumented: every test that pages runs both ways.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import httpx
import pytest
import respx

from asyncexch import RetryPolicy, VirtualClock
from asyncexch.chainup import (
    ChainupContractClient,
    OrderStatus,
    OrderType,
    ReconcileStatus,
    Side,
    TakeOrder,
)
from asyncexch.errors import (
    InvalidRequest,
    MalformedResponse,
    OrderStatusUnknown,
)

TAKE = "/api/take_order"
ORDER_LIST = "/api/order_list_v2"
Sort = Literal["desc", "asc", "none"]


def ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"code": "0", "msg": "成功", "data": data})


def fail(code: int, message: str = "error") -> httpx.Response:
    return httpx.Response(200, json={"code": str(code), "msg": message, "data": None})


def order(**overrides: Any) -> TakeOrder:
    fields: dict[str, Any] = {
        "contract_id": 1,
        "side": Side.BUY,
        "volume": Decimal("1"),
        "order_type": OrderType.LIMIT,
        "price": Decimal("7000"),
        "level": 10,
    }
    fields.update(overrides)
    return TakeOrder(**fields)


def item(
    order_id: int,
    *,
    side: str = "BUY",
    type_: int = 1,
    volume: str = "1",
    price: str | None = "7000",
    contract_id: int = 1,
    status: int = 1,
    position_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An order-list item exactly as published; ``extra`` adds what some deployments send."""
    return {
        "orderId": order_id,
        "contractId": contract_id,
        "side": side,
        "type": type_,
        "volume": volume,
        "dealVolume": "0",
        "price": price,
        "status": status,
        "positionId": position_id,
        "level": 10,
        **extra,
    }


class Venue:
    """``order_list_v2`` and ``take_order`` over respx: lists served in pages, in a chosen
    order, and take_orders answered from a script (a lost answer adds the order anyway)."""

    def __init__(
        self,
        router: respx.MockRouter,
        *,
        active: Sequence[dict[str, Any]] = (),
        filled: Sequence[dict[str, Any]] = (),
        history: Sequence[dict[str, Any]] = (),
        sort: Sort = "desc",
        page_cap: int | None = None,
    ) -> None:
        self.lists = {"1": list(active), "2": list(filled), "3": list(history)}
        self.sort = sort
        self.page_cap = page_cap
        self.asked: list[tuple[str, int]] = []
        self.failing = False
        router.post(ORDER_LIST).mock(side_effect=self.order_list)

    def order_list(self, request: httpx.Request) -> httpx.Response:
        if self.failing:
            return fail(100004, "illegal parameters")
        body = json.loads(request.content)
        which, page, size = body["order_type"], int(body["pageNo"]), int(body["pageSize"])
        assert body["contractId"] == "1"
        self.asked.append((which, page))
        items = self.lists[which]  # "none": in the order given
        if self.sort != "none":
            items = sorted(items, key=lambda i: i["orderId"], reverse=self.sort == "desc")
        per_page = min(size, self.page_cap or size)
        chunk = items[(page - 1) * per_page : page * per_page]
        return ok({"count": len(items), "orderList": chunk})


async def lost(
    client: ChainupContractClient, router: respx.MockRouter, placed: TakeOrder
) -> OrderStatusUnknown:
    """An OrderStatusUnknown from a take_order whose answer timed out."""

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("lost", request=request)

    router.post(TAKE).mock(side_effect=timeout)
    with pytest.raises(OrderStatusUnknown) as caught:
        await client.take_order(placed)
    return caught.value


@pytest.fixture
def client(make_chainup_client: Callable[..., ChainupContractClient]) -> ChainupContractClient:
    return make_chainup_client()


@pytest.fixture(params=["desc", "asc"])
def sort(request: pytest.FixtureRequest) -> Sort:
    value: Sort = request.param
    return value


# --- the watermark: what the client knew before sending -----------------------------------------


async def test_the_watermark_is_learned_from_every_list_before_the_first_order(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, sort: Sort
) -> None:
    venue = Venue(
        chainup_mock,
        active=[item(n) for n in range(1, 6)],
        filled=[item(40, status=2)],
        history=[item(n, status=4) for n in range(10, 32)],
        sort=sort,
        page_cap=10,
    )

    error = await lost(client, chainup_mock, order())

    assert error.watermark == 40
    # One page a list, and the last page where a list has more: the newest either way.
    newest = 1 if sort == "desc" else 3
    assert venue.asked == [("1", 1), ("2", 1), ("3", 1)] + ([("3", newest)] if newest > 1 else [])
    # A second order on the contract does not look again.
    venue.asked.clear()
    again = await lost(client, chainup_mock, order(price=Decimal("7001")))
    assert venue.asked == [] and again.watermark == 40


async def test_an_unsorted_list_is_read_whole_for_the_watermark(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(
        chainup_mock, history=[item(n) for n in (5, 9, 7, 3, 60, 2)], sort="none", page_cap=2
    )

    error = await lost(client, chainup_mock, order())

    assert error.watermark == 60
    assert sorted(page for which, page in venue.asked if which == "3") == [1, 2, 3]


@pytest.mark.parametrize(
    "pages",
    [
        [(5, 9), (100, 3), (1, 2)],  # oldest first on each page, not across pages
        [(90, 80), (95, 85), (10, 5)],  # newest first on each page, not across pages
    ],
    ids=["ascending-pages", "descending-pages"],
)
async def test_pages_that_contradict_their_sort_are_read_whole(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, pages: list[tuple[int, int]]
) -> None:
    """Each page looks sorted, the list is not: the newest order hides on a middle page."""
    ids = [n for pair in pages for n in pair]
    venue = Venue(
        chainup_mock, history=[item(n, side="SELL") for n in ids], sort="none", page_cap=2
    )
    error = await lost(client, chainup_mock, order())
    hidden = max(ids)
    venue.lists["3"] = [item(n, side="SELL") if n != hidden else item(n) for n in ids]

    result = await client.reconcile(error, watermark=50)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == hidden


async def test_the_watermark_rises_with_every_acknowledged_order(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    Venue(chainup_mock, active=[item(100)])
    chainup_mock.post(TAKE).mock(return_value=ok({"orderId": 130, "liquidationPrice": "1"}))
    await client.take_order(order())

    error = await lost(client, chainup_mock, order(price=Decimal("7001")))

    assert error.watermark == 130


async def test_a_failed_look_sends_anyway_without_a_watermark(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    venue = Venue(chainup_mock)
    venue.failing = True

    error = await lost(client, chainup_mock, order())

    assert error.watermark is None
    assert "could not read the newest orders of contract 1" in caplog.text


# --- deciding by order id (the published list: no times, no open/close) --------------------------


async def test_one_exact_match_above_the_watermark_is_placed(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, sort: Sort
) -> None:
    old_twin = item(90)  # identical, but older than the watermark: never this order
    venue = Venue(chainup_mock, active=[old_twin, item(95, side="SELL")], sort=sort)
    error = await lost(client, chainup_mock, order())
    assert error.watermark == 95
    venue.lists["1"] += [item(96, volume="2"), item(97), item(98, price="7000.5")]

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 97
    assert [c.order_id for c in result.candidates] == [97]


async def test_no_match_above_the_watermark_is_not_placed(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, sort: Sort
) -> None:
    venue = Venue(chainup_mock, history=[item(90), item(91)], sort=sort)
    error = await lost(client, chainup_mock, order())
    venue.lists["1"] += [item(96, volume="2")]

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.NOT_PLACED
    assert result.placed is False and result.candidates == ()


async def test_two_matches_above_the_watermark_are_ambiguous(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    venue.lists["1"] += [item(5)]
    venue.lists["3"] += [item(6, status=4)]

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.AMBIGUOUS
    assert sorted(c.order_id for c in result.candidates) == [5, 6]


@pytest.mark.parametrize("found_in", ["1", "2", "3"])
async def test_the_order_is_found_in_whichever_list_holds_it(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, found_in: str
) -> None:
    """A market order fills at once: it is only in the filled or history list."""
    venue = Venue(chainup_mock)
    market = order(order_type="MARKET", price=None)
    error = await lost(client, chainup_mock, market)
    venue.lists[found_in].append(item(1, type_=2, price="0", status=2))

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert ("2", 1) in venue.asked and ("3", 1) in venue.asked


async def test_reading_stops_once_a_list_is_past_the_watermark(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, sort: Sort
) -> None:
    venue = Venue(chainup_mock, history=[item(n, status=4) for n in range(1, 41)], sort=sort)
    error = await lost(client, chainup_mock, order())
    venue.lists["3"].append(item(41, status=2))
    venue.asked.clear()

    result = await client.reconcile(error, page_size=5)

    assert result.status is ReconcileStatus.PLACED
    history = [page for which, page in venue.asked if which == "3"]
    # 41 orders, 5 a page: the newest page, then one past the watermark, never all nine.
    assert history == ([1, 2] if sort == "desc" else [1, 9, 8])


async def test_orders_of_this_client_never_count(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """An identical order this client placed (and knows) after the lost one is not it."""
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    chainup_mock.post(TAKE).mock(return_value=ok({"orderId": 12, "liquidationPrice": "1"}))
    await client.take_order(order())  # the same order again, acknowledged as 12
    venue.lists["1"] += [item(11), item(12)]

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 11


async def test_an_identical_order_of_unknown_fate_makes_one_match_ambiguous(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    first = await lost(client, chainup_mock, order())
    second = await lost(client, chainup_mock, order())  # identical, also lost
    venue.lists["1"].append(item(7))

    one = await client.reconcile(first)
    venue.lists["1"].append(item(8))
    both = await client.reconcile(first)
    # Once one is settled, the other is no longer in doubt.
    settled = await client.reconcile(second)

    assert one.status is ReconcileStatus.AMBIGUOUS  # 7 may be either order
    assert both.status is ReconcileStatus.AMBIGUOUS
    assert settled.status is ReconcileStatus.AMBIGUOUS  # the first was never settled
    assert [c.order_id for c in one.candidates] == [7]


async def test_a_placed_verdict_is_remembered_for_the_next_reconcile(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    first = await lost(client, chainup_mock, order())
    venue.lists["1"].append(item(7))
    assert (await client.reconcile(first)).status is ReconcileStatus.PLACED
    second = await lost(client, chainup_mock, order())  # identical, sent after
    assert second.watermark == 7
    venue.lists["1"].append(item(9))

    result = await client.reconcile(second)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 9


async def test_a_close_order_matches_side_position_and_action_where_shown(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    closing = order(
        side="SELL", close_type="CLOSE", position_id=77, order_type="MARKET", price=None
    )
    error = await lost(client, chainup_mock, closing)
    venue.lists["1"] += [
        item(3, side="SELL", type_=2, position_id=78),
        item(4, side="SELL", type_=2, position_id=77, action="OPEN"),
        item(5, side="SELL", type_=2, position_id=77, price="6990"),
    ]

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 5


async def test_equal_numbers_in_another_notation_match(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order(price=Decimal("7000.10")))
    venue.lists["1"].append(item(2, volume="1.000", price="7000.1"))

    assert (await client.reconcile(error)).status is ReconcileStatus.PLACED


# --- deciding by creation time (deployments that send it) ---------------------------------------


async def lost_without_watermark(
    client: ChainupContractClient, router: respx.MockRouter, placed: TakeOrder
) -> tuple[OrderStatusUnknown, Venue]:
    venue = Venue(router)
    venue.failing = True
    error = await lost(client, router, placed)
    assert error.watermark is None and error.sent_at is not None
    venue.failing = False
    return error, venue


def local(ms: int, zone: timezone = timezone(timedelta(hours=8))) -> str:
    return datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    "stamp",
    [
        lambda ms: {"ctime": ms},
        lambda ms: {"ctime": str(ms)},
        lambda ms: {"ctimeStr": str(ms)},
        lambda ms: {"ctime": local(ms), "ctimeStr": str(ms), "action": "OPEN"},
        lambda ms: {"ctime": local(ms)},
    ],
    ids=["ms-number", "ms-string", "ctimeStr", "app-shape", "date-string-utc+8"],
)
async def test_creation_times_in_every_form_decide_without_a_watermark(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    stamp: Callable[[int], dict[str, Any]],
) -> None:
    error, venue = await lost_without_watermark(client, chainup_mock, order())
    assert error.sent_at is not None
    at = int(error.sent_at * 1000)
    venue.lists["3"] += [
        item(1, **stamp(at - 3_600_000)),  # identical, an hour older: not it
        item(2, **stamp(at + 1_000)),
    ]

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 2
    assert result.order.created_at is not None
    assert abs(result.order.created_at.timestamp() * 1000 - (at + 1_000)) < 1_000


async def test_the_venue_timezone_is_an_option(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    """A deployment on UTC sends its dates in UTC: read as UTC+8 they would be 8 hours off."""
    client = make_chainup_client(venue_timezone=timezone.utc)
    error, venue = await lost_without_watermark(client, chainup_mock, order())
    assert error.sent_at is not None
    venue.lists["1"].append(item(2, ctime=local(int(error.sent_at * 1000) + 1_000, timezone.utc)))

    assert (await client.reconcile(error)).status is ReconcileStatus.PLACED


async def test_without_watermark_or_times_a_match_is_ambiguous_and_none_not_placed(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    error, venue = await lost_without_watermark(client, chainup_mock, order())
    nothing = await client.reconcile(error)
    venue.lists["1"].append(item(2))
    something = await client.reconcile(error)

    assert nothing.status is ReconcileStatus.NOT_PLACED
    assert something.status is ReconcileStatus.AMBIGUOUS
    assert [c.order_id for c in something.candidates] == [2]


async def test_window_and_tolerance_bound_the_times(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    error, venue = await lost_without_watermark(client, chainup_mock, order())
    assert error.sent_at is not None
    at = int(error.sent_at * 1000)
    venue.lists["1"] += [item(2, ctime=at - 8_000), item(3, ctime=at + 20_000)]

    narrow = await client.reconcile(error, window=timedelta(seconds=10))
    wide = await client.reconcile(
        error, window=timedelta(seconds=30), tolerance=timedelta(seconds=10)
    )

    assert narrow.status is ReconcileStatus.NOT_PLACED
    assert wide.status is ReconcileStatus.AMBIGUOUS


async def test_a_take_order_needs_sent_at_or_a_watermark(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    venue = Venue(chainup_mock, active=[item(2, ctime=int(clock.time() * 1000) + 300)])
    placed = order()
    by_time, by_id = make_chainup_client(), make_chainup_client()

    with pytest.raises(InvalidRequest) as caught:
        await by_time.reconcile(placed)
    assert caught.value.field == "sent_at"
    assert venue.asked == []
    with pytest.raises(InvalidRequest) as naive:
        await by_time.reconcile(placed, sent_at=datetime(2026, 1, 1))
    assert naive.value.field == "sent_at"

    timed = await by_time.reconcile(
        placed, sent_at=datetime.fromtimestamp(clock.time(), timezone.utc)
    )
    numbered = await by_id.reconcile(placed, watermark=1)
    assert timed.status is ReconcileStatus.PLACED
    assert numbered.status is ReconcileStatus.PLACED
    # Found once, the order is this client's: it never matches another search again.
    assert (await by_id.reconcile(placed, watermark=1)).status is ReconcileStatus.NOT_PLACED


# --- a reconcile that cannot read says so ------------------------------------------------------


async def test_unreadable_lists_leave_the_fate_unknown(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    client = make_chainup_client(retry=RetryPolicy(max_attempts=2))
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    venue.failing = True

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.reconcile(error)

    assert "still unknown" in str(caught.value)
    assert caught.value.request is error.request
    assert caught.value.watermark == error.watermark


async def test_a_venue_that_ignores_the_page_number_is_caught(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    same_page = ok({"count": 1_000_000, "orderList": [item(n) for n in range(900, 700, -1)]})
    chainup_mock.post(ORDER_LIST).mock(return_value=same_page)

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.reconcile(error, watermark=10)

    assert isinstance(caught.value.__cause__, MalformedResponse)
    assert "repeats" in str(caught.value)


async def test_a_list_longer_than_the_bound_leaves_the_fate_unknown(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    Venue(chainup_mock, history=[item(n) for n in range(1, 61)])
    error = await lost(client, chainup_mock, order())

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.reconcile(error, watermark=0, page_size=5, max_pages=3)

    assert "more than 3 pages" in str(caught.value)


async def test_orders_iterator_pages_and_catches_a_repeated_page(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock, active=[item(n) for n in range(800, 805)])

    found = [o.order_id async for o in client.orders(1, page_size=2)]

    assert found == [804, 803, 802, 801, 800]
    assert venue.asked == [("1", 1), ("1", 2), ("1", 3)]
    chainup_mock.post(ORDER_LIST).mock(
        return_value=ok({"count": 9, "orderList": [item(1), item(2)]})
    )
    with pytest.raises(MalformedResponse, match="repeats"):
        _ = [o async for o in client.orders(1, page_size=2)]


async def test_unknown_enum_values_are_kept_and_never_match(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    venue.lists["1"] += [item(2, type_=3), item(3, side="HOLD", status=9), item(4)]

    listed = [o async for o in client.orders(1)]
    result = await client.reconcile(error)

    weird = {o.order_id: o for o in listed}
    assert weird[2].type == 3 and not weird[2].type.known
    assert weird[3].side == "HOLD" and not weird[3].side.known
    assert weird[3].status == OrderStatus(9) and not weird[3].status.known
    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 4
