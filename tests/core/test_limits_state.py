"""limits_state(): what the session and the venue say of each bucket, on the injected clock,
over the fake venue (Bybit's quota headers: ``tests/bybit/test_feedback.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import respx

from asyncexch import (
    BucketState,
    RateLimit,
    RateLimited,
    RetryPolicy,
    Session,
    TrafficHalted,
    VirtualClock,
)
from tests.builders.fake_venue import (
    KEYED_ORDER,
    KEYED_PATH,
    READ,
    READ_PATH,
    SERVER_MS,
    Echo,
    bare,
    fail,
    ok,
)


def by_name(states: list[BucketState]) -> dict[str, BucketState]:
    return {state.name: state for state in states}


def clock_now(clock: VirtualClock) -> datetime:
    return datetime.fromtimestamp(clock.time(), timezone.utc)


async def test_every_bucket_with_its_window_and_the_venues_own_count(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    fake_mock.post(KEYED_PATH).mock(return_value=ok(left=2, limit=5))
    session = make_session(limits={"order": RateLimit(5)})
    before = by_name(await session.limits_state())
    for n in range(3):
        assert await session.call(KEYED_ORDER, {"n": n}) == Echo(1)

    states = by_name(await session.limits_state())

    assert set(states) == {"read", "order", "ip"}
    assert before["order"].in_window == 0 and before["order"].venue_left is None
    order = states["order"]
    assert (order.limit, order.per, order.in_window, order.waiting) == (5, 1.0, 3, 0)
    assert (order.venue_left, order.venue_limit) == (2, 5)
    assert order.venue_seen_at == clock_now(clock)  # nothing waited: all on one instant
    assert order.paused_until is None and order.halted_until is None
    assert states["ip"].in_window == 3 and states["ip"].venue_left is None
    assert states["read"].in_window == 0
    clock.advance(1.5)
    assert by_name(await session.limits_state())["order"].in_window == 0


async def test_a_pause_and_a_halt_show_until_when(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    fake_mock.post(KEYED_PATH).mock(
        return_value=fail(3, "slow down", time=SERVER_MS, reset=SERVER_MS + 800, left=0)
    )
    fake_mock.get(READ_PATH).mock(return_value=bare(403, "access too frequent"))
    session = make_session(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimited):
        await session.call(KEYED_ORDER, {})
    paused = by_name(await session.limits_state())["order"]
    with pytest.raises(TrafficHalted):
        await session.call(READ, {})
    halted = by_name(await session.limits_state())

    assert paused.venue_left == 0
    assert paused.paused_until == clock_now(clock) + timedelta(seconds=0.8)  # the reset time
    assert set(halted) == {"read", "order", "ip"}
    for state in halted.values():
        assert state.halted_until == clock_now(clock) + timedelta(minutes=10)
        assert state.halt_reason == "banned: 'access too frequent'"


async def test_no_pacing_no_buckets(make_session: Callable[..., Session]) -> None:
    assert await make_session(limits=False).limits_state() == []
