"""FailoverLimiter on its own: a fake primary whose store can be taken away, the in-process
limiter as the fallback, and virtual time, so every admission time is exact."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import pytest

from asyncexch import (
    BucketUsage,
    ConfigurationError,
    FailoverLimiter,
    FailoverStats,
    InProcessLimiter,
    LimiterHalted,
    LimiterUnavailable,
    Permit,
    RateLimit,
    VirtualClock,
)
from asyncexch._failover import BucketHalted

KEY = "fake:key:order"
RATE = RateLimit(2, per=1.0)  # window 1.03 s


class PrimaryPermit:
    def done(self, arrived_ago: float = 0.0) -> None:
        return None


class FakePrimary:
    """A shared limiter with no limits of its own: it admits everything while ``down`` is
    false and raises ``LimiterUnavailable`` (from a ``ConnectionError``) while it is true.
    With ``gate`` set, every acquire waits for it first (queued behind a round trip)."""

    def __init__(self) -> None:
        self.down = False
        self.gate: asyncio.Event | None = None
        self.refusal: Exception | None = None
        self.calls = 0
        self.admitted = 0
        self.pauses: list[tuple[str, float]] = []
        self.halts: list[tuple[str, float, int, str]] = []
        self.flushes = 0
        self.closes = 0

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> Permit:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise LimiterUnavailable("the store cannot be reached") from ConnectionError("refused")
        if self.refusal is not None:
            raise self.refusal
        self.admitted += 1
        return PrimaryPermit()

    async def usage(self, key: str, rate: RateLimit) -> BucketUsage:
        return BucketUsage(in_window=self.admitted, waiting=7)

    def pause(self, key: str, seconds: float) -> None:
        self.pauses.append((key, seconds))

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        self.halts.append((key, seconds, code, reason))

    async def flush(self) -> None:
        self.flushes += 1

    async def aclose(self) -> None:
        self.closes += 1

    def __repr__(self) -> str:
        return "<FakePrimary>"


class Bare:
    """A limiter of one's own that reports no usage (the protocol's three methods only)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.inner = InProcessLimiter(clock)

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> Permit:
        return await self.inner.acquire(claims, cost)

    def pause(self, key: str, seconds: float) -> None:
        self.inner.pause(key, seconds)

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        self.inner.halt(key, seconds, code=code, reason=reason)


class ToldFallback(InProcessLimiter):
    """The in-process limiter, noting the pauses and halts it was told."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self.told: list[str] = []

    def pause(self, key: str, seconds: float) -> None:
        self.told.append(f"pause {key} {seconds}")
        super().pause(key, seconds)

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        self.told.append(f"halt {key} {seconds} {code}")
        super().halt(key, seconds, code=code, reason=reason)


def build(
    *, share: float = 1.0, recheck: float = 30.0
) -> tuple[VirtualClock, FakePrimary, ToldFallback, FailoverLimiter]:
    clock = VirtualClock()
    primary, fallback = FakePrimary(), ToldFallback(clock)
    failover = FailoverLimiter(primary, fallback, share=share, recheck=recheck, clock=clock)
    return clock, primary, fallback, failover


async def until(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Let the other tasks run until ``condition()`` holds (5 s at most: a bound, not a wait)."""

    async def poll() -> None:
        while True:
            met = condition()
            if not isinstance(met, bool):
                met = await met
            if met:
                return
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), timeout=5.0)


async def admit(
    failover: FailoverLimiter,
    clock: VirtualClock,
    count: int,
    rate: RateLimit = RATE,
    *,
    key: str = KEY,
) -> list[float]:
    """Take ``count`` requests one after the other, each answered at once: when each went."""
    times = []
    for _ in range(count):
        (await failover.acquire([(key, rate)])).done()
        times.append(round(clock.monotonic(), 6))
    return times


async def test_requests_go_through_the_primary_while_it_answers() -> None:
    clock, primary, fallback, failover = build()

    permits = [await failover.acquire([(KEY, RATE)]) for _ in range(5)]

    assert all(isinstance(permit, PrimaryPermit) for permit in permits)
    assert (primary.calls, primary.admitted, clock.monotonic()) == (5, 5, 0.0)
    assert failover.stats == FailoverStats(fallback_admitted=0, switches=0)
    assert not failover.falling_back
    assert repr(failover) == (
        f"<FailoverLimiter on the primary primary=<FakePrimary> fallback={fallback!r}>"
    )


