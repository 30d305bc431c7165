"""Two ways to reach a simulator: in process, or on a real loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from ._exchange import ConnectionDropped

__all__ = ["SimServer", "SimTransport", "dropping"]


class SimTransport(httpx.AsyncBaseTransport):
    """Calls an ASGI simulator in process; a dropped connection raises ``httpx.ReadError``."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.ReadError("the simulator dropped the connection", request=request) from None


def dropping(app: ASGIApp) -> ASGIApp:
    """Let uvicorn drop the connection: return with the answer started but not finished."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except ConnectionDropped:
            return

    return wrapped


class SimServer:
    """A simulator served by uvicorn on a loopback port, in a thread of its own.

    Use it as a context manager (sync or async); ``url`` is where it listens. The thread runs
    its own event loop, so the simulator's timing does not share the caller's loop.
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "critical"
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        address = self._socket.getsockname()
        #: Where the server listens (the port the system chose when ``port`` was 0).
        self.host: str = address[0]
        self.port: int = address[1]
        config = uvicorn.Config(
            dropping(app), log_level=log_level, lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="asyncexch-sim", daemon=True)

    @property
    def url(self) -> str:
        """The base URL of the running simulator."""
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def start(self) -> SimServer:
        """Start serving; returns once the port accepts connections."""
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the simulator server failed to start")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SimServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
