"""An httpx transport that sends through aiohttp: httpx's API, a faster HTTP/1.1 stack.

The default transport (:mod:`._http_client` says when httpx's own is used instead); named
outright with ``transport="aiohttp"``. On loopback a call takes 0.34 ms against 0.52 through
httpx's own transport, with 10x the throughput at 64 requests in flight
(``benchmarks/README.md`` section 8).

What it keeps of httpx: request and response objects, headers as given, the URL's bytes
exactly as signed, httpx's timeouts (connect, read, pool), gzip decoded once, by httpx. What
matters most here is the failure a request ends in, because the session decides from it
whether the venue may have the request: only a failure to *connect* (refused, DNS, TLS, proxy,
connect timeout) becomes :class:`httpx.ConnectError` or :class:`httpx.ConnectTimeout`, which
say the request never left. Everything after a connection was made (a dropped or reset
connection, a cut or garbled answer, a read timeout) becomes an error that says it may have
arrived. (``httpx-aiohttp`` 0.2 maps a dropped connection to ``ConnectTimeout``, which would
make a non-idempotent order look safe to resend; that is why this module exists.)

Differences from httpx's own transport: no separate write timeout (aiohttp has none; the
read timeout covers waiting for the answer, and bodies here are small; aiohttp rounds
timeouts of 5 s and more up to whole seconds), no proxies from the environment (it connects
directly even where ``HTTPS_PROXY`` is set), no cookies kept (the httpx client keeps its own).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx
import yarl

from ._proxy import ProxyURL, as_proxy

__all__ = ["AiohttpTransport"]

if "_retry_connection" not in getattr(aiohttp.ClientSession, "ATTRS", ()):
    # Without the switch, aiohttp would resend a GET, PUT or DELETE on its own (see _client).
    raise ImportError(
        f"aiohttp {aiohttp.__version__} has no switch for its own resends; "
        "asyncexch's transport needs aiohttp 3.10 to 3.x"
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one :class:`aiohttp.ClientSession` per event loop.

    * ``verify``: an :class:`ssl.SSLContext`, ``True`` (verify with the system's certificates)
      or ``False`` (do not verify; tests only).
    * ``max_connections``: open connections at most; ``None`` for no cap (aiohttp's default
      is 100, which makes requests queue after taking rate-limit capacity).
    * ``keepalive_expiry``: seconds an idle connection is kept.
    * ``proxy``: an ``http://`` or ``https://`` proxy every request goes through (credentials
      in the URL are sent as its Basic auth); aiohttp speaks no SOCKS.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int | None = None,
        keepalive_expiry: float = 5.0,
        proxy: str | ProxyURL | None = None,
    ) -> None:
        self._ssl: ssl.SSLContext | bool = verify
        proxy_url = as_proxy(proxy)
        del proxy
        # aiohttp writes the proxy URL into its errors: it gets none with credentials in it.
        self._proxy = yarl.URL(proxy_url.bare) if proxy_url is not None else None
        authorization = proxy_url.authorization if proxy_url is not None else None
        # The credentials go to the proxy as a header: on the CONNECT for https:// targets,
        # on the request itself for http:// ones (aiohttp sends proxy_headers on CONNECT only).
        self._proxy_headers = {"Proxy-Authorization": authorization} if authorization else None
        self._plain_proxy_headers: list[tuple[str, str]] = (
            [("Proxy-Authorization", authorization)] if authorization else []
        )
        self._limit = max_connections or 0  # aiohttp: 0 is no cap
        self._read_at_once = READ_AT_ONCE
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # A session belongs to the loop it was made on: a new loop gets a new one.
            self._discard_session()
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    ssl=self._ssl, limit=self._limit, keepalive_timeout=self._keepalive_expiry
                ),
                auto_decompress=False,  # httpx decodes, by the Content-Encoding header
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            )
            # aiohttp sends a GET, PUT or DELETE a second time, on its own, when a reused
            # connection drops: the venue could see a request twice while the limiter counted
            # it once. Retrying is the session's decision. (No public switch exists.)
            session._retry_connection = False
            self._session, self._loop = session, loop
        return self._session

    def _discard_session(self) -> None:
        """Let go of a session left open on an event loop that has ended."""
        session, self._session = self._session, None
        if session is None or session.closed:
            return
        connector = session.connector
        session.detach()  # closed now, without touching its loop
        if connector is not None and self._loop is not None and self._loop.is_closed():
            # Nothing can run on the ended loop: mark the pool closed so it does not try.
            connector._close()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        # the names as given (httpx keeps them; its multi_items() lower-cases them)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]
        return await self.send(
            request.method,
            request.url,
            headers,
            body,
            request.extensions.get("timeout", {}),
            request=request,
        )

    async def send(
        self,
        method: str,
        url: httpx.URL,
        headers: list[tuple[str, str]],
        body: bytes | None,
        timeouts: Mapping[str, float | None],
        *,
        request: httpx.Request | None = None,
    ) -> httpx.Response:
        """``handle_async_request`` from the request's parts: the session's own path builds
        no :class:`httpx.Request` (~15 µs a call). The answer and the errors are the same;
        they carry ``request`` if given. ``headers`` go as given, after aiohttp's ``Host``."""
        if url.scheme == "http" and self._plain_proxy_headers:
            headers = [*headers, *self._plain_proxy_headers]
        try:
            answer = await self._client().request(
                method,
                yarl.URL(str(url), encoded=True),  # the bytes that were signed
                headers=headers,
                data=body or None,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            )
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, request) from exc
        except ValueError as exc:  # refused while preparing (a header with a line break): unsent
            raise httpx.LocalProtocolError(f"{type(exc).__name__}: {exc}", request=request) from exc
        # A small body of a stated length is read here, in one await (a third of the time
        # of passing it up chunk by chunk through three async iterators); any other is
        # streamed: whoever reads it decides how much (the session stops at its max_body,
        # after decompression), so an endless answer never fills memory here. Either way the
        # bytes are as sent: httpx decodes them as it reads, so a small gzip bomb is bounded
        # by the session too.
        stream: httpx.AsyncByteStream
        length = answer.content_length
        if length is not None and length <= self._read_at_once:
            stream = httpx.ByteStream(await _read(answer, request))
        else:
            stream = _AnswerStream(answer, request)
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            stream=stream,
            request=request,
            extensions={
                "http_version": f"HTTP/{answer.version.major}.{answer.version.minor}".encode()
                if answer.version is not None
                else b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def __repr__(self) -> str:
        return f"<AiohttpTransport max_connections={self._limit or None}>"


#: Bodies up to this many bytes, with a Content-Length, are read whole by the transport.
READ_AT_ONCE = 64 * 1024


async def _read(answer: aiohttp.ClientResponse, request: httpx.Request | None) -> bytes:
    """The whole body of ``answer`` (framed by its Content-Length), with httpx's errors; the
    connection goes back to the pool when read, and is dropped on any failure."""
    try:
        body = await answer.read()
    except aiohttp.ClientError as exc:
        answer.close()
        raise _httpx_error(exc, request) from exc
    except asyncio.TimeoutError as exc:  # aiohttp's sock_read timeout while reading
        answer.close()
        raise httpx.ReadTimeout(f"TimeoutError: {exc}", request=request) from exc
    except BaseException:  # cancelled: what is left of the answer is never read
        answer.close()
        raise
    answer.release()
    return body


class _AnswerStream(httpx.AsyncByteStream):
    """An aiohttp answer's body as httpx reads it: chunk by chunk, with httpx's errors."""

    def __init__(self, answer: aiohttp.ClientResponse, request: httpx.Request | None) -> None:
        self._answer = answer
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._answer.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, self._request) from exc
        except asyncio.TimeoutError as exc:  # aiohttp's sock_read timeout while reading
            raise httpx.ReadTimeout(f"TimeoutError: {exc}", request=self._request) from exc

    async def aclose(self) -> None:
        self._answer.release()


def _httpx_error(exc: aiohttp.ClientError, request: httpx.Request | None) -> httpx.TransportError:
    """The httpx error that says the same about whether the request can have left."""
    message = f"{type(exc).__name__}: {exc}"
    kind: type[httpx.TransportError]
    # Never sent: no connection was made, or it was refused before the request went out.
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(
        exc,
        (
            aiohttp.ClientConnectorError,
            aiohttp.ClientHttpProxyError,
            aiohttp.ServerFingerprintMismatch,
        ),
    ):
        kind = httpx.ConnectError
    elif isinstance(exc, (aiohttp.InvalidUrlClientError, aiohttp.NonHttpUrlClientError)):
        kind = httpx.UnsupportedProtocol
    # May have arrived: the connection was made and the request written, or partly.
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(
        exc,
        (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError),
    ):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientOSError):
        kind = httpx.ReadError
    else:
        kind = httpx.TransportError
    return kind(message, request=request)
