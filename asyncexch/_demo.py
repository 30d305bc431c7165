"""The main job: a concurrent batch of Advance Earn orders against the simulator on loopback.

The batch is of one category (SmartLeverage by default) or mixed (``categories``: the
orders take the categories in turn, each priced from its own category's quote, all in one
``place_orders``). It starts :class:`~asyncexch.sim.BybitSimulator` on a loopback port (with
faults if asked), places the batch through :class:`~asyncexch.bybit.BybitClient` at the
exchange's limit, waits for every order to settle, and reports what the *exchange* saw:
orders held (by category), duplicates, rate-limit rejections, the achieved rate against the
limit, latency and retries.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import httpx

from ._clock import Clock, SystemClock
from ._limits import RateLimit
from .bybit import (
    AdvanceEarn,
    AdvanceEarnAck,
    AdvanceEarnOrder,
    BybitClient,
    DiscountBuyOrder,
    DoubleWinOrder,
    DualAssetsOrder,
    StakeOrder,
)
from .errors import ExchangeError
from .sim import BybitSimulator, Faults, SimServer

__all__ = ["CATEGORIES", "DemoOptions", "DemoSummary", "run_demo"]

_KEY = "demo-key"
_SECRET = "demo-secret-never-printed"


@attrs.frozen(kw_only=True)
class DemoOptions:
    """What the demo does: ``orders`` at ``rate`` per second, ``faults`` of every request."""

    orders: int = 50
    rate: int = 5
    faults: float = 0.1
    jitter: float = 0.02
    seed: int = 7
    settlement_delay: float = 1.0
    #: The Advance Earn categories of the batch; more than one makes a mixed batch.
    categories: tuple[str, ...] = ("SmartLeverage",)

    def __attrs_post_init__(self) -> None:
        unknown = [name for name in self.categories if name not in CATEGORIES]
        if not self.categories or unknown:
            raise ValueError(f"categories must be some of {', '.join(CATEGORIES)}, got {unknown}")


@attrs.frozen(kw_only=True)
class DemoSummary:
    """What the exchange and the client saw."""

    orders: int
    acknowledged: int
    failed: int
    settled: int
    orders_on_exchange: int
    duplicate_orders: int
    duplicate_ids_refused: int
    rate_limit_rejections: int
    faults_injected: int
    retries: int
    placement_seconds: float
    achieved_rate: float
    limit: int
    latency_p50_ms: float
    latency_p99_ms: float
    #: Orders the exchange holds, by category (every category of the batch, zeros too).
    held_by_category: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def healthy(self) -> bool:
        """Every order placed exactly once, settled, and no limit broken."""
        return (
            self.acknowledged == self.orders == self.orders_on_exchange == self.settled
            and self.duplicate_orders == 0
            and self.rate_limit_rejections == 0
        )


async def run_demo(
    options: DemoOptions,
    *,
    on_placed: Callable[[int, AdvanceEarnAck | ExchangeError], None] | None = None,
    on_settled: Callable[[], None] | None = None,
) -> DemoSummary:
    """Run the demo; ``on_placed``/``on_settled`` report progress order by order."""
    sim = _simulator(options)
    timer = _PlaceOrderTimer(SystemClock())
    async with SimServer(sim.app) as server, httpx.AsyncClient(event_hooks=timer.hooks) as http:
        limits = {"place_order": RateLimit(options.rate, per=1.0)}
        async with BybitClient(
            _KEY, _SECRET, base_url=server.url, limits=limits, http_client=http
        ) as bybit:
            batch = await _place_and_settle(
                bybit.advance_earn, options, timer.clock, on_placed, on_settled
            )
    return _summary(options, sim, batch, timer.round_trips)


def _simulator(options: DemoOptions) -> BybitSimulator:
    """The Bybit simulator the demo plays against, with the demo's account."""
    sim = BybitSimulator(
        limits={"place_order": (options.rate, 1.0)},
        # One quote prices the whole batch: it must outlive the batch at the paced rate.
        quote_ttl=max(60.0, 2 * options.orders / options.rate + 30),
        settlement_delay=options.settlement_delay,
        faults=Faults(rate=options.faults, latency=(0.0, options.jitter), seed=options.seed),
    )
    sim.add_account(_KEY, _SECRET)
    return sim


