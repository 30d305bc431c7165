"""A raw HTTP/1.1 server on 127.0.0.1 for tests that need a server to misbehave exactly.

Each server is an ``asyncio.start_server`` that reads requests byte by byte and lets a
``Respond`` function answer (or not). It stops by itself when the ``async with`` ends,
cancelling whatever its connections still wait for.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any

HOST = "127.0.0.1"

#: What a server does with a request it read: write to the connection, then True to keep
#: reading requests on it, False to close it.
Respond = Callable[[asyncio.StreamWriter, bytes, bytes], Awaitable[bool]]


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class RawServer:
    """Reads HTTP/1.1 requests on 127.0.0.1 and lets ``respond`` answer each, or not.

    ``requests`` holds every request as read: the head (request line and header lines, as
    bytes) and the body. Closing the server cancels whatever its connections still wait for.
    """

    def __init__(
        self, respond: Respond, *, tls: ssl.SSLContext | None = None, backlog: int = 100
    ) -> None:
        self.respond = respond
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self._tls = tls
        self._backlog = backlog
        self.closed = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{HOST}:{self.port}"

    @property
    def request_lines(self) -> list[bytes]:
        return [head.split(b"\r\n", 1)[0] for head, _ in self.requests]

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(
            self._serve, HOST, self.port, ssl=self._tls, backlog=self._backlog
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._converse(reader, writer)
        except asyncio.CancelledError:
            pass  # the server is closing (and 3.11 logs a cancelled connection task as an error)
        finally:
            writer.close()
            self.closed += 1

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_content_length(head))
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            self.requests.append((head[:-4], body))
            if not await self.respond(writer, head, body):
                return


def answer(
    body: bytes = b"",
    *,
    status: bytes = b"200 OK",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> Respond:
    """Answer with ``body``; ``Content-Length`` is added unless ``headers`` frame the body."""

    async def respond(writer: asyncio.StreamWriter, head: bytes, request_body: bytes) -> bool:
        lines = [b"HTTP/1.1 " + status, *(name + b": " + value for name, value in headers)]
        if not any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers
        ):
            lines.append(b"Content-Length: %d" % len(body))
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await writer.drain()
        return True

    return respond


async def close_before_answering(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    return False


async def cut_body_short(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    return False


async def stall_in_body(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    """The headers and a tenth of a stated body, then nothing (until the server closes)."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    await asyncio.Event().wait()
    return False


async def garbage_status_line(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    writer.write(b"SPAM SPAM SPAM\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    return False


async def reset_connection(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # SO_LINGER 0: the close sends RST, not FIN
    return False


async def never_answer(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
    await asyncio.Event().wait()  # until the server closes
    return False
