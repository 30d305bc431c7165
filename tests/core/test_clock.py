"""VirtualClock (jumping virtual time) and ServerTime (the venue's clock as a lower bound)."""

from __future__ import annotations

import asyncio
import math
import random
import socket
import time

import pytest

from asyncexch import ServerTime, SystemClock, VirtualClock
from asyncexch._clock import _idle

START = 1_700_000_000.0


# ---------------------------------------------------------------------------------------------
# VirtualClock
# ---------------------------------------------------------------------------------------------


async def test_sleep_advances_time_by_exactly_the_requested_amount() -> None:
    clock = VirtualClock(start=START)
    assert clock.monotonic() == 0.0
    assert clock.time() == START
    await clock.sleep(2.5)
    assert clock.monotonic() == 2.5
    assert clock.time() == START + 2.5
    await clock.sleep(0.125)
    assert clock.monotonic() == 2.625
    await clock.sleep(3600.0)  # an hour of virtual time, instantly
    assert clock.monotonic() == 3602.625


async def test_a_long_virtual_schedule_takes_no_real_time() -> None:
    clock = VirtualClock()
    real_start = time.monotonic()
    for _ in range(100):
        await clock.sleep(60.0)
    assert clock.monotonic() == 6000.0
    assert time.monotonic() - real_start < 5.0  # 100 virtual minutes; real: milliseconds


async def test_sleep_zero_or_negative_does_not_move_time_but_yields() -> None:
    clock = VirtualClock()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    await clock.sleep(0)
    assert ran == ["other"]  # sleep(0) let the other task run
    await clock.sleep(-5.0)
    assert clock.monotonic() == 0.0
    await task


async def test_concurrent_sleepers_wake_in_deadline_order_at_their_deadlines() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    plan = [("c", 3.0), ("a1", 1.0), ("b", 2.0), ("a2", 1.0), ("z", 0.5), ("d", 10.0)]
    await asyncio.gather(*(sleeper(name, seconds) for name, seconds in plan))
    # Deadline order; equal deadlines in the order they went to sleep.
    assert woke == [("z", 0.5), ("a1", 1.0), ("a2", 1.0), ("b", 2.0), ("c", 3.0), ("d", 10.0)]
    assert clock.monotonic() == 10.0


async def test_sleepers_started_at_different_times_wake_at_start_plus_duration() -> None:
    clock = VirtualClock()
    woke: dict[str, float] = {}

    async def sleeper(name: str, first: float, second: float) -> None:
        await clock.sleep(first)
        await clock.sleep(second)
        woke[name] = clock.monotonic()

    await asyncio.gather(sleeper("x", 1.0, 5.0), sleeper("y", 2.0, 1.5), sleeper("w", 4.0, 0.25))
    assert woke == {"x": 6.0, "y": 3.5, "w": 4.25}


async def test_time_does_not_jump_while_another_task_can_run() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(20):
            seen.append(clock.monotonic())
            await asyncio.sleep(0)

    sleeping = asyncio.create_task(clock.sleep(10.0))
    await busy()
    assert seen == [0.0] * 20
    await sleeping
    assert clock.monotonic() == 10.0


async def test_time_does_not_jump_while_a_loop_timer_is_set() -> None:
    """The clock stops yielding early only when nothing but its driver can run; a timer of
    the loop's own (here re-armed five times, due at once each time) still runs first."""
    clock = VirtualClock()
    loop = asyncio.get_running_loop()
    seen: list[float] = []

    def tick() -> None:
        seen.append(clock.monotonic())
        if len(seen) < 5:
            loop.call_later(0, tick)

    loop.call_later(0, tick)
    await clock.sleep(10.0)
    assert seen == [0.0] * 5
    assert clock.monotonic() == 10.0


async def test_the_loop_is_idle_only_with_nothing_queued_timed_or_watched() -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    assert _idle(loop)
    handle = loop.call_soon(lambda: None)
    assert not _idle(loop)
    handle.cancel()
    await asyncio.sleep(0)
    assert _idle(loop)
    timer = loop.call_later(3600, lambda: None)
    assert not _idle(loop)
    timer.cancel()
    left, right = socket.socketpair()
    try:
        await asyncio.sleep(0)
        assert _idle(loop)
        loop.add_reader(left.fileno(), lambda: None)
        assert not _idle(loop)
        loop.remove_reader(left.fileno())
        assert _idle(loop)
    finally:
        left.close()
        right.close()


