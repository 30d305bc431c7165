"""AiohttpTransport against real, misbehaving HTTP servers on 127.0.0.1.

The promise that matters most: the httpx error a failure becomes tells truthfully whether the
request can have left, because the session resends only what never left
(``asyncexch._session._NOT_SENT``). Every server below is a raw ``asyncio.start_server``
that reads requests byte by byte and then does exactly one wrong thing. Where it helps, the
same test runs through httpx's own transport too: the two stacks must agree. Through the
session, the venue is the fake one (``tests.builders.fake_venue``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import gzip
import ipaddress
import socket
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from asyncexch import (
    AiohttpTransport,
    ConfigurationError,
    OrderStatusUnknown,
    Outcome,
    RetryPolicy,
    Session,
    TransportError,
    VirtualClock,
)
from asyncexch._session import _NOT_SENT
from tests.builders.fake_venue import ORDER, READ, SERVER_MS, Echo, FakeVenue, envelope
from tests.raw_server import (
    HOST,
    RawServer,
    Respond,
    answer,
    close_before_answering,
    cut_body_short,
    garbage_status_line,
    never_answer,
    reset_connection,
    stall_in_body,
)
from tests.waiting import until

#: A state-changing request that must never be resent once its outcome is unknown.
RISKY = ORDER
#: A signed read, to see the signed query string on the wire.
PROBE = READ
#: Attempts allowed per call: a wrongly "never sent" failure would be resent.
RETRY = RetryPolicy(max_attempts=3, backoff=0.01, max_backoff=0.01)


def fake_ack() -> Respond:
    """The fake venue's success, ``{"value": 1}``."""
    return answer(envelope(), headers=((b"Content-Type", b"application/json"),))


# --- places that cannot be connected to -------------------------------------------------


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """A port bound but not listening: a connection is refused, and nobody else can take it."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        yield f"http://{HOST}:{sock.getsockname()[1]}"


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A listening port whose accept queue is full: a new SYN is dropped, connecting hangs."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind((HOST, 0))
        listener.listen(0)  # the queue holds one connection, never accepted
        filler.settimeout(5)
        filler.connect(listener.getsockname())
        with socket.socket() as probe:  # the precondition: the next connect does hang
            probe.settimeout(0.2)
            with pytest.raises(TimeoutError):
                probe.connect(listener.getsockname())
        yield f"http://{HOST}:{listener.getsockname()[1]}"


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no authority signed: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asyncexch test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_tls(self_signed: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed)
    return context


# --- clients -------------------------------------------------------------------------------


@pytest.fixture(params=["httpx", "aiohttp"])
def stack(request: pytest.FixtureRequest) -> str:
    """Which transport a test runs on: httpx's own, or AiohttpTransport."""
    return str(request.param)


def _transport(stack: str) -> httpx.AsyncBaseTransport:
    return AiohttpTransport() if stack == "aiohttp" else httpx.AsyncHTTPTransport()


@contextlib.asynccontextmanager
async def _session(url: str, **kwargs: Any) -> AsyncIterator[Session]:
    """A session over the fake venue at ``url``, unpaced, on aiohttp unless told otherwise."""
    kwargs.setdefault("transport", "aiohttp")
    kwargs.setdefault("retry", RETRY)
    async with Session(FakeVenue(base_url=url), base_url=url, limits=False, **kwargs) as session:
        yield session


# --- failures before the request left: safe to resend ------------------------------------


async def test_a_refused_connection_is_connect_error(refusing_url: str) -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(refusing_url, content=b"x")


async def test_a_connect_that_hangs_is_connect_timeout_after_the_connect_timeout(
    unanswered_url: str,
) -> None:
    timeout = httpx.Timeout(30.0, connect=0.3)
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):  # (not the TimeoutError of wait_for)
            await asyncio.wait_for(client.post(unanswered_url, content=b"x"), 10)
    assert time.monotonic() - started >= 0.25


async def test_an_untrusted_certificate_is_connect_error(self_signed: tuple[Path, Path]) -> None:
    trusting = ssl.create_default_context(cafile=str(self_signed[0]))
    async with RawServer(answer(b"ok"), tls=_server_tls(self_signed)) as server:
        async with httpx.AsyncClient(transport=AiohttpTransport(verify=True)) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.post(server.url, content=b"x")
        # The same server is fine for a client that trusts its certificate.
        async with httpx.AsyncClient(transport=AiohttpTransport(verify=trusting)) as client:
            response = await client.post(server.url, content=b"x")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert response.content == b"ok"
    assert len(server.requests) == 1  # only the trusting client's request got through


