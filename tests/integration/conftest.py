"""The loopback suite runs on both HTTP stacks: httpx's own transport and aiohttp's."""

from __future__ import annotations

from typing import cast

import pytest

from asyncexch import TransportChoice


@pytest.fixture(params=["httpx", "aiohttp"])
def http_transport(request: pytest.FixtureRequest) -> TransportChoice:
    """What the clients of a loopback test send through: ``transport=http_transport``."""
    return cast(TransportChoice, request.param)