async def test_a_lost_primary_switches_to_the_fallback_closed_for_a_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, primary, _, failover = build()
    assert await admit(failover, clock, 2) == [0.0, 0.0]
    primary.down = True

    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        times = await admit(failover, clock, 5)

    # Closed for the window after the switch (the two sent through the primary at 0 may
    # still count), then the fallback's own pace: 2 per second.
    assert times == [1.03, 1.03, 2.03, 2.03, 3.03]
    assert failover.stats == FailoverStats(fallback_admitted=5, switches=1)
    assert primary.calls == 3  # the failed one; then the fallback until the recheck (30 s)
    assert failover.falling_back
    assert "falling back" in repr(failover)
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith(
        "the rate limiter <FakePrimary> cannot be reached (ConnectionError: refused): "
        "pacing this process alone with <"
    )
    assert warning.endswith("for the next 30.0 s; other processes of the key are not counted")


async def test_the_fallback_takes_its_share_of_each_limit() -> None:
    clock, primary, _, failover = build(share=0.5)
    primary.down = True

    times = await admit(failover, clock, 6, RateLimit(4, per=1.0))

    assert times == [1.03, 1.03, 2.03, 2.03, 3.03, 3.03]  # 2 per second, not 4
    # A quarter of a limit of 3 rounds down to 0: the fallback still admits one at a time.
    clock, primary, _, failover = build(share=0.25)
    primary.down = True
    assert await admit(failover, clock, 3, RateLimit(3, per=1.0, guard=0.0)) == [1.0, 2.0, 3.0]


async def test_the_primary_is_tried_again_every_recheck_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, primary, _, failover = build(recheck=5.0)
    primary.down = True
    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        assert await admit(failover, clock, 1) == [1.03]
        primary.down = False  # back, but not asked before the recheck
        assert await admit(failover, clock, 1) == [1.03]
        assert primary.calls == 1

        primary.down = True
        await clock.sleep(5.0 - clock.monotonic())
        # The recheck fails: back to the fallback, not closed again (nothing went through
        # the primary since the switch).
        assert await admit(failover, clock, 1) == [5.0]
        assert (primary.calls, failover.stats.switches) == (2, 1)

        primary.down = False
        await clock.sleep(10.0 - clock.monotonic())
        permit = await failover.acquire([(KEY, RATE)])

    assert isinstance(permit, PrimaryPermit)
    assert not failover.falling_back
    assert failover.stats == FailoverStats(fallback_admitted=3, switches=1)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "for the next 5.0 s" in messages[0] and "for the next 5.0 s" in messages[1]
    assert messages[2] == "the rate limiter <FakePrimary> answers again: pacing is shared"


async def test_a_switch_after_the_primary_answered_closes_the_buckets_again() -> None:
    clock, primary, _, failover = build(recheck=2.0)
    primary.down = True
    assert await admit(failover, clock, 1) == [1.03]
    await clock.sleep(5.0 - clock.monotonic())
    primary.down = False
    assert isinstance(await failover.acquire([(KEY, RATE)]), PrimaryPermit)
    primary.down = True

    assert await admit(failover, clock, 1) == [6.03]  # the request at 5.0 may still count
    assert failover.stats == FailoverStats(fallback_admitted=2, switches=2)


async def test_requests_queued_in_the_primary_go_to_the_fallback_with_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, primary, _, failover = build()
    primary.gate = asyncio.Event()
    queued = [asyncio.create_task(failover.acquire([(KEY, RateLimit(5))])) for _ in range(5)]
    await until(lambda: primary.calls == 5)
    primary.down = True

    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        primary.gate.set()
        permits = await asyncio.gather(*queued)

    assert not any(isinstance(permit, PrimaryPermit) for permit in permits)
    assert failover.stats == FailoverStats(fallback_admitted=5, switches=1)
    assert clock.monotonic() == pytest.approx(1.03)  # all five after the one window
    assert len(caplog.records) == 1  # one switch, one warning


async def test_a_pause_set_before_the_switch_holds_on_the_fallback() -> None:
    clock, primary, fallback, failover = build()
    failover.pause(KEY, 10.0)
    primary.down = True

    assert await admit(failover, clock, 1) == [10.0]
    assert primary.pauses == [(KEY, 10.0)]
    assert fallback.told == []  # not told before it was used
    failover.pause(KEY, 5.0)
    assert fallback.told == [f"pause {KEY} 5.0"]
    assert await admit(failover, clock, 1) == [15.0]


