"""The session on its own, over the fake venue (``tests.builders.fake_venue``), so the core is
tested without Bybit or ChainUP. Each rule here is venue-neutral: retries by outcome, "never
resend what may have been placed", pauses and halts from the venue's answers, one clock
re-sync, the decode."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import respx

from asyncexch import (
    ClockSkew,
    Endpoint,
    OrderStatusUnknown,
    Outcome,
    RetryPolicy,
    Session,
    TrafficHalted,
    Venue,
    VirtualClock,
)
from asyncexch._venue import key_scope
from asyncexch.errors import BadParameter
from tests.builders.fake_venue import (
    KEYED_ORDER,
    ORDER,
    READ,
    SERVER_MS,
    TIMESTAMP_HEADER,
    Echo,
    FakeVenue,
    bare,
    fail,
    ok,
)


async def test_a_call_decodes_the_venues_payload(
    session: Session, fake_mock: respx.MockRouter
) -> None:
    fake_mock.get("/read").mock(return_value=ok({"value": 42}))

    assert await session.call(READ, {}) == Echo(42)


@pytest.mark.parametrize(
    ("endpoint", "path", "sends", "raised"),
    [
        (READ, "/read", 2, None),  # a read is resent after an unknown outcome
        (ORDER, "/order", 1, OrderStatusUnknown),  # a change is not
        (KEYED_ORDER, "/keyed", 2, None),  # unless its endpoint says why it may be
    ],
)
async def test_an_unknown_outcome_is_resent_only_where_that_is_safe(
    session: Session,
    fake_mock: respx.MockRouter,
    endpoint: Endpoint[Echo],
    path: str,
    sends: int,
    raised: type[Exception] | None,
) -> None:
    method = fake_mock.get if endpoint.method == "GET" else fake_mock.post
    route = method(path).mock(side_effect=[fail(1, "busy"), ok({"value": 7})])

    if raised is None:
        assert await session.call(endpoint, {}, request="mine") == Echo(7)
    else:
        with pytest.raises(raised) as caught:
            await session.call(endpoint, {}, request="mine")
        assert isinstance(caught.value, OrderStatusUnknown)
        assert caught.value.request == "mine"
    assert route.call_count == sends


async def test_not_processed_is_retried_and_failed_is_not(
    session: Session, fake_mock: respx.MockRouter
) -> None:
    slow = fake_mock.post("/order").mock(side_effect=[fail(3), ok({"value": 3})])
    assert await session.call(ORDER, {}) == Echo(3)
    assert slow.call_count == 2

    refused = fake_mock.post("/keyed").mock(return_value=fail(2))
    with pytest.raises(BadParameter):
        await session.call(KEYED_ORDER, {})
    assert refused.call_count == 1


async def test_a_refusal_after_an_unknown_outcome_leaves_the_fate_unknown(
    session: Session, fake_mock: respx.MockRouter
) -> None:
    fake_mock.post("/keyed").mock(side_effect=[fail(1), fail(2)])

    with pytest.raises(OrderStatusUnknown) as caught:
        await session.call(KEYED_ORDER, {})

    assert isinstance(caught.value.__cause__, BadParameter)
    assert caught.value.outcome is Outcome.UNKNOWN


async def test_the_venues_reset_time_pauses_the_bucket(
    session: Session, fake_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    reset = SERVER_MS + 800
    fake_mock.get("/read").mock(side_effect=[fail(3, time=SERVER_MS, reset=reset), ok()])
    started = clock.monotonic()

    await session.call(READ, {})

    assert clock.monotonic() - started >= 0.8
    [state] = [s for s in await session.limits_state() if s.name == "read"]
    assert state.in_window == 2


async def test_a_ban_halts_every_bucket_of_the_key(
    session: Session, fake_mock: respx.MockRouter
) -> None:
    fake_mock.get("/read").mock(return_value=bare(403, "banned"))
    order = fake_mock.post("/order").mock(return_value=ok())

    with pytest.raises(TrafficHalted):
        await session.call(READ, {})
    with pytest.raises(TrafficHalted):
        await session.call(ORDER, {})

    assert order.call_count == 0
    assert all(s.halted_until is not None for s in await session.limits_state())


async def test_a_refused_timestamp_resyncs_the_clock_once_and_resends_signed_afresh(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.post("/order").mock(side_effect=[fail(4), fail(4), ok()])
    session = make_session(retry=RetryPolicy())

    with pytest.raises(ClockSkew):
        await session.call(ORDER, {})

    # signed per attempt; a second refusal is not retried
    assert route.call_count == 2
    assert all(TIMESTAMP_HEADER in call.request.headers for call in route.calls)
    assert fake_mock.routes[0].call_count == 1  # the time endpoint, once


async def test_an_unreadable_answer_to_a_change_leaves_its_fate_unknown(
    session: Session, fake_mock: respx.MockRouter
) -> None:
    fake_mock.post("/order").mock(return_value=httpx.Response(200, text="<html>"))
    fake_mock.post("/keyed").mock(
        return_value=httpx.Response(200, json={"code": 0, "data": {"v": 1}})
    )

    with pytest.raises(OrderStatusUnknown):
        await session.call(ORDER, {})  # malformed: may have been placed, never resent
    with pytest.raises(OrderStatusUnknown) as caught:
        await session.call(KEYED_ORDER, {})  # accepted, but the payload is unreadable

    assert "unreadable" in str(caught.value)


def test_the_fake_venue_is_a_venue() -> None:
    venue: Venue = FakeVenue("k", "s")  # mypy checks the protocol here

    assert venue.bucket_key("read") == f"{key_scope('fake', 'k')}:read"
    assert venue.bucket_key("ip") == "fake:ip:fake.venue.test:ip"
