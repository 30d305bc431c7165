"""The offer stream against the simulator's ``/v5/public/fp`` on a real loopback socket
(``websockets`` on both ends): reconnects under forced and silent disconnects, refusals,
malformed frames, bursts of repeated and older quotes, and a slow consumer of many products.

Real time runs here (the simulator serves from its own thread), so nothing waits a fixed
time: each step waits for what it caused, with generous bounds; the intervals are short so
that a dead connection is found in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from asyncexch import SubscriptionRefused
from asyncexch.bybit import (
    DUAL_ASSETS_OFFERS,
    BybitClient,
    DiscountBuyAck,
    DiscountBuyOrder,
    DoubleWinAck,
    DoubleWinOrder,
    DualAssetsOrder,
    LiveQuote,
    QuoteGap,
    QuoteStream,
    StakeOrder,
)
from asyncexch.sim import BybitSimulator, OfferStreamHub, SimDualAssetsProduct, SimServer
from tests.waiting import settled, until

pytestmark = pytest.mark.integration

SMART = "earn.smartleverage.offers"
DUAL = "earn.dualassets.offers"
DOUBLE_WIN = "earn.doublewin.offers"
DISCOUNT_BUY = "earn.discountbuy.offers"
KEY, SECRET = "stream-key", "stream-secret"


def open_stream(
    client: BybitClient, *, ping_interval: float = 0.1, dead_after: float = 0.5
) -> QuoteStream:
    return client.advance_earn.stream(
        ping_interval=ping_interval,
        dead_after=dead_after,
        ack_timeout=2.0,
        backoff=(0.01, 0.05),
        random_source=random.Random(5),
    )


class Reader:
    """Reads one iterator into ``quotes`` and ``gaps``, checking as it goes that no product's
    quote comes twice or older than the one before."""

    def __init__(self, items: AsyncIterator[Any]) -> None:
        self.quotes: list[LiveQuote[Any]] = []
        self.gaps: list[QuoteGap] = []
        self._last: dict[str, LiveQuote[Any]] = {}
        self.task = asyncio.ensure_future(self._read(items))

    async def _read(self, items: AsyncIterator[Any]) -> None:
        async for item in items:
            if isinstance(item, QuoteGap):
                self.gaps.append(item)
                continue
            last = self._last.get(item.product_id)
            if last is not None:
                assert item.quote != last.quote, f"{item.product_id} delivered twice"
                assert item.expires_at >= last.expires_at, f"{item.product_id} older"
            self._last[item.product_id] = item
            self.quotes.append(item)

    @property
    def reconnects_reported(self) -> int:
        return sum(gap.reconnects for gap in self.gaps)


async def move_until(
    simulator: BybitSimulator, moved: Callable[[], bool], *, price: Decimal, what: str
) -> None:
    """Move BTC's price (and burst the pushes) until ``moved()`` holds. On a busy machine a
    slow pong can make the client drop a healthy connection (``dead_after`` is short here, to
    find silent ones fast), and the push of a move sent meanwhile is lost (reported as a
    gap): so the move is made again, to a new price each time, until a push gets through."""
    for attempt in range(10):
        simulator.set_price("BTC", price + Decimal(attempt) / 100)
        simulator.offer_stream.burst(3)
        if await settled(moved, within=1.0):
            return
    raise AssertionError(f"timed out waiting for {what}")


def resubscribed(stream: QuoteStream, hub: OfferStreamHub, losses: int) -> Callable[[], bool]:
    """Whether ``stream`` has lost ``losses`` connections, is connected again and has
    subscribed every topic on each connection."""

    def done() -> bool:
        return (
            stream.stats.losses >= losses
            and stream.connected
            and min(hub.stats.subscriptions.values()) == stream.stats.connects
        )

    return done


async def test_a_stream_survives_20_drops_and_5_silent_connections(
    simulator: BybitSimulator, server: SimServer
) -> None:
    hub = simulator.offer_stream
    async with BybitClient(base_url=server.url) as client:
        stream = open_stream(client)
        async with stream:
            smart = Reader(client.advance_earn.smart_leverage.watch_quotes(None))
            dual = Reader(client.advance_earn.dual_assets.watch_quotes(None))
            await until(lambda: bool(smart.quotes and dual.quotes), within=10, what="quotes")
            for round_ in range(1, 26):
                if round_ % 5 == 0:
                    hub.go_silent()
                else:
                    hub.drop()

                await until(
                    resubscribed(stream, hub, round_), within=10, what=f"reconnect {round_}"
                )
                seen = len(dual.quotes)

                def moved(seen: int = seen) -> bool:
                    return len(dual.quotes) > seen

                await move_until(
                    simulator, moved, price=Decimal(68000 + 10 * round_), what="a new quote"
                )
            await until(
                lambda: (
                    smart.reconnects_reported == dual.reconnects_reported == stream.stats.losses
                ),
                within=10,
                what="every gap",
            )
        smart.task.cancel()
        dual.task.cancel()
        await asyncio.gather(smart.task, dual.task, return_exceptions=True)
    assert (hub.stats.drops, hub.stats.silenced) == (20, 5)
    assert stream.stats.losses >= 25  # a slow machine may lose more; each one is reported
    assert hub.stats.subscriptions == {SMART: stream.stats.connects, DUAL: stream.stats.connects}
    assert stream.stats.repeated > 0  # the bursts' repeats and replays were not delivered
    assert hub.open_connections == 0


async def test_a_streamed_quote_is_one_the_simulator_takes_an_order_at(
    simulator: BybitSimulator, server: SimServer
) -> None:
    async with BybitClient(base_url=server.url) as client, open_stream(client):
        earn = client.advance_earn
        await earn.smart_leverage.products()
        await earn.dual_assets.products()
        smart = earn.smart_leverage.watch_quotes(None)
        dual = earn.dual_assets.watch_quotes(["36320"])
        live = await asyncio.wait_for(anext(smart), 10)
        assert isinstance(live, LiveQuote)
        assert live.quote.product is not None  # listed above
        order = StakeOrder.from_quote(live.quote, amount=live.quote.product.min_purchase_amount)
        assert order.breakeven_price == live.quote.breakeven_price
        pushed = await asyncio.wait_for(anext(dual), 10)
        assert isinstance(pushed, LiveQuote)
        offer = pushed.quote.sell_high[0]
        stake = DualAssetsOrder.from_offer(offer, amount=Decimal("1"))
        assert (stake.coin, stake.select_price) == ("ETH", offer.select_price)
        assert earn.dual_assets.live_quote("36320") is not None
        await smart.aclose()
        await dual.aclose()


async def test_double_win_and_discount_buy_stakes_at_streamed_quotes_are_taken(
    simulator: BybitSimulator, server: SimServer
) -> None:
    simulator.add_account(KEY, SECRET, balances={"USDT": Decimal("100000")})
    async with (
        BybitClient(base_url=server.url, api_key=KEY, api_secret=SECRET) as client,
        open_stream(client),
    ):
        earn = client.advance_earn
        await earn.double_win.products()
        await earn.discount_buy.products()
        double_win = earn.double_win.watch_quotes(None)
        discount_buy = earn.discount_buy.watch_quotes(["7038", "7039"])
        pushed = await asyncio.wait_for(anext(double_win), 10)
        assert isinstance(pushed, LiveQuote)
        assert pushed.product_id == "14084"  # the one fixed-range product; 14092 is RFQ
        assert pushed.quote.product is not None
        stake = DoubleWinOrder.from_leverage(pushed.quote, amount=Decimal("100"))
        assert isinstance(await earn.place_order(stake), DoubleWinAck)
        offers = [await asyncio.wait_for(anext(discount_buy), 10) for _ in range(2)]
        by_product = {live.product_id: live for live in offers if isinstance(live, LiveQuote)}
        assert set(by_product) == {"7038", "7039"}
        (no_expiry,) = by_product["7038"].quote.offers
        (numbers,) = by_product["7039"].quote.offers
        assert no_expiry.expired_at is None
        assert numbers.inst_uid == 1001  # a JSON number, kept as one
        for offer in (no_expiry, numbers):
            order = DiscountBuyOrder.from_offer(offer, amount=Decimal("100"), settle_type="Base")
            assert isinstance(await earn.place_order(order), DiscountBuyAck)
        assert earn.discount_buy.live_quote("7038") is not None
        assert earn.double_win.live_quote("14084") is not None
        await double_win.aclose()
        await discount_buy.aclose()
    assert len(simulator.double_win_orders) == 1
    assert len(simulator.discount_buy_orders) == 2


async def test_double_win_and_discount_buy_survive_drops_and_silent_connections(
    simulator: BybitSimulator, server: SimServer
) -> None:
    hub = simulator.offer_stream
    async with BybitClient(base_url=server.url) as client:
        stream = open_stream(client)
        async with stream:
            readers = [
                Reader(client.advance_earn.double_win.watch_quotes(None)),
                Reader(client.advance_earn.discount_buy.watch_quotes(None)),
            ]
            await until(lambda: all(r.quotes for r in readers), within=10, what="quotes")
            for round_ in range(1, 7):
                if round_ % 3 == 0:
                    hub.go_silent()
                else:
                    hub.drop()

                await until(
                    resubscribed(stream, hub, round_), within=10, what=f"reconnect {round_}"
                )
                seen = [len(reader.quotes) for reader in readers]

                def moved(seen: list[int] = seen) -> bool:
                    return all(len(r.quotes) > n for r, n in zip(readers, seen, strict=True))

                await move_until(
                    simulator, moved, price=Decimal(68000 + 10 * round_), what="new quotes"
                )
            await until(
                lambda: all(r.reconnects_reported == stream.stats.losses for r in readers),
                within=10,
                what="every gap",
            )
        for reader in readers:
            reader.task.cancel()
        await asyncio.gather(*(reader.task for reader in readers), return_exceptions=True)
    assert (hub.stats.drops, hub.stats.silenced) == (4, 2)
    assert hub.stats.subscriptions == {
        DOUBLE_WIN: stream.stats.connects,
        DISCOUNT_BUY: stream.stats.connects,
    }
    assert hub.open_connections == 0


async def test_a_refused_topic_fails_its_iterator_and_the_other_goes_on(
    simulator: BybitSimulator, server: SimServer
) -> None:
    simulator.offer_stream.refuse(DUAL)
    async with BybitClient(base_url=server.url) as client, open_stream(client) as stream:
        smart = client.advance_earn.smart_leverage.watch_quotes(None)
        assert isinstance(await asyncio.wait_for(anext(smart), 10), LiveQuote)
        with pytest.raises(SubscriptionRefused, match="handler not found"):
            await asyncio.wait_for(anext(client.advance_earn.dual_assets.watch_quotes(None)), 10)
        simulator.set_price("BTC", Decimal("70000"))
        assert isinstance(await asyncio.wait_for(anext(smart), 10), LiveQuote)
        assert stream.stats.connects == 1
        await smart.aclose()


async def test_malformed_frames_are_skipped_on_the_same_connection(
    simulator: BybitSimulator, server: SimServer
) -> None:
    async with BybitClient(base_url=server.url) as client, open_stream(client) as stream:
        dual = client.advance_earn.dual_assets.watch_quotes(None)
        await asyncio.wait_for(anext(dual), 10)
        simulator.offer_stream.send_malformed()
        await until(lambda: stream.stats.malformed == 2, within=10, what="malformed frames")
        simulator.set_price("ETH", Decimal("3600"))
        assert isinstance(await asyncio.wait_for(anext(dual), 10), LiveQuote)
        assert stream.stats.connects == 1
        await dual.aclose()


@pytest.mark.slow
async def test_1000_products_10_times_a_second_to_a_consumer_reading_once_a_second() -> None:
    """Memory stays bounded by the products, and each quote read is the latest received.

    The simulator pushes a full snapshot after each move, as fast as it can build one (a
    1,000-product DualAssets snapshot takes it tens of milliseconds, so moves closer than
    that are pushed together); the exact 10-a-second schedule runs on the virtual clock in
    tests/bybit/test_quote_stream.py."""
    products = [
        SimDualAssetsProduct(
            str(40000 + n),
            "BTC",
            "USDT",
            "1d",
            Decimal("10"),
            Decimal("0.001"),
            Decimal("1000000"),
            Decimal("10"),
            steps=1,
        )
        for n in range(1000)
    ]
    simulator = BybitSimulator(dual_assets_products=products)
    async with SimServer(simulator.app) as server:
        async with BybitClient(base_url=server.url) as client:
            # a 1,000-product snapshot takes a while to build and read: generous heartbeats
            stream = open_stream(client, ping_interval=1.0, dead_after=5.0)
            quotes = client.advance_earn.dual_assets.watch_quotes(None)
            await asyncio.wait_for(anext(quotes), 10)
            market = asyncio.ensure_future(_move(simulator, pushes=50, per_second=10))
            largest = 0
            while not market.done():
                await asyncio.sleep(1.0)
                (watch,) = stream._watches
                largest = max(largest, len(watch.mailbox))
                live = await asyncio.wait_for(anext(quotes), 10)
                assert isinstance(live, LiveQuote)
                assert live is stream.quote_cache.latest(DUAL_ASSETS_OFFERS, live.product_id)
            await market
            pushed = simulator.offer_stream.stats
            await until(
                lambda: stream.stats.delivered == pushed.pushes * 1000,
                within=10,
                what="the last push",
            )
            await quotes.aclose()
    # every push's quotes were new (each is issued afresh), and none was lost
    assert stream.stats.losses == 0
    assert largest <= 1000
    assert len(stream.quote_cache) == 1000


async def _move(simulator: BybitSimulator, *, pushes: int, per_second: int) -> None:
    for n in range(pushes):
        simulator.set_price("BTC", Decimal(68000 + n))
        await asyncio.sleep(1 / per_second)


@pytest.fixture
def simulator() -> BybitSimulator:
    return BybitSimulator()


@pytest.fixture
async def server(simulator: BybitSimulator) -> AsyncIterator[SimServer]:
    async with SimServer(simulator.app) as served:
        yield served
