"""Servers on 127.0.0.1 that answer badly on purpose, on both HTTP transports.

Whatever a server sends, the session ends each call in bounded time and memory with a typed
error of the right outcome, and keeps its event loop free, for any venue: the sessions here
are over the fake venue (``tests.builders.fake_venue``). Every server stops by itself when
its test ends; every call is wrapped in a generous real-time bound, so a hang fails the test
instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from asyncexch import (
    MalformedResponse,
    OrderStatusUnknown,
    Outcome,
    RetryPolicy,
    Session,
    TransportChoice,
    TransportError,
    VirtualClock,
)
from tests.builders.fake_venue import (
    ITEMS,
    ORDER,
    READ,
    SERVER_MS,
    Echo,
    FakeVenue,
    Item,
    Items,
    envelope,
    feedback,
)
from tests.raw_server import RawServer, Respond, answer

pytestmark = [pytest.mark.integration]

#: Real seconds any one call may take before the test calls it a hang.
BOUND = 20.0
JSON = ((b"Content-Type", b"application/json"),)


@asynccontextmanager
async def serving(
    respond: Respond, http_transport: TransportChoice, **options: Any
) -> AsyncIterator[tuple[RawServer, Session]]:
    """A raw server answering with ``respond``, and a session over the fake venue there."""
    options.setdefault("retry", RetryPolicy(max_attempts=1))
    async with (
        RawServer(respond) as server,
        Session(
            FakeVenue(base_url=server.url),
            base_url=server.url,
            transport=http_transport,
            **options,
        ) as session,
    ):
        yield server, session


# --- slow and endless answers ----------------------------------------------------------------


async def drip_forever(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    """A 200 with a body of a million bytes, one byte every 0.1 s: each read succeeds."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    while True:
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.1)


