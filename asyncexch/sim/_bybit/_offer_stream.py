"""The simulator's ``/v5/public/fp``: Advance Earn offers pushed over WebSocket, with faults.

It speaks the protocol of Bybit's Connect page (docs/v5/websocket/wss-authentication.mdx) in
its linear/inverse shapes: ``{"op": "ping"}`` is answered ``{"success": true, "ret_msg":
"pong", "conn_id": ..., "req_id": ..., "op": "ping"}``, a subscription ``{"success": ...,
"ret_msg": ..., "conn_id": ..., "req_id": ..., "op": "subscribe"}``; a topic it does not serve
(or one a test refuses) is refused ``"error:handler not found,topic:<topic>"``. Each
subscribed topic is pushed as ``{"topic": ..., "data": [...]}`` (every product's quote, the
docs' compact keys) right after the subscription (the simulator's choice: Bybit does not say),
whenever a test moves a price, and every ``push_interval`` seconds of the exchange's clock.
``with_ts=True`` adds a ``ts`` (ms) to each push (Bybit's other public streams have one;
these topics' examples do not).

Faults, for every open connection at once: :meth:`OfferStreamHub.drop` (closed), ``go_silent``
(open but answering nothing and pushing nothing: a dead connection only a heartbeat finds),
``refuse`` (a topic's subscriptions refused), ``send_malformed`` (a frame that is not JSON and
a push with an unreadable item), ``burst`` (the latest push of each topic repeated, with the
one before it replayed in between: duplicates and out-of-order quotes).

Connections live on the server's event loop; a test calls the hub from its own thread, so
each call hands the work to the connections' loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Coroutine
from typing import Any

import attrs
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..._clock import Clock
from .._json import dumps

__all__ = ["OfferStreamHub", "OfferStreamStats"]

#: A topic's items now, or ``None`` for a topic the exchange does not serve.
Snapshot = Callable[[str], list[dict[str, Any]] | None]


@attrs.define
class OfferStreamStats:
    """What the stream did: connections opened, subscriptions per topic, pings answered,
    pushes sent, faults applied."""

    connections: int = 0
    subscriptions: dict[str, int] = attrs.Factory(dict)
    refusals: int = 0
    pings: int = 0
    pushes: int = 0
    drops: int = 0
    silenced: int = 0


@attrs.define(eq=False)
class _Connection:
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    conn_id: str
    topics: set[str] = attrs.Factory(set)
    silent: bool = False
    wake: asyncio.Event = attrs.Factory(asyncio.Event)
    #: Sends a fault started, kept until done (and cancelled when the connection ends).
    tasks: set[asyncio.Future[None]] = attrs.Factory(set)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class OfferStreamHub:
    """The open stream connections of one simulator, and the faults a test applies to them."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        clock: Clock,
        push_interval: float = 30.0,
        with_ts: bool = False,
    ) -> None:
        self._snapshot = snapshot
        self._clock = clock
        #: Seconds between the periodic pushes (the exchange's clock).
        self.push_interval: float = push_interval
        #: Whether pushes carry a ``ts``.
        self.with_ts: bool = with_ts
        #: What the stream did.
        self.stats: OfferStreamStats = OfferStreamStats()
        #: Topics refused, with the reason given.
        self.refused: dict[str, str] = {}
        self._connections: set[_Connection] = set()
        self._ids = itertools.count(1)
        #: The last two pushes of each topic (the one before, the latest).
        self._recent: dict[str, list[str]] = {}

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        return len(self._connections)

    # --- what a test does ------------------------------------------------------------------

    def moved(self) -> None:
        """Prices moved: push every subscribed topic on every connection."""
        self._each(lambda connection: connection.wake.set())

    def drop(self) -> None:
        """Close every open connection."""
        self.stats.drops += 1
        self._each(lambda connection: connection.spawn(connection.websocket.close()))

    def go_silent(self) -> None:
        """Every open connection stays open but answers and pushes nothing from now on."""
        self.stats.silenced += 1

        def silence(connection: _Connection) -> None:
            connection.silent = True

        self._each(silence)

    def refuse(self, topic: str, reason: str | None = None) -> None:
        """Refuse subscriptions to ``topic`` from now on."""
        self.refused[topic] = reason or f"error:handler not found,topic:{topic}"

    def send_malformed(self) -> None:
        """Send every connection a frame that is not JSON and a push of an unreadable item."""

        def send(connection: _Connection) -> None:
            for topic in connection.topics:
                bad = json.dumps({"topic": topic, "data": [{"p": "1", "c": "not a price"}]})
                connection.spawn(self._send_all(connection, ["{not json", bad]))

        self._each(send)

    def burst(self, count: int = 10) -> None:
        """Send each topic's latest push ``count`` times, the push before it in between."""

        def send(connection: _Connection) -> None:
            for topic in connection.topics:
                recent = self._recent.get(topic, [])
                frames = [frame for _ in range(count) for frame in reversed(recent)]
                connection.spawn(self._send_all(connection, frames))

        self._each(send)

    def _each(self, act: Callable[[_Connection], None]) -> None:
        for connection in list(self._connections):
            connection.loop.call_soon_threadsafe(act, connection)

    # --- the route -------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one connection until it closes."""
        await websocket.accept()
        connection = _Connection(websocket, asyncio.get_running_loop(), f"sim-{next(self._ids)}")
        self._connections.add(connection)
        self.stats.connections += 1
        pusher = asyncio.ensure_future(self._push_periodically(connection))
        try:
            while True:
                text = await websocket.receive_text()
                if not connection.silent:
                    await self._answer(connection, text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self._connections.discard(connection)
            for task in (pusher, *connection.tasks):
                task.cancel()
            await asyncio.gather(pusher, *connection.tasks, return_exceptions=True)

    async def _answer(self, connection: _Connection, text: str) -> None:
        try:
            message = json.loads(text)
            op, req_id = message.get("op"), message.get("req_id", "")
        except (ValueError, AttributeError):
            return  # Bybit ignores what it cannot read
        reply: dict[str, Any] = {"conn_id": connection.conn_id, "req_id": req_id, "op": op}
        if op == "ping":
            self.stats.pings += 1
            await self._send(connection, dumps({"success": True, "ret_msg": "pong", **reply}))
            return
        topics = [str(topic) for topic in message.get("args") or []]
        if op == "subscribe":
            refused = [t for t in topics if t in self.refused or self._snapshot(t) is None]
            for topic in refused:
                self.stats.refusals += 1
                reason = self.refused.get(topic, f"error:handler not found,topic:{topic}")
                await self._send(connection, dumps({"success": False, "ret_msg": reason, **reply}))
            accepted = [topic for topic in topics if topic not in refused]
            if accepted or not refused:
                await self._send(connection, dumps({"success": True, "ret_msg": "", **reply}))
            for topic in accepted:
                connection.topics.add(topic)
                self.stats.subscriptions[topic] = self.stats.subscriptions.get(topic, 0) + 1
                await self._push(connection, topic)
        elif op == "unsubscribe":
            connection.topics.difference_update(topics)
            await self._send(connection, dumps({"success": True, "ret_msg": "", **reply}))

    async def _push_periodically(self, connection: _Connection) -> None:
        while True:
            waker = asyncio.ensure_future(connection.wake.wait())
            timer = asyncio.ensure_future(self._clock.sleep(self.push_interval))
            try:
                await asyncio.wait((waker, timer), return_when=asyncio.FIRST_COMPLETED)
            finally:
                waker.cancel()
                timer.cancel()
            connection.wake.clear()
            for topic in sorted(connection.topics):
                await self._push(connection, topic)

    async def _push(self, connection: _Connection, topic: str) -> None:
        if connection.silent:
            return
        items = self._snapshot(topic)
        if items is None:
            return
        frame: dict[str, Any] = {"topic": topic, "data": items}
        if self.with_ts:
            frame["ts"] = int(self._clock.time() * 1000)
        text = dumps(frame)
        recent = self._recent.setdefault(topic, [])
        recent.append(text)
        del recent[:-2]
        self.stats.pushes += 1
        await self._send(connection, text)

    async def _send_all(self, connection: _Connection, frames: list[str]) -> None:
        for frame in frames:
            await self._send(connection, frame)

    async def _send(self, connection: _Connection, text: str) -> None:
        if connection.silent:
            return
        try:
            await connection.websocket.send_text(text)
        except (RuntimeError, WebSocketDisconnect, OSError):
            pass  # closed meanwhile: the receive loop ends it
