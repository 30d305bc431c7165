"""Every bad answer class surfaces as its typed error, over a real loopback socket.

Faults are injected by the simulator served with uvicorn, so drops are real dropped TCP
connections and truncated bodies are really cut short on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from asyncexch import (
    AuthenticationError,
    ExchangeError,
    InsufficientBalance,
    MalformedResponse,
    OrderAlreadyExists,
    OrderStatusUnknown,
    Outcome,
    RetryPolicy,
    ServiceUnavailable,
    SlippageExceeded,
    TransportError,
)
from asyncexch.bybit import OrderAck
from asyncexch.sim import BybitSimulator, Fault, Faults
from asyncexch.sim._faults import FaultPlan
from tests.builders.bybit import SIM_PRODUCT_ID, sim_stake_order
from tests.builders.sim import SimClients

pytestmark = [pytest.mark.integration]

KEY = "bad-answers-key"
SECRET = "bad-answers-secret"
NO_RETRIES = RetryPolicy(max_attempts=1)


def _faulty(kind: Fault) -> BybitSimulator:
    sim = BybitSimulator(faults=Faults(rate=1.0, kinds=[kind], seed=1))
    sim.add_account(KEY, SECRET)
    return sim


def _seed_for(pattern: Sequence[bool], *, rate: float, kind: Fault) -> int:
    """A seed whose first requests meet ``kind`` exactly where ``pattern`` says True."""
    for seed in range(10_000):
        plan = FaultPlan(Faults(rate=rate, kinds=[kind], seed=seed))
        if [plan.next_fault() is not None for _ in pattern] == list(pattern):
            return seed
    raise AssertionError(f"no seed gives the fault pattern {pattern}")


# --- faults on a read ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error_type", "code"),
    [
        (Fault.HTTP_5XX, ServiceUnavailable, 502),
        (Fault.BUSY, ServiceUnavailable, 10016),
        (Fault.DROP_BEFORE_COMMIT, TransportError, None),
        (Fault.DROP_AFTER_COMMIT, TransportError, None),
        (Fault.TRUNCATED, MalformedResponse, None),
    ],
    ids=lambda value: value.value if isinstance(value, Fault) else None,
)
async def test_a_faulty_read_raises_its_typed_error(
    kind: Fault, error_type: type[ExchangeError], code: int | None, sim_client: SimClients
) -> None:
    sim = _faulty(kind)
    async with sim_client.bybit(sim, KEY, SECRET, retry=NO_RETRIES) as client:
        with pytest.raises(error_type) as caught:
            await client.advance_earn.quote(SIM_PRODUCT_ID)

    error = caught.value
    assert type(error) is error_type
    assert error.outcome is Outcome.UNKNOWN  # a read that may have been answered
    if code is not None:
        assert isinstance(error, ServiceUnavailable)
        assert error.code == code
        assert error.venue == "bybit"
    if kind is Fault.HTTP_5XX:
        assert isinstance(error, ServiceUnavailable)
        assert error.http_status == 502
    if isinstance(error, MalformedResponse):
        assert error.status_code == 200
        assert error.excerpt.startswith('{"retCode":0')
    assert sim.stats.requests["quote"] == 1  # max_attempts=1: no retry
    assert sim.stats.faults == {kind.value: 1}


# --- faults on an order -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cause_type", "cause_code"),
    [
        (Fault.TIMEOUT_AFTER_COMMIT, ServiceUnavailable, 10000),
        (Fault.HTTP_5XX, ServiceUnavailable, 502),
        (Fault.DROP_BEFORE_COMMIT, TransportError, None),
        (Fault.DROP_AFTER_COMMIT, TransportError, None),
        (Fault.TRUNCATED, MalformedResponse, None),
    ],
    ids=lambda value: value.value if isinstance(value, Fault) else None,
)
async def test_an_order_whose_answer_is_lost_is_status_unknown(
    kind: Fault,
    cause_type: type[ExchangeError],
    cause_code: int | None,
    sim_client: SimClients,
) -> None:
    sim = _faulty(kind)
    order = sim_stake_order(sim)
    async with sim_client.bybit(sim, KEY, SECRET, retry=NO_RETRIES) as client:
        with pytest.raises(OrderStatusUnknown) as caught:
            await client.advance_earn.place_order(order)

    error = caught.value
    assert error.request is order
    assert error.outcome is Outcome.UNKNOWN
    assert type(error.__cause__) is cause_type
    if cause_code is not None:
        assert isinstance(error.__cause__, ServiceUnavailable)
        assert error.__cause__.code == cause_code
    # The exchange holds the order exactly when the fault hit after the commit.
    held = [placed.order_link_id for placed in sim.orders.values()]
    assert held == ([order.order_link_id] if kind.after_commit else [])
    assert sim.stats.requests["place_order"] == 1
    assert sim.stats.faults == {kind.value: 1}


async def test_busy_on_an_order_is_service_unavailable_and_places_nothing(
    sim_client: SimClients,
) -> None:
    sim = _faulty(Fault.BUSY)
    order = sim_stake_order(sim)
    async with sim_client.bybit(sim, KEY, SECRET, retry=NO_RETRIES) as client:
        with pytest.raises(OrderStatusUnknown) as caught:
            await client.advance_earn.place_order(order)

    cause = caught.value.__cause__
    assert isinstance(cause, ServiceUnavailable)
    assert cause.code == 10016
    assert sim.orders == {}


# --- refusals -----------------------------------------------------------------------------


async def test_an_unknown_key_is_an_authentication_error(sim_client: SimClients) -> None:
    sim = BybitSimulator()
    sim.add_account(KEY, SECRET)
    async with sim_client.bybit(sim, "nobody-knows-this-key", SECRET, retry=NO_RETRIES) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.advance_earn.place_order(sim_stake_order(sim))

    assert caught.value.code == 10003
    assert caught.value.outcome is Outcome.FAILED
    assert sim.orders == {}
    assert sim.stats.rejections == {10003: 1}


async def test_a_wrong_secret_is_an_authentication_error(sim_client: SimClients) -> None:
    sim = BybitSimulator()
    sim.add_account(KEY, SECRET)
    async with sim_client.bybit(sim, KEY, "not-the-secret", retry=NO_RETRIES) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.advance_earn.place_order(sim_stake_order(sim))
        with pytest.raises(AuthenticationError) as caught_read:
            await anext(aiter(client.advance_earn.orders()))

    assert caught.value.code == 10004
    assert caught_read.value.code == 10004
    assert sim.orders == {}
    assert sim.stats.rejections == {10004: 2}


async def test_a_reused_order_link_id_for_another_order_is_order_already_exists(
    sim_client: SimClients,
) -> None:
    sim = BybitSimulator()
    sim.add_account(KEY, SECRET)
    first = sim_stake_order(sim)
    second = sim_stake_order(sim, amount=Decimal("250"), order_link_id=first.order_link_id)
    async with sim_client.bybit(sim, KEY, SECRET, retry=NO_RETRIES) as client:
        ack = await client.advance_earn.place_order(first)
        with pytest.raises(OrderAlreadyExists) as caught:
            await client.advance_earn.place_order(second)
        # The same order object again is not an error: it is acknowledged as the first.
        again = await client.advance_earn.place_order(first)

    assert caught.value.code == 180025
    assert again == ack
    assert [(o.order_link_id, o.amount) for o in sim.orders.values()] == [
        (first.order_link_id, Decimal("100"))
    ]
    assert sim.stats.duplicates_refused == 2


async def test_a_price_that_moved_too_far_is_slippage_exceeded(
    sim_client: SimClients,
) -> None:
    sim = BybitSimulator()
    sim.add_account(KEY, SECRET)
    order = sim_stake_order(sim)
    sim.set_price("BTC", order.initial_price * Decimal("1.2"))
    async with sim_client.bybit(sim, KEY, SECRET, retry=NO_RETRIES) as client:
        with pytest.raises(SlippageExceeded) as caught:
            await client.advance_earn.place_order(order)

    assert caught.value.code == 180030
    assert sim.orders == {}


async def test_an_order_above_the_balance_is_insufficient_balance(
    sim_client: SimClients,
) -> None:
    sim = BybitSimulator()
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("50")})
    async with sim_client.bybit(sim, KEY, SECRET, retry=NO_RETRIES) as client:
        with pytest.raises(InsufficientBalance) as caught:
            await client.advance_earn.place_order(sim_stake_order(sim))
        ack = await client.advance_earn.place_order(sim_stake_order(sim, amount=Decimal("40")))

    assert caught.value.code == 180016
    assert [placed.order_id for placed in sim.orders.values()] == [ack.order_id]
    assert sim.accounts[KEY].balances["USDT"] == Decimal("10")


# --- recovery with retries on -------------------------------------------------------------


async def test_a_retry_after_a_drop_after_commit_is_looked_up_and_acknowledged(
    sim_client: SimClients,
) -> None:
    # Request 1 (the order) is dropped after the commit; the retry and the lookup go through.
    seed = _seed_for([True, False, False, False, False], rate=0.5, kind=Fault.DROP_AFTER_COMMIT)
    sim = BybitSimulator(faults=Faults(rate=0.5, kinds=[Fault.DROP_AFTER_COMMIT], seed=seed))
    sim.add_account(KEY, SECRET)
    order = sim_stake_order(sim)
    async with sim_client.bybit(sim, KEY, SECRET, retry=None) as client:
        ack = await client.advance_earn.place_order(order)

    assert sim.stats.faults == {Fault.DROP_AFTER_COMMIT.value: 1}
    assert sim.stats.requests["place_order"] == 2
    assert sim.stats.rejections == {180025: 1}
    assert sim.stats.duplicates_refused == 1
    assert sim.stats.requests["order"] >= 1
    (placed,) = sim.orders.values()
    assert ack == OrderAck(order_id=placed.order_id, order_link_id=order.order_link_id)


async def test_an_order_whose_lookup_fails_after_180025_is_status_unknown(
    sim_client: SimClients,
) -> None:
    # The order is dropped after the commit, its retry meets 180025, and both attempts of the
    # lookup that would tell whose order it is are dropped too: the state is unknown.
    seed = _seed_for([True, False, True, True], rate=0.5, kind=Fault.DROP_AFTER_COMMIT)
    sim = BybitSimulator(faults=Faults(rate=0.5, kinds=[Fault.DROP_AFTER_COMMIT], seed=seed))
    sim.add_account(KEY, SECRET)
    order = sim_stake_order(sim)
    async with sim_client.bybit(sim, KEY, SECRET, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(OrderStatusUnknown) as caught:
            await client.advance_earn.place_order(order)

    assert sim.stats.faults == {Fault.DROP_AFTER_COMMIT.value: 3}
    assert sim.stats.rejections == {180025: 1}
    assert sim.stats.requests["order"] == 2
    assert len(sim.orders) == 1
    # place_order promises OrderStatusUnknown whenever the venue's state stays unknown, so a
    # caller knows to place the same order again; a bare error of the lookup breaks that.
    assert type(caught.value) is OrderStatusUnknown, repr(caught.value)
    assert caught.value.request is order
