"""ChainUP over a real loopback socket: no blind resend, every unknown reconciled to the truth."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from asyncexch import OrderStatusUnknown, RateLimit, RetryPolicy, TransportChoice
from asyncexch.chainup import (
    ChainupContractClient,
    OrderCreated,
    ReconcileStatus,
    TakeOrder,
)
from asyncexch.sim import ChainupSimulator, Fault, Faults, SimServer

pytestmark = [pytest.mark.integration]

KEY = "cu-key"
SECRET = "cu-secret"


def _orders(count: int) -> list[TakeOrder]:
    # Resting limit orders far below the market, each at its own price: one order, one price.
    return [
        TakeOrder(
            contract_id=1,
            side="BUY",
            volume=Decimal("1"),
            order_type="LIMIT",
            price=Decimal("50000.0") + Decimal("0.1") * index,
            close_type="OPEN",
            cop_type="ISOLATED",
            level=10,
        )
        for index in range(count)
    ]


def _client(url: str, transport: TransportChoice) -> ChainupContractClient:
    return ChainupContractClient(
        KEY,
        SECRET,
        base_url=url,
        transport=transport,
        limits={"take_order": RateLimit(50), "order_list": RateLimit(50)},
        retry=RetryPolicy(max_attempts=6),
    )


@pytest.mark.slow
async def test_200_orders_with_faults_no_duplicates_and_every_unknown_reconciled(
    http_transport: TransportChoice,
) -> None:
    sim = ChainupSimulator(
        limits={"take_order": (50, 1.0), "order_list_v2": (50, 1.0)},
        faults=Faults(rate=0.2, latency=(0.0, 0.01), seed=11),
    )
    sim.add_account(KEY, SECRET)
    batch = _orders(200)
    async with SimServer(sim.app) as server, _client(server.url, http_transport) as client:
        results = await asyncio.gather(
            *(client.take_order(order) for order in batch), return_exceptions=True
        )
        placed_prices = [order.price for order in sim.orders.values()]
        # No order twice: every price (one per intent) at most once on the venue.
        assert len(placed_prices) == len(set(placed_prices))
        by_price = {order.price: order for order in sim.orders.values()}

        unknown = 0
        for order, result in zip(batch, results, strict=True):
            if isinstance(result, OrderCreated):
                assert by_price[order.price].order_id == result.order_id
                continue
            assert isinstance(result, OrderStatusUnknown), result
            unknown += 1
            truth = by_price.get(order.price)
            verdict = await client.reconcile(result)
            if truth is None:
                assert verdict.status is ReconcileStatus.NOT_PLACED
            else:
                assert verdict.status is ReconcileStatus.PLACED
                assert verdict.order is not None and verdict.order.order_id == truth.order_id
    assert unknown > 0  # the faults did make some outcomes unknown
    assert sim.stats.faults[Fault.DROP_AFTER_COMMIT.value] > 0


async def test_a_drop_after_commit_is_unknown_then_reconciled_as_placed(
    http_transport: TransportChoice,
) -> None:
    sim = ChainupSimulator(faults=Faults(rate=1.0, kinds=[Fault.DROP_AFTER_COMMIT], seed=1))
    sim.add_account(KEY, SECRET)
    [order] = _orders(1)
    async with SimServer(sim.app) as server, _client(server.url, http_transport) as client:
        with pytest.raises(OrderStatusUnknown) as caught:
            await client.take_order(order)
        assert sim.stats.requests["take_order"] == 1  # never resent
        assert len(sim.orders) == 1
        sim.set_faults(Faults())  # the network heals before the lookup
        verdict = await client.reconcile(caught.value)
    assert verdict.status is ReconcileStatus.PLACED
    assert verdict.order is not None
    assert verdict.order.order_id == next(iter(sim.orders))


async def test_a_drop_before_commit_is_unknown_then_reconciled_as_not_placed(
    http_transport: TransportChoice,
) -> None:
    sim = ChainupSimulator(faults=Faults(rate=1.0, kinds=[Fault.DROP_BEFORE_COMMIT], seed=1))
    sim.add_account(KEY, SECRET)
    [order] = _orders(1)
    async with SimServer(sim.app) as server, _client(server.url, http_transport) as client:
        with pytest.raises(OrderStatusUnknown) as caught:
            await client.take_order(order)
        assert sim.stats.requests["take_order"] == 1
        assert not sim.orders
        sim.set_faults(Faults())
        verdict = await client.reconcile(caught.value)
    assert verdict.status is ReconcileStatus.NOT_PLACED
