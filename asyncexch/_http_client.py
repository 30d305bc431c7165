"""The HTTP client a session makes for itself: which transport, through which proxy, with
which TLS settings.

With no ``transport=`` named, requests go through aiohttp (:class:`~asyncexch.AiohttpTransport`):
on loopback a call takes 0.34 ms of it against 0.52 ms through httpx's own transport
(httpcore), and 64 calls in flight get 10x the throughput, where httpcore's pool spends
milliseconds of CPU a request and queues requests past a venue's receive window
(``benchmarks/README.md`` section 8). httpx's own transport is used instead wherever a
process relies on it:

* a ``socks5://`` proxy (aiohttp speaks HTTP proxies only);
* a proxy in the environment (``HTTP(S)_PROXY``, ``ALL_PROXY``, or the system's settings, as
  httpx reads them) and no ``proxy=``: httpx applies it, ``NO_PROXY`` included, as before;
* an aiohttp that cannot be imported;
* and, per request, while something has replaced httpx's transport or httpcore's connection
  pool under it (``respx.mock()`` by default, pytest-httpx, ``mock.patch``): the request goes
  to httpx's transport, so that a test suite mocking asyncexch there keeps seeing every
  request instead of reaching the network.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import sys
import types
import urllib.request
from typing import TYPE_CHECKING, Literal, cast

import certifi
import httpcore
import httpx

from ._proxy import ProxyURL
from .errors import ConfigurationError

if TYPE_CHECKING:
    from ._aiohttp import AiohttpTransport

__all__ = ["TransportChoice", "aiohttp_now", "make_http_client", "tls_context"]

#: An httpx transport, or the name of one: ``"aiohttp"`` (:class:`~asyncexch.AiohttpTransport`)
#: or ``"httpx"`` (httpx's own); ``None`` for the default (module docstring).
TransportChoice = httpx.AsyncBaseTransport | Literal["httpx", "aiohttp"] | None

logger = logging.getLogger("asyncexch")

#: Kept alive at most, on httpx's transport (no cap on open connections: the limiter bounds
#: what is in flight, and a request queued for a connection after taking capacity would
#: arrive late, in a bunch).
_KEEPALIVE = 64


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every session: building one costs ~70 ms of CPU."""
    return ssl.create_default_context(cafile=certifi.where())


def make_http_client(
    choice: TransportChoice, proxy: ProxyURL | None, timeout: float
) -> httpx.AsyncClient:
    """The HTTP client a session makes for itself: the transport ``choice`` names, through
    ``proxy`` if given (the aiohttp transport proxies itself; httpx mounts its own)."""
    if proxy is not None:
        _check_proxy(proxy, choice)
    transport = _transport(choice, proxy)
    try:
        return httpx.AsyncClient(
            transport=transport,
            proxy=proxy.url if proxy is not None and transport is None else None,
            timeout=timeout,
            verify=tls_context(),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=_KEEPALIVE),
        )
    except ImportError as exc:  # httpx without socksio, for a socks5:// proxy
        raise ConfigurationError(
            "a SOCKS proxy needs socksio: pip install 'asyncexch[socks]'"
        ) from exc


def _check_proxy(proxy: ProxyURL, choice: TransportChoice) -> None:
    if proxy.scheme.startswith("socks") and choice == "aiohttp":
        raise ConfigurationError(
            "the aiohttp transport speaks HTTP proxies only: use transport='httpx' "
            "(pip install 'asyncexch[socks]') for a SOCKS proxy"
        )
    if isinstance(choice, httpx.AsyncBaseTransport):
        raise ConfigurationError("with a transport of your own, give the proxy to it instead")


