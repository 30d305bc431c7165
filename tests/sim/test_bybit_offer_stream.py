"""The simulator's ``/v5/public/fp`` as a raw WebSocket client sees it: the frames of Bybit's
Connect page and the offer topics' compact keys (docs/v5/finance/advanced-earn/websocket/),
pushes on a price move, and the faults. No part of the asyncexch client is used."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from asyncexch.sim import BybitSimulator, SimServer

pytestmark = pytest.mark.integration


@pytest.fixture
def simulator() -> BybitSimulator:
    return BybitSimulator()


@pytest.fixture
async def ws(simulator: BybitSimulator) -> AsyncIterator[ClientConnection]:
    async with SimServer(simulator.app) as server:
        url = server.url.replace("http://", "ws://") + "/v5/public/fp"
        async with connect(url, ping_interval=None) as connection:
            yield connection


async def ask(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(message))
    return await receive(ws)


async def receive(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return frame


async def test_a_ping_is_answered_as_on_bybits_linear_streams(ws: ClientConnection) -> None:
    pong = await ask(ws, {"req_id": "100001", "op": "ping"})
    assert pong == {
        "success": True,
        "ret_msg": "pong",
        "conn_id": pong["conn_id"],
        "req_id": "100001",
        "op": "ping",
    }


async def test_smart_leverage_offers_are_acknowledged_then_pushed_with_the_compact_keys(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    ack = await ask(ws, {"req_id": "7", "op": "subscribe", "args": ["earn.smartleverage.offers"]})
    assert ack == {
        "success": True,
        "ret_msg": "",
        "conn_id": ack["conn_id"],
        "req_id": "7",
        "op": "subscribe",
    }
    push = await receive(ws)
    assert push["topic"] == "earn.smartleverage.offers"
    assert "ts" not in push  # as the docs' example
    assert {item["p"] for item in push["data"]} == set(simulator.products)
    for item in push["data"]:
        assert set(item) == {"p", "b", "e", "m", "c"}
        assert all(isinstance(value, str) for value in item.values())
        assert Decimal(item["b"]) > 0 and int(item["e"]) > 1_700_000_000_000


async def test_dual_assets_offers_carry_both_ladders(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    await ask(ws, {"req_id": "1", "op": "subscribe", "args": ["earn.dualassets.offers"]})
    push = await receive(ws)
    assert {item["p"] for item in push["data"]} == set(simulator.dual_assets_products)
    for item in push["data"]:
        assert set(item) == {"p", "c", "b", "s"}
        for point in (*item["b"], *item["s"]):
            assert set(point) == {"s", "a", "m", "x"}
        assert max(Decimal(p["s"]) for p in item["b"]) < Decimal(item["c"])
        assert min(Decimal(p["s"]) for p in item["s"]) > Decimal(item["c"])


async def test_double_win_offers_are_the_fixed_range_products_with_the_compact_keys(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    await ask(ws, {"req_id": "1", "op": "subscribe", "args": ["earn.doublewin.offers"]})
    push = await receive(ws)
    assert push["topic"] == "earn.doublewin.offers"
    fixed = {p.product_id for p in simulator.double_win_products.values() if not p.is_rfq}
    assert {item["p"] for item in push["data"]} == fixed == {"14084"}  # 14092 is RFQ
    (item,) = push["data"]
    assert set(item) == {"p", "c", "l", "m", "e"}
    assert all(isinstance(value, str) for value in item.values())
    assert Decimal(item["l"]) > 1 and int(item["e"]) > 1_700_000_000_000
    simulator.set_price("BTC", Decimal("70000"))
    moved = await receive(ws)
    assert Decimal(moved["data"][0]["c"]) == Decimal("70000")


async def test_discount_buy_offers_carry_the_coupon_in_e_and_the_expiry_in_x(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    await ask(ws, {"req_id": "1", "op": "subscribe", "args": ["earn.discountbuy.offers"]})
    push = await receive(ws)
    assert push["topic"] == "earn.discountbuy.offers"
    by_product = {item["p"]: item for item in push["data"]}
    assert set(by_product) == set(simulator.discount_buy_products) == {"7037", "7038", "7039"}
    for item in by_product.values():
        assert set(item) == {"p", "c", "b", "k", "e", "m", "i", "x"}
        assert Decimal(item["b"]) < Decimal(item["c"]) < Decimal(item["k"])
    # e: the coupon (e8), a string as documented
    assert by_product["7037"]["e"] == str(simulator.discount_buy_products["7037"].coupon_e8)
    assert int(by_product["7037"]["x"]) > 1_700_000_000_000
    assert by_product["7038"]["x"] == "0"  # quoted without expiry
    # 7039 is quoted the MCP server's way: instUid and coupon as JSON numbers
    assert isinstance(by_product["7039"]["i"], int) and isinstance(by_product["7039"]["e"], int)


async def test_a_price_move_pushes_and_with_ts_stamps_the_push(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    simulator.offer_stream.with_ts = True
    await ask(ws, {"req_id": "1", "op": "subscribe", "args": ["earn.smartleverage.offers"]})
    await receive(ws)
    simulator.set_price("BTC", Decimal("70000"))
    push = await receive(ws)
    assert isinstance(push["ts"], int)
    assert Decimal("70000") in {Decimal(item["c"]) for item in push["data"]}


async def test_an_unknown_or_refused_topic_is_refused(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    refused = await ask(ws, {"req_id": "2", "op": "subscribe", "args": ["earn.nothing.offers"]})
    assert refused["success"] is False
    assert refused["ret_msg"] == "error:handler not found,topic:earn.nothing.offers"
    simulator.offer_stream.refuse("earn.dualassets.offers", "too many")
    refused = await ask(ws, {"req_id": "3", "op": "subscribe", "args": ["earn.dualassets.offers"]})
    assert (refused["success"], refused["ret_msg"], refused["req_id"]) == (False, "too many", "3")


async def test_a_silent_connection_answers_nothing_and_a_burst_replays(
    ws: ClientConnection, simulator: BybitSimulator
) -> None:
    hub = simulator.offer_stream
    await ask(ws, {"req_id": "1", "op": "subscribe", "args": ["earn.smartleverage.offers"]})
    first = await receive(ws)
    simulator.set_price("BTC", Decimal("70000"))
    second = await receive(ws)
    hub.burst(2)
    burst = [await receive(ws) for _ in range(4)]
    assert burst == [second, first, second, first]
    hub.go_silent()
    await ws.send(json.dumps({"op": "ping"}))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.3)
    assert hub.open_connections == 1
