"""The pytest plugin: its fixtures, here and in a user's own test suite (run with pytester)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from asyncexch import BadParameter, InvalidRequest, VirtualClock
from asyncexch.bybit import BybitClient, LiveQuote, StakeOrder
from asyncexch.pytest_plugin import SIM_API_KEY, SIM_API_SECRET
from asyncexch.sim import BybitSimulator, Faults, SimServer
from asyncexch.sim._bybit import DEFAULT_LIMITS

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

USER_TESTS = """
from decimal import Decimal

import pytest

from asyncexch.bybit import StakeOrder


@pytest.mark.bybit_sim(settlement_delay=0.1, limits={"place_order": (20, 1.0)})
async def test_my_bot(bybit_client, bybit_sim):
    assert bybit_sim.settlement_delay == 0.1
    assert bybit_sim.limits["place_order"] == (20, 1.0)
    quote = await bybit_client.advance_earn.quote("13015")
    order = StakeOrder(
        product_id="13015",
        coin="USDT",
        amount=Decimal("100"),
        initial_price=quote.current_price,
        breakeven_price=quote.breakeven_price,
    )
    ack = await bybit_client.advance_earn.place_order(order)
    held = list(bybit_sim.orders.values())
    assert [(o.order_id, o.order_link_id) for o in held] == [(ack.order_id, order.order_link_id)]
    assert held[0].amount == Decimal("100")
    info = await bybit_client.advance_earn.wait_for_order(ack, timeout=10, poll_interval=0.05)
    assert str(info.status) == "Success"
    assert len(bybit_sim.positions) == 1
"""


def test_a_user_suite_runs_a_bot_against_the_simulator(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_user_bot=USER_TESTS)
    result = pytester.runpytest("-p", "asyncio", "--strict-markers")
    result.assert_outcomes(passed=1)


ZERO_CONFIG_TESTS = """
from decimal import Decimal

import pytest

from asyncexch.bybit import StakeOrder
from asyncexch.chainup import TakeOrder


async def test_bybit_without_any_mark(bybit_client, bybit_sim):
    quote = await bybit_client.advance_earn.quote("13015")
    ack = await bybit_client.advance_earn.place_order(
        StakeOrder.from_quote(quote, amount=Decimal("100"))
    )
    assert [o.order_id for o in bybit_sim.orders.values()] == [ack.order_id]


@pytest.mark.chainup_sim(fill_delay=0.0)
async def test_chainup_without_any_mark(chainup_client, chainup_sim):
    await chainup_client.contracts()
    created = await chainup_client.take_order(
        TakeOrder(contract_id=1, side="BUY", volume=Decimal("1"), order_type="MARKET", level=10)
    )
    assert created.order_id in chainup_sim.orders


def test_the_servers(bybit_sim_server, chainup_sim_server):
    assert bybit_sim_server.url != chainup_sim_server.url
"""


def test_a_project_without_configuration_runs_the_fixtures(pytester: pytest.Pytester) -> None:
    """No ini: pytest-asyncio is in strict mode, and the tests are not marked."""
    pytester.makepyfile(test_zero_config=ZERO_CONFIG_TESTS)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_the_one_documented_line_leaves_no_warning(pytester: pytest.Pytester) -> None:
    """pytest-asyncio warns about its own unset loop scope in any project; the README's one
    line settles it, and the plugin adds no warning of its own (every warning an error)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_zero_config=ZERO_CONFIG_TESTS)

    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_a_collection_error_is_reported_as_it_is(pytester: pytest.Pytester) -> None:
    """The plugin's hook stands aside when collecting a test fails (any project's)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_broken="""
import pytest

@pytest.mark.parametrize("nope", [1])
async def test_wrong_parameters(bybit_client):
    pass
"""
    )

    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    assert "PluggyTeardownRaisedWarning" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*function uses no argument 'nope'*"])


def test_both_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")

    result.stdout.fnmatch_lines(
        ["@pytest.mark.bybit_sim(**options)*", "@pytest.mark.chainup_sim(**options)*"]
    )


def test_a_failing_user_test_fails(pytester: pytest.Pytester) -> None:
    # The harness above can report a failure: a wrong expectation about the simulator fails.
    pytester.makeini(INI)
    pytester.makepyfile(
        test_user_wrong="""
import pytest

@pytest.mark.bybit_sim(settlement_delay=0.1)
async def test_wrong(bybit_client, bybit_sim):
    await bybit_client.advance_earn.products()
    assert bybit_sim.orders, "no order was placed"
