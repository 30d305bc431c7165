"""Cancelling a batch midway, over a real socket: nothing is sent twice and the report is true.

The batch runs at the exchange's 5/s limit with up to 0.6 s of network delay, and is
cancelled once some orders are done and three have left without an answer. The
:class:`~asyncexch.BatchReport` must say exactly which orders left the process; the exchange
must hold nothing else; and placing the unfinished orders again, with the same objects, must
acknowledge each of them without a duplicate. Nothing waits a fixed time: the test waits for
states of the report and of the exchange.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from asyncexch import BatchReport, ExchangeError
from asyncexch.bybit import OrderAck
from asyncexch.sim import BybitSimulator, Faults
from tests.builders.bybit import stake_orders
from tests.builders.sim import SimClients
from tests.waiting import settled, until

pytestmark = [pytest.mark.integration]

KEY = "cancellation-key"
SECRET = "cancellation-secret"
COUNT = 40
LATENCY = (0.2, 0.6)


class Watched:
    """The simulator's app, counting the requests it began and ended (on the server's thread)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.began = 0
        self.ended = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self._lock:
            self.began += 1
        try:
            await self._app(scope, receive, send)
        finally:
            with self._lock:
                self.ended += 1


@pytest.mark.slow
async def test_a_batch_cancelled_midway_reports_exactly_what_was_sent(
    sim_client: SimClients,
) -> None:
    sim = BybitSimulator(faults=Faults(latency=LATENCY, seed=3))  # place_order: 5 per second
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, COUNT)
    report: BatchReport[OrderAck | ExchangeError] = BatchReport(COUNT)

    watched = Watched(sim.app)

    async with sim_client.bybit(sim, KEY, SECRET, app=watched) as client:
        earn = client.advance_earn
        task = asyncio.ensure_future(earn.place_orders(batch, report=report))
        # Cancel while orders are on the wire (sent, unanswered), as a real cancel would be.
        await until(
            lambda: (
                sum(result is not None for result in report.results) >= 5
                and len(report.unfinished) >= 3
            ),
            within=30.0,
            what="five orders answered and three on the wire",
        )
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sent = list(report.sent)
        results = list(report.results)
        unsent, unfinished = report.unsent, report.unfinished
        # Wait until the exchange is done with every request that left. One cut off while
        # being handed to the socket never arrives, so this wait may end unmet (then the
        # bound, many times the delay, has let everything settle).
        await settled(lambda: watched.ended == watched.began == sum(sent), within=5.0)
        # Nothing was sent after the cancellation: the record is as it was when it ended, and
        # the exchange began no request beyond the orders sent before it.
        assert report.sent == sent
        assert report.results == results
        assert watched.began <= sum(sent)

        links = {order.order_link_id: index for index, order in enumerate(batch)}
        held = {order.order_link_id: order for order in sim.orders.values()}
        held_indices = {links[link] for link in held}

        # The cancellation stopped the batch midway, with some orders on the wire.
        assert 5 <= sum(sent) < COUNT
        assert unsent
        assert unfinished
        assert unfinished == [
            index for index in range(COUNT) if sent[index] and results[index] is None
        ]
        # Nothing sent twice: one request per order that arrived, one order per request.
        place_requests = sim.stats.requests["place_order"]
        assert len(held) == len(sim.orders)  # orderLinkIds are unique on the exchange
        assert place_requests == len(sim.orders) <= sum(sent)
        assert sim.stats.duplicates_refused == 0
        assert sim.stats.rejections == {}
        # The report is true: every order the exchange holds was reported sent, and no unsent
        # order reached it.
        assert all(sent[index] for index in held_indices)
        assert not held_indices & set(unsent)
        # Every finished order is an acknowledgement of the exchange's order.
        finished = {index: result for index, result in enumerate(results) if result is not None}
        assert all(isinstance(result, OrderAck) for result in finished.values()), finished
        for index, ack in finished.items():
            assert isinstance(ack, OrderAck)
            assert held[batch[index].order_link_id].order_id == ack.order_id
        assert set(finished) <= held_indices <= set(finished) | set(unfinished)

        # Place the unfinished orders again, with the same objects: each ends acknowledged,
        # as the order the exchange already holds if it got there, and none is duplicated.
        held_before = dict(held)
        retried = await earn.place_orders([batch[index] for index in unfinished])

    assert all(isinstance(result, OrderAck) for result in retried), retried
    for index, ack in zip(unfinished, retried, strict=True):
        assert isinstance(ack, OrderAck)
        assert ack.order_link_id == batch[index].order_link_id
        previous = held_before.get(ack.order_link_id)
        if previous is not None:  # it had been placed: the same order comes back
            assert ack.order_id == previous.order_id
    assert sim.stats.duplicates_refused == len(held_indices & set(unfinished))
    final = Counter(order.order_link_id for order in sim.orders.values())
    assert max(final.values()) == 1
    assert {links[link] for link in final} == held_indices | set(unfinished)
    by_link = {order.order_link_id: order.order_id for order in sim.orders.values()}
    for index, ack in zip(unfinished, retried, strict=True):
        assert isinstance(ack, OrderAck)
        assert by_link[batch[index].order_link_id] == ack.order_id
    for index, result in finished.items():  # the first answers still name the same orders
        assert isinstance(result, OrderAck)
        assert by_link[batch[index].order_link_id] == result.order_id