async def test_cancelled_sleeper_does_not_drag_time_to_its_deadline() -> None:
    clock = VirtualClock()
    doomed = asyncio.create_task(clock.sleep(100.0))
    await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await clock.sleep(1.0)
    assert clock.monotonic() == 1.0
    # And a cancelled earlier sleeper does not stop a later one from waking.
    early = asyncio.create_task(clock.sleep(1.0))
    late = asyncio.create_task(clock.sleep(2.0))
    await asyncio.sleep(0)
    early.cancel()
    await late
    assert clock.monotonic() == 3.0
    assert early.cancelled()


async def test_advance_without_autojump() -> None:
    clock = VirtualClock(start=START, autojump=False)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [
        asyncio.create_task(sleeper("five", 5.0)),
        asyncio.create_task(sleeper("two", 2.0)),
        asyncio.create_task(sleeper("three", 3.0)),
    ]
    for _ in range(200):  # well past anything an autojump driver would wait
        await asyncio.sleep(0)
    assert woke == []
    assert clock.monotonic() == 0.0

    clock.advance(1.0)
    for _ in range(5):
        await asyncio.sleep(0)
    assert woke == []
    assert clock.monotonic() == 1.0
    assert clock.time() == START + 1.0

    clock.advance(2.5)  # to 3.5: "two" and "three" are due, in deadline order
    for _ in range(5):
        await asyncio.sleep(0)
    assert woke == [("two", 3.5), ("three", 3.5)]
    assert not tasks[0].done()

    clock.advance(1.5)  # exactly the deadline of "five"
    await asyncio.gather(*tasks)
    assert woke[-1] == ("five", 5.0)
    assert clock.time() == START + 5.0


async def test_advance_never_moves_time_back() -> None:
    clock = VirtualClock(autojump=False)
    clock.advance(2.0)
    clock.advance(-1.0)
    assert clock.monotonic() == 2.0
    clock.advance(0.0)
    assert clock.monotonic() == 2.0


@pytest.mark.parametrize("start", [0.0, START, 1_234_567_890.5])
async def test_time_is_start_plus_monotonic(start: float) -> None:
    clock = VirtualClock(start=start)
    for step in (0.0, 0.25, 1.0, 86_400.0):
        await clock.sleep(step)
        assert clock.time() == start + clock.monotonic()
    assert clock.monotonic() == 86_401.25


def test_default_start_is_a_plausible_epoch() -> None:
    clock = VirtualClock()
    assert clock.time() == 1_700_000_000.0
    assert clock.monotonic() == 0.0


def test_system_clock_reads_real_time() -> None:
    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 1.0
    first = clock.monotonic()
    assert clock.monotonic() >= first
    assert repr(clock) == "SystemClock()"


# ---------------------------------------------------------------------------------------------
# ServerTime
# ---------------------------------------------------------------------------------------------


def test_server_time_before_first_sample() -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    assert server.offset is None
    assert server.now_ms() == int(START * 1000)
    clock.advance(1.5)
    assert server.now_ms() == int((START + 1.5) * 1000)


def simulate_request(
    clock: VirtualClock, true_offset: float, out: float, back: float
) -> tuple[int, float]:
    """One round trip: ``out`` seconds to the server, which stamps it, ``back`` to return.

    Returns the server's stamp (ms, truncated as servers do) and our receive time.
    """
    clock.advance(out)
    server_ms = math.floor((clock.time() + true_offset) * 1000)
    clock.advance(back)
    return server_ms, clock.time()


@pytest.mark.parametrize("true_offset", [0.0, 2.5, -3.75, 0.0005, -0.0005, 120.0])
@pytest.mark.parametrize(("out", "back"), [(0.0, 0.0), (0.05, 0.05), (0.2, 0.01), (0.01, 0.3)])
def test_server_time_is_never_ahead_of_the_server(
    true_offset: float, out: float, back: float
) -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    clock.advance(3.0)
    server_ms, received = simulate_request(clock, true_offset, out, back)
    server.observe(server_ms, received)
    assert server.offset == server_ms / 1000.0 - received
    assert server.offset <= true_offset + 1e-6
    for later in (0.0, 0.001, 0.5, 10.0, 3600.0):
        clock.advance(later)
        truth_ms = (clock.time() + true_offset) * 1000
        now_ms = server.now_ms()
        assert now_ms <= truth_ms + 1e-3  # never ahead of the server
        # ... and behind by at most the round trip (plus the stamp's truncation).
        assert now_ms >= truth_ms - (out + back) * 1000 - 2


def test_server_time_uses_the_latest_sample() -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    server.observe(int((START + 10.0) * 1000), received=START)
    assert server.offset == pytest.approx(10.0)
    assert server.now_ms() == pytest.approx((START + 10.0) * 1000, abs=1)
    server.observe(int((START - 1.0) * 1000), received=START)
    assert server.offset == pytest.approx(-1.0)
    assert server.now_ms() == pytest.approx((START - 1.0) * 1000, abs=1)


