"""Shared fixtures: a virtual clock, sessions over the fake venue on respx, Bybit and ChainUP
clients on respx or on a simulator, the hypothesis profile.

What the tests build (envelopes, orders, constants) is in ``tests.builders``."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest
import respx
from hypothesis import settings

from asyncexch import RetryPolicy, Session, TransportChoice, VirtualClock
from asyncexch.bybit import BybitClient
from asyncexch.chainup import ChainupContractClient
from tests.builders import bybit, chainup, fake_venue
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
def fake_mock(clock: VirtualClock) -> Iterator[respx.MockRouter]:
    """The fake venue (``tests.builders.fake_venue``) on respx. Its time endpoint answers
    with the virtual clock's time (tests that need another clock mock the route again)."""
    with respx.mock(base_url=fake_venue.BASE_URL, assert_all_called=False) as router:
        router.get(fake_venue.TIME_PATH).mock(
            side_effect=lambda request: fake_venue.ok(time=fake_venue.now_ms(clock))
        )
        yield router


@pytest.fixture
async def make_session(
    clock: VirtualClock, fake_mock: respx.MockRouter
) -> AsyncIterator[Callable[..., Session]]:
    """Build Sessions over a :class:`~tests.builders.fake_venue.FakeVenue` (or the ``venue=``
    given) on the virtual clock, talking to ``fake_mock``, their jitter drawn from a seeded
    ``random.Random``; closed at the end."""
    sessions: list[Session] = []

    def build(venue: fake_venue.FakeVenue | None = None, **kwargs: Any) -> Session:
        kwargs.setdefault("base_url", fake_venue.BASE_URL)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, deadline=60.0))
        kwargs.setdefault("rng", random.Random(1))
        session = Session(venue or fake_venue.FakeVenue(), **kwargs)
        sessions.append(session)
        return session

    yield build
    for session in sessions:
        await session.aclose()


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    """A Session over the fake venue with the defaults of ``make_session``."""
    return make_session()


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