class _PlaceOrderTimer:
    """The round trip of every place-order request, from sending to its answer, measured
    through httpx's event hooks (``hooks``)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        #: Seconds each place-order request took, in the order the answers came.
        self.round_trips: list[float] = []
        self.hooks: dict[str, list[Callable[..., Any]]] = {
            "request": [self._sent],
            "response": [self._answered],
        }

    async def _sent(self, request: httpx.Request) -> None:
        request.extensions["asyncexch.demo.sent"] = self.clock.monotonic()

    async def _answered(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith("place-order"):
            self.round_trips.append(
                self.clock.monotonic() - response.request.extensions["asyncexch.demo.sent"]
            )


@attrs.frozen(kw_only=True)
class _Batch:
    """What the client saw of the batch."""

    results: list[AdvanceEarnAck | ExchangeError]
    acks: list[AdvanceEarnAck]
    settled: int
    placement_seconds: float


async def _place_and_settle(
    earn: AdvanceEarn,
    options: DemoOptions,
    clock: Clock,
    on_placed: Callable[[int, AdvanceEarnAck | ExchangeError], None] | None,
    on_settled: Callable[[], None] | None,
) -> _Batch:
    """Price each category's share of the batch with one quote, place the whole batch at the
    limit, and wait for every acknowledged order to settle."""
    orders = await _priced_orders(earn, options)
    started = clock.monotonic()
    results = await earn.place_orders(orders, on_result=on_placed)
    placement = clock.monotonic() - started
    acks = [result for result in results if not isinstance(result, ExchangeError)]

    async def settle(ack: AdvanceEarnAck) -> bool:
        info = await earn.wait_for_order(ack, timeout=30, poll_interval=0.5)
        if on_settled is not None:
            on_settled()
        return info.status.is_terminal

    settled = await asyncio.gather(*(settle(ack) for ack in acks))
    return _Batch(results=results, acks=acks, settled=sum(settled), placement_seconds=placement)


async def _priced_orders(earn: AdvanceEarn, options: DemoOptions) -> list[AdvanceEarnOrder]:
    """The batch: order ``i`` of category ``categories[i % n]``, staking ``100 + i``."""
    count = len(options.categories)
    shares = [
        await _CATEGORY_ORDERS[name](
            earn, [Decimal("100") + i for i in range(options.orders) if i % count == position]
        )
        for position, name in enumerate(options.categories)
    ]
    return [shares[i % count][i // count] for i in range(options.orders)]


async def _smart_leverage_orders(
    earn: AdvanceEarn, amounts: Sequence[Decimal]
) -> list[AdvanceEarnOrder]:
    products = await earn.smart_leverage.products(coin="BTC")
    quote = await earn.smart_leverage.quote(products[0].product_id)
    return [StakeOrder.from_quote(quote, amount=amount) for amount in amounts]


async def _dual_assets_orders(
    earn: AdvanceEarn, amounts: Sequence[Decimal]
) -> list[AdvanceEarnOrder]:
    products = await earn.dual_assets.products(coin="BTC")
    quote = await earn.dual_assets.quote(products[0].product_id)
    # Buy BTC low with USDT at the target nearest the market.
    return [DualAssetsOrder.from_offer(quote.buy_low[0], amount=amount) for amount in amounts]


async def _double_win_orders(
    earn: AdvanceEarn, amounts: Sequence[Decimal]
) -> list[AdvanceEarnOrder]:
    products = await earn.double_win.products(coin="BTC")
    fixed = next(product for product in products if not product.is_rfq_product)
    quote = await earn.double_win.quote(fixed.product_id)
    return [DoubleWinOrder.from_leverage(quote, amount=amount) for amount in amounts]


async def _discount_buy_orders(
    earn: AdvanceEarn, amounts: Sequence[Decimal]
) -> list[AdvanceEarnOrder]:
    products = await earn.discount_buy.products(coin="BTC")
    quote = await earn.discount_buy.quote(products[0].product_id)
    offer = quote.offers[0]
    return [
        DiscountBuyOrder.from_offer(offer, amount=amount, settle_type="Quote") for amount in amounts
    ]


#: Each category's share of the batch, priced from one quote of that category.
_CATEGORY_ORDERS: Mapping[
    str, Callable[[AdvanceEarn, Sequence[Decimal]], Awaitable[list[AdvanceEarnOrder]]]
] = {
    "SmartLeverage": _smart_leverage_orders,
    "DualAssets": _dual_assets_orders,
    "DoubleWin": _double_win_orders,
    "DiscountBuy": _discount_buy_orders,
}
#: The ids of the orders the simulator holds, by category.
_HELD: Mapping[str, Callable[[BybitSimulator], Iterable[str]]] = {
    "SmartLeverage": lambda sim: [order.order_link_id for order in sim.orders.values()],
    "DualAssets": lambda sim: [order.order_link_id for order in sim.dual_assets_orders.values()],
    "DoubleWin": lambda sim: [order.order_link_id for order in sim.double_win_orders.values()],
    "DiscountBuy": lambda sim: [order.order_link_id for order in sim.discount_buy_orders.values()],
}
#: The categories the demo can batch, in the order a mixed batch takes them.
CATEGORIES = tuple(_CATEGORY_ORDERS)


def _summary(
    options: DemoOptions, sim: BybitSimulator, batch: _Batch, round_trips: list[float]
) -> DemoSummary:
    """What the exchange saw of the batch, beside what the client saw."""
    held = {name: list(_HELD[name](sim)) for name in options.categories}
    on_exchange = sum(len(ids) for ids in held.values())
    intents = sum(len(set(ids)) for ids in held.values())
    place_requests = sim.stats.requests["place_order"]
    return DemoSummary(
        orders=options.orders,
        acknowledged=len(batch.acks),
        failed=len(batch.results) - len(batch.acks),
        settled=batch.settled,
        orders_on_exchange=on_exchange,
        duplicate_orders=on_exchange - intents,
        duplicate_ids_refused=sim.stats.duplicates_refused,
        rate_limit_rejections=sim.stats.rate_limit_rejections,
        faults_injected=sum(sim.stats.faults.values()),
        retries=place_requests - options.orders,
        placement_seconds=batch.placement_seconds,
        achieved_rate=_sustained_rate(sim.stats.arrivals.get("place_order", []), options.rate),
        limit=options.rate,
        latency_p50_ms=_percentile(round_trips, 50) * 1000,
        latency_p99_ms=_percentile(round_trips, 99) * 1000,
        held_by_category={name: len(ids) for name, ids in held.items()},
    )


def _sustained_rate(arrivals: list[float], limit: int) -> float:
    """Requests per second after the first full burst, as the exchange saw them arrive."""
    times = sorted(arrivals)
    if len(times) <= limit:
        return float(len(times))
    span = times[-1] - times[limit - 1]
    return (len(times) - limit) / span if span > 0 else 0.0


def _percentile(values: list[float], percent: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
