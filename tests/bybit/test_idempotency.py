"""No order placed twice: ``place_order`` retries with one orderLinkId and reconciles.

Both Bybit behaviours for a repeated orderLinkId are covered: the old one (the same orderId
again) and the new one ("already exists", after which the client looks the order up). Bybit
documents no code for it, so the duplicate is answered with each code it could use: 180025,
180031, 10014 and a code the client does not know. Every scenario also checks that the venue
only ever saw one orderLinkId.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    ApiError,
    BadParameter,
    ExchangeError,
    InsufficientBalance,
    MalformedResponse,
    OrderAlreadyExists,
    OrderStatusUnknown,
    Outcome,
    PermissionDenied,
    RateLimit,
    RetryPolicy,
    ServiceUnavailable,
    SlippageExceeded,
    TransportError,
    VirtualClock,
)
from asyncexch.bybit import BybitClient, OrderAck, RedeemOrder, StakeOrder
from tests.builders.bybit import (
    ORDER,
    PLACE,
    PRODUCT_ID,
    SERVER_MS,
    fail,
    ok,
    page,
    redeem_order,
    stake_order,
)

ORDER_ID = "97f198e9-b14b-4703-b4a6-a4aa06ba1499"
Answer = Callable[[], Any]


def order_info(
    order: StakeOrder,
    *,
    order_id: str = ORDER_ID,
    amount: str | None = None,
    product_id: str | None = None,
    order_type: str = "Stake",
    order_link_id: str | None = None,
) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "orderLinkId": order.order_link_id if order_link_id is None else order_link_id,
        "productId": order.product_id if product_id is None else product_id,
        "category": "SmartLeverage",
        "orderType": order_type,
        "amount": format(order.amount, "f") if amount is None else amount,
        "status": "Pending",
        "createdTime": str(SERVER_MS),
        "accountType": "FUND",
        "investCoin": "USDT",
    }


class Venue:
    """Records place-order and order-lookup requests; answers from scripted lists."""

    def __init__(
        self,
        router: respx.MockRouter,
        place: list[Answer],
        lookup: list[Answer] | None = None,
    ) -> None:
        self.place_answers = place
        self.lookup_answers = lookup or [lambda: page()]
        self.placed: list[httpx.Request] = []
        self.lookups: list[httpx.Request] = []
        router.post(PLACE).mock(side_effect=self._place)
        router.get(ORDER).mock(side_effect=self._lookup)

    @staticmethod
    def _answer(answers: list[Answer], count: int, request: httpx.Request) -> httpx.Response:
        answer = answers[min(count, len(answers)) - 1]()
        if isinstance(answer, type) and issubclass(answer, httpx.RequestError):
            raise answer("mock failure", request=request)
        assert isinstance(answer, httpx.Response)
        return answer

    def _place(self, request: httpx.Request) -> httpx.Response:
        self.placed.append(request)
        return self._answer(self.place_answers, len(self.placed), request)

    def _lookup(self, request: httpx.Request) -> httpx.Response:
        self.lookups.append(request)
        return self._answer(self.lookup_answers, len(self.lookups), request)

    @property
    def bodies(self) -> list[bytes]:
        return [request.content for request in self.placed]

    def link_ids(self) -> set[str]:
        """Every orderLinkId the venue saw, in orders and in lookups."""
        ids = {json.loads(body)["orderLinkId"] for body in self.bodies}
        ids |= {
            request.url.params["orderLinkId"]
            for request in self.lookups
            if "orderLinkId" in request.url.params
        }
        return ids


def ack(order: StakeOrder, order_id: str = ORDER_ID) -> httpx.Response:
    return ok({"orderId": order_id, "orderLinkId": order.order_link_id})


AMBIGUOUS: dict[str, Answer] = {
    "ReadTimeout": lambda: httpx.ReadTimeout,
    "RemoteProtocolError": lambda: httpx.RemoteProtocolError,
    "10000": lambda: fail(10000, "Server Timeout"),
    "10016": lambda: fail(10016, "service restarting"),
    "502": lambda: httpx.Response(502, text="<html>502 Bad Gateway</html>"),
}
#: A code Bybit's error table does not have (its trade API's "OrderLinkedID is duplicate").
UNDOCUMENTED = 110072
ALREADY: dict[str, Answer] = {
    "180025": lambda: fail(180025, "Order already exists"),
    "180031": lambda: fail(180031, "Duplicate order"),
    "10014": lambda: fail(10014, "Invalid duplicate request"),
    "undocumented": lambda: fail(UNDOCUMENTED, "orderLinkId already exists"),
}


@pytest.fixture
def order() -> StakeOrder:
    return stake_order()


# --- old server: the same orderId again --------------------------------------------------------


@pytest.mark.parametrize("first", list(AMBIGUOUS.values()), ids=list(AMBIGUOUS))
async def test_old_server_returns_the_same_order_id(
    first: Answer,
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(bybit_mock, [first, lambda: ack(order)])
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result == OrderAck(order_id=ORDER_ID, order_link_id=order.order_link_id)
    assert len(venue.placed) == 2
    assert venue.bodies[0] == venue.bodies[1]  # byte for byte: same order, same id
    assert venue.lookups == []
    assert venue.link_ids() == {order.order_link_id}


async def test_order_body_is_the_documented_request(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(bybit_mock, [lambda: ack(order)])
    client = make_client()

    await client.advance_earn.place_order(order)

    assert json.loads(venue.bodies[0]) == {
        "category": "SmartLeverage",
        "productId": "12999",
        "coin": "USDT",
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "orderLinkId": order.order_link_id,
        "smartLeverageStakeExtra": {"initialPrice": "68403", "breakevenPrice": "68650"},
    }


# --- new server: "already exists", then a lookup ---------------------------------------------


@pytest.mark.parametrize("exists", list(ALREADY.values()), ids=list(ALREADY))
@pytest.mark.parametrize("first", list(AMBIGUOUS.values()), ids=list(AMBIGUOUS))
async def test_new_server_already_exists_is_reconciled_by_lookup(
    first: Answer,
    exists: Answer,
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(bybit_mock, [first, exists], [lambda: page(order_info(order))])
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result == OrderAck(order_id=ORDER_ID, order_link_id=order.order_link_id)
    assert len(venue.placed) == 2
    assert venue.bodies[0] == venue.bodies[1]
    assert len(venue.lookups) == 1
    params = venue.lookups[0].url.params
    assert params["orderLinkId"] == order.order_link_id
    assert params["category"] == "SmartLeverage"
    assert "X-BAPI-SIGN" in venue.lookups[0].headers
    assert venue.link_ids() == {order.order_link_id}


async def test_already_exists_on_the_first_attempt_is_reconciled(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """An earlier call (a restarted bot, the same order object) already placed it."""
    venue = Venue(bybit_mock, [ALREADY["180025"]], [lambda: page(order_info(order))])
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result.order_id == ORDER_ID
    assert len(venue.placed) == 1
    assert venue.link_ids() == {order.order_link_id}


async def test_order_becomes_visible_on_a_later_lookup(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(
        bybit_mock,
        [AMBIGUOUS["ReadTimeout"], ALREADY["180025"]],
        [lambda: page(), lambda: page(), lambda: page(order_info(order))],
    )
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result.order_id == ORDER_ID
    assert len(venue.lookups) == 3
    assert venue.link_ids() == {order.order_link_id}


@pytest.mark.parametrize(
    "difference",
    [
        {"amount": "101"},
        {"amount": "100.00000001"},
        {"product_id": "13000"},
        {"order_type": "Redeem"},
    ],
    ids=["amount", "amount-tiny", "product", "type"],
)
@pytest.mark.parametrize("exists", list(ALREADY.values()), ids=list(ALREADY))
async def test_a_different_order_under_the_id_raises_already_exists(
    difference: dict[str, str],
    exists: Answer,
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    other = order_info(order, order_id="someone-else", **difference)
    venue = Venue(bybit_mock, [AMBIGUOUS["ReadTimeout"], exists], [lambda: page(other)])
    client = make_client()

    with pytest.raises(OrderAlreadyExists) as info:
        await client.advance_earn.place_order(order)

    assert type(info.value) is OrderAlreadyExists
    assert info.value.venue == "bybit"
    assert "someone-else" in str(info.value)
    assert isinstance(info.value.__cause__, ApiError)  # the venue's refusal
    assert info.value.code == info.value.__cause__.code
    assert len(venue.placed) == 2
    assert venue.link_ids() == {order.order_link_id}


async def test_same_amount_written_differently_is_the_same_order(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(
        bybit_mock,
        [AMBIGUOUS["10000"], ALREADY["180025"]],
        [lambda: page(order_info(order, amount="100.000"))],
    )
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result.order_id == ORDER_ID
    assert venue.link_ids() == {order.order_link_id}


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: page(),
        # a server that ignores the filter: an order with another id is not ours
        lambda: page(
            {
                "orderId": "x",
                "orderLinkId": "someone-elses-id",
                "productId": "12999",
                "orderType": "Stake",
                "amount": "100",
                "status": "Success",
                "createdTime": str(SERVER_MS),
            }
        ),
    ],
    ids=["empty", "other-link-id"],
)
async def test_already_exists_but_not_found_is_status_unknown(
    lookup: Answer,
    clock: VirtualClock,
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(bybit_mock, [AMBIGUOUS["ReadTimeout"], ALREADY["180025"]], [lookup])
    client = make_client()

    with pytest.raises(OrderStatusUnknown) as info:
        await client.advance_earn.place_order(order)

    assert info.value.request is order
    assert isinstance(info.value.__cause__, OrderAlreadyExists)
    # The message says what to check before acting.
    assert f"orders(order_link_id={order.order_link_id!r})" in str(info.value)
    assert "no order with it was found in 4 lookups over 1.5 s" in str(info.value)
    assert len(venue.lookups) == 4  # spaced out (jittered) over 1.5 s
    assert clock.monotonic() >= 1.5
    assert len(venue.placed) == 2
    assert {r.url.params["orderLinkId"] for r in venue.lookups} == {order.order_link_id}


async def test_already_exists_with_failing_lookup_is_not_reported_as_not_processed(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    """Bybit said the orderLinkId exists, so *an* order exists; the lookup then cannot connect.

    The lookup's ``TransportError(outcome=NOT_PROCESSED)`` must not be what the caller sees:
    told the venue did nothing, a bot that re-places with a fresh id doubles the order.
    """
    order = stake_order()
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    bybit_mock.get(ORDER).mock(side_effect=httpx.ConnectError("no route"))
    client = make_client()

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.advance_earn.place_order(order)
    assert type(caught.value) is OrderStatusUnknown
    assert caught.value.outcome is Outcome.UNKNOWN
    assert caught.value.request is order
    assert type(caught.value.__cause__) is TransportError  # the lookup's, kept as the cause
    assert caught.value.__cause__.outcome is Outcome.NOT_PROCESSED


async def test_accepted_order_with_unreadable_ack_is_not_a_plain_malformed_response(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    """retCode 0 means the order was placed; the ack body lacks orderId.

    The decode failure must go through the reconcile path: a plain MalformedResponse would
    report a failure for an order that exists.
    """
    order = stake_order()
    bybit_mock.post(PLACE).mock(return_value=ok({"orderLinkId": order.order_link_id}))
    lookup = bybit_mock.get(ORDER).mock(return_value=page(order_info(order, order_id="oid-1")))
    client = make_client()

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.advance_earn.place_order(order)
    assert type(caught.value) is OrderStatusUnknown
    assert caught.value.outcome is Outcome.UNKNOWN
    assert caught.value.request is order
    assert type(caught.value.__cause__) is MalformedResponse
    assert "the venue accepted the request but its answer is unreadable" in str(caught.value)
    assert bybit_mock.calls.call_count == 1  # accepted: never sent again
    assert lookup.call_count == 0


# --- every attempt ambiguous -------------------------------------------------------------------


async def test_every_attempt_ambiguous_is_status_unknown_and_replaying_is_safe(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(
        bybit_mock,
        [
            AMBIGUOUS["ReadTimeout"],
            AMBIGUOUS["502"],
            AMBIGUOUS["10000"],
            lambda: ack(order),
        ],
    )
    client = make_client(retry=RetryPolicy(max_attempts=3))

    with pytest.raises(OrderStatusUnknown) as info:
        await client.advance_earn.place_order(order)

    assert info.value.request is order
    cause = info.value.__cause__
    assert isinstance(cause, ServiceUnavailable)
    assert cause.code == 10000  # the last attempt's error
    assert len(venue.placed) == 3

    # Placing the same object again tells the truth, with the same orderLinkId.
    result = await client.advance_earn.place_order(order)

    assert result == OrderAck(order_id=ORDER_ID, order_link_id=order.order_link_id)
    assert len(venue.placed) == 4
    assert len(set(venue.bodies)) == 1
    assert venue.link_ids() == {order.order_link_id}


REFUSED_AFTER: dict[str, Answer] = {
    "180016": lambda: fail(180016, "Balance not enough"),
    "180030": lambda: fail(180030, "Slippage fail"),
    "http-400": lambda: httpx.Response(400, text="Bad Request"),
    **ALREADY,
}


@pytest.mark.parametrize("refusal", list(REFUSED_AFTER.values()), ids=list(REFUSED_AFTER))
async def test_any_refusal_after_an_ambiguous_attempt_is_checked_by_lookup(
    refusal: Answer,
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first attempt placed the order (its answer was lost); the resend is refused for a
    reason the placed order explains (its balance is taken, the price moved, the id exists):
    the lookup finds the order, which is placed."""
    venue = Venue(
        bybit_mock, [AMBIGUOUS["ReadTimeout"], refusal], [lambda: page(order_info(order))]
    )
    client = make_client()

    with caplog.at_level(logging.INFO, logger="asyncexch"):
        result = await client.advance_earn.place_order(order)

    assert result == OrderAck(order_id=ORDER_ID, order_link_id=order.order_link_id)
    assert len(venue.placed) == 2
    assert len(venue.lookups) == 1
    assert venue.link_ids() == {order.order_link_id}
    looked_up = [r for r in caplog.records if r.levelno == logging.INFO and "looking" in r.msg]
    assert len(looked_up) == 1
    assert order.order_link_id in looked_up[0].getMessage()


