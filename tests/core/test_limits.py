"""InProcessLimiter: rolling-window safety, FIFO service, multi-bucket claims, feedback.

Everything runs on a :class:`VirtualClock`, so admission times are exact and the same on every
run. Real loop time is used only as a generous guard against hangs (a deadlock would otherwise
block the test forever), and in the aiolimiter contrast test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import pytest
from aiolimiter import AsyncLimiter

from asyncexch import (
    ConfigurationError,
    InProcessLimiter,
    LimiterHalted,
    RateLimit,
    SystemClock,
    VirtualClock,
    shared_limiter,
)
from tests.windows import max_in_window

T = TypeVar("T")

#: Real seconds after which a test counts as hung (a deadlock under virtual time).
HANG_GUARD = 10.0


async def no_hang(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, timeout=HANG_GUARD)


def test_max_in_window_helper() -> None:
    # The measuring stick itself: half-open windows, costs counted.
    assert max_in_window([0.0, 0.5, 1.0], 1.0) == 2
    assert max_in_window([0.0, 0.5, 0.99], 1.0) == 3
    assert max_in_window([0.0, 0.0, 2.0], 1.0, [2, 3, 4]) == 5
    assert max_in_window([], 1.0) == 0


class Recorder:
    """Runs acquire() calls and records who called when and who was let through when."""

    def __init__(self, limiter: InProcessLimiter, clock: VirtualClock) -> None:
        self.limiter = limiter
        self.clock = clock
        self.called: list[int] = []
        self.admitted: list[tuple[int, float]] = []

    async def request(
        self, ident: int, claims: Sequence[tuple[str, RateLimit]], cost: int = 1, delay: float = 0.0
    ) -> float:
        if delay:
            await self.clock.sleep(delay)
        self.called.append(ident)
        await self.limiter.acquire(claims, cost)
        now = self.clock.monotonic()
        self.admitted.append((ident, now))
        return now

    def order(self) -> list[int]:
        return [ident for ident, _ in self.admitted]

    def times(self, idents: Sequence[int] | None = None) -> list[float]:
        if idents is None:
            return [t for _, t in self.admitted]
        wanted = set(idents)
        return [t for ident, t in self.admitted if ident in wanted]


# ---------------------------------------------------------------------------------------------
# One bucket under heavy load
# ---------------------------------------------------------------------------------------------


async def test_thousand_concurrent_requests_never_exceed_limit_in_any_rolling_window() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(5, per=1.0)
    assert rate.guard == pytest.approx(0.03)
    rec = Recorder(limiter, clock)
    n = 1000

    tasks = [asyncio.create_task(rec.request(i, [("k", rate)])) for i in range(n)]
    await no_hang(asyncio.gather(*tasks))

    times = rec.times()
    assert len(times) == n
    # Safety, measured where the server measures: every window of length per ...
    assert max_in_window(times, rate.per) <= rate.limit
    # ... and the window the client promises to enforce, per + guard.
    assert max_in_window(times, rate.window - 1e-9) <= rate.limit
    # The limiter does use its bursts: some window does hold the full limit.
    assert max_in_window(times, rate.per) == rate.limit

    # First come, first served: admitted in the order acquire() was called.
    assert rec.called == list(range(n))
    assert rec.order() == rec.called
    assert times == sorted(times)

    # Throughput: bursts of `limit` every `per + guard`, i.e. limit / (per + guard) per second.
    expected_duration = (n // rate.limit - 1) * rate.window  # 199 * 1.03 = 204.97 s
    duration = times[-1] - times[0]
    assert duration == pytest.approx(expected_duration, rel=0.01)
    achieved = (n - 1) / duration
    assert achieved == pytest.approx(rate.limit / rate.window, rel=0.02)
    assert achieved <= rate.limit / rate.per  # never faster than the server's limit
    assert times[0] == 0.0


async def test_burst_then_window_spacing_exact_schedule() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(3, per=2.0, guard=0.5)
    rec = Recorder(limiter, clock)
    await no_hang(asyncio.gather(*(rec.request(i, [("k", rate)]) for i in range(7))))
    assert rec.times() == pytest.approx([0.0, 0.0, 0.0, 2.5, 2.5, 2.5, 5.0])


async def test_idle_bucket_admits_immediately_without_sleeping() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(2, per=1.0)
    await limiter.acquire([("k", rate)])
    await clock.sleep(10.0)
    before = clock.monotonic()
    await limiter.acquire([("k", rate)])
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == before


# ---------------------------------------------------------------------------------------------
# aiolimiter contrast: the measurement above can fail
# ---------------------------------------------------------------------------------------------


async def test_aiolimiter_leaky_bucket_breaks_the_rolling_window() -> None:
    # A leaky bucket AsyncLimiter(5, 1) lets 5 go at once and then one every 0.2 s, so the first
    # rolling second holds ~9 requests. The same check that passes for InProcessLimiter fails
    # here, which shows the check has teeth. Real loop time, as aiolimiter uses loop.time().
    loop = asyncio.get_running_loop()
    limiter = AsyncLimiter(5, 1)
    times: list[float] = []

    async def one() -> None:
        async with limiter:
            times.append(loop.time())

    await no_hang(asyncio.gather(*(one() for _ in range(9))))
    assert len(times) == 9
    # Even with a slow, loaded machine (drips 2x late) the first second holds >= 7.
    assert max_in_window(times, 1.0) > 5


# ---------------------------------------------------------------------------------------------
# Several buckets per request
# ---------------------------------------------------------------------------------------------

A = RateLimit(5)
B = RateLimit(5)
IP = RateLimit(7, per=1.0)


async def test_shared_ip_bucket_never_exceeds_its_limit_and_nothing_deadlocks() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rec = Recorder(limiter, clock)
    n = 100
    tasks = []
    for i in range(2 * n):
        claims = [("a", A), ("ip", IP)] if i % 2 == 0 else [("b", B), ("ip", IP)]
        tasks.append(asyncio.create_task(rec.request(i, claims)))
    await no_hang(asyncio.gather(*tasks))

    a_ids = list(range(0, 2 * n, 2))
    b_ids = list(range(1, 2 * n, 2))
    all_times = rec.times()
    assert len(all_times) == 2 * n
    assert max_in_window(all_times, IP.per) <= IP.limit
    assert max_in_window(all_times, IP.window - 1e-9) <= IP.limit
    assert max_in_window(rec.times(a_ids), A.window - 1e-9) <= A.limit
    assert max_in_window(rec.times(b_ids), B.window - 1e-9) <= B.limit
    # FIFO within each endpoint bucket.
    order = rec.order()
    assert [i for i in order if i % 2 == 0] == a_ids
    assert [i for i in order if i % 2 == 1] == b_ids
    # The ip bucket is the bottleneck (demand 10 per window, 7 allowed): it should run full.
    expected = (-(-2 * n // IP.limit) - 1) * IP.window
    assert max(all_times) == pytest.approx(expected, rel=0.01)


async def test_request_waiting_on_its_endpoint_does_not_block_another_endpoint() -> None:
    # 20 requests on endpoint "a" exhaust it at once (5 go, 15 wait ~1 s for "a"); the ip pool
    # still has 2 free. Two "b" requests arriving next have capacity in both "b" and "ip", so
    # they must go now, not queue behind an "a" request that is waiting for "a".
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rec = Recorder(limiter, clock)
    tasks = [asyncio.create_task(rec.request(i, [("a", A), ("ip", IP)])) for i in range(20)]
    tasks += [asyncio.create_task(rec.request(100 + i, [("b", B), ("ip", IP)])) for i in range(2)]
    await no_hang(asyncio.gather(*tasks))

    assert rec.times([100, 101]) == [0.0, 0.0]
    assert max_in_window(rec.times(), IP.window - 1e-9) <= IP.limit
    assert max_in_window(rec.times(range(20)), A.window - 1e-9) <= A.limit


async def test_request_waiting_on_shared_pool_keeps_fifo_there() -> None:
    # When the *shared* bucket is what is exhausted, the endpoint queues may not overtake each
    # other in it: whoever asked first goes first.
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rec = Recorder(limiter, clock)
    ip = RateLimit(2, per=1.0, guard=0.0)
    big = RateLimit(100, per=1.0, guard=0.0)
    claims = {0: "a", 1: "b", 2: "a", 3: "b", 4: "a", 5: "b"}
    await no_hang(
        asyncio.gather(*(rec.request(i, [(claims[i], big), ("ip", ip)]) for i in range(6)))
    )
    assert rec.order() == list(range(6))
    assert rec.times() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


# ---------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------


async def test_cost_takes_that_many_slots() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(5, per=1.0, guard=0.0)
    rec = Recorder(limiter, clock)
    costs = [3, 3, 2, 5, 1]
    await no_hang(
        asyncio.gather(*(rec.request(i, [("k", rate)], cost=c) for i, c in enumerate(costs)))
    )
    # 3 at 0; 3 more would make 6, so wait to 1.0; then 2 fits with those 3; 5 needs a clear
    # window: at 2.0 (the 3 taken at 1.0 expire); 1 needs a slot: the oldest of the 5 at 3.0.
    assert rec.times() == [0.0, 1.0, 1.0, 2.0, 3.0]
    assert max_in_window(rec.times(), rate.per, costs) <= rate.limit


async def test_cost_equal_to_limit_is_allowed_and_cost_above_is_refused() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    await limiter.acquire([("k", RateLimit(3))], cost=3)
    with pytest.raises(ConfigurationError, match=r"^cost 4 exceeds the limit 3 of 'k'$"):
        await limiter.acquire([("k", RateLimit(3))], cost=4)
    # Over the limit of the shared pool only, still refused; and before anything was taken.
    with pytest.raises(ConfigurationError, match=r"^cost 3 exceeds the limit 2 of 'ip'$"):
        await limiter.acquire([("x", RateLimit(10)), ("ip", RateLimit(2))], cost=3)
    await limiter.acquire([("x", RateLimit(10))], cost=10)
    assert clock.monotonic() == 0.0


# ---------------------------------------------------------------------------------------------
# Cancellation
# ---------------------------------------------------------------------------------------------


def assert_idle(limiter: InProcessLimiter) -> None:
    assert "waiting=0" in repr(limiter)
    for bucket in limiter._buckets.values():
        assert bucket.turns.idle


async def test_cancelled_queued_waiter_takes_no_capacity_and_leaves_the_queue() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.0)
    rec = Recorder(limiter, clock)
    first = asyncio.create_task(rec.request(0, [("k", rate)]))
    head = asyncio.create_task(rec.request(1, [("k", rate)]))  # at the head, sleeping to 1.0
    queued = asyncio.create_task(rec.request(2, [("k", rate)]))  # in the queue
    last = asyncio.create_task(rec.request(3, [("k", rate)]))
    for _ in range(5):
        await asyncio.sleep(0)
    assert first.done() and not head.done() and not queued.done()
    queued.cancel()
    await no_hang(asyncio.gather(first, head, last))
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert rec.admitted == [(0, 0.0), (1, 1.0), (3, 2.0)]
    assert limiter._buckets["k"].slots == [2.0]
    assert_idle(limiter)


async def test_cancelled_head_sleeper_takes_no_capacity_and_next_is_served() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.0)
    rec = Recorder(limiter, clock)
    await rec.request(0, [("k", rate)])
    head = asyncio.create_task(rec.request(1, [("k", rate)]))
    nxt = asyncio.create_task(rec.request(2, [("k", rate)]))

    async def cancel_later() -> None:
        await clock.sleep(0.5)
        head.cancel()

    await cancel_later()
    with pytest.raises(asyncio.CancelledError):
        await head
    await no_hang(nxt)
    # The cancelled request took nothing, so the next one goes as soon as the first expires.
    assert rec.admitted == [(0, 0.0), (2, 1.0)]
    assert_idle(limiter)


async def test_cancelled_just_after_being_handed_the_head_passes_it_on() -> None:
    # The head is handed to `second` (its future resolved) and `second` is cancelled before it
    # runs: it must hand the head on, or `third` would wait forever.
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.0)
    times: dict[str, float] = {}
    second_task: asyncio.Task[None] | None = None

    async def first() -> None:
        await limiter.acquire([("k", rate)])
        times["first"] = clock.monotonic()

    async def leader() -> None:
        await limiter.acquire([("k", rate)])  # sleeps at the head until 1.0
        times["leader"] = clock.monotonic()
        assert second_task is not None
        second_task.cancel()  # same step in which acquire() handed the head to `second`

    async def waiter(name: str) -> None:
        await limiter.acquire([("k", rate)])
        times[name] = clock.monotonic()

    t1 = asyncio.create_task(first())
    t2 = asyncio.create_task(leader())
    second_task = asyncio.create_task(waiter("second"))
    t4 = asyncio.create_task(waiter("third"))
    await no_hang(asyncio.gather(t1, t2, t4))
    with pytest.raises(asyncio.CancelledError):
        await second_task
    assert times == {"first": 0.0, "leader": 1.0, "third": 2.0}
    assert_idle(limiter)


async def test_cancelled_multi_bucket_waiter_releases_every_queue() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    a = RateLimit(1, per=1.0, guard=0.0)
    ip = RateLimit(1, per=5.0, guard=0.0)
    rec = Recorder(limiter, clock)
    await rec.request(0, [("a", a), ("ip", ip)])
    # Entered "a", now sleeping at the head of "ip" (or of both) until 5.0.
    stuck = asyncio.create_task(rec.request(1, [("a", a), ("ip", ip)]))
    for _ in range(5):
        await asyncio.sleep(0)
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    # Both queues are free again: a request on "a" alone goes at once (a's window is over
    # at 1.0), and one on "ip" at 5.0.
    await clock.sleep(1.0)
    await no_hang(rec.request(2, [("a", a)]))
    await no_hang(rec.request(3, [("ip", ip)]))
    assert rec.admitted == [(0, 0.0), (2, 1.0), (3, 5.0)]
    assert_idle(limiter)


async def test_no_tasks_left_behind_after_a_run_with_cancellations() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(2, per=1.0)
    rec = Recorder(limiter, clock)
    tasks = [asyncio.create_task(rec.request(i, [("k", rate)])) for i in range(20)]
    for _ in range(5):
        await asyncio.sleep(0)
    for i in (3, 7, 8, 15, 19):
        tasks[i].cancel()
    await no_hang(asyncio.gather(*tasks, return_exceptions=True))
    cancelled = {i for i in range(20) if tasks[i].cancelled()}
    assert cancelled == {3, 7, 8, 15, 19}
    assert rec.order() == [i for i in range(20) if i not in cancelled]
    assert max_in_window(rec.times(), rate.window - 1e-9) <= rate.limit
    # 15 admitted: bursts of 2 every 1.03 s -> the last at 7 * 1.03.
    assert rec.times()[-1] == pytest.approx(7 * rate.window)
    assert_idle(limiter)
    for _ in range(70):  # let the clock's driver task notice it has nothing to do
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}


# ---------------------------------------------------------------------------------------------
# Server feedback: pause and halt
# ---------------------------------------------------------------------------------------------


async def test_pause_delays_the_next_admission_by_that_long() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(5, per=1.0)
    await limiter.acquire([("k", rate)])
    await clock.sleep(0.25)
    limiter.pause("k", 2.0)
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(2.25)
    # The pause is over: the rest of the burst goes at once.
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(2.25)


async def test_pause_never_shortens_an_earlier_longer_pause_and_ignores_other_keys() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(5, per=1.0)
    await limiter.acquire([("k", rate)])
    await limiter.acquire([("other", rate)])
    limiter.pause("k", 3.0)
    limiter.pause("k", 1.0)
    limiter.pause("unknown", 10.0)  # no such bucket yet: nothing happens
    await limiter.acquire([("other", rate)])
    assert clock.monotonic() == 0.0
    await limiter.acquire([("unknown", rate)])
    assert clock.monotonic() == 0.0
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(3.0)


async def test_pause_on_shared_pool_delays_every_endpoint_using_it() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    await limiter.acquire([("a", A), ("ip", IP)])
    limiter.pause("ip", 1.5)
    await limiter.acquire([("b", B), ("ip", IP)])
    assert clock.monotonic() == pytest.approx(1.5)


async def test_halt_makes_acquire_raise_at_once_then_works_after() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(5, per=1.0)
    await limiter.acquire([("k", rate)])
    limiter.halt("k", 10.0, code=403, reason="access too frequent")
    with pytest.raises(LimiterHalted) as caught:
        await limiter.acquire([("k", rate)])
    assert clock.monotonic() == 0.0
    assert caught.value.code == 403
    assert caught.value.reason == "access too frequent"
    assert caught.value.remaining == pytest.approx(10.0)
    assert str(caught.value) == "access too frequent"

    await clock.sleep(4.0)
    with pytest.raises(LimiterHalted) as caught:
        await limiter.acquire([("k", rate)])
    assert caught.value.remaining == pytest.approx(6.0)

    await clock.sleep(6.0)
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(10.0)
    # The refused requests took no capacity: the rest of the burst goes at once.
    for _ in range(4):
        await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(10.0)
    assert_idle(limiter)


async def test_halt_on_shared_pool_refuses_requests_through_it() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    await limiter.acquire([("a", A), ("ip", IP)])
    limiter.halt("ip", 5.0, code=10006, reason="ip banned")
    with pytest.raises(LimiterHalted) as caught:
        await limiter.acquire([("b", B), ("ip", IP)])
    assert caught.value.code == 10006
    await limiter.acquire([("b", B)])  # "b" alone is not halted
    assert clock.monotonic() == 0.0
    assert_idle(limiter)


async def test_halt_fails_queued_waiters_at_once() -> None:
    # Requests already waiting when the halt comes fail then, not when they would have been
    # let through (docstring of RateLimiter.halt: "waiters fail at once").
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=60.0, guard=0.0)
    await limiter.acquire([("k", rate)])
    failed: dict[int, tuple[float, float]] = {}
    admitted: dict[int, float] = {}

    async def waiter(i: int) -> None:
        try:
            await limiter.acquire([("k", rate)])
        except LimiterHalted as exc:
            failed[i] = (clock.monotonic(), exc.remaining)
        else:
            admitted[i] = clock.monotonic()

    tasks = [asyncio.create_task(waiter(i)) for i in range(3)]  # 0 sleeps at the head to 60.0
    await clock.sleep(1.0)
    limiter.halt("k", 10.0, code=403, reason="banned")
    # A new request while the others wait is refused at once too, not queued.
    with pytest.raises(LimiterHalted):
        await no_hang(limiter.acquire([("k", rate)]))
    assert clock.monotonic() == 1.0
    await no_hang(asyncio.gather(*tasks))
    assert admitted == {}
    assert sorted(failed) == [0, 1, 2]
    for when, remaining in failed.values():
        assert when == pytest.approx(1.0)
        assert remaining == pytest.approx(10.0)
    assert_idle(limiter)


async def test_halt_covers_a_key_not_used_yet_but_pause_does_not() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    limiter.pause("fresh", 5.0)  # no bucket yet: ignored
    await limiter.acquire([("fresh", RateLimit(1))])
    assert clock.monotonic() == 0.0
    limiter.halt("later", 5.0, code=403, reason="x")  # halts are kept by key
    with pytest.raises(LimiterHalted):
        await limiter.acquire([("later", RateLimit(1))])
    await clock.sleep(5.0)
    await limiter.acquire([("later", RateLimit(1))])
    assert clock.monotonic() == 5.0
    assert_idle(limiter)


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


async def test_same_key_with_different_rate_limit_is_a_configuration_error() -> None:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    await limiter.acquire([("k", RateLimit(5, per=1.0))])
    await limiter.acquire([("k", RateLimit(5, per=1.0))])  # equal value: same bucket, fine
    for other in (RateLimit(6), RateLimit(5, per=2.0), RateLimit(5, guard=0.0)):
        with pytest.raises(ConfigurationError, match="'k'"):
            await limiter.acquire([("k", other)])
    with pytest.raises(ConfigurationError):
        await limiter.acquire([("fresh", RateLimit(5)), ("k", RateLimit(9))])
    assert isinstance(ConfigurationError("x"), ValueError)
    assert_idle(limiter)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0,), {}),
        ((-1,), {}),
        ((1.5,), {}),
        ((5.0,), {}),
        ((True,), {}),
        (("5",), {}),
        ((5,), {"per": 0}),
        ((5,), {"per": -1.0}),
        ((5,), {"per": float("nan")}),
        ((5,), {"guard": -0.001}),
        ((5,), {"guard": float("nan")}),
    ],
)
def test_rate_limit_validation(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RateLimit(*args, **kwargs)  # type: ignore[arg-type]


def test_rate_limit_defaults_and_window() -> None:
    rate = RateLimit(1)
    assert (rate.limit, rate.per, rate.guard) == (1, 1.0, 0.03)
    assert RateLimit(5, per=2.0, guard=0.0).window == 2.0
    assert RateLimit(5, per=2.0, guard=0.25).window == 2.25
    assert RateLimit(5, 0.5) == RateLimit(5, per=0.5)
    with pytest.raises(TypeError):
        RateLimit(5, 1.0, 0.1)  # type: ignore[call-arg]  # guard is keyword-only
    with pytest.raises(AttributeError):
        rate.limit = 2  # type: ignore[misc]  # frozen


# ---------------------------------------------------------------------------------------------
# shared_limiter
# ---------------------------------------------------------------------------------------------


async def test_shared_limiter_same_instance_for_same_loop_and_clock() -> None:
    clock = VirtualClock()
    assert shared_limiter(clock) is shared_limiter(clock)
    assert shared_limiter(VirtualClock()) is not shared_limiter(clock)
    assert SystemClock() == SystemClock()
    assert hash(SystemClock()) == hash(SystemClock())
    assert SystemClock() != clock
    assert shared_limiter(SystemClock()) is shared_limiter(SystemClock())
    assert shared_limiter(SystemClock()) is not shared_limiter(clock)


def test_shared_limiter_differs_between_event_loops() -> None:
    clock = VirtualClock()

    async def get() -> InProcessLimiter:
        return shared_limiter(clock)

    loop1 = asyncio.new_event_loop()
    loop2 = asyncio.new_event_loop()
    try:
        first = loop1.run_until_complete(get())
        again = loop1.run_until_complete(get())
        second = loop2.run_until_complete(get())
    finally:
        loop1.close()
        loop2.close()
    assert first is again
    assert first is not second


def test_shared_limiter_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        shared_limiter(VirtualClock())


# ---------------------------------------------------------------------------------------------
# Answers make slot times exact (Permit.done)
# ---------------------------------------------------------------------------------------------


async def test_a_fast_answer_opens_the_next_window_at_answer_plus_per(clock: VirtualClock) -> None:
    # Sent at 0, answered at 0.005: it cannot have arrived after 0.005, so the next request
    # may leave at 1.005 instead of waiting out the 30 ms guard (1.03).
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.03)
    permit = await limiter.acquire([("k", rate)])
    await clock.sleep(0.005)
    permit.done()
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(1.005)


async def test_a_slow_answer_pushes_the_next_window_back(clock: VirtualClock) -> None:
    # Answered only at 0.4: the request may have arrived as late as 0.4, so the next one
    # waits until 1.4, beyond the guard's 1.03.
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.03)
    permit = await limiter.acquire([("k", rate)])
    await clock.sleep(0.4)
    permit.done()
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(1.4)


async def test_an_answer_wakes_a_waiter_that_planned_on_the_guard(clock: VirtualClock) -> None:
    # The second request is asleep until 1.03 (the guard's assumption) when the first is
    # answered at 0.5: later than assumed, so the second goes at 1.5, not 1.03. The second
    # is answered at once, so the third goes one second after that.
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.03)
    first = await limiter.acquire([("k", rate)])
    waiter = asyncio.ensure_future(limiter.acquire([("k", rate)]))
    await clock.sleep(0.5)
    first.done()
    second = await waiter
    assert clock.monotonic() == pytest.approx(1.5)
    second.done()  # answered instantly: next window opens at 2.5
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(2.5)


async def test_a_sleeping_head_is_woken_when_an_answer_frees_capacity_sooner(
    clock: VirtualClock,
) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(2, per=1.0, guard=0.5)
    first = await limiter.acquire([("k", rate)])
    await limiter.acquire([("k", rate)])  # never answered: its slot stays at 0.5 + 1.0
    waiter = asyncio.ensure_future(limiter.acquire([("k", rate)]))
    await clock.sleep(0.01)  # the waiter now sleeps until 1.5 on the guard assumption
    first.done()  # answered at 0.01: one slot frees at 1.01
    await waiter
    assert clock.monotonic() == pytest.approx(1.01)


async def test_done_twice_changes_nothing(clock: VirtualClock) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.03)
    permit = await limiter.acquire([("k", rate)])
    await clock.sleep(0.2)
    permit.done()
    await clock.sleep(0.3)
    permit.done()  # a second call must not move the slot to 0.5
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(1.2)


async def test_done_with_arrived_ago_settles_the_slot_that_much_earlier(
    clock: VirtualClock,
) -> None:
    # Answered at 0.4, but the venue had the request by 0.1: the next one goes at 1.1.
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.03)
    permit = await limiter.acquire([("k", rate)])
    await clock.sleep(0.4)
    permit.done(arrived_ago=0.3)
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(1.1)


async def test_done_with_a_negative_arrived_ago_settles_now(clock: VirtualClock) -> None:
    limiter = InProcessLimiter(clock)
    rate = RateLimit(1, per=1.0, guard=0.03)
    permit = await limiter.acquire([("k", rate)])
    await clock.sleep(0.4)
    permit.done(arrived_ago=-5.0)  # never later than the answer
    await limiter.acquire([("k", rate)])
    assert clock.monotonic() == pytest.approx(1.4)
