"""Shared fixtures: a virtual clock, Bybit and ChainUP clients on respx or on a simulator, the
hypothesis profile.

What the tests build (envelopes, orders, constants) is in ``tests.builders``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest
import respx
from hypothesis import settings

from asyncexch import RetryPolicy, TransportChoice, VirtualClock
from asyncexch.bybit import BybitClient
from asyncexch.chainup import ChainupContractClient
from tests.builders import bybit, chainup
from tests.builders.sim import SimClients

# Property tests check behaviour, not speed: no per-example deadline (a stalled machine would
# fail them by wall-clock luck). CI explores the same examples on every run, so a red build is
# a change in the code, not a new random draw; runs elsewhere keep exploring.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def clock() -> VirtualClock:
    """Virtual time starting at ``bybit.SERVER_MS``, so local and server clocks agree."""
    return VirtualClock(start=bybit.SERVER_MS / 1000)


@pytest.fixture(params=["httpx", "aiohttp"])
def http_transport(request: pytest.FixtureRequest) -> TransportChoice:
    """Each HTTP stack a client can send through, in turn: ``transport=http_transport``."""
    return cast(TransportChoice, request.param)


@pytest.fixture
def bybit_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=bybit.BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def make_client(
    clock: VirtualClock, bybit_mock: respx.MockRouter
) -> AsyncIterator[Callable[..., BybitClient]]:
    """Build BybitClients on the virtual clock, talking to ``bybit_mock``; closed at the end."""
    clients: list[BybitClient] = []

    def build(**kwargs: Any) -> BybitClient:
        kwargs.setdefault("base_url", bybit.BASE_URL)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, deadline=60.0))
        key, secret = (
            kwargs.pop("api_key", bybit.API_KEY),
            kwargs.pop("api_secret", bybit.API_SECRET),
        )
        client = BybitClient(key, secret, **kwargs)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def chainup_mock() -> Iterator[respx.MockRouter]:
    """The ChainUP venue on respx. Its order lists start empty: before its first order on a
    contract a client looks at them once (tests that serve lists mock the route again)."""
    with respx.mock(base_url=chainup.BASE_URL, assert_all_called=False) as router:
        router.post("/api/order_list_v2").mock(
            return_value=chainup.ok({"count": 0, "orderList": []})
        )
        yield router


@pytest.fixture
async def make_chainup_client(
    clock: VirtualClock, chainup_mock: respx.MockRouter
) -> AsyncIterator[Callable[..., ChainupContractClient]]:
    """Build ChainupContractClients on the virtual clock, talking to ``chainup_mock``."""
    clients: list[ChainupContractClient] = []

    def build(**kwargs: Any) -> ChainupContractClient:
        kwargs.setdefault("base_url", chainup.BASE_URL)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, deadline=60.0))
        key = kwargs.pop("api_key", chainup.API_KEY)
        secret = kwargs.pop("api_secret", chainup.API_SECRET)
        client = ChainupContractClient(key, secret, **kwargs)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def sim_client() -> SimClients:
    """Clients wired to a simulator in process, on its clock:
    ``async with sim_client.bybit(sim, KEY, SECRET, **options) as client`` (``.chainup`` for
    ChainUP). ``tests/integration`` overrides it to serve the simulator on 127.0.0.1."""
    return SimClients()