async def endless_chunks(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    """A chunked body that never ends: 64 KiB chunks as fast as the client reads."""
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
    while True:
        writer.write(chunk)
        await writer.drain()


def gzip_bomb() -> Respond:
    """~200 MB of zeros, compressed twice: a few hundred bytes on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = bytes(1 << 20)
    inner = b"".join(compressor.compress(block) for _ in range(200)) + compressor.flush()
    outer = gzip.compress(inner, 9)
    return answer(outer, headers=(*JSON, (b"Content-Encoding", b"gzip, gzip")))


async def test_a_server_that_drips_its_answer_is_cut_off(http_transport: TransportChoice) -> None:
    async with serving(drip_forever, http_transport, timeout=0.5) as (_, session):
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TransportError) as caught:
            await asyncio.wait_for(session.call(READ, {}), BOUND)
        took = loop.time() - started

    assert caught.value.outcome is Outcome.UNKNOWN
    assert "no whole answer within 1 s" in str(caught.value)
    assert took < BOUND / 2  # cut off at the deadline (1 s), long before the drip would end


async def test_an_order_whose_answer_drips_is_unknown_not_hung(
    http_transport: TransportChoice,
) -> None:
    async with serving(drip_forever, http_transport, timeout=0.5) as (server, session):
        order = object()
        with pytest.raises(OrderStatusUnknown) as caught:
            await asyncio.wait_for(session.call(ORDER, {"n": 1}, request=order), BOUND)

    assert caught.value.request is order
    assert len(server.requests) == 1


async def test_an_endless_body_stops_at_max_body(http_transport: TransportChoice) -> None:
    async with serving(endless_chunks, http_transport, max_body=1 << 20) as (_, session):
        with pytest.raises(MalformedResponse, match="larger than 1048576 bytes") as caught:
            await asyncio.wait_for(session.call(READ, {}), BOUND)

    assert caught.value.outcome is Outcome.UNKNOWN


async def test_a_small_framed_answer_over_max_body_is_refused(
    http_transport: TransportChoice,
) -> None:
    # Small enough to be read whole by the transport (one await): the bound still holds.
    async with serving(answer(b" " * 5000, headers=JSON), http_transport, max_body=4096) as (
        _,
        session,
    ):
        with pytest.raises(MalformedResponse, match="larger than 4096 bytes") as caught:
            await asyncio.wait_for(session.call(READ, {}), BOUND)

    assert caught.value.outcome is Outcome.UNKNOWN


async def test_a_small_gzip_answer_is_decoded_and_bounded_after_decoding(
    http_transport: TransportChoice,
) -> None:
    body = b'{"code":0,"data":{"value":3}}' + b" " * 3000  # 3 KB decoded, ~60 bytes sent
    gzipped = answer(gzip.compress(body), headers=(*JSON, (b"Content-Encoding", b"gzip")))
    async with serving(gzipped, http_transport) as (_, session):
        assert await asyncio.wait_for(session.call(READ, {}), BOUND) == Echo(value=3)
    async with serving(gzipped, http_transport, max_body=2048) as (_, session):
        with pytest.raises(MalformedResponse, match="larger than 2048 bytes"):
            await asyncio.wait_for(session.call(READ, {}), BOUND)


async def test_a_gzip_bomb_is_cut_off_after_decompression(http_transport: TransportChoice) -> None:
    async with serving(gzip_bomb(), http_transport) as (_, session):
        with pytest.raises(MalformedResponse, match="larger than 4194304 bytes"):
            await asyncio.wait_for(session.call(READ, {}), BOUND)


# --- numbers no field needs --------------------------------------------------------------------


#: An item of the fake venue's listing: an integer, a decimal and (optional) a time in ms.
ITEM = {"count": 4, "price": "10"}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("count", "1e100000"),
        ("startsAt", "1e100000"),
        ("startsAt", '"99999999999999999999999"'),
        ("price", "1e400000"),
        ("price", '"1e-400000"'),
        ("price", '"1_000"'),
        ("price", '"\\uff11\\uff10"'),  # full-width digits
        ("price", '" 10"'),
    ],
)
async def test_a_number_no_field_needs_is_malformed_at_once(
    http_transport: TransportChoice, field: str, raw: str
) -> None:
    text = json.dumps({"items": [{**ITEM, field: "@"}]}).replace('"@"', raw)
    body = b'{"code":0,"msg":"","data":' + text.encode() + b"}"
    async with serving(answer(body, headers=JSON), http_transport) as (_, session):
        with pytest.raises(MalformedResponse):
            await asyncio.wait_for(session.call(ITEMS, {}), BOUND)


async def test_a_sane_item_still_decodes(http_transport: TransportChoice) -> None:
    body = envelope({"items": [ITEM]})
    async with serving(answer(body, headers=JSON), http_transport) as (_, session):
        items = await asyncio.wait_for(session.call(ITEMS, {}), BOUND)
    assert items == Items([Item(count=4, price=Decimal("10"))])


# --- a pause for a year --------------------------------------------------------------------------


def rate_limited(reset_ms: int, *, time: int) -> Respond:
    """A rate-limit refusal stamped ``time`` with a reset at ``reset_ms``, then successes."""
    limited = envelope(code=3, msg="slow down")
    stamp = tuple(
        (name.encode(), value.encode())
        for name, value in feedback(time=time, reset=reset_ms).items()
    )
    served: list[int] = []

    async def respond(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
        served.append(1)
        if len(served) == 1:
            return await answer(limited, headers=(*JSON, *stamp))(writer, head, body)
        return await answer(envelope(), headers=(*JSON, *stamp[:1]))(writer, head, body)

    return respond


@pytest.mark.parametrize(
    ("reset_ms", "time"),
    [
        (SERVER_MS + 365 * 86_400_000, SERVER_MS),  # a year ahead
        (SERVER_MS + 500, SERVER_MS - 25 * 365 * 86_400_000),  # an honest reset, a wrong stamp
    ],
    ids=["reset-a-year-ahead", "stamp-25-years-off"],
)
async def test_a_venue_cannot_pause_a_bucket_for_a_year(
    http_transport: TransportChoice, reset_ms: int, time: int
) -> None:
    clock = VirtualClock(start=SERVER_MS / 1000)
    async with serving(
        rate_limited(reset_ms, time=time), http_transport, clock=clock, retry=RetryPolicy()
    ) as (server, session):
        echoed = await asyncio.wait_for(session.call(READ, {}), BOUND)

    assert echoed == Echo(1)
    assert len(server.requests) == 2
    assert clock.monotonic() < 7.0  # the window of the widest bucket (the IP pool) and a second
