"""At most one offer stream per client: the stream of a client's session, made on first use.

Bybit refuses more than 500 connections per 5 minutes per IP; one connection carries every
topic, so every ``watch_quotes`` of a client shares its session's stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from .._session import Session
from ..errors import ConfigurationError
from ._quote_stream import QuoteStream, stream_url

__all__ = ["close_stream_of", "stream_of"]

_STREAMS: WeakKeyDictionary[Session, QuoteStream] = WeakKeyDictionary()


def stream_of(
    session: Session, url: str | None = None, options: Mapping[str, Any] | None = None
) -> QuoteStream:
    """The session's stream; a new one when ``url`` or ``options`` (``QuoteStream``'s
    keyword arguments; ``None`` values left out) are given and the current one is not in use
    (``ConfigurationError`` when it is: its connection is shared)."""
    options = {name: value for name, value in (options or {}).items() if value is not None}
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
