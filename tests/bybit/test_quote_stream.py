"""The offer stream's protocol over a fake connection, on the virtual clock: subscriptions and
their acknowledgements, the heartbeat, dead connections, reconnects and gaps, duplicates,
backpressure, and closing without a task left behind."""

from __future__ import annotations

import asyncio
import random
import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from asyncexch import ConfigurationError, SubscriptionRefused, VirtualClock
from asyncexch.bybit import (
    BybitClient,
    DiscountBuyOrder,
    DiscountBuyQuote,
    DoubleWinOrder,
    DoubleWinQuote,
    DualAssetsDirection,
    DualAssetsOrder,
    DualAssetsQuote,
    LiveQuote,
    Quote,
    QuoteGap,
    QuoteStream,
    StakeOrder,
)
from tests.builders.fake_stream import (
    DISCOUNT_BUY_ITEM,
    DISCOUNT_BUY_TOPIC,
    DOUBLE_WIN_ITEM,
    DOUBLE_WIN_TOPIC,
    DUAL_ASSETS_ITEM,
    DUAL_ASSETS_TOPIC,
    SMART_LEVERAGE_ITEM,
    SMART_LEVERAGE_TOPIC,
    FakeStreamServer,
    smart_leverage_item,
)

T = TypeVar("T")
#: Real seconds a step may take before the test fails (a hang becomes a failure).
HANG = 5.0
EXPIRY_MS = 1_800_000_000_000


async def next_of(items: AsyncIterator[T]) -> T:
    return await asyncio.wait_for(anext(items), HANG)


@pytest.fixture
def server() -> FakeStreamServer:
    return FakeStreamServer()


@pytest.fixture
def stream_client(
    make_client: Callable[..., BybitClient], server: FakeStreamServer
) -> Callable[..., tuple[BybitClient, QuoteStream]]:
    def build(**options: Any) -> tuple[BybitClient, QuoteStream]:
        client = make_client()
        stream = client.advance_earn.stream(
            connector=server, random_source=random.Random(7), **options
        )
        return client, stream

    return build


