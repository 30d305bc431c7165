"""Server feedback seen by one process reaches every process through Redis: a 10006 with its
reset time pauses the bucket, a 403 halts the key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import redis.asyncio

from asyncexch import RateLimit, TrafficHalted
from asyncexch._redis import RedisLimiter
from asyncexch.bybit import BybitClient, OrderAck
from asyncexch.sim import BybitSimulator, SimTransport
from tests.builders.bybit import stake_orders
from tests.redis_testing import (  # noqa: F401 (the fixtures)
    make_limiter_fixture,
    redis_client_fixture,
    redis_server_fixture,
)

pytestmark = [pytest.mark.integration]

MakeLimiter = Callable[..., RedisLimiter]
KEY = "feedback-key"
SECRET = "feedback-secret"


async def test_a_10006_in_one_process_pauses_the_bucket_in_every_process(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    # The venue allows 2/s; the clients believe 5/s, so the third order meets 10006.
    sim = BybitSimulator(limits={"place_order": (2, 1.0)})
    sim.add_account(KEY, SECRET)
    limits = {"place_order": RateLimit(5)}
    transport = SimTransport(sim.app)
    async with (
        BybitClient(
            KEY,
            SECRET,
            base_url="http://sim",
            transport=transport,
            limits=limits,
            limiter=make_limiter(),
        ) as a,
        BybitClient(
            KEY,
            SECRET,
            base_url="http://sim",
            transport=transport,
            limits=limits,
            limiter=make_limiter(),
        ) as b,
    ):
        placing = asyncio.create_task(a.advance_earn.place_orders(stake_orders(sim, 3)))
        state = f"asyncexch:{a.session.venue.bucket_key('place_order')}:state"
        pauses: list[bytes | str | None] = []

        async def paused() -> None:
            while not pauses or pauses[-1] is None:
                pauses.append(await redis_client.hget(state, "pause"))

        await asyncio.wait_for(paused(), 3.0)
        assert sim.stats.rejections[10006] == 1
        # The other process waits for the reset time instead of meeting the window.
        ack = await b.advance_earn.place_order(stake_orders(sim, 1, first=3)[0])
        results = await placing

    assert isinstance(ack, OrderAck)
    assert all(isinstance(result, OrderAck) for result in results), results
    assert sim.stats.rejections[10006] == 1
    assert len(sim.orders) == 4


async def test_a_403_in_one_process_halts_the_key_in_every_process(
    make_limiter: MakeLimiter,
) -> None:
    # The venue allows 3 requests per 5 s from the IP; the clients believe 600.
    sim = BybitSimulator(ip_limit=(3, 5.0), ip_ban=30.0)
    sim.add_account(KEY, SECRET)
    transport = SimTransport(sim.app)
    limiter_a, limiter_b = make_limiter(), make_limiter()
    async with (
        BybitClient(
            KEY, SECRET, base_url="http://sim", transport=transport, limiter=limiter_a
        ) as a,
        BybitClient(
            KEY, SECRET, base_url="http://sim", transport=transport, limiter=limiter_b
        ) as b,
    ):
        for _ in range(3):
            await a.advance_earn.products()
        with pytest.raises(TrafficHalted):
            await a.advance_earn.products()
        await limiter_a.flush()
        sent = sim.stats.requests.total()
        with pytest.raises(TrafficHalted) as halted:
            await b.advance_earn.place_order(stake_orders(sim, 1)[0])

    assert halted.value.code == 403
    assert sim.stats.requests.total() == sent  # refused before sending anything
    assert sim.stats.requests["place_order"] == 0
