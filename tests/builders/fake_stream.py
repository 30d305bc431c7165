"""An in-process fake of Bybit's ``/v5/public/fp`` for the stream's unit tests.

:class:`FakeStreamServer` is a :class:`~asyncexch.StreamConnector`: each call opens a
:class:`FakeConnection`, and the server answers requests as a test tells it to (acks with or
without ``req_id``, refusals, silence, no pongs). Frames go through asyncio queues, so the
stream runs on a :class:`VirtualClock` with autojump: only the clock's sleepers move time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

#: The docs' own push examples (docs/v5/finance/advanced-earn/websocket/*.mdx).
SMART_LEVERAGE_TOPIC = "earn.smartleverage.offers"
DUAL_ASSETS_TOPIC = "earn.dualassets.offers"
SMART_LEVERAGE_ITEM: dict[str, Any] = {
    "p": "13010",
    "b": "553.849143",
    "e": "1775040711994",
    "m": "784",
    "c": "615.1",
}
DUAL_ASSETS_ITEM: dict[str, Any] = {
    "p": "36352",
    "c": "74168.46",
    "b": [{"s": "74142", "a": "979209000", "m": "2000", "x": "1773825237781"}],
    "s": [{"s": "74142", "a": "979209000", "m": "0.02697492", "x": "1773825237781"}],
}
DOUBLE_WIN_TOPIC = "earn.doublewin.offers"
DISCOUNT_BUY_TOPIC = "earn.discountbuy.offers"
DOUBLE_WIN_ITEM: dict[str, Any] = {
    "p": "14082",
    "c": "2050.99",
    "l": "37.78",
    "m": "1000",
    "e": "1775111431407",
}
DISCOUNT_BUY_ITEM: dict[str, Any] = {
    "p": "12723",
    "c": "74551.1",
    "b": "73847",
    "k": "75300",
    "e": "10000000",
    "m": "950000",
    "i": "103489231",
    "x": "1776154870336",
}
_CLOSED = object()


class FakeConnection:
    """One connection: what the client sent (``sent``, parsed), and a queue of frames."""

    def __init__(self, server: FakeStreamServer) -> None:
        self._server = server
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    async def send(self, text: str) -> None:
        if self.closed:
            raise ConnectionError("closed")
        message = json.loads(text)
        self.sent.append(message)
        self._server.answer(self, message)

    async def receive(self) -> str:
        frame = await self._inbox.get()
        if frame is _CLOSED:
            self._inbox.put_nowait(_CLOSED)
            raise ConnectionError("closed")
        assert isinstance(frame, str)
        return frame

    async def close(self) -> None:
        self.closed = True
        self._inbox.put_nowait(_CLOSED)

    def frame(self, message: object) -> None:
        """Send ``message`` (JSON, or text as is) to the client."""
        if not self.closed:
            self._inbox.put_nowait(message if isinstance(message, str) else json.dumps(message))

    def requests(self, op: str) -> list[list[str]]:
        """The topics of each ``op`` request the client sent."""
        return [message.get("args", []) for message in self.sent if message.get("op") == op]


class FakeStreamServer:
    """Opens fake connections and answers them; every behaviour a test can switch."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        #: Topics refused with this reason.
        self.refuse: dict[str, str] = {}
        #: Answer pings with pongs (False: a silent dead connection).
        self.pong = True
        #: Acknowledge requests (False: they go unanswered).
        self.ack = True
        #: Echo ``req_id`` in acknowledgements (False: the private streams' shape).
        self.echo_req_id = True
        #: Answer in the option/spread shape (``COMMAND_RESP`` with ``failTopics``).
        self.command_resp = False
        #: Connection attempts to refuse before accepting again.
        self.refuse_connects = 0
        self.connect_attempts = 0
        self.opened = asyncio.Event()

    async def __call__(self, url: str) -> FakeConnection:
        self.connect_attempts += 1
        if self.refuse_connects:
            self.refuse_connects -= 1
            raise ConnectionRefusedError("refused")
        connection = FakeConnection(self)
        self.connections.append(connection)
        self.opened.set()
        return connection

    @property
    def current(self) -> FakeConnection:
        return self.connections[-1]

    def answer(self, connection: FakeConnection, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ping":
            if self.pong:
                connection.frame({"success": True, "ret_msg": "pong", "conn_id": "c", "op": "ping"})
            return
        if not self.ack:
            return
        refused = [topic for topic in message["args"] if topic in self.refuse]
        if self.command_resp:
            ok = [topic for topic in message["args"] if topic not in self.refuse]
            data = {"failTopics": refused, "successTopics": ok}
            connection.frame(
                {"success": True, "conn_id": "c", "data": data, "type": "COMMAND_RESP"}
            )
            return
        ack: dict[str, Any] = {
            "success": not refused,
            "ret_msg": "; ".join(self.refuse[topic] for topic in refused),
            "conn_id": "c",
            "op": op,
        }
        if self.echo_req_id:
            ack["req_id"] = message.get("req_id", "")
        connection.frame(ack)

    def push(self, topic: str, items: list[dict[str, Any]], ts: int | None = None) -> None:
        """Push ``items`` on ``topic`` on the current connection."""
        frame: dict[str, Any] = {"topic": topic, "data": items}
        if ts is not None:
            frame["ts"] = ts
        self.current.frame(frame)

    def drop(self) -> None:
        """The server closes the current connection."""
        self.current._inbox.put_nowait(_CLOSED)


def smart_leverage_item(product_id: str, price: str, expire_ms: int) -> dict[str, Any]:
    """A SmartLeverage push item: breakeven 10% under ``price``."""
    return {"p": product_id, "b": price, "e": str(expire_ms), "m": "1000", "c": price}
