"""pytest fixtures for testing a bot against the Bybit simulator (registered automatically).

* ``bybit_sim``: a :class:`~asyncexch.sim.BybitSimulator` with one account
  (``SIM_API_KEY``/``SIM_API_SECRET``). Options come from the ``bybit_sim`` marker, which takes
  the simulator's keyword arguments::

      @pytest.mark.bybit_sim(settlement_delay=0.2, faults=Faults(rate=0.2, seed=3),
                             limits={"place_order": (20, 1.0)})
      async def test_my_bot(bybit_client, bybit_sim): ...

* ``bybit_sim_server``: the simulator served by uvicorn on a free loopback port (``.url``),
  for bots that open their own connections or run in another process.
* ``bybit_client_factory``: builds :class:`~asyncexch.bybit.BybitClient` objects wired to the
  simulator in process, with the simulator's limits; ``bybit_client``: one such client, closed
  after the test (needs pytest-asyncio).

The simulator needs the ``sim`` extra; nothing is imported until a fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .bybit import BybitClient
    from .sim import BybitSimulator, SimServer

__all__ = ["SIM_API_KEY", "SIM_API_SECRET"]

SIM_API_KEY = "sim-key"
SIM_API_SECRET = "sim-secret"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bybit_sim(**options): BybitSimulator keyword arguments for the bybit_sim fixture",
    )


@pytest.fixture
def bybit_sim(request: pytest.FixtureRequest) -> BybitSimulator:
    """A fresh simulator with one account, configured by the ``bybit_sim`` marker."""
    from .sim import BybitSimulator

    marker = request.node.get_closest_marker("bybit_sim")
    simulator = BybitSimulator(**(marker.kwargs if marker else {}))
    simulator.add_account(SIM_API_KEY, SIM_API_SECRET)
    return simulator


@pytest.fixture
def bybit_sim_server(bybit_sim: BybitSimulator) -> Iterator[SimServer]:
    """``bybit_sim`` on a free loopback port; ``.url`` is its base URL."""
    from .sim import SimServer

    with SimServer(bybit_sim.app) as server:
        yield server


@pytest.fixture
def bybit_client_factory(bybit_sim: BybitSimulator) -> Callable[..., BybitClient]:
    """Build clients wired to ``bybit_sim`` in process; keyword arguments go to BybitClient."""
    from ._limits import RateLimit
    from .bybit import BybitClient
    from .sim import SimTransport

    def build(**options: Any) -> BybitClient:
        limits = {
            name: RateLimit(limit, per=per) for name, (limit, per) in bybit_sim.limits.items()
        }
        limits["ip"] = RateLimit(bybit_sim.ip_limit[0], per=bybit_sim.ip_limit[1])
        options.setdefault("base_url", "http://bybit-sim.test")
        options.setdefault("transport", SimTransport(bybit_sim.app))
        options.setdefault("limits", limits)
        options.setdefault("clock", bybit_sim.clock)
        key = options.pop("api_key", SIM_API_KEY)
        secret = options.pop("api_secret", SIM_API_SECRET)
        return BybitClient(key, secret, **options)

    return build


try:
    import pytest_asyncio
except ImportError:  # the async fixture needs pytest-asyncio; the others do not
    pass
else:

    @pytest_asyncio.fixture
    async def bybit_client(
        bybit_client_factory: Callable[..., BybitClient],
    ) -> AsyncIterator[BybitClient]:
        """A client wired to ``bybit_sim`` in process, closed after the test."""
        async with bybit_client_factory() as client:
            yield client
