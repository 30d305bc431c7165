"""The main job: a concurrent batch of SmartLeverage orders against the simulator on loopback.

It starts :class:`~asyncexch.sim.BybitSimulator` on a loopback port (with faults if asked),
places the batch through :class:`~asyncexch.bybit.BybitClient` at the exchange's limit, waits
for every order to settle, and reports what the *exchange* saw: orders held, duplicates,
rate-limit rejections, the achieved rate against the limit, latency and retries.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import httpx

from ._clock import Clock, SystemClock
from ._limits import RateLimit
from .bybit import AdvanceEarn, BybitClient, OrderAck, StakeOrder
from .errors import ExchangeError
from .sim import BybitSimulator, Faults, SimServer

__all__ = ["DemoOptions", "DemoSummary", "run_demo"]

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
    on_placed: Callable[[int, OrderAck | ExchangeError], None] | None = None,
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

    results: list[OrderAck | ExchangeError]
    acks: list[OrderAck]
    settled: int
    placement_seconds: float


async def _place_and_settle(
    earn: AdvanceEarn,
    options: DemoOptions,
    clock: Clock,
    on_placed: Callable[[int, OrderAck | ExchangeError], None] | None,
    on_settled: Callable[[], None] | None,
) -> _Batch:
    """Price the batch with one quote, place it at the limit, and wait for every
    acknowledged order to settle."""
    products = await earn.products(coin="BTC")
    quote = await earn.quote(products[0].product_id)
    orders = [
        StakeOrder.from_quote(quote, amount=Decimal("100") + index)
        for index in range(options.orders)
    ]
    started = clock.monotonic()
    results = await earn.place_orders(orders, on_result=on_placed)
    placement = clock.monotonic() - started
    acks = [result for result in results if isinstance(result, OrderAck)]

    async def settle(ack: OrderAck) -> bool:
        info = await earn.wait_for_order(ack, timeout=30, poll_interval=0.5)
        if on_settled is not None:
            on_settled()
        return info.status.is_terminal

    settled = await asyncio.gather(*(settle(ack) for ack in acks))
    return _Batch(results=results, acks=acks, settled=sum(settled), placement_seconds=placement)


def _summary(
    options: DemoOptions, sim: BybitSimulator, batch: _Batch, round_trips: list[float]
) -> DemoSummary:
    """What the exchange saw of the batch, beside what the client saw."""
    intents = {order.order_link_id for order in sim.orders.values()}
    place_requests = sim.stats.requests["place_order"]
    return DemoSummary(
        orders=options.orders,
        acknowledged=len(batch.acks),
        failed=len(batch.results) - len(batch.acks),
        settled=batch.settled,
        orders_on_exchange=len(sim.orders),
        duplicate_orders=len(sim.orders) - len(intents),
        duplicate_ids_refused=sim.stats.duplicates_refused,
        rate_limit_rejections=sim.stats.rate_limit_rejections,
        faults_injected=sum(sim.stats.faults.values()),
        retries=place_requests - options.orders,
        placement_seconds=batch.placement_seconds,
        achieved_rate=_sustained_rate(sim.stats.arrivals.get("place_order", []), options.rate),
        limit=options.rate,
        latency_p50_ms=_percentile(round_trips, 50) * 1000,
        latency_p99_ms=_percentile(round_trips, 99) * 1000,
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