# --- failures after the request left: it may have arrived --------------------------------

MAY_HAVE_ARRIVED = [
    pytest.param(close_before_answering, httpx.RemoteProtocolError, id="closed-before-answer"),
    pytest.param(cut_body_short, httpx.RemoteProtocolError, id="body-cut-short"),
    pytest.param(garbage_status_line, httpx.RemoteProtocolError, id="garbage-status-line"),
    pytest.param(reset_connection, httpx.TransportError, id="reset"),
    pytest.param(never_answer, httpx.ReadTimeout, id="never-answers"),
    # a small body of a stated length is read by the aiohttp transport itself (issue 19)
    pytest.param(stall_in_body, httpx.ReadTimeout, id="stalls-in-the-body"),
]


@pytest.mark.parametrize(("respond", "error_type"), MAY_HAVE_ARRIVED)
async def test_a_failure_after_sending_says_the_request_may_have_arrived(
    stack: str, respond: Respond, error_type: type[httpx.TransportError]
) -> None:
    timeout = httpx.Timeout(30.0, read=0.3)
    async with (
        RawServer(respond) as server,
        httpx.AsyncClient(transport=_transport(stack), timeout=timeout) as client,
    ):
        with pytest.raises(error_type) as caught:  # a read timeout of 0.3 s, not the 30 s one
            await asyncio.wait_for(client.post(f"{server.url}/order", content=b'{"qty":"1"}'), 10)

    assert not isinstance(caught.value, _NOT_SENT), repr(caught.value)
    assert [body for _, body in server.requests] == [b'{"qty":"1"}']  # it did arrive, once


@pytest.mark.parametrize(("respond", "error_type"), MAY_HAVE_ARRIVED)
async def test_an_order_whose_answer_is_lost_is_unknown_and_never_resent(
    respond: Respond, error_type: type[httpx.TransportError]
) -> None:
    sent: list[None] = []
    async with RawServer(respond) as server, _session(server.url, timeout=0.3) as session:
        request = object()
        with pytest.raises(OrderStatusUnknown) as caught:
            await asyncio.wait_for(
                session.call(RISKY, {"x": 1}, request=request, on_sent=lambda: sent.append(None)),
                15,
            )

    assert len(server.requests) == 1
    assert len(sent) == 1  # three attempts allowed, one made
    assert caught.value.request is request
    cause = caught.value.__cause__
    assert isinstance(cause, TransportError)
    assert cause.outcome is Outcome.UNKNOWN
    assert isinstance(cause.__cause__, error_type)


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(close_before_answering, id="closed-before-answer"),
        pytest.param(reset_connection, id="reset"),
    ],
)
async def test_a_get_whose_connection_drops_is_sent_once(stack: str, respond: Respond) -> None:
    # httpx never resends on its own: every resend is the session's decision, paced by the
    # limiter and counted. aiohttp by itself resends GET, PUT and DELETE once when the
    # connection drops or is reset (aiohttp/client.py, retry_persistent_connection), unless
    # the transport turns that off.
    async with (
        RawServer(respond) as server,
        httpx.AsyncClient(transport=_transport(stack)) as client,
    ):
        with pytest.raises(httpx.TransportError) as caught:
            await client.get(f"{server.url}/v5/earn/advance/order")

    assert not isinstance(caught.value, _NOT_SENT)
    assert len(server.requests) == 1


# --- through the session: what is resent and what is not --------------------------------


@pytest.mark.parametrize("where", ["refused", "connect-timeout", "untrusted-certificate"])
async def test_an_order_that_never_left_is_not_processed_and_resent(
    where: str,
    request: pytest.FixtureRequest,
    self_signed: tuple[Path, Path],
) -> None:
    sent: list[None] = []
    async with contextlib.AsyncExitStack() as exits:
        server = None
        if where == "refused":
            url = request.getfixturevalue("refusing_url")
        elif where == "connect-timeout":
            url = request.getfixturevalue("unanswered_url")
        else:
            server = await exits.enter_async_context(
                RawServer(fake_ack(), tls=_server_tls(self_signed))
            )
            url = server.url
        session = await exits.enter_async_context(_session(url, timeout=0.3))
        with pytest.raises(TransportError) as caught:
            call = session.call(RISKY, {"x": 1}, on_sent=lambda: sent.append(None))
            await asyncio.wait_for(call, 15)

    assert not isinstance(caught.value, OrderStatusUnknown)
    assert caught.value.outcome is Outcome.NOT_PROCESSED
    expected = httpx.ConnectTimeout if where == "connect-timeout" else httpx.ConnectError
    assert type(caught.value.__cause__) is expected
    assert len(sent) == RETRY.max_attempts  # safe to resend, so it was, every time allowed
    if server is not None:
        assert server.requests == []


