"""ChainUP reconcile on the answers the venue documents, and on the ones its apps receive.

``take_order`` has no client order id; after a lost answer, ``reconcile`` decides from the
order lists. The published ``order_list_v2`` item has no creation time and no open/close, so
the client decides by order id (the venue issues them in increasing order) against the
watermark it learned before sending; where a deployment adds ``ctime``/``ctimeStr``, by time.
The lists' sort order is undocumented: every test that pages runs both ways.
"""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
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
    ReconcileStatus,
    TakeOrder,
    TakeOrderUnknown,
)
from asyncexch.errors import (
    InvalidRequest,
    MalformedResponse,
    OrderStatusUnknown,
)
from tests.builders.chainup import ORDER_LIST, TAKE, fail, ok, order

Sort = Literal["desc", "asc", "none"]


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
        self.sizes: list[int] = []
        #: Added to the count the venue reports, by list (a venue whose count is wrong).
        self.count_bias: dict[str, int] = {}
        #: Called after each page is served, to change the lists under the reading.
        self.after_page: Callable[[str, int], None] | None = None
        self.failing = False
        router.post(ORDER_LIST).mock(side_effect=self.order_list)

    def order_list(self, request: httpx.Request) -> httpx.Response:
        if self.failing:
            return fail(100004, "illegal parameters")
        body = json.loads(request.content)
        which, page, size = body["order_type"], int(body["pageNo"]), int(body["pageSize"])
        assert body["contractId"] == "1"
        self.asked.append((which, page))
        self.sizes.append(size)
        items = self.lists[which]  # "none": in the order given
        if self.sort != "none":
            items = sorted(items, key=lambda i: i["orderId"], reverse=self.sort == "desc")
        per_page = min(size, self.page_cap or size)
        # The offset comes from the size asked for: asking for more than is served skips some.
        chunk = items[(page - 1) * size : (page - 1) * size + per_page]
        count = max(len(items) + self.count_bias.get(which, 0), 0)
        answer = ok({"count": count, "orderList": chunk})
        if self.after_page is not None:
            self.after_page(which, page)
        return answer


async def lost(
    client: ChainupContractClient, router: respx.MockRouter, placed: TakeOrder
) -> TakeOrderUnknown:
    """The error of a take_order whose answer timed out."""

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("lost", request=request)

    router.post(TAKE).mock(side_effect=timeout)
    with pytest.raises(TakeOrderUnknown) as caught:
        await client.take_order(placed)
    return caught.value


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
    # One page a short list; a long one up to its newest page and one more, which confirms
    # the sort (newest first: pages 1 and 2; oldest first: 1, the last, and the one before).
    history = [1, 2] if sort == "desc" else [1, 3, 2]
    assert venue.asked == [("1", 1), ("2", 1)] + [("3", page) for page in history]
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
    # Every page (page 1 looked oldest-first, the last page said otherwise), through one
    # that is not full (the fourth, empty).
    assert sorted(page for which, page in venue.asked if which == "3") == [1, 2, 3, 4]


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
) -> tuple[TakeOrderUnknown, Venue]:
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
    # Every form names the same instant (a whole second: the date strings carry no more).
    assert result.order.created_at == datetime.fromtimestamp((at + 1_000) / 1000, timezone.utc)


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
    venue.lists["1"] += [item(2, ctime=at - 8_000), item(3, ctime=at + 40_000)]

    # The window is never shorter than the request can take to arrive (the attempt deadline,
    # 20 s, and a second) plus the clocks' difference: 26 s here.
    narrow = await client.reconcile(
        error, window=timedelta(seconds=10), tolerance=timedelta(seconds=5)
    )
    wide = await client.reconcile(
        error, window=timedelta(seconds=60), tolerance=timedelta(seconds=10)
    )

    assert narrow.status is ReconcileStatus.NOT_PLACED
    assert wide.status is ReconcileStatus.AMBIGUOUS


