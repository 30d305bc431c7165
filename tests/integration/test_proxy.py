"""Through a proxy, on both transports: small HTTP and SOCKS5 proxies on 127.0.0.1 in front of
the simulator, and a dead proxy (nothing sent, so safe to resend)."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from asyncexch import ConfigurationError, Outcome, RetryPolicy, TransportChoice, TransportError
from asyncexch._proxy import ProxyURL
from asyncexch.bybit import BybitClient, OrderAck, StakeOrder
from asyncexch.sim import BybitSimulator, SimServer

pytestmark = pytest.mark.integration

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Seen:
    """What a proxy forwarded: each request line, or target, and its Proxy-Authorization."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.auth: list[str | None] = []


async def _relay(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    finally:
        sink.close()


@asynccontextmanager
async def serving(handle: Handler) -> AsyncIterator[int]:
    """``handle`` serving connections on a free port of 127.0.0.1 (the port), stopped after."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def http_proxy(seen: Seen) -> AsyncIterator[str]:
    """A forward proxy for http:// targets: absolute-form requests, one per connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = [line for line in head.split("\r\n") if line]
            method, target, _ = request_line.split(" ")
            headers = dict(line.split(": ", 1) for line in lines)
            seen.requests.append(f"{method} {target}")
            seen.auth.append(headers.pop("Proxy-Authorization", None))
            body = await reader.readexactly(int(headers.get("Content-Length", "0")))
            url = urlsplit(target)
            assert url.hostname is not None and url.port is not None
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
            headers = {k: v for k, v in headers.items() if k.lower() not in ("connection",)}
            path = url.path + (f"?{url.query}" if url.query else "")
            lines_out = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
            up_writer.write(("\r\n".join([*lines_out, "Connection: close"]) + "\r\n\r\n").encode())
            up_writer.write(body)
            await up_writer.drain()
            writer.write(await up_reader.read())  # uvicorn closes after "Connection: close"
            await writer.drain()
            up_writer.close()
        finally:
            writer.close()

    async with serving(handle) as port:
        yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def socks5_proxy(seen: Seen) -> AsyncIterator[str]:
    """A SOCKS5 proxy without authentication: CONNECT only."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _, methods = await reader.readexactly(2)
            await reader.readexactly(methods)
            writer.write(b"\x05\x00")
            _, command, _, kind = await reader.readexactly(4)
            assert command == 1  # CONNECT
            if kind == 1:
                host = socket.inet_ntoa(await reader.readexactly(4))
            else:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            port = int.from_bytes(await reader.readexactly(2), "big")
            seen.requests.append(f"CONNECT {host}:{port}")
            up_reader, up_writer = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01" + bytes(6))
            await writer.drain()
            await asyncio.gather(_relay(reader, up_writer), _relay(up_reader, writer))
        finally:
            writer.close()

    async with serving(handle) as port:
        yield f"socks5://127.0.0.1:{port}"


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    sim = BybitSimulator(settlement_delay=0.05)
    sim.add_account("sim-key", "sim-secret")
    with SimServer(sim.app) as server:
        yield server


async def stake_once(bybit: BybitClient) -> OrderAck:
    quote = await bybit.advance_earn.quote("13015")
    return await bybit.advance_earn.place_order(StakeOrder.from_quote(quote, amount=Decimal("100")))


async def test_an_http_proxy_carries_every_request_with_its_credentials(
    sim_server: SimServer, http_transport: TransportChoice
) -> None:
    seen = Seen()
    async with http_proxy(seen) as proxy:
        with_credentials = proxy.replace("http://", "http://trader:s3cret@")
        async with BybitClient(
            "sim-key",
            "sim-secret",
            base_url=sim_server.url,
            transport=http_transport,
            proxy=with_credentials,
        ) as bybit:
            ack = await stake_once(bybit)

    assert ack.order_id
    assert [line.split("?")[0] for line in seen.requests] == [
        f"GET {sim_server.url}/v5/earn/advance/product-extra-info",
        f"POST {sim_server.url}/v5/earn/advance/place-order",
    ]
    expected = "Basic " + base64.b64encode(b"trader:s3cret").decode()
    assert seen.auth == [expected, expected]


@pytest.mark.parametrize("transport", ["httpx", None])  # None: the default sends it to httpx
async def test_a_socks5_proxy_carries_every_request(
    sim_server: SimServer, transport: TransportChoice
) -> None:
    seen = Seen()
    async with socks5_proxy(seen) as proxy:
        async with BybitClient(
            "sim-key", "sim-secret", base_url=sim_server.url, transport=transport, proxy=proxy
        ) as bybit:
            ack = await stake_once(bybit)

    assert ack.order_id
    host, port = sim_server.host, sim_server.port
    assert seen.requests and set(seen.requests) == {f"CONNECT {host}:{port}"}


@pytest.mark.parametrize("bypassed", [False, True])
async def test_the_default_transport_honours_the_proxy_in_the_environment(
    sim_server: SimServer, monkeypatch: pytest.MonkeyPatch, bypassed: bool
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    seen = Seen()
    async with http_proxy(seen) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        if bypassed:
            monkeypatch.setenv("NO_PROXY", sim_server.host)
        async with BybitClient("sim-key", "sim-secret", base_url=sim_server.url) as bybit:
            ack = await stake_once(bybit)

    assert ack.order_id
    assert len(seen.requests) == (0 if bypassed else 2)


async def test_a_dead_proxy_means_nothing_was_sent(
    sim_server: SimServer, http_transport: TransportChoice
) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"

    async with BybitClient(
        "sim-key",
        "sim-secret",
        base_url=sim_server.url,
        transport=http_transport,
        proxy=dead,
        retry=RetryPolicy(max_attempts=1),
    ) as bybit:
        with pytest.raises(TransportError) as caught:
            await bybit.advance_earn.quote("13015")

    assert caught.value.outcome is Outcome.NOT_PROCESSED


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"transport": "aiohttp", "proxy": "socks5://127.0.0.1:1080"}, "HTTP proxies only"),
        ({"proxy": "ftp://127.0.0.1:21"}, "http://, https:// or socks5://"),
        ({"proxy": "127.0.0.1:3128"}, "must be a URL"),
    ],
)
def test_proxies_a_transport_cannot_use_are_refused(options: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        BybitClient("sim-key", "sim-secret", **options)  # type: ignore[arg-type]


@asynccontextmanager
async def refusing_proxy() -> AsyncIterator[str]:
    """A proxy that refuses every CONNECT with 407 (wrong credentials)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b"Proxy-Authenticate: Basic realm=x\r\nContent-Length: 0\r\n\r\n"
            )
            await writer.drain()
        finally:
            writer.close()

    async with serving(handle) as port:
        yield f"http://trader:s3cretPW@127.0.0.1:{port}"


async def test_a_refused_connect_is_never_sent_and_never_shows_the_password(
    http_transport: TransportChoice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncexch")
    async with refusing_proxy() as proxy:
        async with BybitClient(
            "sim-key",
            "sim-secret",
            base_url="https://bybit.example",  # https: the proxy is asked to CONNECT
            transport=http_transport,
            proxy=proxy,
            retry=RetryPolicy(max_attempts=2),
        ) as bybit:
            with pytest.raises(TransportError) as caught:
                await bybit.advance_earn.quote("13015")

    assert caught.value.outcome is Outcome.NOT_PROCESSED
    told = "".join(traceback.format_exception(caught.value)) + caplog.text + repr(bybit)
    assert "s3cretPW" not in told
    assert "trader:***" in repr(ProxyURL(proxy))


@pytest.mark.parametrize(
    "proxy",
    ["http://trader:s3cretPW@host:notaport", "http://trader:s3cretPW@host:99999", "http://:@"],
)
def test_a_malformed_proxy_is_refused_without_repeating_it(proxy: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BybitClient("sim-key", "sim-secret", proxy=proxy)

    assert "s3cretPW" not in str(caught.value)