async def test_a_halt_set_before_the_switch_holds_on_the_fallback() -> None:
    _, primary, fallback, failover = build()
    failover.halt(KEY, 60.0, code=403, reason="banned")
    primary.down = True

    with pytest.raises(LimiterHalted) as halted:
        await failover.acquire([(KEY, RATE)])

    assert (halted.value.code, halted.value.reason, halted.value.remaining) == (403, "banned", 60)
    assert primary.halts == [(KEY, 60.0, 403, "banned")]
    assert fallback.told == []  # held by the failover itself: the fallback was never told
    assert primary.calls == 0


async def waiting(limiter: InProcessLimiter, rate: RateLimit) -> bool:
    return (await limiter.usage(KEY, rate)).waiting == 1


async def test_a_halt_fails_the_fallbacks_waiters_at_once() -> None:
    clock = VirtualClock(autojump=False)  # time moves only when the test says
    primary, fallback = FakePrimary(), ToldFallback(clock)
    failover = FailoverLimiter(primary, fallback, recheck=30.0, clock=clock)
    primary.down = True
    slow = RateLimit(1, per=100.0)
    first = asyncio.create_task(failover.acquire([(KEY, slow)]))
    await until(lambda: failover.falling_back)
    clock.advance(slow.window)  # the window after the switch
    await first
    holder = asyncio.create_task(failover.acquire([(KEY, slow)]))  # waits 100 s for the slot
    queued = asyncio.create_task(failover.acquire([(KEY, slow)]))
    await until(lambda: waiting(fallback, slow))

    failover.halt(KEY, 30.0, code=403, reason="banned")
    results = await asyncio.wait_for(
        asyncio.gather(holder, queued, return_exceptions=True), timeout=5.0
    )

    assert [type(result) for result in results] == [LimiterHalted, LimiterHalted]
    assert clock.monotonic() == slow.window  # at once: no time passed
    assert fallback.told == [f"halt {KEY} 30.0 403"]
    assert failover.stats == FailoverStats(fallback_admitted=1, switches=1)


async def test_a_halt_or_a_refusal_from_the_primary_is_raised_as_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, primary, _, failover = build(recheck=1.0)
    primary.down = True
    await admit(failover, clock, 1)
    await clock.sleep(1.0)
    primary.down = False
    primary.refusal = LimiterHalted(403, "banned elsewhere", 12.0)
    caplog.clear()

    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        with pytest.raises(LimiterHalted, match="banned elsewhere"):
            await failover.acquire([(KEY, RATE)])
        primary.refusal = ConfigurationError("another limit")
        with pytest.raises(ConfigurationError, match="another limit"):
            await failover.acquire([(KEY, RATE)])

    # The primary answered: no switch, and the news that it is back was logged once.
    assert failover.stats == FailoverStats(fallback_admitted=1, switches=1)
    assert not failover.falling_back
    assert [r.getMessage() for r in caplog.records] == [
        "the rate limiter <FakePrimary> answers again: pacing is shared"
    ]


async def test_a_halt_the_primary_learnt_by_itself_holds_on_the_fallback() -> None:
    clock, primary, fallback, failover = build()
    other = "fake:key:position"
    primary.refusal = BucketHalted(KEY, 403, "banned by another process", 60.0)
    with pytest.raises(LimiterHalted, match="banned by another process"):
        await failover.acquire([(KEY, RATE), (other, RATE)])
    primary.refusal = None
    primary.down = True

    with pytest.raises(LimiterHalted) as halted:
        await failover.acquire([(KEY, RATE)])
    assert (halted.value.code, halted.value.remaining) == (403, 60.0)
    assert await admit(failover, clock, 1, RATE, key=other) == [1.03]  # only the bucket named
    assert primary.halts == [] and fallback.told == []  # held, not spread


async def test_a_cost_above_a_limit_is_refused_either_way_and_no_claims_take_nothing() -> None:
    clock, primary, _, failover = build(share=0.5)
    with pytest.raises(ConfigurationError, match="cost 3 exceeds the limit 2 of 'fake:key:order'"):
        await failover.acquire([(KEY, RATE)], cost=3)
    primary.down = True
    await admit(failover, clock, 1)
    with pytest.raises(ConfigurationError, match="cost 3 exceeds the limit 2"):
        await failover.acquire([(KEY, RATE)], cost=3)  # the fallback's share would allow it

    permit = await failover.acquire([])
    permit.done()
    assert primary.calls == 1
    assert failover.stats.fallback_admitted == 1


