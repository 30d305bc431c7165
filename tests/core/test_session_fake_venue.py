"""The session on its own: a fake venue of a dozen lines, so the core is tested without Bybit
or ChainUP. Each rule here is venue-neutral: retries by outcome, "never resend what may have
been placed", pauses and halts from the venue's answers, one clock re-sync, the decode."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import cattrs
import httpx
import pytest
import respx

from asyncexch import (
    ClockSkew,
    Endpoint,
    MalformedResponse,
    OrderStatusUnknown,
    Outcome,
    RateLimit,
    RateLimited,
    Reply,
    RetryPolicy,
    ServiceUnavailable,
    Session,
    TrafficHalted,
    Venue,
    VirtualClock,
    WireRequest,
)
from asyncexch.errors import BadParameter, ExchangeError

BASE = "https://fake.venue"
T0 = 1_700_000_000.0


@attrs.frozen
class Echo:
    value: int


TIME = Endpoint("time", "GET", "/time", Echo, signed=False)
READ = Endpoint("read", "GET", "/read", Echo, buckets=("read",))
ORDER = Endpoint("order", "POST", "/order", Echo, buckets=("order",), changes_state=True)
RETRYABLE_ORDER = Endpoint(
    "keyed_order", "POST", "/keyed", Echo, buckets=("order",), changes_state=True, idempotent=True
)


class FakeVenue:
    """Answers ``{"code": 0, "data": {...}, "ms": server ms}``; codes: 1 busy (unknown),
    2 refused (failed), 3 slow down (not processed, with ``reset_ms``), 4 bad clock, 5 ban."""

    name = "fake"
    converter = cattrs.Converter()
    default_limits: Mapping[str, RateLimit] = {"read": RateLimit(5), "order": RateLimit(2)}
    time_endpoint: Endpoint[Any] | None = TIME

    def __init__(self) -> None:
        self.signed_at: list[int] = []

    def bucket_key(self, bucket: str) -> str:
        return f"fake:{bucket}"

    def encode(self, endpoint: Endpoint[Any], params: Mapping[str, object]) -> WireRequest:
        return WireRequest(endpoint.method, endpoint.path, body=json.dumps(params).encode())

    def sign(self, request: WireRequest, timestamp_ms: int) -> WireRequest:
        self.signed_at.append(timestamp_ms)
        return request.with_headers(("X-Time", str(timestamp_ms)))

    def read(self, endpoint: Endpoint[Any], response: httpx.Response) -> Reply:
        try:
            data = json.loads(response.content)
            code, ms = data["code"], data["ms"]
        except (ValueError, KeyError, TypeError):
            return Reply(error=MalformedResponse("not a fake answer"))
        errors: dict[int, ExchangeError] = {
            1: ServiceUnavailable(1, "busy", self.name),
            2: BadParameter(2, "refused", self.name),
            3: RateLimited(3, "slow down", self.name, retry_after=0.5),
            4: ClockSkew(4, "bad clock", self.name),
            5: TrafficHalted(5, "banned", self.name, retry_after=60.0),
        }
        if code:
            return Reply(error=errors[code], server_time_ms=ms, reset_at_ms=data.get("reset_ms"))
        return Reply(result=data["data"], server_time_ms=ms)


def answer(code: int = 0, value: int = 1, **extra: Any) -> httpx.Response:
    return httpx.Response(
        200, json={"code": code, "data": {"value": value}, "ms": int(T0 * 1000), **extra}
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=T0)


@pytest.fixture
def venue_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/time").mock(return_value=answer())
        yield router


@pytest.fixture
async def session(clock: VirtualClock, venue_mock: respx.MockRouter) -> Any:
    async with Session(
        FakeVenue(), base_url=BASE, clock=clock, retry=RetryPolicy(max_attempts=4)
    ) as made:
        yield made


async def test_a_call_decodes_the_venues_payload(
    session: Session, venue_mock: respx.MockRouter
) -> None:
    venue_mock.get("/read").mock(return_value=answer(value=42))

    assert await session.call(READ, {}) == Echo(42)


@pytest.mark.parametrize(
    ("endpoint", "path", "sends", "raised"),
    [
        (READ, "/read", 2, None),  # a read is resent after an unknown outcome
        (ORDER, "/order", 1, OrderStatusUnknown),  # a change is not
        (RETRYABLE_ORDER, "/keyed", 2, None),  # unless its endpoint says why it may be
    ],
)
async def test_an_unknown_outcome_is_resent_only_where_that_is_safe(
    session: Session,
    venue_mock: respx.MockRouter,
    endpoint: Endpoint[Echo],
    path: str,
    sends: int,
    raised: type[Exception] | None,
) -> None:
    method = venue_mock.get if endpoint.method == "GET" else venue_mock.post
    route = method(path).mock(side_effect=[answer(code=1), answer(value=7)])

    if raised is None:
        assert await session.call(endpoint, {}, request="mine") == Echo(7)
    else:
        with pytest.raises(raised) as caught:
            await session.call(endpoint, {}, request="mine")
        assert isinstance(caught.value, OrderStatusUnknown)
        assert caught.value.request == "mine"
    assert route.call_count == sends


async def test_not_processed_is_retried_and_failed_is_not(
    session: Session, venue_mock: respx.MockRouter
) -> None:
    slow = venue_mock.post("/order").mock(side_effect=[answer(code=3), answer(value=3)])
    assert await session.call(ORDER, {}) == Echo(3)
    assert slow.call_count == 2

    refused = venue_mock.post("/keyed").mock(return_value=answer(code=2))
    with pytest.raises(BadParameter):
        await session.call(RETRYABLE_ORDER, {})
    assert refused.call_count == 1


async def test_a_refusal_after_an_unknown_outcome_leaves_the_fate_unknown(
    session: Session, venue_mock: respx.MockRouter
) -> None:
    venue_mock.post("/keyed").mock(side_effect=[answer(code=1), answer(code=2)])

    with pytest.raises(OrderStatusUnknown) as caught:
        await session.call(RETRYABLE_ORDER, {})

    assert isinstance(caught.value.__cause__, BadParameter)
    assert caught.value.outcome is Outcome.UNKNOWN


async def test_the_venues_reset_time_pauses_the_bucket(
    session: Session, venue_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    reset = int(T0 * 1000) + 800
    venue_mock.get("/read").mock(side_effect=[answer(code=3, reset_ms=reset), answer()])
    started = clock.monotonic()

    await session.call(READ, {})

    assert clock.monotonic() - started >= 0.8
    [state] = [s for s in await session.limits_state() if s.name == "read"]
    assert state.in_window == 2


async def test_a_ban_halts_every_bucket_of_the_key(
    session: Session, venue_mock: respx.MockRouter
) -> None:
    venue_mock.get("/read").mock(return_value=answer(code=5))
    order = venue_mock.post("/order").mock(return_value=answer())

    with pytest.raises(TrafficHalted):
        await session.call(READ, {})
    with pytest.raises(TrafficHalted):
        await session.call(ORDER, {})

    assert order.call_count == 0
    assert all(s.halted_until is not None for s in await session.limits_state())


async def test_a_refused_timestamp_resyncs_the_clock_once_and_resends_signed_afresh(
    clock: VirtualClock, venue_mock: respx.MockRouter
) -> None:
    venue = FakeVenue()
    venue_mock.post("/order").mock(side_effect=[answer(code=4), answer(code=4), answer()])
    async with Session(venue, base_url=BASE, clock=clock, retry=RetryPolicy()) as session:
        with pytest.raises(ClockSkew):
            await session.call(ORDER, {})

    assert len(venue.signed_at) == 2  # signed per attempt; a second refusal is not retried
    assert venue_mock.routes[0].call_count == 1  # the time endpoint, once


async def test_an_unreadable_answer_to_a_change_leaves_its_fate_unknown(
    session: Session, venue_mock: respx.MockRouter
) -> None:
    venue_mock.post("/order").mock(return_value=httpx.Response(200, text="<html>"))
    venue_mock.post("/keyed").mock(
        return_value=httpx.Response(200, json={"code": 0, "data": {"v": 1}, "ms": 1})
    )

    with pytest.raises(OrderStatusUnknown):
        await session.call(ORDER, {})  # malformed: may have been placed, never resent
    with pytest.raises(OrderStatusUnknown) as caught:
        await session.call(RETRYABLE_ORDER, {})  # accepted, but the payload is unreadable

    assert "unreadable" in str(caught.value)


def test_the_fake_venue_is_a_venue() -> None:
    venue: Venue = FakeVenue()  # mypy checks the protocol here

    assert venue.bucket_key("read") == "fake:read"
