"""Servers on 127.0.0.1 that answer badly on purpose, on both HTTP transports.

Whatever a server sends, the client ends each call in bounded time and memory with a typed
error of the right outcome, and keeps its event loop free. Every server stops by itself when
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
    TransportChoice,
    TransportError,
    VirtualClock,
)
from asyncexch.bybit import BybitClient, Product
from asyncexch.chainup import ChainupContractClient, TakeOrder
from tests.builders.bybit import SERVER_MS, stake_order
from tests.raw_server import RawServer, Respond, answer

pytestmark = [pytest.mark.integration]

#: Real seconds any one call may take before the test calls it a hang.
BOUND = 20.0
JSON = ((b"Content-Type", b"application/json"),)


@asynccontextmanager
async def bybit(
    respond: Respond, http_transport: TransportChoice, **options: Any
) -> AsyncIterator[tuple[RawServer, BybitClient]]:
    options.setdefault("retry", RetryPolicy(max_attempts=1))
    async with (
        RawServer(respond) as server,
        BybitClient(
            "key", "secret", base_url=server.url, transport=http_transport, **options
        ) as client,
    ):
        yield server, client


def envelope(result: object, *, time: int = SERVER_MS) -> bytes:
    return json.dumps(
        {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time}
    ).encode()


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
    async with bybit(drip_forever, http_transport, timeout=0.5) as (_, client):
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TransportError) as caught:
            await asyncio.wait_for(client.advance_earn.products(), BOUND)
        took = loop.time() - started

    assert caught.value.outcome is Outcome.UNKNOWN
    assert "no whole answer within 1 s" in str(caught.value)
    assert took < BOUND / 2  # cut off at the deadline (1 s), long before the drip would end


async def test_an_order_whose_answer_drips_is_unknown_not_hung(
    http_transport: TransportChoice,
) -> None:
    async with bybit(drip_forever, http_transport, timeout=0.5) as (server, client):
        order = stake_order()
        with pytest.raises(OrderStatusUnknown) as caught:
            await asyncio.wait_for(client.advance_earn.place_order(order), BOUND)

    assert caught.value.request is order
    assert len(server.requests) == 1


async def test_an_endless_body_stops_at_max_body(http_transport: TransportChoice) -> None:
    async with bybit(endless_chunks, http_transport, max_body=1 << 20) as (_, client):
        with pytest.raises(MalformedResponse, match="larger than 1048576 bytes") as caught:
            await asyncio.wait_for(client.advance_earn.products(), BOUND)

    assert caught.value.outcome is Outcome.UNKNOWN


async def test_a_gzip_bomb_is_cut_off_after_decompression(http_transport: TransportChoice) -> None:
    async with bybit(gzip_bomb(), http_transport) as (_, client):
        with pytest.raises(MalformedResponse, match="larger than 4194304 bytes"):
            await asyncio.wait_for(client.advance_earn.products(), BOUND)


# --- numbers no field needs --------------------------------------------------------------------


PRODUCT = {
    "category": "SmartLeverage",
    "productId": "13015",
    "investCoin": "USDT",
    "underlyingAsset": "BTC",
    "direction": "Long",
    "leverage": "10",
    "duration": "7d",
    "minPurchaseAmount": "10",
    "remainingAmount": "1000",
    "orderPrecisionDigital": 4,
}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("orderPrecisionDigital", "1e100000"),
        ("subscribeStartAt", "1e100000"),
        ("subscribeStartAt", '"99999999999999999999999"'),
        ("leverage", "1e400000"),
        ("leverage", '"1e-400000"'),
        ("minPurchaseAmount", '"1_000"'),
        ("minPurchaseAmount", '"\\uff11\\uff10"'),  # full-width digits
        ("minPurchaseAmount", '" 10"'),
    ],
)
async def test_a_number_no_field_needs_is_malformed_at_once(
    http_transport: TransportChoice, field: str, raw: str
) -> None:
    text = json.dumps({"list": [{**PRODUCT, field: "@"}]}).replace('"@"', raw)
    body = b'{"retCode":0,"retMsg":"OK","result":' + text.encode() + b',"time":1}'
    async with bybit(answer(body, headers=JSON), http_transport) as (_, client):
        with pytest.raises(MalformedResponse):
            await asyncio.wait_for(client.advance_earn.products(), BOUND)


async def test_a_sane_product_still_decodes(http_transport: TransportChoice) -> None:
    body = envelope({"category": "SmartLeverage", "list": [PRODUCT]})
    async with bybit(answer(body, headers=JSON), http_transport) as (_, client):
        [product] = await asyncio.wait_for(client.advance_earn.products(), BOUND)
    assert isinstance(product, Product) and product.order_precision_digital == 4


# --- a pause for a year --------------------------------------------------------------------------


def rate_limited(reset_ms: int, *, time: int) -> Respond:
    limited = json.dumps(
        {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": time}
    ).encode()
    served: list[int] = []

    async def respond(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
        served.append(1)
        if len(served) == 1:
            headers = (
                *JSON,
                (b"X-Bapi-Limit-Status", b"0"),
                (b"X-Bapi-Limit-Reset-Timestamp", str(reset_ms).encode()),
            )
            return await answer(limited, headers=headers)(writer, head, body)
        ok = envelope({"category": "SmartLeverage", "list": []}, time=time)
        return await answer(ok, headers=JSON)(writer, head, body)

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
    async with bybit(
        rate_limited(reset_ms, time=time), http_transport, clock=clock, retry=RetryPolicy()
    ) as (server, client):
        products = await asyncio.wait_for(client.advance_earn.products(), BOUND)

    assert products == []
    assert len(server.requests) == 2
    assert clock.monotonic() < 7.0  # the window of the widest bucket (the IP pool) and a second


# --- ChainUP: codes that are digits but not numbers -------------------------------------------


@pytest.mark.parametrize("code", ['"\\u00b2"', '"0\\u0660"', '"' + "9" * 5000 + '"'])
async def test_a_chainup_code_python_cannot_read_after_an_order_is_unknown_not_value_error(
    http_transport: TransportChoice, code: str
) -> None:
    body = b'{"code":' + code.encode() + b',"msg":"","data":{"orderId":1}}'
    empty = json.dumps({"code": "0", "msg": "", "data": {"count": 0, "orderList": []}}).encode()

    async def respond(writer: asyncio.StreamWriter, head: bytes, request_body: bytes) -> bool:
        chosen = body if b"take_order" in head.split(b"\r\n", 1)[0] else empty
        return await answer(chosen, headers=JSON)(writer, head, request_body)

    async with (
        RawServer(respond) as server,
        ChainupContractClient(
            "key", "secret", base_url=server.url, transport=http_transport
        ) as client,
    ):
        order = TakeOrder(contract_id=1, side="BUY", volume=Decimal(1), order_type="MARKET")
        with pytest.raises(OrderStatusUnknown) as caught:
            await asyncio.wait_for(client.take_order(order), BOUND)

    assert isinstance(caught.value.__cause__, MalformedResponse)
    assert caught.value.request is order
