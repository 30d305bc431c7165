"""RedisLimiter against a real redis-server: the in-process guarantees, across processes.

Each RedisLimiter has its own connections, so several on one event loop are several processes
as far as Redis can tell; the many-processes test runs real OS processes. Times are measured
on the Redis server's clock (``RedisPermit.admitted_at``, ``TIME``), the clock the limiter uses.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
import redis.asyncio

from asyncexch import ConfigurationError, LimiterHalted, RateLimit
from asyncexch._redis import RedisLimiter, RedisPermit
from tests.redis_testing import (  # noqa: F401 (the fixtures)
    make_limiter_fixture,
    redis_client_fixture,
    redis_server_fixture,
    until,
)
from tests.windows import busiest_window, sustained_rate

pytestmark = [pytest.mark.integration]

MakeLimiter = Callable[..., RedisLimiter]


async def server_time(client: redis.asyncio.Redis) -> float:
    seconds, micros = await client.time()
    return seconds + micros / 1_000_000


async def test_simulated_processes_never_exceed_the_limit_in_any_rolling_window(
    make_limiter: MakeLimiter,
) -> None:
    processes = [make_limiter() for _ in range(4)]
    rate = RateLimit(20, per=1.0)
    admitted: list[float] = []
    rng = random.Random(5)

    async def one(limiter: RedisLimiter) -> None:
        permit = await limiter.acquire([("bybit:key:k:place_order", rate)])
        assert isinstance(permit, RedisPermit)
        admitted.append(permit.admitted_at)
        await asyncio.sleep(rng.uniform(0, 0.005))
        permit.done()

    await asyncio.gather(*(one(processes[i % 4]) for i in range(100)))

    assert len(admitted) == 100
    assert busiest_window(admitted, rate.per) == rate.limit
    # 100 at 20/s: the limit, not the limiter, sets the pace (a one-second window leaves a
    # slow machine 100 ms per generation of 20 before the rate drops under 0.9 of it).
    assert sustained_rate(admitted, rate.limit) >= 0.9 * rate.limit / rate.per
    assert sum(p.stats.admitted for p in processes) == 100


async def test_arrivals_measured_on_the_server_clock_keep_the_rolling_window(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    # A "send" arrives when a TIME command reaches the server, after 0-40 ms (some past the
    # 30 ms guard); done() is called when its answer is back, as the session does.
    processes = [make_limiter() for _ in range(3)]
    rate = RateLimit(10, per=0.25)
    arrivals: list[float] = []
    rng = random.Random(8)

    async def one(limiter: RedisLimiter) -> None:
        permit = await limiter.acquire([("bybit:key:k:place_order", rate)])
        await asyncio.sleep(rng.uniform(0, 0.04))
        arrivals.append(await server_time(redis_client))
        permit.done()

    await asyncio.gather(*(one(processes[i % 3]) for i in range(90)))

    assert busiest_window(arrivals, rate.per) <= rate.limit


async def test_a_request_takes_all_its_buckets_or_none(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    a, b, c = make_limiter(), make_limiter(), make_limiter()
    endpoint, shared = RateLimit(1, per=0.2), RateLimit(2, per=1.0)
    first = await a.acquire([("k:place_order", endpoint), ("k:ip", shared)])
    assert isinstance(first, RedisPermit)
    blocked = asyncio.create_task(b.acquire([("k:place_order", endpoint), ("k:ip", shared)]))
    await until(lambda: b.stats.refused == 1)
    # Blocked by its endpoint, the request holds nothing of the shared pool: another
    # endpoint of any process gets it at once, never told to wait.
    other = await a.acquire([("k:order", RateLimit(10)), ("k:ip", shared)])
    assert isinstance(other, RedisPermit)
    assert a.stats.refused == 0
    assert await redis_client.zcard("asyncexch:k:ip:log") == 2
    # Its endpoint frees at first + 0.23 but the pool stays full until first + 1.03: blocked
    # by the pool, it holds nothing of its endpoint either.
    await asyncio.sleep(first.admitted_at + endpoint.window - await server_time(redis_client))
    assert not blocked.done()
    alone = await c.acquire([("k:place_order", endpoint)])
    assert isinstance(alone, RedisPermit)
    assert c.stats.refused == 0
    assert alone.admitted_at < first.admitted_at + shared.window  # while the pool was full
    # It goes when both have room.
    late = await blocked
    assert isinstance(late, RedisPermit)
    assert late.admitted_at >= first.admitted_at + shared.window
    assert late.admitted_at >= alone.admitted_at + endpoint.window


async def test_linked_buckets_hold_under_concurrency(make_limiter: MakeLimiter) -> None:
    processes = [make_limiter() for _ in range(3)]
    place, order, ip = RateLimit(5, per=0.25), RateLimit(5, per=0.25), RateLimit(8, per=0.25)
    times: dict[str, list[float]] = {"place": [], "order": []}

    async def one(limiter: RedisLimiter, name: str, rate: RateLimit) -> None:
        permit = await limiter.acquire([(f"k:{name}", rate), ("k:ip", ip)])
        assert isinstance(permit, RedisPermit)
        times[name].append(permit.admitted_at)
        permit.done()

    await asyncio.gather(
        *(one(processes[i % 3], "place", place) for i in range(30)),
        *(one(processes[i % 3], "order", order) for i in range(30)),
    )

    assert busiest_window(times["place"], 0.25) <= 5
    assert busiest_window(times["order"], 0.25) <= 5
    assert busiest_window(times["place"] + times["order"], 0.25) <= 8


async def test_a_pause_from_one_process_holds_every_process(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    a, b = make_limiter(), make_limiter()
    rate = RateLimit(5)
    paused_at = await server_time(redis_client)
    a.pause("k:place_order", 0.4)
    here = await a.acquire([("k:place_order", rate)])  # at once in this process, written or not
    assert isinstance(here, RedisPermit)
    assert here.admitted_at >= paused_at + 0.4
    a.pause("k:place_order", 0.4)
    await a.flush()
    pause = await redis_client.hget("asyncexch:k:place_order:state", "pause")
    assert pause is not None
    there = await b.acquire([("k:place_order", rate)])  # without the pause: at once
    assert isinstance(there, RedisPermit)
    assert there.admitted_at >= int(pause) / 1_000_000  # until the pause Redis holds ends


async def test_a_halt_from_one_process_stops_every_process(make_limiter: MakeLimiter) -> None:
    a, b = make_limiter(), make_limiter()
    rate = RateLimit(1, per=1.0)
    await b.acquire([("k:place_order", rate)])
    waiting = asyncio.create_task(b.acquire([("k:place_order", rate)]))  # asleep for ~1 s
    await until(lambda: b.stats.refused == 1)
    a.halt("k:place_order", 60.0, code=403, reason="access too frequent")
    await a.flush()
    with pytest.raises(LimiterHalted) as new:
        await b.acquire([("k:order", RateLimit(5)), ("k:place_order", rate)])
    assert (new.value.code, new.value.reason) == (403, "access too frequent")
    assert 55.0 < new.value.remaining <= 60.0
    # The waiter learns it when it next asks (within a second), and takes nothing.
    with pytest.raises(LimiterHalted):
        await asyncio.wait_for(waiting, 5.0)


async def test_a_halt_fails_this_processs_waiters_at_once(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    rate = RateLimit(1, per=60.0)  # without the halt they would wait a minute
    await limiter.acquire([("k:place_order", rate)])
    waiters = [asyncio.create_task(limiter.acquire([("k:place_order", rate)])) for _ in range(3)]
    await until(lambda: limiter.stats.refused == 1)  # the head sleeps, two queue behind it
    assert (await limiter.usage("k:place_order", rate)).waiting == 2
    limiter.halt("k:place_order", 60.0, code=403, reason="banned")
    results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 5.0)
    assert all(isinstance(result, LimiterHalted) for result in results)
    assert limiter.stats.refused == 1  # the head did not ask again to learn it


async def test_done_moves_the_slot_to_when_the_answer_came(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    a, b = make_limiter(), make_limiter()
    rate = RateLimit(1, per=0.5, guard=0.5)
    first = await a.acquire([("k:place_order", rate)])
    assert isinstance(first, RedisPermit)
    await asyncio.sleep(0.05)  # the answer takes a while
    answered = await server_time(redis_client)
    first.done()
    await a.flush()
    logged = await redis_client.zrange("asyncexch:k:place_order:log", 0, -1, withscores=True)
    assert len(logged) == 1
    slot = float(logged[0][1]) / 1_000_000
    # The slot is now the answer's time, not first + guard.
    assert answered <= slot < first.admitted_at + rate.guard
    second = await b.acquire([("k:place_order", rate)])
    assert isinstance(second, RedisPermit)
    assert second.admitted_at >= slot + rate.per - 0.000_001
    assert second.admitted_at < first.admitted_at + rate.window  # unanswered: not before
    # Unanswered, a slot stays at send + guard.
    third = await a.acquire([("k:place_order", rate)])
    assert isinstance(third, RedisPermit)
    assert third.admitted_at - second.admitted_at >= rate.per + rate.guard - 0.001


async def test_an_early_answer_wakes_this_processs_waiter(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    rate = RateLimit(1, per=0.5, guard=0.5)
    first = await limiter.acquire([("k:place_order", rate)])
    assert isinstance(first, RedisPermit)
    waiter = asyncio.create_task(limiter.acquire([("k:place_order", rate)]))
    await until(lambda: limiter.stats.refused == 1)  # told to wait for first + 1.0
    first.done()
    second = await asyncio.wait_for(waiter, 5.0)
    assert isinstance(second, RedisPermit)
    assert second.admitted_at < first.admitted_at + rate.window  # woken, not told again


async def test_waiters_of_one_process_go_first_come_first_served(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    rate = RateLimit(2, per=0.1)
    order: list[int] = []

    async def one(index: int) -> None:
        permit = await limiter.acquire([("k:place_order", rate)])
        order.append(index)
        permit.done()

    tasks = []
    for index in range(12):
        tasks.append(asyncio.create_task(one(index)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == list(range(12))


async def test_a_cancelled_waiter_leaves_the_queue_moving(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    rate = RateLimit(1, per=0.3)
    await limiter.acquire([("k:place_order", rate)])
    head = asyncio.create_task(limiter.acquire([("k:place_order", rate)]))
    queued = asyncio.create_task(limiter.acquire([("k:place_order", rate)]))
    await until(lambda: limiter.stats.refused == 1)  # the head sleeps, one queues behind it
    assert (await limiter.usage("k:place_order", rate)).waiting == 1
    head.cancel()
    permit = await asyncio.wait_for(queued, 5.0)
    assert isinstance(permit, RedisPermit)


async def test_processes_must_agree_on_a_buckets_limit(make_limiter: MakeLimiter) -> None:
    a, b = make_limiter(), make_limiter()
    await a.acquire([("k:place_order", RateLimit(5))])
    with pytest.raises(ConfigurationError, match="same limits"):
        await b.acquire([("k:place_order", RateLimit(6))])
    with pytest.raises(ConfigurationError, match="exceeds the limit"):
        await a.acquire([("k:place_order", RateLimit(5))], cost=6)


async def test_every_key_expires_and_lives_under_the_prefix(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    limiter = make_limiter(prefix="bot7:")
    rate = RateLimit(3, per=0.2)
    for _ in range(3):
        (await limiter.acquire([("k:place_order", rate), ("k:ip", RateLimit(50, per=0.2))])).done()
    limiter.pause("k:order", 0.1)
    limiter.halt("k:position", 0.1, code=403, reason="banned")
    await limiter.flush()
    keys = sorted(await redis_client.keys("*"))
    assert keys == [
        "bot7:k:ip:log",
        "bot7:k:ip:state",
        "bot7:k:order:state",
        "bot7:k:place_order:log",
        "bot7:k:place_order:state",
        "bot7:k:position:state",
        "bot7:meta",
    ]
    for key in keys:
        ttl = await redis_client.pttl(key)
        # A second past the window (0.2 + 0.03 s), the pause or the halt (0.1 s).
        assert 0 < ttl <= (86_400_000 if key == "bot7:meta" else 1_230), (key, ttl)

    async def only_meta_left() -> bool:
        return await redis_client.keys("*") == ["bot7:meta"]

    await until(only_meta_left, every=0.05)


async def test_the_script_keeps_microseconds_of_the_server_clock(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    limiter = make_limiter()
    before = await server_time(redis_client)
    permit = await limiter.acquire([("k:place_order", RateLimit(5, guard=0.03))])
    after = await server_time(redis_client)
    assert isinstance(permit, RedisPermit)
    assert before <= permit.admitted_at <= after
    logged = await redis_client.zrange("asyncexch:k:place_order:log", 0, -1, withscores=True)
    assert len(logged) == 1
    score = float(logged[0][1])
    assert score == pytest.approx(permit.admitted_at * 1e6 + 30_000, abs=1.0)
    assert score == int(score)


async def test_done_with_arrived_ago_settles_the_slot_that_much_earlier_on_the_redis_clock(
    make_limiter: MakeLimiter, redis_client: redis.asyncio.Redis
) -> None:
    limiter = make_limiter()
    rate = RateLimit(1, per=0.5)
    permit = await limiter.acquire([("k:place_order", rate)])
    await asyncio.sleep(0.4)
    before = await server_time(redis_client)
    permit.done(arrived_ago=0.3)
    await limiter.flush()
    after = await server_time(redis_client)

    logged = await redis_client.zrange(f"{limiter.prefix}k:place_order:log", 0, -1, withscores=True)
    assert len(logged) == 1
    settled = float(logged[0][1]) / 1_000_000
    assert before - 0.3 <= settled <= after - 0.3
    second = await limiter.acquire([("k:place_order", rate)])
    assert isinstance(second, RedisPermit)
    assert second.admitted_at >= settled + rate.per - 0.000_001
    assert second.admitted_at < before + rate.per  # sooner than answer + per


async def test_usage_is_what_every_process_sees_in_redis(make_limiter: MakeLimiter) -> None:
    one, other = make_limiter(), make_limiter()
    key, rate = "bybit:key:k:place_order", RateLimit(5, per=1.0)
    for _ in range(3):
        (await one.acquire([(key, rate)])).done()
    other.pause(key, 30.0)
    other.halt(key, 600.0, code=403, reason="access too frequent")
    await other.flush()

    seen = await one.usage(key, rate)
    unused = await one.usage("bybit:key:k:never", rate)

    assert seen.in_window == 3
    assert 29.0 < seen.paused_for <= 30.0
    assert 599.0 < seen.halted_for <= 600.0
    assert seen.halt_reason == "access too frequent"
    assert (unused.in_window, unused.paused_for, unused.halted_for) == (0, 0.0, 0.0)