def test_server_time_follows_our_clock_after_a_sample() -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    server.observe(int((START + 2.0) * 1000), received=START)
    first = server.now_ms()
    clock.advance(7.25)
    assert server.now_ms() - first == pytest.approx(7250, abs=1)


def test_arrived_by_is_unknown_until_a_sample_with_a_monotonic_time() -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    assert server.arrived_by(int(START * 1000)) is None
    server.observe(int(START * 1000), received=START)  # wall clock only
    assert server.arrived_by(int(START * 1000)) is None


def test_arrived_by_uses_the_fastest_answer_of_the_last_span() -> None:
    # Server 2.5 s ahead. Answers stamped 0.3 s, then 0.01 s, then 0.2 s before they arrived:
    # the 0.01 s one bounds the offset best and places later stamps 0.01 s (+1 ms) late.
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    for back in (0.3, 0.01, 0.2):
        stamp_ms, _ = simulate_request(clock, 2.5, 0.0, back)
        server.observe(stamp_ms, clock.time(), clock.monotonic())
    clock.advance(1.0)
    stamp_ms = math.floor((clock.time() + 2.5) * 1000)  # stamped now, on the server's clock
    arrived_by = server.arrived_by(stamp_ms)
    assert arrived_by is not None
    assert clock.monotonic() <= arrived_by <= clock.monotonic() + 0.01 + 0.001 + 1e-9


def test_arrived_by_forgets_fast_answers_older_than_the_span() -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    stamp_ms, _ = simulate_request(clock, 0.0, 0.0, 0.001)
    server.observe(stamp_ms, clock.time(), clock.monotonic())
    clock.advance(ServerTime.SPAN + 1.0)
    stamp_ms, _ = simulate_request(clock, 0.0, 0.0, 0.25)  # the only one within the span
    server.observe(stamp_ms, clock.time(), clock.monotonic())
    arrived_by = server.arrived_by(stamp_ms)
    assert arrived_by is not None
    assert arrived_by == pytest.approx(clock.monotonic(), abs=0.0011)  # bounded by 0.25 s back


@pytest.mark.parametrize("true_offset", [0.0, 3.0, -7.5])
def test_arrived_by_is_never_before_the_stamp_on_our_clock(true_offset: float) -> None:
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    rng = random.Random(5)
    for _ in range(500):
        clock.advance(rng.uniform(0, 0.05))
        out, back = rng.uniform(0, 0.1), rng.uniform(0, 0.1)
        clock.advance(out)
        stamped_at = clock.monotonic()
        stamp_ms = math.floor((clock.time() + true_offset) * 1000)
        clock.advance(back)
        server.observe(stamp_ms, clock.time(), clock.monotonic())
        arrived_by = server.arrived_by(stamp_ms)
        assert arrived_by is not None
        # (epoch seconds as floats carry ~0.2 µs of rounding)
        assert stamped_at - 1e-6 <= arrived_by <= clock.monotonic() + 0.001 + 1e-6


def test_restart_bounds_keeps_only_the_latest_sample() -> None:
    # A fast answer sets a tight bound; then the venue's clock steps 0.5 s back. After a
    # restart, stamps are placed through the latest (stepped) sample only.
    clock = VirtualClock(start=START, autojump=False)
    server = ServerTime(clock)
    stamp_ms, _ = simulate_request(clock, 0.0, 0.0, 0.001)
    server.observe(stamp_ms, clock.time(), clock.monotonic())
    stamp_ms, _ = simulate_request(clock, -0.5, 0.0, 0.2)
    assert server.observe(stamp_ms, clock.time(), clock.monotonic())
    stepped = server.arrived_by(stamp_ms)
    assert stepped is not None and stepped < clock.monotonic() - 0.4  # placed far too early

    server.restart_bounds()

    arrived_by = server.arrived_by(stamp_ms)
    assert arrived_by == pytest.approx(clock.monotonic(), abs=0.0011)


def test_observe_says_whether_it_used_the_stamp() -> None:
    server = ServerTime(VirtualClock(start=START, autojump=False))
    assert server.observe(12, START, 0.0) is False
    assert server.arrived_by(12) is None
    assert server.observe(int(START * 1000), START, 0.0) is True


async def test_the_loop_is_not_idle_once_threads_may_post_results_to_it() -> None:
    """A thread of the default executor (``to_thread``, ``run_in_executor``, DNS) can post a
    result at any time: with one, the clock keeps yielding its 64 turns before a jump."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    assert _idle(loop)
    await asyncio.to_thread(lambda: None)
    await asyncio.sleep(0)
    assert not _idle(loop)