async def test_usage_is_the_primarys_and_while_falling_back_the_fallbacks() -> None:
    clock, primary, _, failover = build()
    await admit(failover, clock, 2)
    assert await failover.usage(KEY, RATE) == BucketUsage(in_window=2, waiting=7)
    primary.down = True
    await admit(failover, clock, 1)

    assert await failover.usage(KEY, RATE) == BucketUsage(in_window=1)

    bare = FailoverLimiter(Bare(clock), Bare(clock), clock=clock)  # reports nothing
    with pytest.raises(ConfigurationError, match="cannot report a bucket's usage"):
        await bare.usage(KEY, RATE)
    # A fallback that cannot say: the primary is asked (and here says it cannot be reached).
    primary.down = True
    asks_primary = FailoverLimiter(primary, Bare(clock), recheck=30.0, clock=clock)
    await asks_primary.acquire([(KEY, RATE)])
    assert asks_primary.falling_back
    assert await asks_primary.usage(KEY, RATE) == BucketUsage(in_window=2, waiting=7)


async def test_flush_and_aclose_reach_both_limiters() -> None:
    clock = VirtualClock()
    primary, other = FakePrimary(), FakePrimary()
    failover = FailoverLimiter(primary, other, clock=clock)

    await failover.flush()
    async with failover:
        assert not failover.closed
    assert failover.closed

    assert (primary.flushes, other.flushes, primary.closes, other.closes) == (1, 1, 1, 1)
    with pytest.raises(ConfigurationError, match=r"^FailoverLimiter is closed: make a new one$"):
        await failover.acquire([(KEY, RATE)])
    with pytest.raises(ConfigurationError, match=r"^FailoverLimiter is closed"):
        await failover.__aenter__()
    # The in-process limiter has neither: nothing to do.
    await FailoverLimiter(primary, InProcessLimiter(clock), clock=clock).aclose()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"share": 0.0}, r"^share must be in \(0, 1\], got 0.0$"),
        ({"share": 1.5}, r"^share must be in \(0, 1\], got 1.5$"),
        ({"recheck": 0.0}, r"^recheck must be > 0 seconds, got 0.0$"),
    ],
)
def test_the_settings_are_checked(settings: dict[str, float], message: str) -> None:
    clock = VirtualClock()
    with pytest.raises(ConfigurationError, match=message):
        FailoverLimiter(FakePrimary(), InProcessLimiter(clock), clock=clock, **settings)


def test_both_limiters_must_be_limiters() -> None:
    clock = VirtualClock()
    with pytest.raises(ConfigurationError, match=r"^fallback must be a RateLimiter, got 'in_"):
        FailoverLimiter(FakePrimary(), "in_process", clock=clock)  # type: ignore[arg-type]


async def test_a_halt_of_this_process_says_nothing_of_the_primary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A waiter failed by this process's own halt (not the store's answer) is no sign that
    # the store is back: no "answers again", and the next failure is no new switch.
    clock, primary, _, failover = build(recheck=1.0)
    primary.down = True
    await admit(failover, clock, 1)
    await clock.sleep(1.0)
    primary.down = False
    primary.refusal = LimiterHalted(403, "halted here", 12.0)
    caplog.clear()

    with caplog.at_level(logging.WARNING, logger="asyncexch"):
        with pytest.raises(LimiterHalted, match="halted here"):
            await failover.acquire([(KEY, RATE)])
        primary.refusal = None
        primary.down = True
        await admit(failover, clock, 1)

    assert not any("answers again" in r.getMessage() for r in caplog.records)
    assert failover.stats == FailoverStats(fallback_admitted=2, switches=1)


async def test_a_halt_set_during_the_last_round_trip_before_a_switch_holds() -> None:
    _, primary, fallback, failover = build()
    primary.gate = asyncio.Event()
    in_flight = asyncio.create_task(failover.acquire([(KEY, RATE)]))
    while primary.calls == 0:  # the request is in its round trip to the primary
        await asyncio.sleep(0)
    failover.halt(KEY, 600.0, code=403, reason="banned")
    primary.down = True
    primary.gate.set()  # the round trip fails: the request switches to the fallback

    with pytest.raises(LimiterHalted, match="banned"):
        await in_flight
    assert fallback.told == []  # it never reached the fallback's queue
    assert failover.stats == FailoverStats(fallback_admitted=0, switches=1)