async def test_a_session_on_aiohttp_places_an_order() -> None:
    async with RawServer(fake_ack()) as server, _session(server.url) as session:
        ack = await session.call(RISKY, {"x": 1})
    assert ack == Echo(1)
    ((head, body),) = server.requests
    assert head.startswith(b"POST /order HTTP/1.1\r\n")
    assert body == b'{"x":1}'


async def test_a_keepalive_connection_the_server_closed_is_not_used_for_an_order() -> None:
    # The server answers, keeps the connection open, and closes it while it is idle in the
    # pool: the next order must go on a new connection, not fail as "may have arrived".
    async def answer_then_close_idle(
        writer: asyncio.StreamWriter, head: bytes, body: bytes
    ) -> bool:
        await fake_ack()(writer, head, body)
        await asyncio.sleep(0.05)
        return False

    async with RawServer(answer_then_close_idle) as server, _session(server.url) as session:
        await session.call(RISKY, {"x": 1})
        await until(lambda: server.closed == 1, within=15.0, what="the server to close")
        await asyncio.sleep(0.1)  # the client's loop sees the FIN
        ack = await session.call(RISKY, {"x": 2})
    assert ack == Echo(1)
    assert [body for _, body in server.requests] == [b'{"x":1}', b'{"x":2}']
    assert server.connections == 2


# --- bytes on the wire ----------------------------------------------------------------------

ESCAPED_URL_PATH = "/v5/a%2Fb/c%7e?cursor=a%2Fb%3d%3D&ids=1%2C2,3&sym=BTC%2fUSDT&tilde=%7e~"


def _request_line(head: bytes) -> bytes:
    return head.split(b"\r\n", 1)[0]


def _fields(head: bytes, *, lower: bool = False) -> list[tuple[bytes, bytes]]:
    """The header fields of a request head, names lower-cased if asked."""
    fields = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields.append((name.lower() if lower else name, value.strip()))
    return fields


async def _heads(url: str, *stacks: str, **kwargs: Any) -> list[bytes]:
    """The request heads one server read: one request per stack, in turn."""
    async with RawServer(answer(b"{}")) as server:
        for stack in stacks:
            async with httpx.AsyncClient(transport=_transport(stack)) as client:
                await client.request(url=server.url + url, **kwargs)
    return [head for head, _ in server.requests]


async def test_the_request_line_is_byte_identical_to_httpx() -> None:
    theirs, ours = await _heads(ESCAPED_URL_PATH, "httpx", "aiohttp", method="GET")
    assert _request_line(ours) == _request_line(theirs)
    assert _request_line(ours) == b"GET " + ESCAPED_URL_PATH.encode() + b" HTTP/1.1"


async def test_a_signed_query_reaches_the_server_as_signed() -> None:
    # Both transports on the same virtual clock: the same timestamp, so the same signature.
    params = {"cursor": "page%3D2%2f3", "orderId": "1,2", "symbol": "BTC/USDT", "note": "a~b c"}
    seen: dict[str, bytes] = {}
    async with RawServer(fake_ack()) as server:
        for stack in ("httpx", "aiohttp"):
            clock = VirtualClock(SERVER_MS / 1000)
            async with _session(server.url, transport=stack, clock=clock) as session:
                await session.call(PROBE, params)
            seen[stack], _ = server.requests[-1]
    assert _request_line(seen["aiohttp"]) == _request_line(seen["httpx"])
    assert _request_line(seen["aiohttp"]) == (
        b"GET /read?cursor=page%253D2%252f3&note=a~b+c&orderId=1%2C2&symbol=BTC%2FUSDT HTTP/1.1"
    )
    # The same headers, values and order (the signature among them), names aside.
    assert _fields(seen["aiohttp"], lower=True) == _fields(seen["httpx"], lower=True)
    assert dict(_fields(seen["aiohttp"], lower=True))[b"fake-timestamp"] == b"%d" % SERVER_MS
    assert b"fake-sign" in dict(_fields(seen["aiohttp"], lower=True))


