"""Property tests of settling rate-limit slots at the venue's own time stamp.

A request's slot settles at the time the venue stamped on its answer (the fake venue's
``Fake-Time``, Bybit's ``Timenow``), placed on our clock through the fastest recent answer,
instead of when the answer arrived. On virtual time, with random one-way delays both ways, a
random offset between the two clocks, a processing delay before the stamp and millisecond
truncation, a venue counting arrivals in a strict rolling window never sees more than the
limit; and the stamp really does let a long batch run faster than settling on the answer
would.
"""

from __future__ import annotations

import asyncio
import math
import random

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncexch import RateLimit, Session, VirtualClock
from tests.builders.fake_venue import READ, FakeVenue, envelope, feedback
from tests.windows import max_in_window

START = 1_700_000_000.0


class StampingVenue(httpx.AsyncBaseTransport):
    """Answers reads on virtual time: ``out`` seconds to arrive, counted on arrival, stamped
    ``processing`` later on a clock ``offset`` ahead of ours, then ``back`` seconds home."""

    def __init__(
        self,
        clock: VirtualClock,
        offset: float,
        delays: random.Random,
        tops: tuple[float, float, float],
        stamp: bool,
    ) -> None:
        self.clock = clock
        self.offset = offset
        self.delays = delays
        self.tops = tops
        self.stamp = stamp
        self.arrivals: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        out, processing, back = (self.delays.uniform(0, top) for top in self.tops)
        await self.clock.sleep(out)
        self.arrivals.append(self.clock.monotonic())
        await self.clock.sleep(processing)
        stamp = math.floor((self.clock.time() + self.offset) * 1000)
        await self.clock.sleep(back)
        if not self.stamp:  # a venue that does not stamp its answers
            return httpx.Response(200, content=envelope())
        return httpx.Response(200, content=envelope(), headers=feedback(time=stamp))


async def read_batch(
    venue: StampingVenue, *, limit: int, per: float, calls: int, first_alone: bool = False
) -> StampingVenue:
    """``calls`` reads at once through ``venue`` (after one alone, if ``first_alone``)."""
    async with Session(
        FakeVenue(),
        base_url="https://venue.test",
        clock=venue.clock,
        transport=venue,
        limits={"read": RateLimit(limit, per=per, guard=sum(venue.tops))},
    ) as session:
        if first_alone:
            await session.call(READ, {})
        await asyncio.gather(*(session.call(READ, {}) for _ in range(calls)))
    return venue


async def run_batch(
    *,
    limit: int,
    per: float,
    calls: int,
    offset: float,
    tops: tuple[float, float, float],
    seed: int,
    stamp: bool = True,
) -> StampingVenue:
    venue = StampingVenue(VirtualClock(start=START), offset, random.Random(seed), tops, stamp)
    return await read_batch(venue, limit=limit, per=per, calls=calls)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.integers(1, 6),
    per=st.sampled_from([0.1, 0.25, 1.0]),
    calls=st.integers(2, 40),
    offset=st.floats(-5.0, 5.0),
    top=st.sampled_from([0.0, 0.001, 0.01, 0.05]),
    seed=st.integers(0, 2**16),
)
def test_the_venue_never_counts_more_than_the_limit(
    limit: int, per: float, calls: int, offset: float, top: float, seed: int
) -> None:
    venue = asyncio.run(
        asyncio.wait_for(
            run_batch(limit=limit, per=per, calls=calls, offset=offset, tops=(top,) * 3, seed=seed),
            30,
        )
    )
    assert len(venue.arrivals) == calls
    assert max_in_window(venue.arrivals, per, [1] * calls) <= limit


def sustained_share(arrivals: list[float], limit: int, per: float) -> float:
    """Requests after the first ``limit`` per second from the ``limit``-th on, over the limit."""
    return (len(arrivals) - limit) / (arrivals[-1] - arrivals[limit - 1]) * per / limit


def test_a_long_batch_runs_closer_to_the_limit_than_settling_on_the_answer_allows() -> None:
    # 10 per second, 0-5 ms on the way there and before the stamp, 0-100 ms back: settling on
    # the answer pays the way back (50 ms on average) every cycle of 10; the stamp does not.
    runs = {
        stamp: asyncio.run(
            run_batch(
                limit=10,
                per=1.0,
                calls=200,
                offset=2.5,
                tops=(0.005, 0.005, 0.1),
                seed=7,
                stamp=stamp,
            )
        )
        for stamp in (True, False)
    }
    for venue in runs.values():
        assert max_in_window(venue.arrivals, 1.0, [1] * 200) <= 10
    stamped = sustained_share(runs[True].arrivals, 10, 1.0)
    answered = sustained_share(runs[False].arrivals, 10, 1.0)
    assert answered < 0.97 < stamped, (answered, stamped)


def test_a_venue_clock_that_steps_back_is_relearned_and_never_breaks_the_limit() -> None:
    # The venue's clock steps 10 s back after the first answer (a host with a wrong clock, a
    # correction): its next stamp would place a request before it was sent. That stamp is
    # not trusted; the estimate restarts from it, and later stamps are placed on the new clock.
    class SteppingVenue(StampingVenue):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            self.offset = -10.0
            return response

    def batch(stamp: bool) -> StampingVenue:
        venue = (SteppingVenue if stamp else StampingVenue)(
            VirtualClock(start=START), 0.0, random.Random(3), (0.005, 0.005, 0.1), stamp
        )
        # The first read alone: the one answer stamped on the right clock.
        return asyncio.run(read_batch(venue, limit=5, per=1.0, calls=60, first_alone=True))

    stepped, unstamped = batch(True), batch(False)
    assert max_in_window(stepped.arrivals, 1.0, [1] * 61) <= 5
    assert max_in_window(unstamped.arrivals, 1.0, [1] * 61) <= 5
    # Relearned: the stepped venue's stamps help again, as a venue that never stepped would.
    assert stepped.arrivals[-1] < unstamped.arrivals[-1] - 0.2