async def test_a_longer_settle_widens_the_window_of_creation_times(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """A venue given five minutes to process a request may create the order at +3 min."""
    sent = datetime.fromtimestamp(clock.time(), timezone.utc)
    late = int((sent + timedelta(minutes=3)).timestamp() * 1000)
    Venue(chainup_mock, filled=[item(5, ctimeStr=late)])

    result = await client.reconcile(order(), sent_at=sent, settle=timedelta(minutes=5))

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 5


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

    with pytest.raises(TakeOrderUnknown) as caught:
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


# --- lists that are not what they seem (the review of the first reconcile) -----------------------


@pytest.mark.parametrize("bias", [+7, -38], ids=["count-too-high", "count-too-low"])
async def test_a_wrong_count_never_hides_the_order(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, sort: Sort, bias: int
) -> None:
    venue = Venue(chainup_mock, history=[item(n, side="SELL") for n in range(1, 41)], sort=sort)
    error = await lost(client, chainup_mock, order())
    venue.lists["3"].append(item(41))
    venue.count_bias["3"] = bias

    result = await client.reconcile(error, page_size=5)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 41


async def test_an_empty_first_page_that_counts_orders_leaves_the_fate_unknown(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    venue.count_bias["1"] = 5  # count 5, no items

    with pytest.raises(TakeOrderUnknown, match="still unknown"):
        await client.reconcile(error)


async def test_an_order_leaving_a_page_already_read_makes_the_list_read_again(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """Newest first, 5 a page: order 104 fills right after page 1 is read, every order after
    it moves up a place, and ours (101) would slip from page 2 onto page 1, unread."""
    venue = Venue(chainup_mock, active=[item(n, side="SELL") for n in range(90, 96)])
    error = await lost(client, chainup_mock, order())
    venue.lists["1"] = [item(n, side="SELL") for n in (102, 103, 104, 105, 106, 100, 99)]
    venue.lists["1"].insert(0, item(101))  # ours, sorted in below
    moved = False

    def fill_104(which: str, page: int) -> None:
        nonlocal moved
        if which == "1" and page == 1 and not moved:
            moved = True
            venue.lists["1"] = [i for i in venue.lists["1"] if i["orderId"] != 104]
            venue.lists["3"].append(item(104, side="SELL", status=2))

    venue.after_page = fill_104
    venue.asked.clear()

    result = await client.reconcile(error, page_size=5)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 101
    assert venue.asked.count(("1", 1)) == 2  # read again once its count changed


async def test_a_first_page_that_only_looks_sorted_does_not_stop_the_reading(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """History sorted by finish time: page 1 looks newest-first and older than the
    watermark, but ours is on page 2."""
    venue = Venue(chainup_mock, history=[item(n, side="SELL") for n in (90, 80)])
    error = await lost(client, chainup_mock, order())
    assert error.watermark == 90
    venue.sort = "none"
    venue.lists["3"] = [item(70, side="SELL"), item(60, side="SELL"), item(95), item(20)]

    result = await client.reconcile(error, page_size=2)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 95


async def test_a_capped_page_size_is_asked_for_as_served(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    venue = Venue(chainup_mock, history=[item(n, side="SELL") for n in range(1, 13)], page_cap=5)
    error = await lost(client, chainup_mock, order())
    venue.lists["3"].append(item(13))
    venue.sizes.clear()

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert set(venue.sizes[1:]) <= {200, 5}  # after a capped page, ask for the served size
    assert 5 in venue.sizes


async def test_an_item_of_another_contract_never_moves_the_watermark(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    Venue(chainup_mock, active=[item(7), item(10**15, contract_id=2)])

    error = await lost(client, chainup_mock, order())

    assert error.watermark == 7


async def test_a_match_below_the_watermark_created_after_the_send_is_ambiguous(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """Ids only roughly in time order: the venue's own time says this one is new."""
    venue = Venue(chainup_mock, active=[item(50)])
    error = await lost(client, chainup_mock, order(price=Decimal("7001")))
    assert error.sent_at is not None
    venue.lists["1"].append(item(40, price="7001", ctime=int(error.sent_at * 1000) + 500))

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.AMBIGUOUS


async def test_reconcile_waits_until_the_request_can_no_longer_arrive(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """A gateway answered 502 while the venue still worked on the order: it appears 5 s
    later. Reconcile reads the lists only after the attempt deadline (20 s) and a second."""
    venue = Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    assert error.sent_at is not None
    listed_at = error.sent_at + 5

    original = venue.order_list

    def late(request: httpx.Request) -> httpx.Response:
        if clock.time() >= listed_at and not venue.lists["1"]:
            venue.lists["1"].append(item(1))
        return original(request)

    chainup_mock.post(ORDER_LIST).mock(side_effect=late)

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert clock.time() >= error.sent_at + 21.0


async def test_the_same_order_object_in_flight_twice_is_told_apart(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """Two sends of one object, both lost: one order on the venue may be either."""
    venue = Venue(chainup_mock)
    placed = order()
    first = await lost(client, chainup_mock, placed)
    second = await lost(client, chainup_mock, placed)
    venue.lists["1"].append(item(1))

    assert (await client.reconcile(first)).status is ReconcileStatus.AMBIGUOUS
    assert (await client.reconcile(second)).status is ReconcileStatus.AMBIGUOUS


async def test_a_watermark_older_than_a_minute_is_looked_for_again(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    venue = Venue(chainup_mock, active=[item(5)])
    await lost(client, chainup_mock, order())
    venue.lists["1"].append(item(9, side="SELL"))  # someone else's, meanwhile
    venue.asked.clear()
    clock.advance(61)

    error = await lost(client, chainup_mock, order(price=Decimal("7002")))

    assert error.watermark == 9
    assert ("1", 1) in venue.asked


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"window": 5}, "window"),
        ({"window": timedelta(seconds=-1)}, "window"),
        ({"tolerance": timedelta.max}, "tolerance"),
        ({"settle": timedelta(days=2)}, "settle"),
        ({"page_size": 0}, "page_size"),
        ({"max_pages": 0}, "max_pages"),
    ],
)
async def test_reconcile_refuses_arguments_it_cannot_use(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    options: dict[str, Any],
    field: str,
) -> None:
    Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())

    with pytest.raises(InvalidRequest) as caught:
        await client.reconcile(error, **options)
    assert caught.value.field == field


async def test_a_hand_built_error_with_a_strange_send_time_is_refused(
    client: ChainupContractClient,
) -> None:
    for stamp in ("x", 1e20, float("nan")):
        error = OrderStatusUnknown("lost", request=order(), sent_at=stamp)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequest) as caught:
            await client.reconcile(error)
        assert caught.value.field == "unknown"


async def test_orders_refuses_a_which_it_does_not_know(client: ChainupContractClient) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.orders(1, which=["active"])  # type: ignore[arg-type]
    assert caught.value.field == "which"


async def test_ctime_in_seconds_is_read_as_seconds(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    error, venue = await lost_without_watermark(client, chainup_mock, order())
    assert error.sent_at is not None
    venue.lists["1"].append(item(2, ctime=int(error.sent_at) + 1))  # ten digits

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED


async def test_reconcile_waits_from_the_last_send_not_the_first(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    """Three sends that never connected (10 s each), then a 502 over half a minute after the
    first: the order appears 5 s after that last send, and is found."""
    client = make_chainup_client(retry=RetryPolicy(backoff=0.0))
    venue = Venue(chainup_mock, history=[item(90, side="SELL")])
    sends: list[float] = []

    def take(request: httpx.Request) -> httpx.Response:
        sends.append(clock.time())
        if len(sends) < 4:
            clock.advance(10)
            raise httpx.ConnectTimeout("no connection", request=request)
        return httpx.Response(502, text="<html>bad gateway</html>")

    chainup_mock.post(TAKE).mock(side_effect=take)
    with pytest.raises(TakeOrderUnknown) as caught:
        await client.take_order(order())
    error = caught.value
    original = venue.order_list

    def late(request: httpx.Request) -> httpx.Response:
        if clock.time() >= sends[-1] + 5 and not venue.lists["1"]:
            venue.lists["1"].append(item(91))
        return original(request)

    chainup_mock.post(ORDER_LIST).mock(side_effect=late)

    result = await client.reconcile(error)

    assert sends[-1] - sends[0] > client.session.attempt_deadline  # the first send is long gone
    assert error.sent_at == sends[-1]
    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 91


async def test_a_short_page_that_counts_fewer_than_it_holds_is_read_on(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """Oldest first, three a page whatever is asked, and a count of 2: the count cannot tell a
    capped page from the end of the list, so the list is read on to the lost order."""
    venue = Venue(
        chainup_mock, history=[item(n, side="SELL") for n in range(1, 11)], sort="asc", page_cap=3
    )
    error = await lost(client, chainup_mock, order())
    venue.lists["3"].append(item(50))
    venue.count_bias["3"] = -9

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 50


async def test_a_page_with_more_orders_than_asked_for_leaves_the_fate_unknown(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    Venue(chainup_mock)
    error = await lost(client, chainup_mock, order())
    everything = ok({"count": 1000, "orderList": [item(n) for n in range(1000, 0, -1)]})
    chainup_mock.post(ORDER_LIST).mock(return_value=everything)

    with pytest.raises(TakeOrderUnknown, match="1000 orders, 200 were asked for"):
        await client.reconcile(error)


async def test_a_page_out_of_order_never_confirms_a_sort(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """Filled orders sorted by fill time: page 1 falls, page 2 neither falls nor rises, and
    the lost order (96, above the watermark 95) is on page 3."""
    venue = Venue(chainup_mock, filled=[item(95, side="SELL")])
    error = await lost(client, chainup_mock, order())
    assert error.watermark == 95
    venue.sort = "none"
    venue.lists["2"] = [item(n, side="SELL") for n in (94, 93, 89, 80, 85, 82)]
    venue.lists["2"] += [item(96), item(70, side="SELL"), item(60, side="SELL")]

    result = await client.reconcile(error, page_size=3)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 96


async def test_an_acknowledgement_during_the_reading_takes_its_order_out(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """An identical order of this client is in flight while the lost one is reconciled: its
    order (12) is listed, and its acknowledgement lands while the later lists are read. It is
    not the lost order; the lost one was not placed."""
    venue = Venue(chainup_mock, active=[item(10, side="SELL")])
    error = await lost(client, chainup_mock, order())
    answer = asyncio.Event()
    sent = asyncio.Event()

    async def take(request: httpx.Request) -> httpx.Response:
        sent.set()
        await answer.wait()
        return ok({"orderId": 12, "liquidationPrice": "1"})

    chainup_mock.post(TAKE).mock(side_effect=take)
    second = asyncio.create_task(client.take_order(order()))
    await sent.wait()
    venue.lists["1"].append(item(12))
    original = venue.order_list

    async def acknowledge_midway(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if venue.asked[-1][0] == "2" and not answer.is_set():
            answer.set()
            await second  # the acknowledgement is in before list 3 is read
        return response

    chainup_mock.post(ORDER_LIST).mock(side_effect=acknowledge_midway)

    result = await client.reconcile(error, settle=timedelta(0))

    assert (await second).order_id == 12
    assert result.status is ReconcileStatus.NOT_PLACED


async def test_own_orders_are_told_apart_per_contract(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    """Nothing says the venue numbers every contract's orders from one sequence: an order of
    this client with id 97 on contract 2 says nothing of order 97 on contract 1."""
    venue = Venue(chainup_mock, history=[item(90, side="SELL")])
    error = await lost(client, chainup_mock, order())
    chainup_mock.post(TAKE).mock(return_value=ok({"orderId": 97, "liquidationPrice": "1"}))
    client._ledger.looked(2, client.session.clock.monotonic())  # no look on contract 2
    await client.take_order(order(contract_id=2))
    venue.lists["1"].append(item(97))

    result = await client.reconcile(error)

    assert result.status is ReconcileStatus.PLACED
    assert result.order is not None and result.order.order_id == 97


async def test_an_identical_send_stays_in_doubt_whatever_settle_the_caller_gives(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """An order is lost; 5 s later another order is acknowledged as 5 (the new watermark);
    then an identical order is lost. The first could still have been processed after 5 was
    issued, so a match above 5 may be either, even when the caller, having waited, passes
    settle=0."""
    venue = Venue(chainup_mock)
    await lost(client, chainup_mock, order())
    clock.advance(5)
    chainup_mock.post(TAKE).mock(return_value=ok({"orderId": 5, "liquidationPrice": "1"}))
    await client.take_order(order(price=Decimal("7001")))
    clock.advance(1)
    second = await lost(client, chainup_mock, order())
    assert second.watermark == 5
    clock.advance(30)
    venue.lists["1"] += [item(5, price="7001"), item(6)]

    result = await client.reconcile(second, settle=timedelta(0))

    assert result.status is ReconcileStatus.AMBIGUOUS
    assert [c.order_id for c in result.candidates] == [6]


# --- the error carries what reconcile needs, across processes ------------------------------


def test_take_order_unknown_pickles_and_copies_with_its_attributes() -> None:
    """An error crosses process pools (a bot's workers return it): it comes back whole, its
    order and watermark with it."""
    error = TakeOrderUnknown("lost", request=order(), sent_at=1_700_000_000.5, watermark=42)
    copies = [pickle.loads(pickle.dumps(error, p)) for p in range(pickle.HIGHEST_PROTOCOL + 1)]
    for other in [*copies, copy.copy(error), copy.deepcopy(error)]:
        assert type(other) is type(error)
        assert str(other) == str(error) and other.args == error.args
        assert vars(other) == vars(error)
        assert other.outcome is error.outcome
    assert copies[-1].watermark == 42 and copies[-1].request == error.request
