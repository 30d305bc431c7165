"""``place_order``/``place_orders`` refuse an order whose quote expired, before sending it: an
order built from a quote keeps the quote's expiry (``quote_expires_at``, never sent), and
its first send is checked against it, with 2 s to spare, on the venue's clock as the client
knows it; in a paced batch, as each order's turn comes. Every Advance Earn category that
stakes at a quote, on virtual time against respx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import respx

from asyncexch import ExchangeError, InvalidRequest, OrderStatusUnknown, RetryPolicy, VirtualClock
from asyncexch.bybit import (
    AdvanceEarn,
    AdvanceEarnAck,
    BybitClient,
    DiscountBuyOffer,
    DiscountBuyOrder,
    DoubleWinOrder,
    DoubleWinQuote,
    DualAssetsDirection,
    DualAssetsOffer,
    DualAssetsOrder,
    Quote,
    StakeOrder,
)
from tests.builders.bybit import PLACE, fail, ok

QuotedOrder = StakeOrder | DualAssetsOrder | DoubleWinOrder | DiscountBuyOrder
#: What an order of each category is built from: (expiry, now, amount) -> the order.
Build = Callable[[datetime, datetime, Decimal], QuotedOrder]
ADVICE = "build it again from a fresh quote (quote() or live_quote())"


def smart_leverage(expires: datetime, now: datetime, amount: Decimal) -> QuotedOrder:
    quote = Quote(
        category="SmartLeverage",
        product_id="12999",
        current_price=Decimal("68403"),
        breakeven_price=Decimal("68650"),
        expire_at=expires,
    )
    return StakeOrder.from_quote(quote, amount=amount, now=now)


def dual_assets(expires: datetime, now: datetime, amount: Decimal) -> QuotedOrder:
    offer = DualAssetsOffer(
        product_id="88001",
        direction=DualAssetsDirection.BUY_LOW,
        select_price=Decimal("3475"),
        apy_e8=810810000,
        max_investment_amount=Decimal("100000"),
        expired_at=expires,
    )
    return DualAssetsOrder.from_offer(offer, amount=amount, coin="USDT", now=now)


def double_win(expires: datetime, now: datetime, amount: Decimal) -> QuotedOrder:
    quote = DoubleWinQuote(
        category="DoubleWin",
        product_id="4521",
        current_price=Decimal("66000"),
        leverage=Decimal("12.345"),
        expire_time=expires,
    )
    return DoubleWinOrder.from_leverage(quote, amount=amount, now=now)


def discount_buy(expires: datetime, now: datetime, amount: Decimal) -> QuotedOrder:
    offer = DiscountBuyOffer(
        product_id="301",
        current_price=Decimal("66000"),
        purchase_price=Decimal("64000"),
        knockout_price=Decimal("68000"),
        knockout_coupon_e8=1000000,
        max_investment_amount=Decimal("100000"),
        inst_uid="77",
        expired_at=expires,
    )
    return DiscountBuyOrder.from_offer(offer, amount=amount, settle_type="Quote", now=now)


@pytest.fixture(params=[smart_leverage, dual_assets, double_win, discount_buy])
def build(request: pytest.FixtureRequest) -> Build:
    """Each category's quote-built order, in turn."""
    builder: Build = request.param
    return builder


@pytest.fixture
def venue(bybit_mock: respx.MockRouter, clock: VirtualClock) -> Iterator[respx.Route]:
    """Place-order, acknowledging each order with the virtual clock's time (so the client's
    estimate of the venue's clock stays the virtual clock)."""

    def answer(request: httpx.Request) -> httpx.Response:
        link = body_of(request)["orderLinkId"]
        return ok({"orderId": f"oid-{link}", "orderLinkId": link}, time=now_ms(clock))

    yield bybit_mock.post(PLACE).mock(side_effect=answer)


