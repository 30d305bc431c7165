"""A user's mistakes get errors that say what to do: an amount of the wrong type, a closed or
re-entered session, one left unclosed, one shared across event loops; and messages that never
mix statuses with codes. Over the fake venue (the venue clients' own mistakes, such as testnet
with a base_url or a key of another environment, are in ``tests/bybit`` and
``tests/chainup``)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from decimal import Decimal

import attrs
import httpx
import pytest
import respx

from asyncexch import (
    ConfigurationError,
    InvalidRequest,
    RedisIdRegistry,
    RedisLimiter,
    RetryPolicy,
    Session,
)
from asyncexch._validators import positive_decimal
from asyncexch.errors import ServiceUnavailable, TrafficHalted
from tests.builders.fake_venue import (
    BASE_URL,
    READ,
    READ_PATH,
    TIME_PATH,
    FakeVenue,
    bare,
    fail,
    ok,
)


@attrs.frozen
class Stake:
    """A request model as a venue writes one: its amount checked by the core's validator."""

    amount: Decimal = attrs.field(validator=positive_decimal())


def stake(amount: object) -> Stake:
    return Stake(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(("build", "field"), [(stake, "amount")], ids=["model"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (100, "must be a decimal.Decimal: write Decimal('100'), got 100"),
        ("100", "must be a decimal.Decimal: write Decimal('100'), got '100'"),
        (0.1, "never a float (a float is not exact): write Decimal('0.1'), got 0.1"),
        (True, "must be a decimal.Decimal, got True"),
        ("a lot", "must be a decimal.Decimal, got 'a lot'"),
    ],
)
def test_an_amount_of_the_wrong_type_says_what_to_write(
    build: Callable[[object], object], field: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build(value)

    assert caught.value.field == field
    assert says in str(caught.value)


async def test_a_closed_session_says_so_by_its_owners_name(
    make_session: Callable[..., Session],
) -> None:
    session = make_session(owner="FakeClient")
    async with session:
        await session.sync_clock()

    assert session.closed
    with pytest.raises(ConfigurationError, match=r"^FakeClient is closed: make a new one$"):
        await session.sync_clock()
    # Re-entered, a resource names its own type (a venue's client names itself: its own test).
    with pytest.raises(ConfigurationError, match=r"^Session is closed"):
        async with session:
            pass


async def test_every_resource_refuses_to_be_entered_again_once_closed() -> None:
    resources = [
        Session(FakeVenue(), base_url=BASE_URL),
        RedisLimiter("redis://127.0.0.1:1/0"),
        RedisIdRegistry("redis://127.0.0.1:1/0"),
    ]
    for resource in resources:
        async with resource:
            assert not resource.closed
        assert resource.closed
        with pytest.raises(ConfigurationError, match=f"^{type(resource).__name__} is closed"):
            await resource.__aenter__()


async def test_a_session_used_and_never_closed_warns_when_collected(
    fake_mock: respx.MockRouter,
) -> None:
    session = Session(FakeVenue(), base_url=BASE_URL, owner="FakeClient")
    await session.sync_clock()
    http = session._http

    with pytest.warns(ResourceWarning, match="FakeClient was used and never closed"):
        del session
        gc.collect()
    await http.aclose()  # what the warning is about, closed here so the test leaks nothing


async def test_a_session_closed_or_never_used_is_collected_silently(
    fake_mock: respx.MockRouter, recwarn: pytest.WarningsRecorder
) -> None:
    unused = Session(FakeVenue(), base_url=BASE_URL)
    async with Session(FakeVenue(), base_url=BASE_URL) as closed:
        await closed.sync_clock()

    del unused, closed
    gc.collect()

    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


def test_a_session_is_bound_to_the_event_loop_it_was_first_used_on() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get(TIME_PATH).mock(return_value=ok())
        session = Session(FakeVenue(), base_url=BASE_URL)
        asyncio.run(session.sync_clock())

        with pytest.raises(ConfigurationError, match="bound to the event loop it was first used"):
            asyncio.run(session.sync_clock())
        session._closed = True  # its connections died with the first loop


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (bare(502, "<html>bad gateway</html>"), "fake HTTP 502: '<html>bad"),
        (fail(1, "service restarting"), "fake error 1: service restarting"),
    ],
)
async def test_messages_never_mix_http_statuses_and_venue_codes(
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    answer: httpx.Response,
    text: str,
) -> None:
    fake_mock.get(READ_PATH).mock(return_value=answer)

    with pytest.raises(ServiceUnavailable) as caught:
        await make_session(retry=RetryPolicy(max_attempts=1)).call(READ, {})

    assert str(caught.value).startswith(text)
    assert str(caught.value).count("502") <= 1


async def test_a_halt_met_in_the_limiter_reads_as_the_http_status_that_started_it(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    fake_mock.get(READ_PATH).mock(return_value=bare(403, "access too frequent"))
    session = make_session()
    with pytest.raises(TrafficHalted):
        await session.call(READ, {})  # the venue's 403

    with pytest.raises(TrafficHalted) as caught:
        await session.call(READ, {})  # refused by the halted limiter, never sent

    assert str(caught.value).startswith("fake HTTP 403: banned")