@pytest.mark.parametrize(
    ("refusal", "error_type"),
    [
        (REFUSED_AFTER["180016"], InsufficientBalance),
        (REFUSED_AFTER["http-400"], BadParameter),
        (ALREADY["undocumented"], ApiError),
    ],
    ids=["180016", "http-400", "undocumented"],
)
async def test_refusal_after_an_ambiguous_attempt_stands_when_nothing_is_placed(
    refusal: Answer,
    error_type: type[ApiError],
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """The timeout was before the venue acted: no order under the id, the refusal stands."""
    venue = Venue(bybit_mock, [AMBIGUOUS["ReadTimeout"], refusal])
    client = make_client()

    with pytest.raises(ApiError) as info:
        await client.advance_earn.place_order(order)

    expected = refusal()
    assert type(info.value) is error_type
    assert info.value.http_status == expected.status_code
    assert info.value.outcome is Outcome.FAILED
    assert len(venue.placed) == 2
    assert len(venue.lookups) == 4  # looked for it four times over 1.5 s before believing it absent
    assert venue.link_ids() == {order.order_link_id}


async def test_undocumented_refusal_of_a_first_attempt_is_checked_by_lookup(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """A restarted bot places an intent it placed before: the venue's "already exists" comes
    in a code the client does not know, and the lookup shows the order is placed."""
    venue = Venue(bybit_mock, [ALREADY["undocumented"]], [lambda: page(order_info(order))])
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result.order_id == ORDER_ID
    assert len(venue.placed) == 1 and len(venue.lookups) == 1


async def test_refusal_of_an_id_that_ended_unknown_earlier_is_checked_by_lookup(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """place_order ended OrderStatusUnknown; placing the same object again meets a documented
    refusal (the first call took the balance): the client looks before believing it."""
    venue = Venue(
        bybit_mock,
        [AMBIGUOUS["ReadTimeout"], AMBIGUOUS["ReadTimeout"], REFUSED_AFTER["180016"]],
        [lambda: page(order_info(order))],
    )
    client = make_client(retry=RetryPolicy(max_attempts=2))

    with pytest.raises(OrderStatusUnknown):
        await client.advance_earn.place_order(order)
    result = await client.advance_earn.place_order(order)

    assert result.order_id == ORDER_ID
    assert len(venue.placed) == 3 and len(venue.lookups) == 1
    assert venue.link_ids() == {order.order_link_id}


async def test_documented_refusal_of_a_fresh_order_is_not_looked_up(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(bybit_mock, [REFUSED_AFTER["180030"]])
    client = make_client()

    with pytest.raises(SlippageExceeded):
        await client.advance_earn.place_order(order)

    assert venue.lookups == []


async def test_lookup_failure_after_a_refusal_is_status_unknown(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(
        bybit_mock,
        [AMBIGUOUS["ReadTimeout"], REFUSED_AFTER["180016"]],
        [lambda: fail(10005, "Permission denied")],
    )
    client = make_client()

    with pytest.raises(OrderStatusUnknown) as info:
        await client.advance_earn.place_order(order)

    assert info.value.request is order
    assert "looking it up failed" in str(info.value)
    assert len(venue.placed) == 2
    assert venue.link_ids() == {order.order_link_id}


async def test_never_sent_is_not_status_unknown(
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """Connection refused on every attempt: nothing reached the venue, so the answer is the
    transport error itself, not an unknown order status."""
    venue = Venue(bybit_mock, [lambda: httpx.ConnectError])
    client = make_client(retry=RetryPolicy(max_attempts=3))

    with pytest.raises(ExchangeError) as info:
        await client.advance_earn.place_order(order)

    assert type(info.value) is TransportError
    assert len(venue.placed) == 3
    assert venue.link_ids() == {order.order_link_id}


# --- refused outright ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"), [(180016, InsufficientBalance), (10001, ExchangeError)], ids=str
)
async def test_failed_answer_raises_at_once_without_lookup(
    code: int,
    cls: type[ExchangeError],
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    venue = Venue(bybit_mock, [lambda: fail(code, "refused"), lambda: ack(order)])
    client = make_client()

    with pytest.raises(cls) as info:
        await client.advance_earn.place_order(order)

    assert not isinstance(info.value, OrderStatusUnknown)
    assert getattr(info.value, "code", None) == code
    assert len(venue.placed) == 1
    assert venue.lookups == []
    assert venue.link_ids() == {order.order_link_id}


async def test_distinct_orders_get_distinct_link_ids(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    first, second = stake_order(), stake_order()
    seen: list[str] = []
    bybit_mock.post(PLACE).mock(side_effect=counting_acks(seen))
    client = make_client()

    await client.advance_earn.place_order(first)
    await client.advance_earn.place_order(second)

    assert seen == [first.order_link_id, second.order_link_id]
    assert first.order_link_id != second.order_link_id


async def test_an_acknowledgement_of_another_order_link_id_is_not_success(
    order: StakeOrder, make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    Venue(bybit_mock, [lambda: ok({"orderId": "a", "orderLinkId": "someone-else"})])
    client = make_client()

    with pytest.raises(OrderStatusUnknown, match="someone-else") as caught:
        await client.advance_earn.place_order(order)

    assert caught.value.request is order


# --- cancellation while waiting for the rate limiter -----------------------------------------


def extra_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task not in before and not task.done()}


async def settle(before: set[asyncio.Task[Any]]) -> None:
    """Let finished machinery (the virtual clock's driver) wind down, without sleeping."""
    for _ in range(500):
        if not extra_tasks(before):
            return
        await asyncio.sleep(0)


def counting_acks(venue_orders: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        link_id = json.loads(request.content)["orderLinkId"]
        venue_orders.append(link_id)
        return ok({"orderId": f"id-{link_id}", "orderLinkId": link_id})

    return answer


def spy_sleeps(clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every wait asked of the clock (the limiter waits through it)."""
    asked: list[float] = []
    real: Callable[[float], Awaitable[None]] = clock.sleep

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await real(seconds)

    monkeypatch.setattr(clock, "sleep", sleep)
    return asked


async def test_cancel_while_waiting_in_the_rate_limiter_sends_nothing(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = set(asyncio.all_tasks())
    asked = spy_sleeps(clock, monkeypatch)
    seen: list[str] = []
    bybit_mock.post(PLACE).mock(side_effect=counting_acks(seen))
    client = make_client(limits={"place_order": RateLimit(1, per=10.0)})
    first, cancelled, after = stake_order(), stake_order(), stake_order()

    await client.advance_earn.place_order(first)  # takes the bucket's only slot
    task = asyncio.ensure_future(client.advance_earn.place_order(cancelled))
    for _ in range(5):
        await asyncio.sleep(0)  # let it reach the limiter and wait there
    assert not task.done()
    assert clock.monotonic() == 0.0
    assert len(asked) == 1 and 9.9 <= asked[0] <= 10.1  # parked in the limiter for the slot
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await settle(before)
    assert extra_tasks(before) == set()
    assert seen == [first.order_link_id]

    result = await asyncio.wait_for(client.advance_earn.place_order(after), timeout=30)

    assert result.order_link_id == after.order_link_id
    assert seen == [first.order_link_id, after.order_link_id]
    assert 10.0 <= clock.monotonic() <= 10.5  # waited for the slot, nothing more
    await settle(before)
    assert extra_tasks(before) == set()


async def test_cancel_a_queued_waiter_keeps_the_queue_moving(
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    before = set(asyncio.all_tasks())
    seen: list[str] = []
    bybit_mock.post(PLACE).mock(side_effect=counting_acks(seen))
    client = make_client(limits={"place_order": RateLimit(1, per=10.0)})
    orders = [stake_order() for _ in range(4)]

    await client.advance_earn.place_order(orders[0])
    head = asyncio.ensure_future(client.advance_earn.place_order(orders[1]))
    queued = asyncio.ensure_future(client.advance_earn.place_order(orders[2]))
    last = asyncio.ensure_future(client.advance_earn.place_order(orders[3]))
    for _ in range(5):
        await asyncio.sleep(0)
    queued.cancel()

    done = await asyncio.wait_for(
        asyncio.gather(head, queued, last, return_exceptions=True), timeout=30
    )

    assert isinstance(done[1], asyncio.CancelledError)
    assert [r.order_link_id for r in done if isinstance(r, OrderAck)] == [
        orders[1].order_link_id,
        orders[3].order_link_id,
    ]
    assert seen == [orders[0].order_link_id, orders[1].order_link_id, orders[3].order_link_id]
    await settle(before)
    assert extra_tasks(before) == set()


# --- redeems: Bybit records them with the staked amount ------------------------------------------


def redeem(amount: str | None = None) -> RedeemOrder:
    """The reference's redeem, with the staked ``amount`` (and its coin) when given."""
    if amount is None:
        return redeem_order()
    return redeem_order(amount=Decimal(amount), coin="USDT")


def redeem_info(order: RedeemOrder, amount: str) -> dict[str, Any]:
    """The venue's record of a redeem, as in Bybit's order example: the staked amount."""
    return {
        "orderId": ORDER_ID,
        "orderLinkId": order.order_link_id,
        "productId": "12999",
        "category": "SmartLeverage",
        "orderType": "Redeem",
        "amount": amount,
        "status": "Pending",
        "createdTime": str(SERVER_MS),
    }


@pytest.mark.parametrize("staked", [None, "100"], ids=["from-estimate", "from-position"])
async def test_a_redeem_whose_answer_was_lost_is_recognised_by_the_staked_amount(
    staked: str | None,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    """The found order's amount is the staked 100, not the 77.8469 estimate: it is still
    the caller's own redeem."""
    order = redeem(staked)
    venue = Venue(
        bybit_mock,
        [AMBIGUOUS["RemoteProtocolError"], ALREADY["180025"]],
        [lambda: page(redeem_info(order, "100"))],
    )
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result == OrderAck(order_id=ORDER_ID, order_link_id=order.order_link_id)
    assert len(venue.placed) == 2


@pytest.mark.parametrize(
    "found",
    [{"amount": "250"}, {"productId": "13000"}, {"orderType": "Stake"}],
    ids=["another-staked-amount", "another-product", "a-stake"],
)
async def test_another_order_under_a_redeems_id_is_already_exists(
    found: dict[str, str],
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    order = redeem("100")
    Venue(
        bybit_mock,
        [AMBIGUOUS["ReadTimeout"], ALREADY["180025"]],
        [lambda: page({**redeem_info(order, "100"), **found})],
    )
    client = make_client()

    with pytest.raises(OrderAlreadyExists):
        await client.advance_earn.place_order(order)


async def test_redeem_under_a_reused_id_with_a_different_amount_is_already_exists(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    """A redeem is compared by product, type *and amount*: a second redeem (another position,
    another amount) reusing an intent-key id must not get the first redeem's acknowledgement,
    or the caller believes the second position is being redeemed."""
    link = "redeem-intent-1"
    second = RedeemOrder(
        product_id="12999",
        position_id="2000",
        est_redeem_amount=Decimal("190"),
        amount=Decimal("200"),
        order_link_id=link,
    )
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    bybit_mock.get(ORDER).mock(
        return_value=page({**redeem_info(second, "100"), "orderId": "first-redeem"})
    )
    client = make_client()

    with pytest.raises(OrderAlreadyExists):
        await client.advance_earn.place_order(second)


# --- an id whose call ended without a definite answer is checked next time -----------------------


@pytest.mark.parametrize(
    ("first_call", "first_lookups", "first_end"),
    [
        # The lookup after the refusal failed: unknown.
        (
            [AMBIGUOUS["ReadTimeout"], REFUSED_AFTER["180016"]],
            [lambda: fail(10005, "denied")],
            (OrderStatusUnknown, PermissionDenied),
        ),
        # The venue said "exists", no lookup found it (not visible yet): unknown.
        (
            [AMBIGUOUS["ReadTimeout"], ALREADY["180025"]],
            [lambda: page()] * 4,
            (OrderStatusUnknown, OrderAlreadyExists),
        ),
        # Refused after a timeout, not found in 1.5 s: the refusal stood, but the order was
        # placed and became visible later.
        (
            [AMBIGUOUS["ReadTimeout"], REFUSED_AFTER["180030"]],
            [lambda: page()] * 4,
            (SlippageExceeded, type(None)),
        ),
    ],
    ids=["lookup-failed", "exists-not-found", "refusal-stood"],
)
async def test_placing_again_after_an_uncertain_end_looks_before_believing_a_refusal(
    first_call: list[Answer],
    first_lookups: list[Answer],
    first_end: tuple[type[ExchangeError], type[BaseException | None]],
    order: StakeOrder,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    lookups = [*first_lookups, lambda: page(order_info(order))]
    venue = Venue(bybit_mock, [*first_call, REFUSED_AFTER["180030"]], lookups)
    client = make_client()

    with pytest.raises(ExchangeError) as first:
        await client.advance_earn.place_order(order)
    assert (type(first.value), type(first.value.__cause__)) == first_end
    looked = len(venue.lookups)
    result = await client.advance_earn.place_order(order)  # its balance gone, the price moved

    assert result == OrderAck(order_id=ORDER_ID, order_link_id=order.order_link_id)
    assert len(venue.lookups) == looked + 1
    assert venue.link_ids() == {order.order_link_id}


async def test_placing_again_after_a_cancellation_in_flight_looks_before_believing_a_refusal(
    order: StakeOrder,
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    arrived = asyncio.Event()

    async def slow_commit(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await clock.sleep(60)  # the venue has it; the answer never comes back in time
        return ack(order)

    answers = iter([slow_commit])

    async def place(request: httpx.Request) -> httpx.Response:
        step = next(answers, None)
        if step is not None:
            return await step(request)
        return fail(180030, "Slippage fail")

    bybit_mock.post(PLACE).mock(side_effect=place)
    lookups = bybit_mock.get(ORDER).mock(return_value=page(order_info(order)))
    client = make_client()

    task = asyncio.ensure_future(client.advance_earn.place_order(order))
    await arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = await client.advance_earn.place_order(order)

    assert result.order_id == ORDER_ID
    assert lookups.call_count == 1


async def test_an_unknown_from_the_lookup_path_carries_the_send_time(
    order: StakeOrder,
    clock: VirtualClock,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    Venue(bybit_mock, [ALREADY["180025"]], [lambda: page()])
    client = make_client()

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.advance_earn.place_order(order)

    assert caught.value.sent_at == clock.time() - 1.5  # sent, then 4 lookups 0.5 s apart


# --- what the log says ---------------------------------------------------------------------------


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asyncexch" and r.levelno == level]


async def test_a_lookup_after_a_refusal_is_logged_at_info(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "duplicate"))
    info = {
        "orderId": "9001",
        "orderLinkId": "log-me-1",
        "productId": PRODUCT_ID,
        "category": "SmartLeverage",
        "orderType": "Stake",
        "amount": "100",
        "status": "Pending",
        "createdTime": str(SERVER_MS),
        "accountType": "FUND",
        "investCoin": "USDT",
    }
    bybit_mock.get(ORDER).mock(return_value=page(info))

    await make_client().advance_earn.place_order(stake_order(order_link_id="log-me-1"))

    said = lines(caplog, logging.INFO)
    assert any("orderLinkId log-me-1 refused" in line for line in said)
    assert any("orderLinkId log-me-1 is already placed as 9001" in line for line in said)