def _transport(choice: TransportChoice, proxy: ProxyURL | None) -> httpx.AsyncBaseTransport | None:
    """The transport a ``transport=`` argument names (``None`` returned: httpx's own)."""
    if choice is None:
        return _default(proxy)
    if choice == "httpx":
        return None
    if choice == "aiohttp":
        try:
            from ._aiohttp import AiohttpTransport
        except ImportError as exc:
            raise ConfigurationError(
                f"transport='aiohttp' needs aiohttp 3.10 to 3.x ({exc})"
            ) from exc
        return AiohttpTransport(verify=tls_context(), proxy=proxy)
    if isinstance(choice, httpx.AsyncBaseTransport):
        return choice
    raise ConfigurationError(
        f"transport must be an httpx.AsyncBaseTransport, 'httpx' or 'aiohttp'; got {choice!r}"
    )


def _default(proxy: ProxyURL | None) -> httpx.AsyncBaseTransport | None:
    """aiohttp, except where the process relies on httpx's own transport (module docstring)."""
    if proxy is not None and proxy.scheme.startswith("socks"):
        return None
    if proxy is None and _environment_proxies():
        return None
    try:
        from ._aiohttp import AiohttpTransport
    except ImportError as exc:
        logger.info("asyncexch: sending through httpx's own transport: %s", exc)
        return None
    return _DefaultTransport(AiohttpTransport(verify=tls_context(), proxy=proxy), proxy)


def aiohttp_now(transport: httpx.AsyncBaseTransport) -> AiohttpTransport | None:
    """The aiohttp transport a request handed to ``transport`` now goes through, if it does
    (the default one answers for itself)."""
    if isinstance(transport, _DefaultTransport):
        transport = transport.now()
    # Not imported, it cannot be one: the check does not import aiohttp.
    module = sys.modules.get("asyncexch._aiohttp")
    if module is not None and isinstance(transport, module.AiohttpTransport):
        return cast("AiohttpTransport", transport)
    return None


def _environment_proxies() -> bool:
    """Whether httpx would find a proxy to mount in the environment (it asks the same)."""
    found = urllib.request.getproxies()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))


class _DefaultTransport(httpx.AsyncBaseTransport):
    """aiohttp's transport, handing a request to httpx's own while that is mocked."""

    __slots__ = ("_fast", "_httpcore", "_proxy")

    def __init__(self, fast: httpx.AsyncBaseTransport, proxy: ProxyURL | None = None) -> None:
        self._fast = fast
        self._proxy = proxy
        self._httpcore: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.now().handle_async_request(request)

    def now(self) -> httpx.AsyncBaseTransport:
        """The transport a request sent now goes through (aiohttp's unless httpx's own is
        mocked: then httpx's own, made on first use, through the same proxy)."""
        if not _httpx_mocked():
            return self._fast
        if self._httpcore is None:
            self._httpcore = httpx.AsyncHTTPTransport(
                verify=tls_context(),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=_KEEPALIVE),
                # A request the mock lets through still goes through the proxy given.
                proxy=self._proxy.url if self._proxy is not None else None,
            )
        return self._httpcore

    async def aclose(self) -> None:
        try:
            await self._fast.aclose()
        finally:
            if self._httpcore is not None:
                await self._httpcore.aclose()

    def __repr__(self) -> str:
        return f"<default transport: {self._fast!r}>"


def _httpx_mocked() -> bool:
    """Whether httpx's own transport is mocked: its ``handle_async_request`` (pytest-httpx,
    ``mock.patch``) or the connection pool under it (``respx.mock()``) replaced."""
    return _replaced(httpx.AsyncHTTPTransport.handle_async_request, _HTTPX_DIR) or _replaced(
        httpcore.AsyncConnectionPool.handle_async_request, _HTTPCORE_DIR
    )


#: Where httpx's and httpcore's own code lives: a method whose code comes from anywhere else
#: was put there by a mock.
_HTTPX_DIR = os.path.dirname(httpx.__file__) + os.sep
_HTTPCORE_DIR = os.path.dirname(httpcore.__file__) + os.sep


def _replaced(method: object, home: str) -> bool:
    code = getattr(method, "__code__", None)
    # (An AsyncMock has a __code__ too, a Mock posing as one: only a real one has a file.)
    return type(code) is not types.CodeType or not code.co_filename.startswith(home)
