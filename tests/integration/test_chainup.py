"""ChainUP over a real loopback socket: no blind resend, every unknown reconciled to the truth."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from decimal import Decimal
from typing import Literal

import pytest

from asyncexch import OrderStatusUnknown, RateLimit, RetryPolicy
from asyncexch.chainup import (
    ChainupContractClient,
    OrderCreated,
    ReconcileStatus,
    Reconciliation,
    TakeOrder,
)
from asyncexch.sim import ChainupSimulator, Fault, Faults
from tests.builders.sim import SimClients

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


def _client(
    clients: SimClients, sim: ChainupSimulator
) -> AbstractAsyncContextManager[ChainupContractClient]:
    return clients.chainup(
        sim,
        KEY,
        SECRET,
        limits={"take_order": RateLimit(50), "order_list": RateLimit(50)},
        retry=RetryPolicy(max_attempts=6),
        timeout=1.0,  # so a reconcile waits 3 s (the attempt deadline and a second), not 21
    )


@pytest.mark.slow
async def test_200_orders_with_faults_no_duplicates_and_every_unknown_reconciled(
    sim_client: SimClients,
) -> None:
    sim = ChainupSimulator(
        limits={"take_order": (50, 1.0), "order_list": (50, 1.0)},
        faults=Faults(rate=0.2, latency=(0.0, 0.01), seed=11),
    )
    sim.add_account(KEY, SECRET)
    batch = _orders(200)
    async with _client(sim_client, sim) as client:
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
            # The simulator commits before it fails an answer: nothing arrives later.
            verdict = await client.reconcile(result, settle=timedelta(0))
            if truth is None:
                assert verdict.status is ReconcileStatus.NOT_PLACED
            else:
                assert verdict.status is ReconcileStatus.PLACED
                assert verdict.order is not None and verdict.order.order_id == truth.order_id
    assert unknown > 0  # the faults did make some outcomes unknown
    assert sim.stats.faults[Fault.DROP_AFTER_COMMIT.value] > 0


async def test_a_drop_after_commit_is_unknown_then_reconciled_as_placed(
    sim_client: SimClients,
) -> None:
    sim = ChainupSimulator(
        faults=Faults(rate=1.0, kinds=[Fault.DROP_AFTER_COMMIT], endpoints=["take_order"], seed=1)
    )
    sim.add_account(KEY, SECRET)
    [order] = _orders(1)
    async with _client(sim_client, sim) as client:
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
    sim_client: SimClients,
) -> None:
    sim = ChainupSimulator(
        faults=Faults(rate=1.0, kinds=[Fault.DROP_BEFORE_COMMIT], endpoints=["take_order"], seed=1)
    )
    sim.add_account(KEY, SECRET)
    [order] = _orders(1)
    async with _client(sim_client, sim) as client:
        with pytest.raises(OrderStatusUnknown) as caught:
            await client.take_order(order)
        assert sim.stats.requests["take_order"] == 1
        assert not sim.orders
        sim.set_faults(Faults())
        verdict = await client.reconcile(caught.value)
    assert verdict.status is ReconcileStatus.NOT_PLACED


def _distinct_orders() -> list[TakeOrder]:
    """20 limit orders resting at their own prices, 20 market orders (each its own volume)
    that fill at once and so live only in the filled and history lists."""
    resting = [
        TakeOrder(
            contract_id=1,
            side="BUY",
            volume=Decimal("1"),
            order_type="LIMIT",
            price=Decimal("50000.0") + Decimal(index),
            level=10,
        )
        for index in range(20)
    ]
    filling = [
        TakeOrder(contract_id=1, side="SELL", volume=Decimal(volume), order_type="MARKET", level=10)
        for volume in range(1, 21)
    ]
    return resting + filling


@pytest.mark.slow
@pytest.mark.parametrize("list_order", ["desc", "asc"])
@pytest.mark.parametrize("list_shape", ["docs", "app"])
async def test_40_orders_with_lost_answers_each_exist_once_and_every_verdict_is_true(
    sim_client: SimClients,
    list_shape: Literal["docs", "app"],
    list_order: Literal["desc", "asc"],
) -> None:
    """A quarter of take_orders are committed and then answered by a dropped connection or a
    502 page. The caller does what the README says: PLACED -> done, NOT_PLACED -> send again,
    AMBIGUOUS -> stop. On the published list (no creation times) the watermark decides."""
    sim = ChainupSimulator(
        limits={"take_order": (50, 1.0), "order_list": (50, 1.0)},
        list_shape=list_shape,
        list_order=list_order,
        faults=Faults(
            rate=0.25,
            kinds=[Fault.DROP_AFTER_COMMIT, Fault.HTTP_5XX_AFTER_COMMIT],
            endpoints=["take_order"],
            latency=(0.0, 0.005),
            seed=5,
        ),
    )
    sim.add_account(KEY, SECRET)
    batch = _distinct_orders()
    verdicts: list[Reconciliation] = []

    async def place(client: ChainupContractClient, order: TakeOrder) -> int | None:
        """The README's loop; the venue's order id, or None when ambiguous."""
        while True:
            try:
                return (await client.take_order(order)).order_id
            except OrderStatusUnknown as unknown:
                verdict = await client.reconcile(unknown)  # must never raise
                verdicts.append(verdict)
                if verdict.status is ReconcileStatus.PLACED:
                    assert verdict.order is not None
                    return verdict.order.order_id
                if verdict.status is ReconcileStatus.AMBIGUOUS:
                    return None

    async with _client(sim_client, sim) as client:
        ids = await asyncio.gather(*(place(client, order) for order in batch))

    held = list(sim.orders.values())
    # Every order exists exactly once on the venue: one per price, one per market volume.
    keys = Counter((o.order_type, o.price if o.order_type == 1 else None, o.volume) for o in held)
    assert len(held) == len(batch) and max(keys.values()) == 1, keys
    for order, order_id in zip(batch, ids, strict=True):
        venue = sim.orders[order_id] if order_id is not None else None
        if venue is not None:  # the id the caller ended with is this order's
            assert venue.volume == order.volume and venue.side == order.side.value
            if order.price is not None:
                assert venue.price == order.price
    # Every lost answer was committed: a true verdict is PLACED, never NOT_PLACED.
    lost = sim.stats.faults["drop_after_commit"] + sim.stats.faults["http_5xx_after_commit"]
    assert len(verdicts) == lost > 0
    assert not [v for v in verdicts if v.status is ReconcileStatus.NOT_PLACED]
    ambiguous = [v for v in verdicts if v.status is ReconcileStatus.AMBIGUOUS]
    assert ambiguous == []  # distinct orders: the watermark tells every one
    assert sim.stats.faults["drop_after_commit"] and sim.stats.faults["http_5xx_after_commit"]
