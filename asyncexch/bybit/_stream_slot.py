"""At most one offer stream per client: the stream of a client's session, made on first use.

Bybit refuses more than 500 connections per 5 minutes per IP; one connection carries every
topic, so every ``watch_quotes`` of a client shares its session's stream.
"""

from __future__ import annotations

import random
from typing import Any
from weakref import WeakKeyDictionary

from .._session import Session
from .._stream_connection import StreamConnector
from ..errors import ConfigurationError
from ._quote_stream import QuoteStream, stream_url

__all__ = ["close_stream_of", "stream_of"]

_STREAMS: WeakKeyDictionary[Session, QuoteStream] = WeakKeyDictionary()


def stream_of(
    session: Session,
    *,
    url: str | None = None,
    connector: StreamConnector | None = None,
    ping_interval: float | None = None,
    dead_after: float | None = None,
    ack_timeout: float | None = None,
    connect_timeout: float | None = None,
    backoff: tuple[float, float] | None = None,
    max_connects: int | None = None,
    random_source: random.Random | None = None,
) -> QuoteStream:
    """The session's stream; a new one when options are given and the current one is not in
    use (``ConfigurationError`` when it is: its connection is shared)."""
    options: dict[str, Any] = {
        name: value
        for name, value in (
            ("connector", connector),
            ("ping_interval", ping_interval),
            ("dead_after", dead_after),
            ("ack_timeout", ack_timeout),
            ("connect_timeout", connect_timeout),
            ("backoff", backoff),
            ("max_connects", max_connects),
            ("random_source", random_source),
        )
        if value is not None
    }
    current = _STREAMS.get(session)
    if current is not None and url is None and not options:
        return current
    if current is not None and current._users:
        raise ConfigurationError(
            "this client's stream is in use: give stream() its options before first use"
        )
    stream = QuoteStream(
        url=url or stream_url(session.base_url),
        clock=session.clock,
        server_time=session.server_time,
        converter=session.venue.converter,
        **options,
    )
    _STREAMS[session] = stream
    return stream


async def close_stream_of(session: Session) -> None:
    """Close the session's stream, if it has one (its client is closing)."""
    stream = _STREAMS.pop(session, None)
    if stream is not None:
        await stream.aclose()