async def test_a_smart_leverage_push_is_a_quote_that_builds_a_stake(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, _ = stream_client()
    quotes = client.advance_earn.smart_leverage.watch_quotes(["13010"])
    first = asyncio.ensure_future(next_of(quotes))
    await asyncio.wait_for(server.opened.wait(), HANG)
    await asyncio.sleep(0)
    server.push(SMART_LEVERAGE_TOPIC, [SMART_LEVERAGE_ITEM])
    live = await first
    assert isinstance(live, LiveQuote)
    assert live.category == "SmartLeverage"
    assert live.quote == Quote(
        category="SmartLeverage",
        product_id="13010",
        current_price=Decimal("615.1"),
        breakeven_price=Decimal("553.849143"),
        expire_at=datetime(2026, 4, 1, 10, 51, 51, 994000, tzinfo=timezone.utc),
        max_investment_amount=Decimal("784"),
    )
    assert live.pushed_at is None  # the docs' frames carry no ts
    assert live.expires_at == live.quote.expire_at
    order = StakeOrder.from_quote(live.quote, amount=Decimal("100"))
    assert (order.initial_price, order.breakeven_price) == (Decimal("615.1"), Decimal("553.849143"))
    assert server.current.requests("subscribe") == [[SMART_LEVERAGE_TOPIC]]
    await quotes.aclose()


async def test_a_dual_assets_push_is_a_quote_whose_offers_build_stakes(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, _ = stream_client()
    quotes = client.advance_earn.dual_assets.watch_quotes(None)
    first = asyncio.ensure_future(next_of(quotes))
    await asyncio.wait_for(server.opened.wait(), HANG)
    await asyncio.sleep(0)
    # p and a as the table types them (int64) and as the example writes them (strings)
    server.push(DUAL_ASSETS_TOPIC, [{**DUAL_ASSETS_ITEM, "p": 36352}], ts=1_700_000_000_500)
    live = await first
    assert isinstance(live, LiveQuote)
    quote = live.quote
    assert isinstance(quote, DualAssetsQuote)
    assert (quote.product_id, quote.current_price) == ("36352", Decimal("74168.46"))
    (buy_low,) = quote.buy_low
    (sell_high,) = quote.sell_high
    assert (buy_low.direction, buy_low.select_price, buy_low.apy_e8) == (
        DualAssetsDirection.BUY_LOW,
        Decimal("74142"),
        979209000,
    )
    assert sell_high.max_investment_amount == Decimal("0.02697492")
    assert live.pushed_at == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=timezone.utc)
    order = DualAssetsOrder.from_offer(sell_high, amount=Decimal("0.01"), coin="BTC")
    assert (order.select_price, order.apy_e8) == (Decimal("74142"), 979209000)
    await quotes.aclose()


async def test_every_category_shares_one_connection(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    async with stream:
        smart = client.advance_earn.smart_leverage.watch_quotes(["13010"])
        dual = client.advance_earn.dual_assets.watch_quotes(["36352"])
        got_smart = asyncio.ensure_future(next_of(smart))
        got_dual = asyncio.ensure_future(next_of(dual))
        await _until(lambda: len(_subscribed(server)) == 2)
        server.push(SMART_LEVERAGE_TOPIC, [SMART_LEVERAGE_ITEM])
        server.push(DUAL_ASSETS_TOPIC, [DUAL_ASSETS_ITEM])
        assert (await got_smart).category == "SmartLeverage"
        assert (await got_dual).category == "DualAssets"
        assert len(server.connections) == 1
        assert stream.quote_cache.latest(_smart_topic(), "13010") is not None
        await smart.aclose()
        await _until(lambda: server.current.requests("unsubscribe") == [[SMART_LEVERAGE_TOPIC]])
        await dual.aclose()
    assert server.current.closed


@pytest.mark.parametrize("shape", ["req_id", "no req_id", "COMMAND_RESP"])
async def test_a_refused_topic_is_a_typed_error_and_the_others_go_on(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    shape: str,
) -> None:
    server.echo_req_id = shape == "req_id"
    server.command_resp = shape == "COMMAND_RESP"
    server.refuse[DUAL_ASSETS_TOPIC] = "error:handler not found"
    client, stream = stream_client()
    async with stream:
        smart = client.advance_earn.smart_leverage.watch_quotes(["13010"])
        got_smart = asyncio.ensure_future(next_of(smart))
        await _until(lambda: _subscribed(server) == [SMART_LEVERAGE_TOPIC])
        dual = client.advance_earn.dual_assets.watch_quotes(["36352"])
        with pytest.raises(SubscriptionRefused) as refused:
            await next_of(dual)
        assert refused.value.topic == DUAL_ASSETS_TOPIC
        if shape != "COMMAND_RESP":  # that shape carries no reason
            assert refused.value.reason == "error:handler not found"
        server.push(SMART_LEVERAGE_TOPIC, [SMART_LEVERAGE_ITEM])
        assert isinstance(await got_smart, LiveQuote)
        assert stream.stats.refused == 1
        await smart.aclose()


async def test_a_ping_goes_out_every_20_s(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    _, stream = stream_client()
    async with stream:
        await asyncio.wait_for(server.opened.wait(), HANG)
        start = clock.monotonic()
        await clock.sleep(65)
        assert clock.monotonic() - start == 65
        assert len(server.current.requests("ping")) == 3
        assert len(server.connections) == 1  # answered pings keep it alive


async def test_a_silent_connection_is_dead_after_30_s_and_the_consumer_told_of_the_gap(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    client, stream = stream_client()
    quotes = client.advance_earn.smart_leverage.watch_quotes(["13010"])
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    server.push(SMART_LEVERAGE_TOPIC, [smart_leverage_item("13010", "600", EXPIRY_MS)])
    await first
    silent_from = clock.monotonic()
    server.pong = False
    gap = await next_of(quotes)
    assert isinstance(gap, QuoteGap)
    assert gap.reason == "no frame for 30 s"
    assert gap.category == "SmartLeverage"
    assert len(server.connections) == 2
    assert server.connections[0].closed
    lost_after = (gap.lost_at.timestamp() - clock.time()) + clock.monotonic() - silent_from
    assert abs(lost_after - 30) < 0.002  # lost_at is in whole milliseconds
    assert server.current.requests("subscribe") == [[SMART_LEVERAGE_TOPIC]]
    server.pong = True
    server.push(SMART_LEVERAGE_TOPIC, [smart_leverage_item("13010", "601", EXPIRY_MS + 1)])
    after = await next_of(quotes)
    assert isinstance(after, LiveQuote) and after.quote.current_price == Decimal("601")
    assert (stream.stats.connects, stream.stats.losses) == (2, 1)
    await quotes.aclose()


async def test_a_dropped_connection_is_reopened_after_a_backoff_and_every_topic_resubscribed(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    client, stream = stream_client(backoff=(1.0, 8.0))
    async with stream:
        smart = client.advance_earn.smart_leverage.watch_quotes(None)
        dual = client.advance_earn.dual_assets.watch_quotes(None)
        pending = [asyncio.ensure_future(next_of(smart)), asyncio.ensure_future(next_of(dual))]
        await _until(lambda: len(_subscribed(server)) == 2)
        server.refuse_connects = 3  # the first three attempts to reconnect fail
        server.drop()
        gaps = await asyncio.gather(*pending)
        assert [type(gap) for gap in gaps] == [QuoteGap, QuoteGap]
        assert server.connect_attempts == 5
        assert sorted(topic for args in server.current.requests("subscribe") for topic in args) == [
            DUAL_ASSETS_TOPIC,
            SMART_LEVERAGE_TOPIC,
        ]
        # full jitter: each pause at most 1, 2, 4, 8 s
        assert 0 < clock.monotonic() < 1 + 2 + 4 + 8
        await smart.aclose()
        await dual.aclose()


async def test_an_unanswered_subscription_counts_as_a_dead_connection(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    server.ack = False
    client, _ = stream_client()
    quotes = client.advance_earn.smart_leverage.watch_quotes(None)
    waiting = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: len(server.connections) == 2)
    assert server.connections[0].closed
    assert 10 <= clock.monotonic() < 10 + 0.5 + 0.01  # ack timeout, then a pause <= 0.5 s
    server.ack = True
    gap = await waiting
    assert isinstance(gap, QuoteGap) and gap.reason == "no answer to subscribe in 10 s"
    await quotes.aclose()


async def test_a_repeated_or_older_quote_is_not_delivered_as_new(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    quotes = client.advance_earn.smart_leverage.watch_quotes(["1"])
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    newer = smart_leverage_item("1", "600", EXPIRY_MS + 1000)
    server.push(SMART_LEVERAGE_TOPIC, [newer])
    assert isinstance(await first, LiveQuote)
    server.push(SMART_LEVERAGE_TOPIC, [newer])  # the 30-s repeat
    server.push(SMART_LEVERAGE_TOPIC, [smart_leverage_item("1", "599", EXPIRY_MS)])  # older
    server.push(SMART_LEVERAGE_TOPIC, [newer], ts=1_700_000_000_100)
    server.push(SMART_LEVERAGE_TOPIC, [smart_leverage_item("1", "598", EXPIRY_MS)], ts=99)
    server.push(SMART_LEVERAGE_TOPIC, [smart_leverage_item("1", "597", EXPIRY_MS + 1)], ts=99)
    server.push(
        SMART_LEVERAGE_TOPIC, [smart_leverage_item("1", "602", EXPIRY_MS)], ts=1_700_000_000_200
    )
    live = await next_of(quotes)
    assert isinstance(live, LiveQuote) and live.quote.current_price == Decimal("602")
    assert stream.stats.delivered == 2
    assert stream.stats.repeated == 5
    await quotes.aclose()


async def test_a_malformed_frame_or_item_is_skipped_and_the_stream_goes_on(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    quotes = client.advance_earn.smart_leverage.watch_quotes(None)
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    server.current.frame("{not json")
    server.current.frame([1, 2])
    server.push(SMART_LEVERAGE_TOPIC, [{"p": "1", "c": "not a price"}, SMART_LEVERAGE_ITEM])
    live = await first
    assert isinstance(live, LiveQuote) and live.product_id == "13010"
    assert stream.stats.malformed == 3
    assert len(server.connections) == 1
    await quotes.aclose()


@pytest.mark.parametrize("traced", [False, pytest.param(True, marks=pytest.mark.slow)])
async def test_a_slow_consumer_reads_the_latest_quote_per_product_in_bounded_memory(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
    traced: bool,
) -> None:
    """1,000 products updating 10 times a second, a consumer reading once a second; with
    ``traced``, the memory allocated is measured too (tracemalloc makes it slow)."""
    products = [str(n) for n in range(1000)]
    client, stream = stream_client()
    quotes = client.advance_earn.smart_leverage.watch_quotes(products)
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    (watch,) = stream._watches
    pushed = 0

    async def market() -> None:
        nonlocal pushed
        for tick in range(100):  # 10 s
            price = str(600 + tick)
            server.push(
                SMART_LEVERAGE_TOPIC,
                [smart_leverage_item(p, price, EXPIRY_MS + tick) for p in products],
            )
            pushed += len(products)
            await clock.sleep(0.1)

    feeding = asyncio.ensure_future(market())
    await first
    largest = 0
    settled = 0
    if traced:
        tracemalloc.start()
    try:
        for second in range(10):
            await clock.sleep(1.0)
            largest = max(largest, len(watch.mailbox))
            if second == 1 and traced:
                settled, _ = tracemalloc.get_traced_memory()
            live = await next_of(quotes)
            assert isinstance(live, LiveQuote)
            latest = stream.quote_cache.latest(_smart_topic(), live.product_id)
            assert live is latest  # never an older quote than the latest received
        grown = tracemalloc.get_traced_memory()[0] - settled if traced else 0
    finally:
        tracemalloc.stop()
    # 80,000 quotes arrived after second 2: a queue of them would hold tens of megabytes
    assert grown < 1_000_000
    await feeding
    assert pushed == 100_000
    assert largest <= len(products)
    assert len(watch.mailbox) <= len(products)
    assert len(stream.quote_cache) == len(products)
    await quotes.aclose()


async def test_cancelling_the_consumer_closes_the_connection_and_leaves_no_task(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    before = _stream_tasks()

    async def consume() -> None:
        async for _ in client.advance_earn.smart_leverage.watch_quotes(None):
            pass

    consumer = asyncio.ensure_future(consume())
    await _until(lambda: bool(_subscribed(server)))
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert server.current.closed
    assert not stream.connected
    assert _stream_tasks() <= before


async def test_aclose_ends_every_consumer_and_the_client_closes_its_stream(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    before = _stream_tasks()
    got: list[object] = []

    async def consume() -> None:
        async for item in client.advance_earn.dual_assets.watch_quotes(None):
            got.append(item)

    async with stream:
        consumer = asyncio.ensure_future(consume())
        await _until(lambda: bool(_subscribed(server)))
        server.push(DUAL_ASSETS_TOPIC, [DUAL_ASSETS_ITEM])
        await _until(lambda: len(got) == 1)
        await client.aclose()
        await asyncio.wait_for(consumer, HANG)  # ended normally
    assert server.current.closed
    assert _stream_tasks() <= before


async def test_live_quote_is_the_cached_quote_while_its_offer_is_valid(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    client, _ = stream_client()
    earn = client.advance_earn
    quotes = earn.smart_leverage.watch_quotes(None)
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    expire_ms = int(clock.time() * 1000) + 10_000
    server.push(SMART_LEVERAGE_TOPIC, [smart_leverage_item("7", "600", expire_ms)])
    await first
    assert earn.smart_leverage.live_quote("7") is not None
    assert earn.smart_leverage.live_quote("8") is None
    assert earn.dual_assets.live_quote("7") is None
    clock.advance(8.0)  # 2 s left: not enough for an order (QUOTE_MARGIN)
    assert earn.smart_leverage.live_quote("7") is None
    await quotes.aclose()


def test_the_stream_host_follows_the_rest_host() -> None:
    from asyncexch.bybit._quote_stream import stream_url

    assert stream_url("https://api.bybit.com") == "wss://stream.bybit.com/v5/public/fp"
    assert (
        stream_url("https://api-testnet.bybit.com") == "wss://stream-testnet.bybit.com/v5/public/fp"
    )
    assert stream_url("https://api.bybit.kz") == "wss://stream.bybit.kz/v5/public/fp"
    assert stream_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/v5/public/fp"


def _subscribed(server: FakeStreamServer) -> list[str]:
    if not server.connections:
        return []
    return [topic for args in server.current.requests("subscribe") for topic in args]


def _smart_topic() -> Any:
    from asyncexch.bybit._offer_topics import SMART_LEVERAGE_OFFERS

    return SMART_LEVERAGE_OFFERS


async def _until(condition: Callable[[], bool]) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0)

    await asyncio.wait_for(wait(), HANG)


def _stream_tasks() -> set[asyncio.Task[Any]]:
    """The tasks running, but the virtual clock's driver and this test's own."""
    return {
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task() and "VirtualClock._drive" not in repr(task.get_coro())
    }


async def test_one_stream_per_client_its_options_given_before_it_is_used(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client(ping_interval=5.0)
    earn = client.advance_earn
    assert earn.stream() is stream
    async with stream:
        with pytest.raises(ConfigurationError, match="in use"):
            earn.stream(ping_interval=1.0)
        assert earn.stream() is stream
    with pytest.raises(ConfigurationError, match="dead_after"):
        earn.stream(ping_interval=40.0)


async def test_connections_are_opened_within_the_budget_per_5_minutes(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    server.refuse_connects = 10**6  # the host refuses every connection
    _, stream = stream_client(max_connects=3, backoff=(0.5, 1.0))
    async with stream:
        await clock.sleep(299.0)  # three attempts in the first few seconds, then none
        assert server.connect_attempts == 3
        await clock.sleep(6.0)  # each of them leaves the window 300 s after it was made
        assert server.connect_attempts == 6
        await clock.sleep(290.0)
        assert server.connect_attempts == 6


async def test_a_double_win_push_is_a_fixed_range_quote_that_builds_a_stake(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, _ = stream_client()
    quotes = client.advance_earn.double_win.watch_quotes(["14082"])
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: _subscribed(server) == [DOUBLE_WIN_TOPIC])
    other = {**DOUBLE_WIN_ITEM, "p": "14083", "l": "75.57"}
    server.push(DOUBLE_WIN_TOPIC, [other, DOUBLE_WIN_ITEM])  # 14083 is not watched
    live = await first
    assert isinstance(live, LiveQuote)
    assert live.category == "DoubleWin"
    assert live.quote == DoubleWinQuote(
        category="DoubleWin",
        product_id="14082",
        current_price=Decimal("2050.99"),
        leverage=Decimal("37.78"),
        expire_time=datetime(2026, 4, 2, 6, 30, 31, 407000, tzinfo=timezone.utc),
        max_investment_amount=Decimal("1000"),
    )
    assert live.expires_at == live.quote.expire_time
    order = DoubleWinOrder.from_leverage(live.quote, amount=Decimal("100"))
    assert (order.product_id, order.leverage, order.initial_price) == (
        "14082",
        Decimal("37.78"),
        Decimal("2050.99"),
    )
    assert (order.lower_price, order.upper_price) == (None, None)
    await quotes.aclose()


async def test_a_double_win_product_pushed_without_a_leverage_has_no_live_quote(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, _ = stream_client()
    earn = client.advance_earn
    quotes = earn.double_win.watch_quotes(None)
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    server.push(DOUBLE_WIN_TOPIC, [{"p": "14082", "c": "2050.99", "l": "", "m": "", "e": ""}])
    live = await first
    assert isinstance(live, LiveQuote)
    assert (live.quote.leverage, live.expires_at) == (None, None)
    assert earn.double_win.live_quote("14082") is None
    await quotes.aclose()


async def test_a_discount_buy_push_is_a_quote_whose_offers_build_stakes(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, _ = stream_client()
    quotes = client.advance_earn.discount_buy.watch_quotes(["12723"])
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: _subscribed(server) == [DISCOUNT_BUY_TOPIC])
    server.push(DISCOUNT_BUY_TOPIC, [DISCOUNT_BUY_ITEM])
    live = await first
    assert isinstance(live, LiveQuote)
    quote = live.quote
    assert isinstance(quote, DiscountBuyQuote)
    assert (quote.category, quote.product_id) == ("DiscountBuy", "12723")
    (offer,) = quote.offers
    # e is the coupon here (not an expiry), x the expiry
    assert (offer.knockout_coupon_e8, offer.knockout_coupon) == (10000000, Decimal("0.1"))
    assert offer.expired_at == datetime(2026, 4, 14, 8, 21, 10, 336000, tzinfo=timezone.utc)
    assert (offer.current_price, offer.purchase_price, offer.knockout_price) == (
        Decimal("74551.1"),
        Decimal("73847"),
        Decimal("75300"),
    )
    assert (offer.max_investment_amount, offer.inst_uid) == (Decimal("950000"), "103489231")
    assert live.expires_at == offer.expired_at
    order = DiscountBuyOrder.from_offer(offer, amount=Decimal("100"), settle_type="Base")
    assert (order.initial_price, order.knockout_coupon_e8, order.inst_uid) == (
        Decimal("74551.1"),
        10000000,
        "103489231",
    )
    await quotes.aclose()


async def test_a_discount_buy_products_offers_in_one_push_are_one_quote(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]],
    server: FakeStreamServer,
    clock: VirtualClock,
) -> None:
    client, stream = stream_client()
    earn = client.advance_earn
    quotes = earn.discount_buy.watch_quotes(None)
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    # a second market maker, instUid and coupon as JSON numbers, and no expiry ("0")
    never = {**DISCOUNT_BUY_ITEM, "i": 7, "e": 20000000, "b": "73000", "x": "0"}
    server.push(DISCOUNT_BUY_TOPIC, [DISCOUNT_BUY_ITEM, never])
    live = await first
    assert isinstance(live, LiveQuote)
    assert [
        (o.inst_uid, o.knockout_coupon_e8, o.expired_at is None) for o in live.quote.offers
    ] == [
        ("103489231", 10000000, False),
        (7, 20000000, True),
    ]
    assert live.expires_at == datetime.max.replace(tzinfo=timezone.utc)
    assert stream.stats.delivered == 1
    clock.advance(10 * 365 * 86400.0)  # the dated offer long gone, the other has no expiry
    cached = earn.discount_buy.live_quote("12723")
    assert cached is not None and cached.quote == live.quote
    await quotes.aclose()


async def test_an_unreadable_discount_buy_offer_is_skipped_and_the_stream_goes_on(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    quotes = client.advance_earn.discount_buy.watch_quotes(None)
    first = asyncio.ensure_future(next_of(quotes))
    await _until(lambda: bool(_subscribed(server)))
    # instUid empty: decodes, but is no instUid (the REST quote's check refuses it)
    server.push(DISCOUNT_BUY_TOPIC, [{**DISCOUNT_BUY_ITEM, "p": "1", "i": ""}])
    server.push(DISCOUNT_BUY_TOPIC, [{**DISCOUNT_BUY_ITEM, "k": "not a price"}])
    server.push(DISCOUNT_BUY_TOPIC, [DISCOUNT_BUY_ITEM])
    live = await first
    assert isinstance(live, LiveQuote) and live.product_id == "12723"
    assert stream.stats.malformed == 2
    assert len(server.connections) == 1
    await quotes.aclose()


async def test_all_four_categories_share_one_connection_and_each_reads_its_own_topic(
    stream_client: Callable[..., tuple[BybitClient, QuoteStream]], server: FakeStreamServer
) -> None:
    client, stream = stream_client()
    earn = client.advance_earn
    async with stream:
        watchers = [
            earn.smart_leverage.watch_quotes(None),
            earn.dual_assets.watch_quotes(None),
            earn.double_win.watch_quotes(None),
            earn.discount_buy.watch_quotes(None),
        ]
        got = [asyncio.ensure_future(next_of(watcher)) for watcher in watchers]
        await _until(lambda: len(_subscribed(server)) == 4)
        for topic, item in (
            (DISCOUNT_BUY_TOPIC, DISCOUNT_BUY_ITEM),
            (DOUBLE_WIN_TOPIC, DOUBLE_WIN_ITEM),
            (DUAL_ASSETS_TOPIC, DUAL_ASSETS_ITEM),
            (SMART_LEVERAGE_TOPIC, SMART_LEVERAGE_ITEM),
        ):
            server.push(topic, [item])
        categories = [(await each).category for each in got]
        assert categories == ["SmartLeverage", "DualAssets", "DoubleWin", "DiscountBuy"]
        assert len(server.connections) == 1
        assert earn.double_win.live_quote("14082") is not None
        assert earn.discount_buy.live_quote("12723") is not None
        for watcher in watchers:
            await watcher.aclose()
