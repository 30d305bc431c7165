"""Failing tests for problems found in review (see the review report for each finding).

Every test here demonstrates a bug in the current code: it is expected to FAIL until the
corresponding fix lands.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    ExchangeError,
    OrderAlreadyExists,
    OrderStatusUnknown,
    OrderWaitTimeout,
    Outcome,
    RateLimit,
    RetryPolicy,
    VirtualClock,
)
from asyncexch.bybit import BybitClient, OrderAck, RedeemOrder, StakeOrder
from tests.builders.bybit import API_KEY, API_SECRET, SERVER_MS, fail, ok

PLACE = "/v5/earn/advance/place-order"
ORDER = "/v5/earn/advance/order"
ESTIMATE = "/v5/earn/advance/get-redeem-est-amount-list"
PRODUCT = "/v5/earn/advance/product"
MakeClient = Callable[..., BybitClient]


def stake(amount: str = "100") -> StakeOrder:
    return StakeOrder(
        product_id="12999",
        coin="USDT",
        amount=Decimal(amount),
        initial_price=Decimal("68403"),
        breakeven_price=Decimal("68650"),
    )


def order_item(
    order_id: str, link: str, *, order_type: str = "Stake", amount: str = "100"
) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "orderLinkId": link,
        "productId": "12999",
        "category": "SmartLeverage",
        "orderType": order_type,
        "amount": amount,
        "status": "Pending",
        "createdTime": str(SERVER_MS),
    }


def page(*items: dict[str, Any]) -> httpx.Response:
    return ok({"category": "SmartLeverage", "nextPageCursor": "", "list": list(items)})


def link_of(request: httpx.Request) -> str:
    return str(json.loads(request.content)["orderLinkId"])


def stray_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running other than the test itself and the virtual clock's driver."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and "_drive" not in repr(task.get_coro())
    ]


# --- 1. a retry can leave long after the deadline (queue wait is not bounded) -----------------


async def test_retry_of_an_order_is_never_sent_after_the_deadline(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """The deadline is checked before the retry's backoff, not before the retry is *sent*.

    A retry re-queues at the back of the rate-limit queue; behind a long batch it leaves far
    after ``deadline``. With the old Bybit behaviour (orderLinkId deduplicated for 30 minutes)
    a retry sent after the dedupe window creates a second order.
    """
    earn = make_client(
        limits={"place_order": RateLimit(1, per=1.0)},
        retry=RetryPolicy(max_attempts=5, deadline=5.0),
    ).advance_earn
    orders = [stake() for _ in range(20)]
    first = orders[0].order_link_id
    sent_at: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        link = link_of(request)
        if link == first:
            sent_at.append(clock.monotonic())
            if len(sent_at) == 1:
                raise httpx.ReadTimeout("answer lost", request=request)
        return ok({"orderId": f"oid-{link}", "orderLinkId": link})

    bybit_mock.post(PLACE).mock(side_effect=venue)
    await earn.place_orders(orders)

    assert len(sent_at) >= 1
    assert all(at - sent_at[0] <= 5.0 for at in sent_at), (
        f"order 0 resent {sent_at[-1] - sent_at[0]:.1f} s after its first attempt; deadline 5 s"
    )


def test_retry_policy_refuses_a_deadline_beyond_the_dedupe_window() -> None:
    """DESIGN: retries are bounded by a deadline shorter than the venue's 30-minute dedupe
    window; RetryPolicy accepts any deadline (and negative backoffs)."""
    with pytest.raises(ValueError):
        RetryPolicy(deadline=45 * 60)


# --- 2. 180025 whose lookup fails surfaces a misleading error ---------------------------------


async def test_already_exists_with_failing_lookup_is_not_reported_as_not_processed(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """Bybit said the orderLinkId exists, so *an* order exists; the lookup then cannot connect.

    place_order raises the lookup's ``TransportError(outcome=NOT_PROCESSED)``: the caller is told
    the venue did nothing, and a bot that re-places with a fresh id doubles the order.
    """
    order = stake()
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    bybit_mock.get(ORDER).mock(side_effect=httpx.ConnectError("no route"))
    client = make_client()

    with pytest.raises(ExchangeError) as caught:
        await client.advance_earn.place_order(order)
    assert caught.value.outcome is not Outcome.NOT_PROCESSED
    assert isinstance(caught.value, OrderStatusUnknown)


# --- 3. redeem orders under a reused id are never told apart ----------------------------------


async def test_redeem_under_a_reused_id_with_a_different_amount_is_already_exists(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """_same_order ignores the amount of a RedeemOrder (DESIGN: compare product, type, amount).

    A second redeem (another position, another amount) reusing an intent-key id gets the first
    redeem's acknowledgement: the caller believes the second position is being redeemed.
    """
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
        return_value=page(order_item("first-redeem", link, order_type="Redeem", amount="100"))
    )
    client = make_client()

    with pytest.raises(OrderAlreadyExists):
        await client.advance_earn.place_order(second)


# --- 4. a placed order whose ack cannot be decoded looks like a failure ------------------------


async def test_accepted_order_with_unreadable_ack_is_not_a_plain_malformed_response(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """retCode 0 means the order was placed; the ack body lacks orderId.

    The decode failure happens outside the retry/reconcile path, so place_order raises a plain
    MalformedResponse for an order that exists (not OrderStatusUnknown, no lookup).
    """
    order = stake()
    bybit_mock.post(PLACE).mock(return_value=ok({"orderLinkId": order.order_link_id}))
    lookup = bybit_mock.get(ORDER).mock(return_value=page(order_item("oid-1", order.order_link_id)))
    client = make_client()

    try:
        result: object = await client.advance_earn.place_order(order)
    except ExchangeError as error:
        result = error
    assert isinstance(result, (OrderAck, OrderStatusUnknown)), repr(result)
    if isinstance(result, OrderAck):
        assert lookup.called


# --- 5. wait_for_order overruns its timeout ---------------------------------------------------


async def test_wait_for_order_honours_its_timeout(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """One poll can take as long as the retry layer allows (here a 30 s rate-limit reset)."""
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
        return next(answers, None) or page(order_item("oid-1", "link-1"))

    bybit_mock.get(ORDER).mock(side_effect=venue)
    client = make_client()
    started = clock.monotonic()

    with pytest.raises(OrderWaitTimeout):
        await client.advance_earn.wait_for_order("oid-1", timeout=2.0)
    assert clock.monotonic() - started <= 2.5


# --- 6. redeem_estimates leaves its other requests running after one fails ---------------------


async def test_redeem_estimates_leaves_no_task_behind_when_a_chunk_fails(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """asyncio.gather does not cancel siblings: the other chunks keep running (and keep taking
    rate-limit capacity) after redeem_estimates has already raised."""
    seen: list[str] = []

    async def venue(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["positionIds"]
        seen.append(ids)
        if ids.startswith("1"):
            return fail(180020, "Position not found")
        await clock.sleep(5.0)
        return ok({"list": []})

    bybit_mock.get(ESTIMATE).mock(side_effect=venue)
    client = make_client()
    ids = ["1", "1", "1", "1", "1", "2", "2"]

    with pytest.raises(ExchangeError):
        await client.advance_earn.redeem_estimates(ids)
    leftovers = stray_tasks()
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    assert leftovers == []


# --- 7. raw exceptions from garbage in an answer; place_orders then leaks its tasks ------------


#: A ``Timenow`` header of "²" (U+00B2, as a proxy might garble it): ``"²".isdigit()`` is true.
SUPERSCRIPT_TWO = [(b"Timenow", "\u00b2".encode("utf-8"))]


def envelope(result: Any, *, time: int = SERVER_MS, headers: Any = None) -> httpx.Response:
    body = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time}
    return httpx.Response(200, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize(
    "headers, time",
    [(SUPERSCRIPT_TWO, SERVER_MS), (None, 10**400)],
    ids=["superscript-digit-header", "huge-envelope-time"],
)
async def test_garbage_numbers_in_an_answer_are_typed_errors(
    make_client: MakeClient,
    bybit_mock: respx.MockRouter,
    headers: Any,
    time: int,
) -> None:
    """int("²") raises ValueError in _header_int; float(10**400) overflows in ServerTime.observe."""
    bybit_mock.get(PRODUCT).mock(
        return_value=envelope({"category": "SmartLeverage", "list": []}, time=time, headers=headers)
    )
    client = make_client()

    try:
        await client.advance_earn.products()
    except ExchangeError:
        pass  # a typed error (or success) is fine


async def test_place_orders_sends_nothing_after_it_has_raised(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """One order's non-ExchangeError escapes the bare asyncio.gather; the orders still queued in
    the rate limiter are neither cancelled nor awaited, and go on to be placed after
    place_orders has already raised (and the caller's report is final)."""
    orders = [stake() for _ in range(4)]
    bad = orders[0].order_link_id
    arrived: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        link = link_of(request)
        arrived.append(clock.monotonic())
        if link == bad:
            return envelope({"orderId": "x", "orderLinkId": link}, headers=SUPERSCRIPT_TWO)
        return ok({"orderId": f"oid-{link}", "orderLinkId": link})

    bybit_mock.post(PLACE).mock(side_effect=venue)
    client = make_client(limits={"place_order": RateLimit(1, per=1.0)})

    try:
        await client.advance_earn.place_orders(orders)
    except Exception:
        pass  # currently a raw ValueError from order 0; the point is what happens next
    returned_at = clock.monotonic()
    await clock.sleep(10.0)
    leftovers = stray_tasks()
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    late = [at for at in arrived if at > returned_at]
    assert late == [], f"{len(late)} orders reached the venue after place_orders returned"


# --- 8. the IP-wide pool is keyed by host, but Bybit counts it per IP across hosts -------------


async def test_ip_pool_is_shared_across_bybit_hosts(clock: VirtualClock) -> None:
    """api.bybit.com and api.bytick.com share the 600/5 s IP limit (reference section 3);
    clients on the two hosts get separate buckets and together exceed it."""
    times: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        times.append(clock.monotonic())
        return ok({"category": "SmartLeverage", "list": []})

    transport = httpx.MockTransport(venue)
    limits = {"ip": RateLimit(2, per=5.0)}
    clients = [
        BybitClient(
            API_KEY, API_SECRET, base_url=url, clock=clock, transport=transport, limits=limits
        )
        for url in ("https://api.bybit.com", "https://api.bytick.com")
    ]
    try:
        await asyncio.gather(*(c.advance_earn.products() for c in clients for _ in range(2)))
    finally:
        for c in clients:
            await c.aclose()
    in_first_window = [t for t in times if t < times[0] + 5.0]
    assert len(in_first_window) <= 2, times


# --- 9. from_estimate's default "now" is not the client's clock --------------------------------


async def test_from_estimate_default_now_agrees_with_the_clock_that_stamped_it(
    clock: VirtualClock, make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    """fetched_at comes from the injected clock, the age check from datetime.now(): under a
    virtual clock (tests, the simulator) the documented call refuses a fresh estimate."""
    bybit_mock.get(ESTIMATE).mock(
        return_value=ok(
            {"list": [{"success": True, "positionId": "1277", "estRedeemAmount": "76.8"}]}
        )
    )
    client = make_client()
    (estimate,) = await client.advance_earn.redeem_estimates(["1277"])
    assert estimate.fetched_at == datetime.fromtimestamp(clock.time(), timezone.utc)

    RedeemOrder.from_estimate(estimate, product_id="12999")  # fresh: must not raise
