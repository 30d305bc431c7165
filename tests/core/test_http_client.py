"""Which transport a session's own HTTP client sends through: aiohttp by default, httpx's own
where the process relies on it (a SOCKS proxy, a proxy in the environment, an aiohttp that
cannot be imported, httpcore mocked while a request is sent).

The proxies themselves are exercised on loopback in ``tests/integration/test_proxy.py``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from unittest import mock

import httpcore
import httpx
import pytest
import respx

from asyncexch import AiohttpTransport, Session
from asyncexch._http_client import _DefaultTransport, _httpx_mocked, _transport
from asyncexch._proxy import as_proxy
from tests.builders import fake_venue

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class Answering(httpx.AsyncBaseTransport):
    """A transport that answers every request with its own name, and counts its closes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=self.name)

    async def aclose(self) -> None:
        self.closed += 1


def test_by_default_requests_go_through_aiohttp() -> None:
    chosen = _transport(None, None)

    assert isinstance(chosen, _DefaultTransport)
    assert isinstance(chosen._fast, AiohttpTransport)


def test_a_named_transport_is_the_one_named() -> None:
    assert _transport("httpx", None) is None  # httpx's own, mounted by the client
    assert isinstance(_transport("aiohttp", None), AiohttpTransport)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_in_the_environment_keeps_httpx_own_transport(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:3128")

    assert _transport(None, None) is None
    # A proxy given outright goes to aiohttp: the environment is not asked then.
    assert isinstance(_transport(None, as_proxy("http://127.0.0.1:3128")), _DefaultTransport)


def test_a_socks_proxy_keeps_httpx_own_transport() -> None:
    assert _transport(None, as_proxy("socks5://127.0.0.1:1080")) is None


def test_without_aiohttp_the_default_is_httpx_own_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    monkeypatch.setitem(sys.modules, "asyncexch._aiohttp", None)  # import raises ImportError

    assert _transport(None, None) is None
    assert "sending through httpx's own transport" in caplog.text


@pytest.fixture
def switched() -> Iterator[tuple[_DefaultTransport, Answering]]:
    fast = Answering("aiohttp")
    yield _DefaultTransport(fast), fast


async def _answer(transport: httpx.AsyncBaseTransport) -> str:
    response = await transport.handle_async_request(httpx.Request("GET", "http://venue.test/x"))
    await response.aread()
    return response.text


async def test_while_respx_mocks_httpcore_requests_go_where_respx_sees_them(
    switched: tuple[_DefaultTransport, Answering],
) -> None:
    transport, _ = switched
    assert await _answer(transport) == "aiohttp"

    with respx.mock() as router:
        router.get("http://venue.test/x").respond(text="respx")
        assert await _answer(transport) == "respx"

    assert await _answer(transport) == "aiohttp"


@pytest.mark.parametrize(
    "patched", [httpcore.AsyncConnectionPool, httpx.AsyncHTTPTransport], ids=lambda c: c.__name__
)
async def test_any_mock_of_httpx_transport_or_its_pool_counts_as_mocked(patched: type) -> None:
    assert not _httpx_mocked()
    with mock.patch.object(patched, "handle_async_request"):
        assert _httpx_mocked()

    async def guard(self: object, request: httpx.Request) -> httpx.Response:
        raise AssertionError("no network in tests")

    with mock.patch.object(patched, "handle_async_request", guard):  # a plain function
        assert _httpx_mocked()
    with respx.mock(using="httpx"):  # patches httpx's client instead: the session asks it
        assert not _httpx_mocked()
    assert not _httpx_mocked()


async def test_a_guard_on_httpx_transport_sees_the_default_transport_requests(
    switched: tuple[_DefaultTransport, Answering],
) -> None:
    transport, _ = switched

    async def guard(self: object, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="guarded")

    with mock.patch.object(httpx.AsyncHTTPTransport, "handle_async_request", guard):
        assert await _answer(transport) == "guarded"
    assert await _answer(transport) == "aiohttp"


def test_while_mocked_the_default_sends_through_the_proxy_it_was_given() -> None:
    chosen = _transport(None, as_proxy("http://trader:s3cret@127.0.0.1:3128"))
    assert isinstance(chosen, _DefaultTransport)

    with mock.patch.object(httpcore.AsyncConnectionPool, "handle_async_request"):
        fallback = chosen.now()

    assert isinstance(fallback, httpx.AsyncHTTPTransport)
    assert isinstance(fallback._pool, httpcore.AsyncHTTPProxy)
    assert fallback._pool._proxy_url.host == b"127.0.0.1"


async def test_closing_closes_both_transports(
    switched: tuple[_DefaultTransport, Answering],
) -> None:
    transport, fast = switched
    with respx.mock() as router:
        router.get("http://venue.test/x").respond(text="respx")
        await _answer(transport)  # makes httpx's own transport
    own = transport._httpcore
    assert own is not None

    with mock.patch.object(own, "aclose", wraps=own.aclose) as closing:
        await transport.aclose()

    assert fast.closed == 1
    closing.assert_awaited_once()


async def test_a_session_on_the_default_transport_is_mocked_by_plain_respx(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    route = fake_mock.get(fake_venue.READ_PATH).mock(return_value=fake_venue.ok({"value": 7}))
    session = make_session()
    assert isinstance(session._http._transport, _DefaultTransport)

    reply = await session.call(fake_venue.READ, {})

    assert reply == fake_venue.Echo(value=7)
    assert route.call_count == 1
