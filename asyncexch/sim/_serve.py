"""Two ways to reach a simulator: in process, or on a real loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._exchange import ConnectionDropped

__all__ = ["SimServer", "SimTransport", "dropping", "simulator_app"]


class SimTransport(httpx.AsyncBaseTransport):
    """Calls an ASGI simulator in process; a dropped connection raises ``httpx.ReadError``.

    The app gets each request as :class:`httpx.ASGITransport` hands it over (the same scope,
    the body whole), and the answer is read as it reads it (no body for ``HEAD``); the app's
    exceptions reach the caller. A simulator's own endpoints (what its app names in
    ``app.state.in_process_endpoints``: the endpoint of each method and path) are called
    straight, without the app's router and middleware, which do nothing for them and cost
    ~16 µs a request; any other request, and every request once middleware has been added to
    the app (``add_middleware``), goes through the whole app.
    """

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._app = app
        self._client = client
        self._endpoints: Mapping[tuple[str, str], Endpoint] = getattr(
            getattr(app, "state", None), IN_PROCESS_ENDPOINTS, {}
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": self._client,
            "root_path": "",
        }
        messages = _Messages(await request.aread(), request.method == "HEAD")
        # Middleware added to the app since (``app.add_middleware``) must see every request.
        endpoint = (
            None
            if getattr(self._app, "user_middleware", None)
            else self._endpoints.get((request.method, url.path))
        )
        try:
            if endpoint is None:
                await self._app(scope, messages.receive, messages.send)
            else:
                scope["app"] = self._app
                scope["path_params"] = {}
                answer = await endpoint(Request(scope, messages.receive))
                await answer(scope, messages.receive, messages.send)
        except ConnectionDropped:
            raise httpx.ReadError("the simulator dropped the connection", request=request) from None
        return messages.response()


#: The attribute of a Starlette app's ``state`` naming the endpoints :class:`SimTransport`
#: may call straight: ``{(method, path): endpoint}``.
IN_PROCESS_ENDPOINTS = "in_process_endpoints"

Endpoint = Callable[[Request], Awaitable[Response]]


def simulator_app(routes: Sequence[BaseRoute]) -> Starlette:
    """A simulator's Starlette app of ``routes``, its plain HTTP routes named in its state for
    :class:`SimTransport` (``HEAD`` is left to the app, which answers it as Starlette does)."""
    app = Starlette(routes=list(routes))
    setattr(
        app.state,
        IN_PROCESS_ENDPOINTS,
        {
            (method, route.path): route.endpoint
            for route in routes
            if type(route) is Route and not route.param_convertors
            for method in sorted(route.methods or ())
            if method != "HEAD"
        },
    )
    return app


class _Messages:
    """One request's ASGI messages: the body, whole, then a disconnect once answered; the
    answer collected as :class:`httpx.ASGITransport` collects it."""

    __slots__ = (
        "_answered",
        "_body",
        "_head",
        "_headers",
        "_parts",
        "_received",
        "_status",
        "_waiter",
    )

    def __init__(self, body: bytes, head: bool) -> None:
        self._body = body
        self._head = head
        self._received = False
        self._answered = False
        #: What a receive after the body waits on (a streaming answer listening for the
        #: disconnect), made only then.
        self._waiter: asyncio.Future[None] | None = None
        self._status: int | None = None
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._parts: list[bytes] = []

    async def receive(self) -> Message:
        if self._received:
            if not self._answered:
                if self._waiter is None:
                    self._waiter = asyncio.get_running_loop().create_future()
                await asyncio.shield(self._waiter)
            return {"type": "http.disconnect"}
        self._received = True
        return {"type": "http.request", "body": self._body, "more_body": False}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            assert self._status is None
            self._status = message["status"]
            self._headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            assert not self._answered
            body = message.get("body", b"")
            if body and not self._head:
                self._parts.append(body)
            if not message.get("more_body", False):
                self._answered = True
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_result(None)

    def response(self) -> httpx.Response:
        assert self._answered and self._status is not None and self._headers is not None
        return httpx.Response(
            self._status, headers=self._headers, stream=httpx.ByteStream(b"".join(self._parts))
        )


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
