"""Property tests of InProcessLimiter on virtual time.

For random limits, windows, guards, arrival schedules and costs: no window of ``per`` (nor the
enforced ``per + guard``) ever holds more than ``limit``, every bucket serves its waiters first
come first served, nothing deadlocks, and (one bucket) nobody waits longer than the window
rule requires.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncexch import InProcessLimiter, RateLimit, VirtualClock
from tests.windows import max_in_window

#: Real seconds after which a run counts as hung (a deadlock under virtual time).
HANG_GUARD = 10.0

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_max_in_window_counts_costs_in_half_open_windows() -> None:
    assert max_in_window([0.0, 0.5, 1.0], 1.0, [1, 1, 1]) == 2
    assert max_in_window([0.0, 0.5, 1.0], 1.0, [2, 3, 4]) == 7
    assert max_in_window([0.0, 0.5, 0.999], 1.0, [1, 1, 1]) == 3


@attrs.frozen
class Request:
    ident: int
    endpoint: str
    delay: float
    cost: int


@attrs.define
class Outcome:
    called: list[tuple[int, float]] = attrs.Factory(list)  # (ident, time acquire was called)
    admitted: list[tuple[int, float]] = attrs.Factory(list)  # (ident, time let through)


async def run(
    requests: Sequence[Request], claims: dict[str, list[tuple[str, RateLimit]]]
) -> Outcome:
    clock = VirtualClock()
    limiter = InProcessLimiter(clock)
    outcome = Outcome()

    async def one(request: Request) -> None:
        if request.delay > 0:
            await clock.sleep(request.delay)
        outcome.called.append((request.ident, clock.monotonic()))
        await limiter.acquire(claims[request.endpoint], request.cost)
        outcome.admitted.append((request.ident, clock.monotonic()))

    tasks = [asyncio.create_task(one(request)) for request in requests]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=HANG_GUARD)
    assert len(outcome.admitted) == len(requests)
    for bucket in limiter._buckets.values():
        assert bucket.turns.idle
    return outcome


def delays(per: float) -> st.SearchStrategy[float]:
    # Many simultaneous arrivals (0), some on exact window multiples, the rest anywhere.
    return st.one_of(
        st.just(0.0),
        st.sampled_from([per, 2 * per, per / 2]),
        st.floats(min_value=0.0, max_value=3 * per, allow_nan=False),
    )


@st.composite
def single_bucket(draw: st.DrawFn) -> tuple[RateLimit, list[Request]]:
    rate = RateLimit(
        draw(st.integers(1, 20)),
        per=draw(st.floats(0.5, 5.0)),
        guard=draw(st.floats(0.0, 0.1)),
    )
    max_cost = draw(st.sampled_from([1, min(3, rate.limit), rate.limit]))
    n = draw(st.integers(1, 30))
    requests = [
        Request(i, "k", draw(delays(rate.per)), draw(st.integers(1, max_cost))) for i in range(n)
    ]
    return rate, requests


def fifo_schedule(
    rate: RateLimit, called: Sequence[tuple[int, float]], costs: dict[int, int]
) -> list[float]:
    """The earliest first-come-first-served admission times that keep every window within
    the limit: each request goes when its predecessor has gone and the ``limit - cost + 1``-th
    most recent unit taken is one window old."""
    log: deque[float] = deque(maxlen=rate.limit)
    previous = 0.0
    schedule = []
    for ident, arrival in called:
        cost = costs[ident]
        at = max(arrival, previous)
        keep = rate.limit - cost
        if len(log) > keep:
            at = max(at, log[len(log) - keep - 1] + rate.window)
        log.extend([at] * cost)
        schedule.append(at)
        previous = at
    return schedule


@SETTINGS
@given(scenario=single_bucket())
def test_single_bucket_is_safe_fifo_and_prompt(scenario: tuple[RateLimit, list[Request]]) -> None:
    rate, requests = scenario
    outcome = asyncio.run(run(requests, {"k": [("k", rate)]}))
    costs = {r.ident: r.cost for r in requests}
    times = [t for _, t in outcome.admitted]
    taken = [costs[ident] for ident, _ in outcome.admitted]

    # Safe in every window of length per, and in the enforced window per + guard.
    assert max_in_window(times, rate.per, taken) <= rate.limit
    assert max_in_window(times, rate.window - 1e-9, taken) <= rate.limit
    # First come, first served.
    assert [ident for ident, _ in outcome.admitted] == [ident for ident, _ in outcome.called]
    # Nobody was let in before asking.
    called_at = dict(outcome.called)
    assert all(t >= called_at[ident] for ident, t in outcome.admitted)
    # And nobody waited longer than the window rule requires.
    expected = fifo_schedule(rate, outcome.called, costs)
    for got, want in zip(times, expected, strict=True):
        assert abs(got - want) <= 1e-6 * max(1.0, want)


@st.composite
def shared_pool(
    draw: st.DrawFn,
) -> tuple[dict[str, list[tuple[str, RateLimit]]], list[Request]]:
    def rate(low: int, high: int) -> RateLimit:
        return RateLimit(
            draw(st.integers(low, high)),
            per=draw(st.floats(0.5, 5.0)),
            guard=draw(st.floats(0.0, 0.1)),
        )

    ip = rate(1, 20)
    endpoints = {name: rate(1, 10) for name in ("a", "b")}
    claims = {name: [(name, limit), ("ip", ip)] for name, limit in endpoints.items()}
    n = draw(st.integers(1, 30))
    requests = []
    for i in range(n):
        name = draw(st.sampled_from(["a", "b"]))
        top = min(endpoints[name].limit, ip.limit, draw(st.sampled_from([1, 3, 20])))
        requests.append(Request(i, name, draw(delays(ip.per)), draw(st.integers(1, top))))
    return claims, requests


@SETTINGS
@given(scenario=shared_pool())
def test_shared_pool_is_safe_and_each_endpoint_fifo(
    scenario: tuple[dict[str, list[tuple[str, RateLimit]]], list[Request]],
) -> None:
    claims, requests = scenario
    outcome = asyncio.run(run(requests, claims))
    by_id = {r.ident: r for r in requests}
    buckets = {key: rate for pairs in claims.values() for key, rate in pairs}
    for key, rate in buckets.items():
        users = [(i, t) for i, t in outcome.admitted if key in ("ip", by_id[i].endpoint)]
        times = [t for _, t in users]
        taken = [by_id[i].cost for i, _ in users]
        assert max_in_window(times, rate.per, taken) <= rate.limit, key
        assert max_in_window(times, rate.window - 1e-9, taken) <= rate.limit, key
    for endpoint in ("a", "b"):
        admitted = [i for i, _ in outcome.admitted if by_id[i].endpoint == endpoint]
        called = [i for i, _ in outcome.called if by_id[i].endpoint == endpoint]
        assert admitted == called, endpoint
