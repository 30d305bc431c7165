"""pytest fixtures for testing a bot against the simulators (registered automatically).

Bybit:

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
  after the test.
* ``bybit_stream_client``: a client of ``bybit_sim_server`` over the loopback port, so that
  live quotes (``advance_earn.stream()``, ``watch_quotes``) reach the simulator's
  ``/v5/public/fp`` (faults: ``bybit_sim.offer_stream``); closed after the test. Needs the
  ``stream`` extra, and the real-time clock (a ``bybit_sim`` on a ``VirtualClock`` is
  refused: virtual time cannot govern a real socket).

ChainUP, the same four: ``chainup_sim`` (marker ``chainup_sim``), ``chainup_sim_server``,
``chainup_client_factory`` and ``chainup_client``.

The async fixtures need pytest-asyncio. No configuration is needed: a coroutine test that
uses ``bybit_client`` or ``chainup_client`` runs on asyncio even in pytest-asyncio's strict
mode (other async tests still need ``@pytest.mark.asyncio`` or ``asyncio_mode = "auto"``).
The simulators need the ``sim`` extra; nothing is imported until a fixture is used.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy
import pytest

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from ._clock import Clock
    from .bybit import BybitClient
    from .chainup import ChainupContractClient
    from .sim import BybitSimulator, ChainupSimulator, SimServer

__all__ = ["SIM_API_KEY", "SIM_API_SECRET"]

C = TypeVar("C")
SIM_API_KEY = "sim-key"
SIM_API_SECRET = "sim-secret"
#: The fixtures that are coroutines: a test using one runs on asyncio, marked or not.
_ASYNC_FIXTURES = frozenset({"bybit_client", "chainup_client", "bybit_stream_client"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bybit_sim(**options): BybitSimulator keyword arguments for the bybit_sim fixture",
    )
    config.addinivalue_line(
        "markers",
        "chainup_sim(**options): ChainupSimulator keyword arguments for the chainup_sim fixture",
    )


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, pluggy.Result[Any], None]:
    """Mark a coroutine test that uses an async fixture of ours as an asyncio test.

    Innermost of the wrappers (``trylast``), so pytest-asyncio, which turns marked coroutine
    tests into its own items after collection, already sees the mark.
    """
    outcome = yield
    if (
        outcome.exception is not None  # a collection error: pytest reports it as it is
        or not inspect.iscoroutinefunction(obj)
        or not collector.config.pluginmanager.hasplugin("asyncio")
    ):
        return
    collected = outcome.get_result()
    for item in collected if isinstance(collected, list) else [collected]:
        if (
            isinstance(item, pytest.Function)
            and _ASYNC_FIXTURES & set(item.fixturenames)
            and item.get_closest_marker("asyncio") is None
            and item.get_closest_marker("anyio") is None
        ):
            item.add_marker(pytest.mark.asyncio)


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
    from .bybit import BybitClient

    limits = {**bybit_sim.limits, "ip": bybit_sim.ip_limit}
    return _factory(BybitClient, bybit_sim.app, bybit_sim.clock, limits, "http://bybit-sim.test")


@pytest.fixture
def chainup_sim(request: pytest.FixtureRequest) -> ChainupSimulator:
    """A fresh ChainUP simulator with one account, configured by the ``chainup_sim`` marker."""
    from .sim import ChainupSimulator

    marker = request.node.get_closest_marker("chainup_sim")
    simulator = ChainupSimulator(**(marker.kwargs if marker else {}))
    simulator.add_account(SIM_API_KEY, SIM_API_SECRET)
    return simulator


@pytest.fixture
def chainup_sim_server(chainup_sim: ChainupSimulator) -> Iterator[SimServer]:
    """``chainup_sim`` on a free loopback port; ``.url`` is its base URL."""
    from .sim import SimServer

    with SimServer(chainup_sim.app) as server:
        yield server


@pytest.fixture
def chainup_client_factory(
    chainup_sim: ChainupSimulator,
) -> Callable[..., ChainupContractClient]:
    """Build clients wired to ``chainup_sim`` in process; keyword arguments go to
    ChainupContractClient."""
    from .chainup import ChainupContractClient

    return _factory(
        ChainupContractClient,
        chainup_sim.app,
        chainup_sim.clock,
        chainup_sim.limits,
        "http://chainup-sim.test",
    )


def _factory(
    client_type: Callable[..., C],
    app: ASGIApp,
    clock: Clock,
    limits: Mapping[str, tuple[int, float]],
    base_url: str,
) -> Callable[..., C]:
    """Builds clients of ``client_type`` wired to a simulator's ``app`` in process, on its
    clock, with its ``limits``; keyword arguments override any of that."""
    from ._limits import RateLimit
    from .sim import SimTransport

    def build(**options: Any) -> C:
        options.setdefault("base_url", base_url)
        options.setdefault("transport", SimTransport(app))
        options.setdefault(
            "limits", {name: RateLimit(limit, per=per) for name, (limit, per) in limits.items()}
        )
        options.setdefault("clock", clock)
        key = options.pop("api_key", SIM_API_KEY)
        secret = options.pop("api_secret", SIM_API_SECRET)
        return client_type(key, secret, **options)

    return build


try:
    import pytest_asyncio
except ImportError:  # the async fixtures need pytest-asyncio; the others do not
    pass
else:

    @pytest_asyncio.fixture
    async def bybit_client(
        bybit_client_factory: Callable[..., BybitClient],
    ) -> AsyncIterator[BybitClient]:
        """A client wired to ``bybit_sim`` in process, closed after the test."""
        async with bybit_client_factory() as client:
            yield client

    @pytest_asyncio.fixture
    async def bybit_stream_client(
        bybit_client_factory: Callable[..., BybitClient],
        bybit_sim: BybitSimulator,
        bybit_sim_server: SimServer,
    ) -> AsyncIterator[BybitClient]:
        """A client of ``bybit_sim`` over its loopback port: HTTP, and the offer stream.

        Real time only: a ``bybit_sim`` on a :class:`~asyncexch.VirtualClock` is refused
        (``pytest.UsageError``), since virtual time cannot govern a real socket (the
        stream's pings and dead-connection timeout would fire as the clock jumps, and the
        simulator's 30-s pushes would not wait for the frames in flight). Test stream
        timing on the virtual clock with a fake connection (``advance_earn.stream(
        connector=...)``), as asyncexch's own tests do."""
        from ._clock import VirtualClock

        if isinstance(bybit_sim.clock, VirtualClock):
            raise pytest.UsageError(
                "bybit_stream_client needs bybit_sim on the real-time clock, not a "
                "VirtualClock: the stream runs over a real socket"
            )
        client = bybit_client_factory(base_url=bybit_sim_server.url, transport=None)
        async with client:
            yield client

    @pytest_asyncio.fixture
    async def chainup_client(
        chainup_client_factory: Callable[..., ChainupContractClient],
    ) -> AsyncIterator[ChainupContractClient]:
        """A client wired to ``chainup_sim`` in process, closed after the test."""
        async with chainup_client_factory() as client:
            yield client
