"""The loopback suite runs on both HTTP stacks (``http_transport``): httpx's own transport and
aiohttp's."""

from __future__ import annotations

import pytest

from asyncexch import TransportChoice
from tests.builders.sim import SimClients


@pytest.fixture
def sim_client(http_transport: TransportChoice) -> SimClients:
    """Here a client reaches its simulator over a real socket: the simulator is served on
    127.0.0.1 while the client is open, and the client sends through ``http_transport``."""
    return SimClients(over=http_transport)