async def test_a_signed_post_reaches_the_server_as_httpx_sends_it() -> None:
    # The session's own path on aiohttp builds no httpx.Request (issue 19): aiohttp adds the
    # Host and Content-Length that httpx's request would carry, in the same places.
    seen: dict[str, tuple[bytes, bytes]] = {}
    async with RawServer(fake_ack()) as server:
        for stack in ("httpx", "aiohttp"):
            clock = VirtualClock(SERVER_MS / 1000)
            async with _session(server.url, transport=stack, clock=clock) as session:
                await session.call(ORDER, {"n": 1, "note": "a~b c"})
            seen[stack] = server.requests[-1]
    (httpx_head, httpx_body), (head, body) = seen["httpx"], seen["aiohttp"]
    assert _request_line(head) == _request_line(httpx_head) == b"POST /order HTTP/1.1"
    assert _fields(head, lower=True) == _fields(httpx_head, lower=True)
    assert body == httpx_body != b""
    assert (b"content-length", b"%d" % len(body)) in _fields(head, lower=True)


HEADERS = [("X-Second", "2"), ("x-First", "1"), ("X-Second", "3"), ("X-BAPI-SIGN", "AbC=")]


async def test_headers_arrive_as_given_in_order_with_duplicates_and_no_content_type() -> None:
    httpx_head, head = await _heads("/get", "httpx", "aiohttp", method="GET", headers=HEADERS)
    fields = _fields(head, lower=True)
    given = [(name.lower().encode(), value.encode()) for name, value in HEADERS]
    assert [field for field in fields if field[0] in dict(given)] == given
    names = [name for name, _ in fields]
    assert b"content-type" not in names
    assert b"content-length" not in names
    assert len(names) == len(set(names)) + 1  # the one duplicate given, nothing doubled
    # Exactly what httpx itself sends, in httpx's order (names aside: see the next test).
    assert fields == _fields(httpx_head, lower=True)


async def test_header_names_keep_their_case() -> None:
    httpx_head, head = await _heads("/get", "httpx", "aiohttp", method="GET", headers=HEADERS)
    assert _fields(head) == _fields(httpx_head)


async def test_a_post_body_arrives_byte_exact() -> None:
    body = b'{"a":"1.10"}\r\n\r\n\x00\xff' + bytes(range(256)) * 300
    async with RawServer(answer(b"{}")) as server:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            await client.post(server.url, content=body)
    ((head, received),) = server.requests
    assert received == body
    lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-")]
    assert [line.lower() for line in lengths] == [b"content-length: %d" % len(body)]


async def test_the_answer_keeps_status_reason_headers_and_is_decoded_once() -> None:
    inner = gzip.compress(b'{"retCode":0}')  # what one decoding must leave
    headers = (
        (b"X-Bapi-Limit-Status", b"49"),
        (b"Set-Thing", b"a"),
        (b"set-thing", b"b"),
        (b"Content-Encoding", b"gzip"),
        (b"Content-Length", b"%d" % len(gzip.compress(inner))),
    )
    respond = answer(gzip.compress(inner), status=b"418 I Am A Teapot", headers=headers)
    async with RawServer(respond) as server:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            response = await client.get(server.url)
    assert response.status_code == 418
    assert response.reason_phrase == "I Am A Teapot"
    assert response.http_version == "HTTP/1.1"
    assert response.headers.raw == list(headers)
    assert response.headers.get_list("set-thing") == ["a", "b"]
    assert response.content == inner


async def test_a_chunked_answer_keeps_exactly_its_headers() -> None:
    headers = ((b"X-A", b"1"), (b"Transfer-Encoding", b"chunked"))
    respond = answer(b"5\r\nhello\r\n0\r\n\r\n", headers=headers)
    async with RawServer(respond) as server:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            response = await client.get(server.url)
    assert response.content == b"hello"
    assert response.headers.raw == list(headers)


# --- connections ----------------------------------------------------------------------------


