"""The ``websockets`` implementation of :class:`~asyncexch.StreamConnection` (the ``stream``
extra: ``pip install 'asyncexch[stream]'``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

__all__ = ["WebsocketsConnector"]

#: The largest frame accepted: a DualAssets push is a full snapshot of every online product.
MAX_FRAME = 16 * 1024 * 1024


class WebsocketsConnector:
    """Opens connections with ``websockets`` (asyncio-native).

    Its own keep-alive pings are off: the venue's protocol has its own application ping
    (Bybit's ``{"op": "ping"}``), which the stream sends and times on its own clock.
    ``close_timeout`` (seconds, real time) bounds the closing handshake with a peer that
    stopped answering.
    """

    def __init__(self, *, max_frame: int = MAX_FRAME, close_timeout: float = 2.0) -> None:
        try:
            import websockets  # noqa: F401
        except ImportError as missing:
            raise ConfigurationError(
                "streams need the stream extra (websockets is missing): "
                "pip install 'asyncexch[stream]'"
            ) from missing
        self._max_frame = max_frame
        self._close_timeout = close_timeout

    async def __call__(self, url: str) -> _WebsocketsConnection:
        from websockets.asyncio.client import connect

        # open_timeout=None: the stream bounds the opening on its own clock.
        connection = await connect(
            url,
            open_timeout=None,
            ping_interval=None,
            close_timeout=self._close_timeout,
            max_size=self._max_frame,
        )
        return _WebsocketsConnection(connection)

    def __repr__(self) -> str:
        return "WebsocketsConnector()"


class _WebsocketsConnection:
    """A ``websockets`` client connection seen as a :class:`~asyncexch.StreamConnection`."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send(self, text: str) -> None:
        await self._connection.send(text)

    async def receive(self) -> str:
        frame = await self._connection.recv()
        # Venues send text frames; a binary one is read as UTF-8 text all the same.
        return frame if isinstance(frame, str) else frame.decode("utf-8", "replace")

    async def close(self) -> None:
        await self._connection.close()
