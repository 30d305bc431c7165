"""The Bybit simulator tests' ``raw``: hand-built, hand-signed requests to the test module's
own ``sim`` fixture, in process (a module may define its own ``raw``, as ChainUP's does)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asyncexch.sim import BybitSimulator, SimTransport
from tests.builders.raw_bybit import BASE_URL, Raw


@pytest.fixture
async def raw(sim: BybitSimulator) -> AsyncIterator[Raw]:
    async with httpx.AsyncClient(transport=SimTransport(sim.app), base_url=BASE_URL) as http:
        yield Raw(sim, http)
