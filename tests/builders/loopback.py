"""The loopback tests' common frame for exactly-once placement: a simulator on real time
whose place-order answers are lost or fail at random, a client that retries through them,
the check that each order was placed once while the faults struck, and a wait until every
order of a set is done."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from asyncexch import RateLimit, RetryPolicy
from asyncexch.bybit import BybitClient
from asyncexch.sim import BybitSimulator, Fault, Faults
from tests.builders.sim import SimClients

#: The faults a placement meets: answers lost after or before the venue took the order, and
#: "busy" refusals.
PLACE_FAULTS = [
    Fault.DROP_AFTER_COMMIT,
    Fault.TIMEOUT_AFTER_COMMIT,
    Fault.BUSY,
    Fault.DROP_BEFORE_COMMIT,
]


def faulty_sim(seed: int, **options: Any) -> BybitSimulator:
    """An Advance Earn simulator on real time: 40 % of place-order calls meet one of
    :data:`PLACE_FAULTS` (drawn by ``seed``), orders confirm 0.2 s after they are placed, the
    market stands still, 50 orders/s are allowed; ``options`` (the products) go to it."""
    return BybitSimulator(
        limits={"place_order": (50, 1.0), "order": (50, 1.0)},
        settlement_delay=0.2,
        price_swing=0.0,
        faults=Faults(rate=0.4, kinds=PLACE_FAULTS, endpoints=["place_order"], seed=seed),
        **options,
    )


def retrying_client(
    sim_client: SimClients, sim: BybitSimulator, key: str, secret: str
) -> AbstractAsyncContextManager[BybitClient]:
    """A client of ``sim`` that may place and read 50 orders/s and tries a call up to 12
    times."""
    return sim_client.bybit(
        sim,
        key,
        secret,
        limits={"place_order": RateLimit(50), "order": RateLimit(50)},
        retry=RetryPolicy(max_attempts=12, max_backoff=0.5),
    )


class _Linked(Protocol):
    @property
    def order_link_id(self) -> str: ...


InfoT = TypeVar("InfoT", bound=_Linked)
HeldT = TypeVar("HeldT", bound=_Linked)


def assert_placed_once(
    sim: BybitSimulator, held: Iterable[HeldT], built: Iterable[_Linked]
) -> dict[str, HeldT]:
    """The venue holds one order (of ``held``, its orders) per order ``built``, and the
    faults put that to the test: answers were lost after the venue had taken an order, and
    retries met "already exists". The venue's orders by link."""
    venue = list(held)
    assert Counter(order.order_link_id for order in venue) == Counter(
        order.order_link_id for order in built
    )
    after_commit = sum(sim.stats.faults[kind.value] for kind in PLACE_FAULTS if kind.after_commit)
    assert after_commit > 0 and sim.stats.duplicates_refused > 0, sim.stats
    return {order.order_link_id: order for order in venue}


async def until_done(
    orders: Callable[[], AsyncIterator[InfoT]],
    links: Collection[str],
    done: Callable[[InfoT], bool],
    timeout: float = 30.0,
) -> dict[str, InfoT]:
    """The orders of ``links`` by link, read with ``orders`` every 0.2 s until each is
    ``done``; fails after ``timeout`` seconds (real time)."""
    deadline = time.monotonic() + timeout
    while True:
        infos = {i.order_link_id: i async for i in orders() if i.order_link_id in links}
        if len(infos) == len(links) and all(done(info) for info in infos.values()):
            return infos
        assert time.monotonic() < deadline, infos
        await asyncio.sleep(0.2)
