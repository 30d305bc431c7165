"""The frames of Bybit's public WebSocket streams, as the client reads and writes them.

From docs/v5/websocket/wss-authentication.mdx (Connect): a request is ``{"req_id": ...,
"op": "subscribe" | "unsubscribe" | "ping", "args": [...]}``; the heartbeat is
``{"op": "ping"}``, recommended every 20 s. The answers come in several documented shapes,
and the page does not say which one ``/v5/public/fp`` uses, so each is read:

* an acknowledgement ``{"success": bool, "ret_msg": ..., "op": ..., "conn_id": ...}``, with
  ``req_id`` echoed on some streams (spot, linear) and not on others (private);
* the option/spread shape ``{"success": ..., "type": "COMMAND_RESP", "data":
  {"successTopics": [...], "failTopics": [...]}}`` (no ``op``);
* a pong as ``{"success": true, "ret_msg": "pong", "op": "ping"}`` or ``{"op": "pong",
  "args": [...]}``.

A push is ``{"topic": ..., "data": [...]}``, with ``ts`` (ms) if the venue sends one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from .._convert import loads_exact

__all__ = ["Acknowledgement", "Push", "read_frame", "request"]

#: The heartbeat.
PING = json.dumps({"op": "ping"})


def request(req_id: str, op: str, topics: Sequence[str]) -> str:
    """A subscribe or unsubscribe request for ``topics``."""
    return json.dumps({"req_id": req_id, "op": op, "args": list(topics)})


@attrs.frozen
class Acknowledgement:
    """The answer to a request: ``req_id`` when echoed, ``op`` when named; ``success``
    false refuses the request's topics (only ``failed_topics`` when it names some);
    ``reason`` is what the server said."""

    req_id: str | None
    op: str | None
    success: bool
    failed_topics: tuple[str, ...]
    reason: str


@attrs.frozen
class Push:
    """Data on a topic: ``items`` as sent, ``ts`` (ms) if the frame has one."""

    topic: str
    items: list[Any]
    ts: int | None


class Pong:
    """The answer to a ping."""


PONG = Pong()


def read_frame(text: str) -> Push | Acknowledgement | Pong | None:
    """What a frame is; ``None`` for one that is none of them (or not JSON): malformed."""
    try:
        frame = loads_exact(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(frame, dict):
        return None
    if "topic" in frame:
        return _push(frame)
    if frame.get("op") == "pong" or frame.get("ret_msg") == "pong":
        return PONG
    if "success" in frame and isinstance(frame["success"], bool):
        return _acknowledgement(frame)
    return None


def _push(frame: dict[str, Any]) -> Push | None:
    topic, items, ts = frame.get("topic"), frame.get("data"), frame.get("ts")
    if not isinstance(topic, str) or not isinstance(items, list):
        return None
    if not (isinstance(ts, int) and not isinstance(ts, bool) and ts > 0):
        ts = None
    return Push(topic, items, ts)


def _acknowledgement(frame: dict[str, Any]) -> Acknowledgement:
    data = frame.get("data")
    failed: tuple[str, ...] = ()
    if isinstance(data, dict) and isinstance(data.get("failTopics"), list):
        failed = tuple(str(topic) for topic in data["failTopics"])
    req_id, op, reason = frame.get("req_id"), frame.get("op"), frame.get("ret_msg")
    return Acknowledgement(
        req_id=str(req_id) if req_id not in (None, "") else None,
        op=op if isinstance(op, str) else None,
        success=frame["success"],
        failed_topics=failed,
        reason=reason if isinstance(reason, str) else "",
    )
