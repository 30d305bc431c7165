"""Clients wired to a simulator: in process, or through a loopback server and an HTTP stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from starlette.types import ASGIApp

from asyncexch import Clock, TransportChoice
from asyncexch.bybit import BybitClient
from asyncexch.chainup import ChainupContractClient
from asyncexch.pytest_plugin import SIM_API_KEY, SIM_API_SECRET
from asyncexch.sim import BybitSimulator, ChainupSimulator, SimServer, SimTransport

C = TypeVar("C", BybitClient, ChainupContractClient)


class SimClients:
    """Builds clients that call a simulator; each is an ``async with`` that closes it.

    In process (``over=None``) a client calls the simulator's app through
    :class:`~asyncexch.sim.SimTransport`, on the simulator's clock. Otherwise ``over`` names
    the HTTP stack, and the simulator is served by uvicorn on 127.0.0.1 while the client is
    open. Keyword options go to the client and override any of that; ``app`` serves the
    simulator through a wrapper of its app (to watch what reaches it). The simulator needs an
    account for ``key`` (``sim.add_account(key, secret)``): the tests say which.
    """

    def __init__(self, over: TransportChoice | None = None) -> None:
        self.over = over

    def bybit(
        self,
        sim: BybitSimulator,
        key: str = SIM_API_KEY,
        secret: str = SIM_API_SECRET,
        *,
        app: ASGIApp | None = None,
        **options: Any,
    ) -> AbstractAsyncContextManager[BybitClient]:
        """A :class:`BybitClient` calling ``sim``."""
        return self._wired(BybitClient, app or sim.app, sim.clock, key, secret, options)

    def chainup(
        self,
        sim: ChainupSimulator,
        key: str = SIM_API_KEY,
        secret: str = SIM_API_SECRET,
        *,
        app: ASGIApp | None = None,
        **options: Any,
    ) -> AbstractAsyncContextManager[ChainupContractClient]:
        """A :class:`ChainupContractClient` calling ``sim``."""
        return self._wired(ChainupContractClient, app or sim.app, sim.clock, key, secret, options)

    @asynccontextmanager
    async def _wired(
        self,
        client_type: Callable[..., C],
        app: ASGIApp,
        clock: Clock,
        key: str,
        secret: str,
        options: dict[str, Any],
    ) -> AsyncIterator[C]:
        async with AsyncExitStack() as stack:
            if self.over is None:
                options.setdefault("base_url", "http://sim.test")
                options.setdefault("transport", SimTransport(app))
                options.setdefault("clock", clock)
            else:
                server = await stack.enter_async_context(SimServer(app))
                options.setdefault("base_url", server.url)
                options.setdefault("transport", self.over)
            yield await stack.enter_async_context(client_type(key, secret, **options))