@pytest.fixture
def earn(make_client: Callable[..., BybitClient]) -> AdvanceEarn:
    return make_client().advance_earn


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def body_of(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


def now_ms(clock: VirtualClock) -> int:
    return round(clock.time() * 1000)


def refusal(expires: datetime, left: float) -> str:
    state = "expired" if left <= 0 else "expires"
    return (
        f"order: its quote {state} at {expires.isoformat()} ({left:+.1f} s; an order needs "
        f"2 s): {ADVICE}"
    )


def test_the_expiry_is_kept_but_never_sent_nor_compared(build: Build, clock: VirtualClock) -> None:
    now = utc(clock.time())
    order = build(now + timedelta(seconds=10), now, Decimal("100"))
    by_hand = attrs.evolve(order, quote_expires_at=None)

    assert order.quote_expires_at == now + timedelta(seconds=10)
    assert order.to_params() == by_hand.to_params()
    assert order == by_hand
    assert "quote_expires_at=datetime.datetime(" in repr(order)


def test_the_expiry_must_be_timezone_aware(build: Build, clock: VirtualClock) -> None:
    now = utc(clock.time())
    order = build(now + timedelta(seconds=10), now, Decimal("100"))
    with pytest.raises(InvalidRequest) as caught:
        attrs.evolve(order, quote_expires_at=datetime(2026, 1, 1))
    assert caught.value.field == "quote_expires_at"


async def test_a_stale_order_is_refused_with_nothing_sent_and_no_capacity_taken(
    build: Build, earn: AdvanceEarn, venue: respx.Route, clock: VirtualClock
) -> None:
    now = utc(clock.time())
    expires = now + timedelta(seconds=5)
    order = build(expires, now, Decimal("100"))
    clock.advance(4)  # 1 s left: within the 2 s an order needs

    with pytest.raises(InvalidRequest) as caught:
        await earn.place_order(order)

    assert str(caught.value) == refusal(expires, 1.0)
    assert caught.value.field == "order"
    assert venue.call_count == 0
    (bucket,) = [b for b in await earn._session.limits_state() if b.name == "place_order"]
    assert bucket.in_window == 0
    clock.advance(2)
    with pytest.raises(InvalidRequest) as expired:
        await earn.place_order(order)
    assert str(expired.value) == refusal(expires, -1.0)
    assert venue.call_count == 0


async def test_a_batch_longer_than_its_quote_sends_the_early_orders_and_refuses_the_late(
    build: Build, earn: AdvanceEarn, venue: respx.Route, clock: VirtualClock
) -> None:
    # Place-order takes 5 a second; the quote is good for under 1 s more than the 2 s
    # margin: the first five leave at once, the rest would leave a second later or more.
    start = utc(clock.time())
    expires = start + timedelta(seconds=2.9)
    orders = [build(expires, start, Decimal(100 + index)) for index in range(12)]
    turns: dict[int, float] = {}

    def at_turn(index: int, result: AdvanceEarnAck | ExchangeError) -> None:
        turns[index] = clock.time()

    results = await earn.place_orders(orders, on_result=at_turn)

    sent = [body_of(call.request)["orderLinkId"] for call in venue.calls]
    assert sent == [order.order_link_id for order in orders[:5]]
    for index, result in enumerate(results):
        if index < 5:
            assert not isinstance(result, Exception)
            assert result.order_link_id == orders[index].order_link_id
            continue
        assert isinstance(result, InvalidRequest)
        left = (expires - utc(turns[index])).total_seconds()
        assert 0 < turns[index] - start.timestamp()  # refused at its turn, not at once
        assert str(result) == refusal(expires, left)


async def test_a_retry_within_the_call_is_not_refused(
    build: Build, earn: AdvanceEarn, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    now = utc(clock.time())
    order = build(now + timedelta(seconds=3), now, Decimal("100"))
    answers = iter(["busy", "ok"])

    def answer(request: httpx.Request) -> httpx.Response:
        if next(answers) == "busy":
            clock.advance(10)  # the quote expires while the first attempt is out
            return fail(10006, "Too many visits!", time=now_ms(clock))
        return ok({"orderId": "oid-1", "orderLinkId": order.order_link_id}, time=now_ms(clock))

    route = bybit_mock.post(PLACE).mock(side_effect=answer)

    ack = await earn.place_order(order)

    assert (ack.order_id, ack.order_link_id) == ("oid-1", order.order_link_id)
    assert route.call_count == 2


async def test_placing_again_an_order_sent_before_is_not_refused(
    build: Build,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    # The first call's fate is unknown; by the second, the quote has expired: only the
    # exactly-once placement (resend, then the lookup by id) can tell the truth.
    earn = make_client(retry=RetryPolicy(max_attempts=1)).advance_earn
    now = utc(clock.time())
    order = build(now + timedelta(seconds=3), now, Decimal("100"))
    route = bybit_mock.post(PLACE).mock(
        side_effect=[
            httpx.ReadTimeout("lost"),
            ok({"orderId": "oid-1", "orderLinkId": order.order_link_id}, time=now_ms(clock)),
        ]
    )
    with pytest.raises(OrderStatusUnknown):
        await earn.place_order(order)
    clock.advance(60)

    ack = await earn.place_order(order)

    assert ack.order_link_id == order.order_link_id
    assert route.call_count == 2


async def test_an_order_built_by_hand_is_never_refused(
    build: Build, earn: AdvanceEarn, venue: respx.Route, clock: VirtualClock
) -> None:
    now = utc(clock.time())
    order = build(now + timedelta(seconds=3), now, Decimal("100"))
    by_hand = attrs.evolve(order, quote_expires_at=None)
    clock.advance(3600)

    ack = await earn.place_order(by_hand)

    assert ack.order_link_id == by_hand.order_link_id
    assert venue.call_count == 1
