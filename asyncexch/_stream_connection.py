"""The seam between a stream and the WebSocket library under it.

A stream needs three things of a connection: send a text frame, receive the next one, close.
:class:`StreamConnection` says so, and :class:`StreamConnector` opens one; the ``websockets``
implementation is in ``_websockets``, and tests hand in a fake. Any exception from ``send`` or
``receive`` means the connection is gone: the stream reconnects.

``receive`` takes no timeout on purpose: every deadline of a stream (the heartbeat, a dead
connection, an unanswered subscription) is measured on the stream's injected clock, and the
stream closes a connection that missed one, which ends a pending ``receive``. A timeout inside
the library would run on real time, out of the tests' reach.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["StreamConnection", "StreamConnector"]


class StreamConnection(Protocol):
    """One open WebSocket connection carrying text frames."""

    async def send(self, text: str) -> None:
        """Send one text frame; raises (anything) if the connection is gone."""
        ...

    async def receive(self) -> str:
        """The next text frame; raises (anything) once the connection is gone or closed."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call more than once, never raises for a dead one."""
        ...


class StreamConnector(Protocol):
    """Opens connections: ``await connector(url)``."""

    async def __call__(self, url: str) -> StreamConnection:
        """An open connection to ``url`` (``ws://`` or ``wss://``); raises if none can be
        opened."""
        ...