"""
    )
    result = pytester.runpytest("-p", "asyncio")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no order was placed*"])


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.bybit_sim(**options)*"])


def test_bybit_sim_has_the_documented_defaults(bybit_sim: BybitSimulator) -> None:
    assert bybit_sim.limits == dict(DEFAULT_LIMITS)
    assert bybit_sim.settlement_delay == 1.0
    assert bybit_sim.idempotency == "error"
    assert bybit_sim.faults == Faults()
    account = bybit_sim.accounts[SIM_API_KEY]
    assert account.secret == SIM_API_SECRET
    assert bybit_sim.orders == {}


@pytest.mark.bybit_sim(idempotency="same_order_id", faults=Faults(rate=0.2, seed=3))
def test_the_marker_configures_bybit_sim(bybit_sim: BybitSimulator) -> None:
    assert bybit_sim.idempotency == "same_order_id"
    assert bybit_sim.faults == Faults(rate=0.2, seed=3)
    assert SIM_API_KEY in bybit_sim.accounts


def test_bybit_sim_server_answers_on_loopback(bybit_sim_server: SimServer) -> None:
    assert bybit_sim_server.url.startswith("http://127.0.0.1:")
    response = httpx.get(bybit_sim_server.url + "/v5/market/time", timeout=10.0)
    assert response.status_code == 200
    data = response.json()
    assert data["retCode"] == 0
    assert set(data["result"]) == {"timeSecond", "timeNano"}
    # Read a moment apart on real time, so a second may tick over in between.
    assert 0 <= data["time"] // 1000 - int(data["result"]["timeSecond"]) <= 1


@pytest.mark.bybit_sim(limits={"order": (7, 1.0)})
async def test_bybit_client_factory_builds_clients_on_the_simulator(
    bybit_client_factory: Callable[..., BybitClient], bybit_sim: BybitSimulator
) -> None:
    client = bybit_client_factory(limits=False)
    assert isinstance(client, BybitClient)
    async with client:
        products = await client.advance_earn.products()
        assert {product.product_id for product in products} == set(bybit_sim.products)
        orders = [item async for item in client.advance_earn.orders()]
        assert orders == []
    assert bybit_sim.stats.requests["product"] == 1
    assert bybit_sim.stats.requests["order"] == 1


async def test_bybit_client_places_orders_on_bybit_sim(
    bybit_client: BybitClient, bybit_sim: BybitSimulator
) -> None:
    quote = await bybit_client.advance_earn.quote("13016")
    assert quote.breakeven_price is not None
    order = StakeOrder(
        product_id="13016",
        coin="USDT",
        amount=Decimal("25"),
        initial_price=quote.current_price,
        breakeven_price=quote.breakeven_price,
    )
    ack = await bybit_client.advance_earn.place_order(order)
    assert [o.order_id for o in bybit_sim.orders_for(SIM_API_KEY)] == [ack.order_id]
    assert bybit_sim.orders[ack.order_id].order_link_id == order.order_link_id
    assert bybit_sim.orders[ack.order_id].product_id == "13016"


@pytest.mark.bybit_sim(clock=VirtualClock(start=1_700_000_000.0), quote_ttl=30.0)
async def test_client_and_simulator_agree_on_when_a_quote_expires(
    bybit_client: BybitClient, bybit_sim: BybitSimulator
) -> None:
    earn = bybit_client.advance_earn
    await earn.products()
    fresh = await earn.quote("13016")
    placed = await earn.place_order(StakeOrder.from_quote(fresh, amount=Decimal("25")))
    assert bybit_sim.orders[placed.order_id].breakeven_price == fresh.breakeven_price

    old = await earn.quote("13016")
    clock = bybit_sim.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(29.0)  # 1 s left: inside the 2 s an order needs
    with pytest.raises(InvalidRequest) as refused:
        StakeOrder.from_quote(old, amount=Decimal("25"))
    assert refused.value.field == "quote"
    # Built by hand past the check, the exchange refuses it once the quote has expired.
    late = StakeOrder(
        product_id="13016",
        coin="USDT",
        amount=Decimal("25"),
        initial_price=old.current_price,
        breakeven_price=old.breakeven_price or Decimal("1"),
    )
    clock.advance(1.5)
    with pytest.raises(BadParameter) as caught:
        await earn.place_order(late)
    assert caught.value.code == 180006
    assert len(bybit_sim.orders) == 1


async def test_from_quote_checks_the_listed_products_rules(bybit_client: BybitClient) -> None:
    earn = bybit_client.advance_earn
    await earn.products()
    quote = await earn.quote("13016")
    assert quote.product is not None and quote.product.min_purchase_amount == Decimal("10")
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(quote, amount=Decimal("9.9999"))
    assert caught.value.field == "amount"
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(quote, amount=Decimal("10.00001"))  # 4 decimal places at most
    assert caught.value.field == "amount"


async def test_bybit_stream_client_reads_the_simulators_offer_stream(
    bybit_stream_client: BybitClient, bybit_sim: BybitSimulator
) -> None:
    quotes = bybit_stream_client.advance_earn.dual_assets.watch_quotes(None)
    first = await asyncio.wait_for(anext(quotes), 10)
    assert isinstance(first, LiveQuote)
    assert first.product_id in bybit_sim.dual_assets_products
    await quotes.aclose()
    assert bybit_sim.offer_stream.stats.subscriptions == {"earn.dualassets.offers": 1}


VIRTUAL_STREAM_TESTS = """
import pytest

from asyncexch import VirtualClock


@pytest.mark.bybit_sim(clock=VirtualClock(start=1_700_000_000))
async def test_a_stream_on_virtual_time(bybit_stream_client):
    pass
"""


def test_bybit_stream_client_refuses_a_simulator_on_virtual_time(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_virtual_stream=VIRTUAL_STREAM_TESTS)
    result = pytester.runpytest("-p", "asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*bybit_stream_client needs bybit_sim on the real-time clock, not a VirtualClock*"]
    )