def _held_until(count: int, release: asyncio.Event) -> Respond:
    """Hold every answer until ``count`` requests are in, or ``release`` is set."""
    arrived = 0

    async def respond(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
        nonlocal arrived
        arrived += 1
        if arrived >= count:
            release.set()
        await release.wait()
        return await fake_ack()(writer, head, body)

    return respond


async def test_no_connection_cap_lets_150_requests_be_in_flight_at_once() -> None:
    release = asyncio.Event()
    timeout = httpx.Timeout(20.0)
    async with (
        RawServer(_held_until(150, release), backlog=512) as server,
        httpx.AsyncClient(transport=AiohttpTransport(max_connections=None), timeout=timeout) as c,
    ):
        responses = await asyncio.gather(*(c.post(server.url, content=b"x") for _ in range(150)))
    assert [r.status_code for r in responses] == [200] * 150
    assert server.connections == 150


async def test_a_connection_cap_of_100_holds_the_rest_back_until_the_pool_timeout() -> None:
    # The contrast: with aiohttp's usual cap the 101st request cannot get a connection.
    release = asyncio.Event()
    timeout = httpx.Timeout(20.0, pool=1.0)
    async with (
        RawServer(_held_until(150, release), backlog=512) as server,
        httpx.AsyncClient(transport=AiohttpTransport(max_connections=100), timeout=timeout) as c,
    ):
        calls = [asyncio.ensure_future(c.post(server.url, content=b"x")) for _ in range(150)]
        await until(
            lambda: sum(call.done() for call in calls) == 50, within=15.0, what="50 answers"
        )
        assert len(server.requests) == 100  # held: nothing is answered yet
        release.set()
        results = await asyncio.gather(*calls, return_exceptions=True)
    failed = [result for result in results if isinstance(result, Exception)]
    assert len(failed) == 50, failed[:3]
    assert all(isinstance(result, _NOT_SENT) for result in failed), failed[:3]
    assert len(server.requests) == 100


async def test_a_session_on_aiohttp_has_no_connection_cap() -> None:
    release = asyncio.Event()
    async with (
        RawServer(_held_until(150, release), backlog=512) as server,
        _session(server.url, timeout=20.0) as session,
    ):
        acks = await asyncio.gather(*(session.call(RISKY, {"x": n}) for n in range(150)))
    assert acks == [Echo(1)] * 150
    assert len(server.requests) == 150


# --- lifecycle ------------------------------------------------------------------------------


def _warnings_of(run: Callable[[], None]) -> list[str]:
    """Every warning ``run`` and the garbage it leaves raise, as text.

    A recorded warning keeps its ``source`` alive (aiohttp passes the unclosed object), so
    collect again after dropping the records until no more come.
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
        for _ in range(5):
            gc.collect()
            messages += [f"{w.category.__name__}: {w.message}" for w in caught]
            if not caught:
                break
            caught.clear()
    return messages


async def _one_get(client: httpx.AsyncClient, server: RawServer) -> int:
    return (await client.get(server.url)).status_code


def test_a_transport_made_outside_a_loop_serves_two_runs_closed_in_between() -> None:
    transport = AiohttpTransport()  # no running loop here

    async def run(transport: AiohttpTransport) -> int:
        async with RawServer(answer(b"ok")) as server:
            async with httpx.AsyncClient(transport=transport) as client:
                return await _one_get(client, server)

    def runs() -> None:
        assert asyncio.run(run(transport)) == 200
        assert asyncio.run(run(transport)) == 200  # closed by the first client, usable again
        assert asyncio.run(run(AiohttpTransport())) == 200

    assert _warnings_of(runs) == []


def test_a_transport_left_open_on_an_ended_loop_works_on_the_next_one() -> None:
    # A transport used on a loop that ended without closing it: the next loop gets a new
    # aiohttp session. Whatever happens to the old one must not surface as a warning.
    client = httpx.AsyncClient(transport=AiohttpTransport())

    async def run(close: bool) -> int:
        async with RawServer(answer(b"ok")) as server:
            status = await _one_get(client, server)
        if close:
            await client.aclose()
        return status

    def runs() -> None:
        assert asyncio.run(run(close=False)) == 200
        assert asyncio.run(run(close=True)) == 200

    assert _warnings_of(runs) == []


# --- choosing the transport -----------------------------------------------------------------


def test_an_unknown_transport_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="bogus"):
        Session(FakeVenue(), base_url="http://127.0.0.1:9", transport="bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["httpx", "aiohttp"])
async def test_a_named_transport_places_an_order(name: str) -> None:
    async with RawServer(fake_ack()) as server, _session(server.url, transport=name) as session:
        ack = await session.call(RISKY, {"x": 1})
    assert ack == Echo(1)
    assert len(server.requests) == 1


async def test_a_header_the_stack_refuses_is_an_httpx_error_on_both_stacks(stack: str) -> None:
    # aiohttp refuses a line break in a header value with a bare ValueError; it must come out
    # as an httpx error like httpx's own refusal, never as an untyped exception.
    async with (
        RawServer(answer(b"ok")) as server,
        httpx.AsyncClient(transport=_transport(stack)) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.get(server.url + "/", headers={"X-Note": "one\r\nX-Injected: two"})
        assert server.requests == []
