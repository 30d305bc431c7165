"""When Redis goes away: fail closed (nothing sent, nothing retried) or fall back, and a
restart mid-run loses no order, sends none twice and breaks no window."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from collections.abc import Callable

import pytest
import redis.asyncio

from asyncexch import BucketUsage, LimiterHalted, RateLimit, VirtualClock
from asyncexch._redis import RedisLimiter, RedisPermit
from asyncexch._retry import CallState, should_retry
from asyncexch.bybit import BybitClient, OrderAck
from asyncexch.errors import LimiterUnavailable, Outcome
from asyncexch.sim import BybitSimulator, Faults, SimServer, SimTransport
from tests.builders.bybit import stake_orders
from tests.redis_testing import (  # noqa: F401 (the fixtures)
    RedisServer,
    make_limiter_fixture,
    redis_server_fixture,
    snapshotting_redis_server_fixture,
    until,
)
from tests.windows import busiest_window

pytestmark = [pytest.mark.integration]

MakeLimiter = Callable[..., RedisLimiter]
KEY = "outage-key"
SECRET = "outage-secret"


async def test_an_unreachable_redis_fails_closed_and_is_not_retried(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter()
    await limiter.acquire([("k:place_order", RateLimit(5))])
    redis_server.stop(signal.SIGKILL)
    with pytest.raises(LimiterUnavailable, match="nothing was sent") as failed:
        # A bound against hanging (redis-py's default retries back off for seconds), far
        # above the milliseconds a refused connection takes; the attempts are counted below.
        await asyncio.wait_for(limiter.acquire([("k:place_order", RateLimit(5))]), 5.0)
    assert failed.value.outcome is Outcome.NOT_PROCESSED
    assert not should_retry(failed.value, CallState(idempotent=True))
    assert limiter.stats.unavailable == 1


async def test_the_limiters_connection_tries_twice_then_fails() -> None:
    """connect_redis: one reconnect on a broken connection, then the error; no backoff, no
    third try (redis-py's default tries four times, backing off for seconds)."""
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisLimiter(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(LimiterUnavailable, match="nothing was sent"):
            await asyncio.wait_for(limiter.acquire([("k:place_order", RateLimit(5))]), 5.0)
    finally:
        await limiter.aclose()
        server.close()
        await server.wait_closed()
    assert connections == 2
    assert limiter.stats.unavailable == 1


async def test_waiters_queued_behind_a_failed_round_trip_fail_with_it(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter()
    rate = RateLimit(1, per=0.3)
    await limiter.acquire([("k:place_order", rate)])
    waiters = [asyncio.create_task(limiter.acquire([("k:place_order", rate)])) for _ in range(10)]
    # The head was told to wait; the nine others queue behind it.
    await until(lambda: limiter.stats.refused == 1)
    assert (await limiter.usage("k:place_order", rate)).waiting == 9
    redis_server.stop(signal.SIGKILL)
    results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 5.0)
    assert all(isinstance(result, LimiterUnavailable) for result in results)
    assert limiter.stats.unavailable == 1  # only the head knocked


async def test_a_client_sends_nothing_while_redis_is_down(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    sim = BybitSimulator()
    sim.add_account(KEY, SECRET)
    limiter = make_limiter()
    async with BybitClient(
        KEY, SECRET, base_url="http://sim", transport=SimTransport(sim.app), limiter=limiter
    ) as client:
        batch = stake_orders(sim, 3)
        await client.advance_earn.place_order(batch[0])
        await limiter.flush()  # its done() reached Redis
        redis_server.stop(signal.SIGKILL)
        with pytest.raises(LimiterUnavailable):
            await client.advance_earn.place_order(batch[1])
        results = await client.advance_earn.place_orders(batch[1:])
    assert all(isinstance(result, LimiterUnavailable) for result in results)
    assert sim.stats.requests["place_order"] == 1
    assert len(sim.orders) == 1
    assert limiter.stats.unavailable == 2  # one knock per call: nothing retried


async def test_the_fallback_paces_this_process_and_returns_to_redis(
    redis_server: RedisServer, make_limiter: MakeLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    clock = VirtualClock()  # the fallback's pacing and the recheck run on it
    limiter = make_limiter(fallback="in_process", recheck=0.3, clock=clock)
    rate = RateLimit(4, per=0.25)
    (await limiter.acquire([("k:place_order", rate)])).done()
    redis_server.stop(signal.SIGKILL)
    admitted: list[float] = []

    async def one() -> None:
        permit = await limiter.acquire([("k:place_order", rate)])
        admitted.append(clock.monotonic())
        permit.done()

    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        await asyncio.gather(*(one() for _ in range(12)))
    assert limiter.stats.fallback_admitted == 12
    assert busiest_window(admitted, rate.per) == rate.limit
    assert min(admitted) == pytest.approx(rate.window)  # closed for a window after the switch
    assert any("pacing this process alone" in r.getMessage() for r in caplog.records)

    # A recheck while Redis is down fails: the fallback goes on for another 0.3 s, even once
    # Redis is back; then the next request goes through Redis again.
    (await limiter.acquire([("k:other", rate)])).done()
    await asyncio.to_thread(redis_server.start)
    assert not isinstance(await limiter.acquire([("k:other", rate)]), RedisPermit)
    await clock.sleep(0.35)
    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        permit = await limiter.acquire([("k:place_order", rate)])
    assert isinstance(permit, RedisPermit)
    assert limiter.stats.fallback_admitted == 14
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_the_fallback_takes_its_share_of_each_limit(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    clock = VirtualClock()
    limiter = make_limiter(fallback="in_process", fallback_share=0.5, clock=clock)
    rate = RateLimit(4, per=0.25)
    redis_server.stop(signal.SIGKILL)
    admitted: list[float] = []
    for _ in range(6):
        (await limiter.acquire([("k:place_order", rate)])).done()
        admitted.append(clock.monotonic())
    assert busiest_window(admitted, rate.per) == 2
    assert limiter.stats.fallback_admitted == 6


async def _restart_mid_batch(
    redis_server: RedisServer, limiter: RedisLimiter, count: int, *, until_noticed: bool
) -> tuple[BybitSimulator, list[OrderAck | Exception], list[OrderAck | Exception]]:
    """Place ``count`` orders at 10/s; once 15 are placed, crash Redis and start an empty one
    at once, or once the limiter has met the outage; then place again every order that failed, with
    the same objects."""
    sim = BybitSimulator(limits={"place_order": (10, 1.0)}, faults=Faults(latency=(0.0, 0.01)))
    sim.add_account(KEY, SECRET)
    batch = stake_orders(sim, count)
    async with (
        SimServer(sim.app) as server,
        BybitClient(
            KEY,
            SECRET,
            base_url=server.url,
            limits={"place_order": RateLimit(10)},
            limiter=limiter,
        ) as client,
    ):
        placing = asyncio.create_task(client.advance_earn.place_orders(batch))
        await until(lambda: len(sim.orders) >= 15, timeout=30.0, every=0.01)
        redis_server.stop(signal.SIGKILL)
        if until_noticed:
            await until(lambda: bool(limiter.stats.unavailable or placing.done()), every=0.01)
        await asyncio.to_thread(redis_server.start)
        first: list[OrderAck | Exception] = list(await placing)
        results = list(first)
        again = [index for index, result in enumerate(results) if not isinstance(result, OrderAck)]
        retried = await client.advance_earn.place_orders([batch[index] for index in again])
        for index, result in zip(again, retried, strict=True):
            results[index] = result
    return sim, first, results


@pytest.mark.slow
@pytest.mark.parametrize("down", ["between-requests", "until-noticed"])
async def test_a_redis_restart_mid_run_loses_no_order_and_sends_none_twice(
    redis_server: RedisServer,
    make_limiter: MakeLimiter,
    caplog: pytest.LogCaptureFixture,
    down: str,
) -> None:
    limiter = make_limiter()
    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        sim, first, results = await _restart_mid_batch(
            redis_server, limiter, 40, until_noticed=down == "until-noticed"
        )

    assert all(isinstance(result, OrderAck) for result in results), results
    assert len(sim.orders) == 40
    assert Counter(o.order_link_id for o in sim.orders.values()).most_common(1)[0][1] == 1
    # Failing closed sent nothing: one request per order, none refused by the window, even
    # though the restarted Redis had forgotten the second before it (the quiet window).
    assert sim.stats.requests["place_order"] == 40
    assert sim.stats.rate_limit_rejections == 0
    assert busiest_window(sim.stats.arrivals["place_order"], 1.0) <= 10
    if down == "until-noticed":  # requests met the outage: failed closed, placed again
        assert limiter.stats.unavailable >= 1
        assert any(isinstance(result, LimiterUnavailable) for result in first)
    assert any("lost its data" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
async def test_a_redis_restart_with_a_fallback_keeps_placing_exactly_once(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter(fallback="in_process", recheck=0.5)
    sim, _, results = await _restart_mid_batch(redis_server, limiter, 40, until_noticed=True)

    assert all(isinstance(result, OrderAck) for result in results), results
    assert len(sim.orders) == 40
    assert Counter(o.order_link_id for o in sim.orders.values()).most_common(1)[0][1] == 1
    assert limiter.stats.fallback_admitted >= 1
    # Refusals by the window, if any, were not processed: each was retried with its own id.
    assert sim.stats.requests["place_order"] == 40 + sim.stats.rejections[10006]


async def test_redis_restored_from_a_snapshot_closes_every_bucket_for_its_window(
    snapshotting_redis_server: RedisServer,
) -> None:
    """A default redis-server crashes after its last snapshot: it comes back with the
    snapshot's slots and the same generation, but without the slots taken after it. The
    server's run id tells the restart: every bucket stays closed for its window."""
    server = snapshotting_redis_server
    rate = RateLimit(5, per=1.0)
    claims = [("k:place_order", rate)]
    before = RedisLimiter(server.url)
    try:
        for _ in range(2):
            (await before.acquire(claims)).done()
        await before.flush()
        client = redis.asyncio.Redis.from_url(server.url)
        await client.save()  # the snapshot holds two slots
        await client.aclose()
        for _ in range(3):
            (await before.acquire(claims)).done()  # three more, never saved
        await before.flush()
    finally:
        await before.aclose()
    await asyncio.to_thread(server.restart)  # SIGKILL, then the snapshot is reloaded
    after = RedisLimiter(server.url)  # another process: it saw nothing before
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        seconds, micros = await client.time()
        restarted = seconds + micros / 1_000_000  # on the clock the limiter uses
        admitted = []
        for _ in range(5):
            permit = await after.acquire(claims)
            assert isinstance(permit, RedisPermit)
            admitted.append(permit.admitted_at - restarted)
            permit.done()
    finally:
        await after.aclose()
        await client.aclose()

    # The five slots taken before the crash may have reached the venue within the last
    # second: nothing goes until a window (1.03 s) has passed (before the fix: all at once).
    assert admitted[0] >= rate.window - 0.000_001, admitted


async def test_the_fallback_starts_closed_for_a_window(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    """A full burst went through Redis; Redis dies; the fallback knows nothing of the burst,
    so it admits nothing more until a window after the switch (before: 20 in 342 ms at 10/s)."""
    clock = VirtualClock()
    limiter = make_limiter(fallback="in_process", recheck=30.0, clock=clock)
    rate = RateLimit(10, per=1.0)
    claims = [("k:place_order", rate)]
    admitted: list[float] = []
    for _ in range(10):
        (await limiter.acquire(claims)).done()
        admitted.append(clock.monotonic())
    redis_server.stop(signal.SIGKILL)
    for _ in range(10):
        (await limiter.acquire(claims)).done()
        admitted.append(clock.monotonic())

    assert limiter.stats.fallback_admitted == 10
    assert busiest_window(admitted, rate.per) == rate.limit
    assert admitted[10:] == [pytest.approx(rate.window)] * 10  # all after one window


async def test_a_halt_learnt_from_another_process_holds_while_falling_back(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    """The halt lives in Redis; this process learnt it there. Redis dies: the fallback was
    never told, but the bucket stays halted."""
    other, falling = make_limiter(), make_limiter(fallback="in_process", recheck=30.0)
    rate = RateLimit(5)
    other.halt("k:place_order", 60.0, code=403, reason="access too frequent")
    await other.flush()
    with pytest.raises(LimiterHalted, match="access too frequent"):
        await falling.acquire([("k:place_order", rate)])
    redis_server.stop(signal.SIGKILL)

    permit = await falling.acquire([("k:order", rate)])  # another bucket: the fallback's
    with pytest.raises(LimiterHalted) as halted:
        await falling.acquire([("k:place_order", rate)])

    assert not isinstance(permit, RedisPermit)
    assert halted.value.code == 403
    assert 55.0 < halted.value.remaining <= 60.0
    assert falling.stats.fallback_admitted == 1


async def test_while_falling_back_usage_and_repr_say_so(
    redis_server: RedisServer, make_limiter: MakeLimiter
) -> None:
    clock = VirtualClock()
    limiter = make_limiter(fallback="in_process", recheck=30.0, clock=clock, prefix="bot3:")
    closed = make_limiter()
    rate = RateLimit(5, per=1.0)
    for _ in range(2):
        (await limiter.acquire([("k:place_order", rate)])).done()
    assert await limiter.usage("k:place_order", rate) == BucketUsage(in_window=2)
    assert repr(limiter) == "<RedisLimiter prefix='bot3:' shared waiting=0>"
    redis_server.stop(signal.SIGKILL)

    for _ in range(3):
        await limiter.acquire([("k:place_order", rate)])  # unanswered: each still counts

    # From the fallback now: this process's three, not the two Redis counted.
    assert await limiter.usage("k:place_order", rate) == BucketUsage(in_window=3)
    assert repr(limiter) == "<RedisLimiter prefix='bot3:' falling back waiting=0>"
    assert (limiter.stats.admitted, limiter.stats.fallback_admitted) == (2, 3)
    assert clock.monotonic() == pytest.approx(rate.window)  # closed for a window first
    with pytest.raises(LimiterUnavailable, match="cannot be reached"):
        await closed.usage("k:place_order", rate)

    # Requests queued at the fallback's full bucket are its waiters (as the in-process
    # limiter counts them: behind the one asleep until the bucket has room).
    for _ in range(2):
        await limiter.acquire([("k:place_order", rate)])
    queued = [asyncio.create_task(limiter.acquire([("k:place_order", rate)])) for _ in range(3)]

    async def two_waiting() -> bool:
        return (await limiter.usage("k:place_order", rate)).waiting == 2

    await until(two_waiting)
    assert await limiter.usage("k:place_order", rate) == BucketUsage(in_window=5, waiting=2)
    for task in queued:
        task.cancel()
