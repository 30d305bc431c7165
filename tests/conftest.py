"""Shared test helpers: a virtual clock, Bybit envelopes and a client bound to respx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from asyncexch import RetryPolicy, VirtualClock
from asyncexch.bybit import BybitClient

BASE_URL = "https://api.bybit.test"
API_KEY = "XXXXXXXXXX"
API_SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
SERVER_MS = 1_700_000_000_000


def ok(
    result: Any, *, time: int = SERVER_MS, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A Bybit success envelope."""
    return httpx.Response(
        200,
        json={"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time},
        headers=headers,
    )


def fail(
    code: int,
    message: str = "error",
    *,
    time: int = SERVER_MS,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A Bybit error envelope."""
    return httpx.Response(
        200,
        json={"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": time},
        headers=headers,
    )


@pytest.fixture
def clock() -> VirtualClock:
    """Virtual time starting at SERVER_MS, so local and server clocks agree."""
    return VirtualClock(start=SERVER_MS / 1000)


@pytest.fixture
def bybit_mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def make_client(
    clock: VirtualClock, bybit_mock: respx.MockRouter
) -> AsyncIterator[Callable[..., BybitClient]]:
    """Build BybitClients on the virtual clock, talking to ``bybit_mock``; closed at the end."""
    clients: list[BybitClient] = []

    def build(**kwargs: Any) -> BybitClient:
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, deadline=60.0))
        key, secret = kwargs.pop("api_key", API_KEY), kwargs.pop("api_secret", API_SECRET)
        client = BybitClient(key, secret, **kwargs)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()
