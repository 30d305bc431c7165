"""Session options that are not venue-specific, over the fake venue: the cap on requests in
flight, the body cap, closing, sane options, a cancelled request's slot, transport failures."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
import respx

from asyncexch import (
    ConfigurationError,
    MalformedResponse,
    Outcome,
    RateLimit,
    RetryPolicy,
    Session,
    TransportError,
    VirtualClock,
)
from asyncexch._session import UNPACED_IN_FLIGHT, _DirectSend
from asyncexch._venue import WireRequest
from tests.builders.fake_venue import (
    BASE_URL,
    KEYED_ORDER,
    KEYED_PATH,
    ORDER,
    READ,
    READ_PATH,
    Echo,
    FakeVenue,
    ok,
)


async def test_max_in_flight_caps_requests_between_capacity_and_answer(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await clock.sleep(0.5)
        in_flight -= 1
        return ok({"value": json.loads(request.content)["n"]})

    fake_mock.post(KEYED_PATH).mock(side_effect=slow)
    session = make_session(limits={"order": RateLimit(50)}, max_in_flight=2)
    results = await asyncio.gather(*(session.call(KEYED_ORDER, {"n": n}) for n in range(8)))
    assert results == [Echo(n) for n in range(8)]
    assert most == 2
    assert clock.monotonic() == pytest.approx(2.0)  # 4 rounds of 2, 0.5 s each


async def test_without_a_cap_the_same_batch_runs_all_at_once(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await clock.sleep(0.5)
        in_flight -= 1
        return ok({"value": json.loads(request.content)["n"]})

    fake_mock.post(KEYED_PATH).mock(side_effect=slow)
    session = make_session(limits={"order": RateLimit(50)})
    await asyncio.gather(*(session.call(KEYED_ORDER, {"n": n}) for n in range(8)))
    assert most == 8


@pytest.mark.parametrize("value", [0, -1])
def test_max_in_flight_must_be_positive(value: int) -> None:
    with pytest.raises(ConfigurationError):
        Session(FakeVenue(), base_url=BASE_URL, max_in_flight=value)


async def test_a_closed_session_refuses_calls_without_sending(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    session = make_session()
    await session.aclose()
    with pytest.raises(ConfigurationError):
        await session.call(READ, {})
    assert fake_mock.calls.call_count == 0


def test_with_headers_keeps_every_other_field_of_the_request() -> None:
    # with_headers builds the request field by field (cheaper than attrs.evolve): a field
    # added to WireRequest and forgotten there would be dropped from every signed request.
    values: dict[str, object] = {
        "method": "POST",
        "path": "/p",
        "query": "a=1",
        "body": b"{}",
        "headers": (("A", "1"),),
        "fields": (("k", "v"),),
    }
    assert {field.name for field in attrs.fields(WireRequest)} == set(values)
    request = WireRequest(**values)  # type: ignore[arg-type]
    signed = request.with_headers(("B", "2"))
    assert signed == attrs.evolve(request, headers=(("A", "1"), ("B", "2")))


# --- bounds a caller or a venue cannot remove -------------------------------------------------


async def test_unpaced_sessions_keep_a_cap_on_requests_in_flight(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """With pacing off, thousands of calls at once would make httpx's pool quadratic."""
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await clock.sleep(0.1)
        in_flight -= 1
        return ok({"value": json.loads(request.content)["n"]})

    fake_mock.post(KEYED_PATH).mock(side_effect=slow)
    session = make_session(limits=False)
    results = await asyncio.gather(*(session.call(KEYED_ORDER, {"n": n}) for n in range(600)))

    assert results == [Echo(n) for n in range(600)]
    assert most == UNPACED_IN_FLIGHT


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": math.nan},
        {"timeout": math.inf},
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": "10"},
        {"max_in_flight": 0},
        {"max_in_flight": 2.5},
        {"max_body": 10},
    ],
    ids=repr,
)
def test_session_options_must_be_sane(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Session(FakeVenue(), base_url=BASE_URL, **options)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: RateLimit(5, per=math.inf), ValueError),
        (lambda: RateLimit(5, per=math.nan), ValueError),
        (lambda: RateLimit(5, guard=math.inf), ValueError),
        (lambda: RetryPolicy(backoff=math.nan), ValueError),
        (lambda: RetryPolicy(max_backoff=math.inf), ValueError),
        (lambda: RetryPolicy(deadline=math.nan), ValueError),
        (lambda: RetryPolicy(max_attempts=2.0), ValueError),  # type: ignore[arg-type]
    ],
)
def test_limits_and_policies_refuse_non_finite_numbers(
    build: Callable[[], object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        build()


async def test_a_redirect_following_http_client_is_refused() -> None:
    """A signed order must never be replayed to another host."""
    async with httpx.AsyncClient(follow_redirects=True) as http:
        with pytest.raises(ConfigurationError, match="redirects"):
            Session(FakeVenue(), base_url=BASE_URL, http_client=http)


async def test_a_session_sends_on_its_own_client_what_a_passed_in_client_sends(
    make_session: Callable[..., Session],
) -> None:
    """A session's own client skips ``AsyncClient.send`` (issue 19): the same method, URL,
    headers (the client's defaults included, in the same order), body and timeouts go out."""
    seen: dict[str, list[httpx.Request]] = {"own": [], "passed in": []}

    def capture(into: list[httpx.Request]) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            into.append(request)
            return ok({"value": 1})

        return httpx.MockTransport(answer)

    own = make_session(limits=False, transport=capture(seen["own"]), timeout=7.0)
    passed = httpx.AsyncClient(transport=capture(seen["passed in"]), timeout=7.0)
    try:
        other = make_session(limits=False, http_client=passed)
        for session in (own, other):
            assert await session.call(READ, {"a": "1 2", "b": "x"}) == Echo(1)
            assert await session.call(KEYED_ORDER, {"n": 3}) == Echo(1)
    finally:
        await passed.aclose()

    def sent(request: httpx.Request) -> tuple[object, ...]:
        return (
            request.method,
            str(request.url),
            request.headers.raw,
            request.content,
            request.extensions["timeout"],
        )

    assert [sent(r) for r in seen["own"]] == [sent(r) for r in seen["passed in"]]
    assert seen["own"][0].headers["User-Agent"].startswith("python-httpx/")
    assert seen["own"][0].extensions["timeout"] == httpx.Timeout(7.0).as_dict()


async def test_a_passed_in_client_is_used_through_send_with_its_hooks(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    fake_mock.get(READ_PATH).mock(return_value=ok({"value": 2}))
    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
        session = make_session(http_client=http)
        assert await session.call(READ, {}) == Echo(2)
    assert hooked == [READ_PATH]


async def test_a_call_on_an_own_client_closed_under_it_is_a_configuration_error(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    """What ``AsyncClient.send`` refuses, the direct path refuses too: nothing is sent."""
    session = make_session()
    await session._http.aclose()
    with pytest.raises(ConfigurationError, match="cannot send"):
        await session.call(READ, {})
    assert fake_mock.calls.call_count == 0


async def test_an_answer_larger_than_max_body_is_malformed_and_of_unknown_outcome(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.get(READ_PATH).mock(
        return_value=httpx.Response(200, content=b"[" + b" " * 5_000_000 + b"]")
    )
    session = make_session(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(MalformedResponse, match="larger than 4194304 bytes") as caught:
        await session.call(READ, {})

    assert caught.value.outcome is Outcome.UNKNOWN
    assert route.call_count == 1


async def test_max_body_is_configurable(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    fake_mock.get(READ_PATH).mock(return_value=ok({"value": 1, "pad": "x" * 3000}))
    small = make_session(max_body=2048, retry=RetryPolicy(max_attempts=1))

    with pytest.raises(MalformedResponse, match="larger than 2048"):
        await small.call(READ, {})
    assert await make_session().call(READ, {}) == Echo(1)


# --- a request written to the wire keeps its slot until its guard has passed ---------------------


class _SlowWire(httpx.AsyncBaseTransport):
    """The first five requests reach the venue 25 ms (virtual) after they were handed over,
    later ones in 1 ms (within the 30 ms guard either way); no answer ever comes back.
    ``arrivals`` holds the virtual times at which requests arrived."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.arrivals: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Written now: the network delivers it, whatever the client does meanwhile.
        delay = 0.025 if len(self.arrivals) < 5 else 0.001
        self.arrivals.append(self.clock.monotonic() + delay)
        await self.clock.sleep(3600)
        raise AssertionError("the test cancels long before")


async def test_a_cancelled_request_keeps_its_slot_until_send_plus_guard(
    clock: VirtualClock,
) -> None:
    """Five orders at 5/s are written, then the batch is cancelled 5 ms later, before they
    arrive: their slots stay at send + 30 ms (not the cancellation's 5 ms), so the next five
    go no sooner than that plus a second, and no rolling second at the venue sees more
    than five."""
    wire = _SlowWire(clock)
    async with Session(
        FakeVenue(),
        base_url="http://venue.test",
        clock=clock,
        transport=wire,
        limits={"order": RateLimit(5)},
    ) as session:

        async def five_orders() -> list[Echo]:
            return await asyncio.gather(*(session.call(ORDER, {"n": n}) for n in range(5)))

        first = asyncio.ensure_future(five_orders())
        await clock.sleep(0.005)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        second = asyncio.ensure_future(five_orders())
        await clock.sleep(2.0)
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)

    arrivals = sorted(wire.arrivals)
    assert len(arrivals) == 10
    assert all(
        later - earlier >= 1.0 for earlier, later in zip(arrivals, arrivals[5:], strict=False)
    )


# --- transport failures, by whether the request can have left ------------------------------


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (httpx.ConnectError, Outcome.NOT_PROCESSED),
        (httpx.ConnectTimeout, Outcome.NOT_PROCESSED),
        (httpx.PoolTimeout, Outcome.NOT_PROCESSED),
        (httpx.UnsupportedProtocol, Outcome.NOT_PROCESSED),
        (httpx.ProxyError, Outcome.NOT_PROCESSED),
        (httpx.ReadTimeout, Outcome.UNKNOWN),
        (httpx.WriteTimeout, Outcome.UNKNOWN),
        (httpx.ReadError, Outcome.UNKNOWN),
        (httpx.WriteError, Outcome.UNKNOWN),
        (httpx.RemoteProtocolError, Outcome.UNKNOWN),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
async def test_a_transport_failure_is_translated_by_whether_the_request_can_have_left(
    exc: type[httpx.HTTPError],
    outcome: Outcome,
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
) -> None:
    route = fake_mock.get(READ_PATH).mock(side_effect=exc)
    session = make_session(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(TransportError) as info:
        await session.call(READ, {})

    assert type(info.value) is TransportError
    assert info.value.outcome is outcome
    assert str(info.value).startswith(f"GET {READ_PATH}: {exc.__name__}: ")
    assert isinstance(info.value.__cause__, exc)
    assert route.call_count == 1


@pytest.mark.parametrize(
    "query",
    [
        "",
        "category=SmartLeverage&limit=20&orderId=00000001-5e1a-4b1d-9a7e-000000000001",
        "a=1%202&b=%2F&c=x.y_z~",
        "cursor=abc%3D%3D&t=1700000000000",
        "q=a b",  # re-quoted by httpx: parsed whole
        "q=%zz&r=|^",
        "q=caf\u00e9",
        "q=a#b",
        "q=1?2:3@4!$'()*+,;",
    ],
)
async def test_a_url_with_its_query_put_in_is_the_one_httpx_parses(query: str) -> None:
    """The own client's URL is parsed once per path and the query put in (issue 19): for
    every query it is the URL httpx makes of the whole string."""
    async with httpx.AsyncClient() as http:
        direct = _DirectSend(http, BASE_URL)
        for _ in range(2):  # the second time from the path's cached URL
            url = direct.url("/v5/a/b", query)
            whole = httpx.URL(f"{BASE_URL}/v5/a/b" + (f"?{query}" if query else ""))
            assert (str(url), url.raw_path, url.query) == (str(whole), whole.raw_path, whole.query)
            assert url == whole
