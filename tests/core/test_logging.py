"""What a money-moving program sees in its logs: one INFO line for each retry, venue pause and
clock re-sync (a WARNING for a halt), naming the endpoint and the caller's label; per-attempt
lines at DEBUG; messages in plain English. Over the fake venue (the lookup a Bybit client
logs after a refusal is in ``tests/bybit/test_idempotency.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
import respx

from asyncexch import RetryPolicy, Session
from asyncexch.errors import MalformedResponse, OrderStatusUnknown, TrafficHalted
from tests.builders.fake_venue import (
    KEYED_ORDER,
    KEYED_PATH,
    ORDER,
    ORDER_PATH,
    READ,
    READ_PATH,
    SERVER_MS,
    Echo,
    bare,
    fail,
    ok,
)

LABEL = "id=log-me-1"


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asyncexch" and r.levelno == level]


async def place(session: Session) -> Echo:
    """An order with a client order id, labelled as a venue's client labels it."""
    return await session.call(KEYED_ORDER, {"id": "log-me-1"}, label=LABEL)


async def test_a_retry_is_one_info_line_with_the_endpoint_and_the_label(
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncexch")
    fake_mock.post(KEYED_PATH).mock(side_effect=[bare(502, "<html>bad gateway</html>"), ok()])

    await place(make_session())

    [retry] = lines(caplog, logging.INFO)
    assert retry.startswith(
        f"POST {KEYED_PATH} {LABEL}: the 1st attempt failed "
        "(fake HTTP 502: '<html>bad gateway</html>'); retrying in "
    )
    assert retry.endswith("s (the 2nd attempt of 5)")
    debug = lines(caplog, logging.DEBUG)
    assert len(debug) == 2
    assert all(line.startswith(f"POST {KEYED_PATH} {LABEL}: the ") for line in debug)
    assert debug[1].endswith(": ok")


async def test_a_venue_pause_and_a_clock_resync_are_logged_at_info(
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    fake_mock.post(KEYED_PATH).mock(
        side_effect=[
            fail(3, "slow down", time=SERVER_MS, reset=SERVER_MS + 400, left=0),
            fail(4, "timestamp outside the window"),
            ok(),
        ]
    )

    await place(make_session())

    said = lines(caplog, logging.INFO)
    assert any(
        line.startswith(f"POST {KEYED_PATH} {LABEL}: the venue asks for a pause of 0.")
        for line in said
    )
    assert any(
        line.startswith(f"POST {KEYED_PATH} {LABEL}: the venue refused our timestamp")
        and "re-learning its clock" in line
        for line in said
    )


async def test_a_halt_is_a_warning(
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    fake_mock.post(KEYED_PATH).mock(return_value=bare(403, "access too frequent"))

    with pytest.raises(TrafficHalted):
        await place(make_session(owner="FakeClient"))

    [warning] = lines(caplog, logging.WARNING)
    assert warning.startswith("FakeClient: every request of this key stops for 600 s")


async def test_attempts_are_counted_in_english(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    fake_mock.post(ORDER_PATH).mock(return_value=bare(502, "bad gateway"))

    with pytest.raises(OrderStatusUnknown) as one:
        await make_session().call(ORDER, {"n": 1})

    assert "(1 attempt; the last: fake HTTP 502: 'bad gateway')" in str(one.value)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"code": 0, "msg": "", "da', "truncated JSON, not a Fake answer"),
        (b"<html><body>Maintenance</body></html>", "an HTML page, not a Fake answer"),
        (b"", "an empty body, not a Fake answer"),
        (b'["a list"]', "JSON, not a Fake answer"),
    ],
)
async def test_an_unreadable_answer_says_what_it_is(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter, body: bytes, said: str
) -> None:
    fake_mock.get(READ_PATH).mock(return_value=httpx.Response(200, content=body))

    with pytest.raises(MalformedResponse) as caught:
        await make_session(retry=RetryPolicy(max_attempts=1)).call(READ, {})

    assert f"{READ_PATH}: {said}" in str(caught.value)
