"""ChainupContractClient behaviour: validation, no blind resend, reconcile, pacing, secrets.

``take_order`` has no client order id, so an attempt whose outcome is unknown must never be
sent again: every scenario counts the requests that reached the (respx) wire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import BucketState, RateLimit, RetryPolicy, VirtualClock
from asyncexch.chainup import (
    ChainupContractClient,
    CloseType,
    MarginMode,
    Md5Signer,
    OrderType,
    Side,
    TakeOrder,
    TakeOrderUnknown,
)
from asyncexch.errors import (
    AuthenticationError,
    BadParameter,
    ConfigurationError,
    ExchangeError,
    InvalidRequest,
    MalformedResponse,
    OrderStatusUnknown,
    RateLimited,
    ServiceUnavailable,
    TransportError,
)
from tests.builders.chainup import (
    API_KEY,
    API_SECRET,
    BASE_URL,
    ORDER_LIST,
    TAKE,
    fail,
    ok,
    order,
)
from tests.secret_leaks import assert_no_secret, rendered_with_locals

CREATED = {"orderId": 15598, "liquidationPrice": "6857.054400004785"}

Responder = Callable[[httpx.Request], httpx.Response]


# --- helpers and fixtures -----------------------------------------------------------------


def html(status: int = 502) -> httpx.Response:
    return httpx.Response(status, text="<html><body><h1>502 Bad Gateway</h1></body></html>")


def raises(exc_type: type[httpx.TransportError]) -> Responder:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc_type("injected", request=request)

    return respond


def answers(*steps: httpx.Response | Responder) -> Callable[[httpx.Request], httpx.Response]:
    """A side effect answering step by step; an extra request fails the test."""
    remaining = list(steps)

    def respond(request: httpx.Request) -> httpx.Response:
        assert remaining, f"unexpected extra request {request.method} {request.url}"
        step = remaining.pop(0)
        return step if isinstance(step, httpx.Response) else step(request)

    return respond


def sent(request: httpx.Request) -> dict[str, str]:
    body = json.loads(request.content)
    assert isinstance(body, dict)
    return body


# --- validation before sending ------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": None}, "price"),
        ({"close_type": CloseType.CLOSE}, "position_id"),
        ({"close_type": "close"}, "position_id"),
        ({"volume": Decimal(0)}, "volume"),
        ({"volume": Decimal("-1")}, "volume"),
        ({"volume": Decimal("-0")}, "volume"),
        ({"volume": Decimal("0E-8")}, "volume"),
        ({"volume": Decimal("NaN")}, "volume"),
        ({"volume": Decimal("Infinity")}, "volume"),
        ({"volume": 1.0}, "volume"),
        ({"volume": 1}, "volume"),
        ({"volume": "1"}, "volume"),
        ({"volume": None}, "volume"),
        ({"price": 7000.0}, "price"),
        ({"price": 7000}, "price"),
        ({"price": "7000"}, "price"),
        ({"price": Decimal(0)}, "price"),
        ({"price": Decimal("-7000")}, "price"),
        ({"side": "LONG"}, "side"),
        ({"side": "B"}, "side"),
        ({"side": ""}, "side"),
        ({"side": 1}, "side"),
        ({"side": None}, "side"),
        ({"order_type": "STOP"}, "order_type"),
        ({"order_type": "3"}, "order_type"),
        ({"order_type": 0}, "order_type"),
        ({"order_type": None}, "order_type"),
        ({"close_type": "2"}, "close_type"),
        ({"close_type": "REDUCE"}, "close_type"),
        ({"cop_type": "3"}, "cop_type"),
        ({"cop_type": "hedge"}, "cop_type"),
        ({"contract_id": 0}, "contract_id"),
        ({"contract_id": -1}, "contract_id"),
        ({"contract_id": True}, "contract_id"),
        ({"contract_id": "1"}, "contract_id"),
        ({"contract_id": 1.0}, "contract_id"),
        ({"level": 0}, "level"),
        ({"level": True}, "level"),
        ({"level": "10"}, "level"),
        ({"close_type": CloseType.CLOSE, "position_id": 0}, "position_id"),
        ({"close_type": CloseType.CLOSE, "position_id": True}, "position_id"),
    ],
)
async def test_take_order_refuses_bad_fields_before_sending(
    chainup_mock: respx.MockRouter, overrides: dict[str, Any], field: str
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=ok(CREATED))

    with pytest.raises(InvalidRequest) as caught:
        order(**overrides)

    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"order_type": True}, "order_type"),
        ({"order_type": 1.0}, "order_type"),
        ({"close_type": True, "position_id": 77}, "close_type"),
        ({"cop_type": True}, "cop_type"),
        ({"cop_type": 2.0}, "cop_type"),
    ],
)
def test_take_order_refuses_bools_and_floats_for_enum_fields(
    overrides: dict[str, Any], field: str
) -> None:
    # A bool or a float is neither a member, a name nor a wire value ("1"): order_type=True
    # must not silently become LIMIT, nor cop_type=True CROSS margin.
    with pytest.raises(InvalidRequest) as caught:
        order(**overrides)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"side": "buy", "order_type": "limit"}, (Side.BUY, OrderType.LIMIT)),
        ({"side": "Sell", "order_type": "Market"}, (Side.SELL, OrderType.MARKET)),
        ({"side": "BUY", "order_type": "1"}, (Side.BUY, OrderType.LIMIT)),
        ({"side": Side.SELL, "order_type": "2"}, (Side.SELL, OrderType.MARKET)),
        ({"side": "sell", "order_type": OrderType.MARKET}, (Side.SELL, OrderType.MARKET)),
        ({"side": "BUY", "order_type": 1}, (Side.BUY, OrderType.LIMIT)),
    ],
)
def test_take_order_accepts_members_names_in_any_case_and_wire_values(
    overrides: dict[str, Any], expected: tuple[Side, OrderType]
) -> None:
    built = order(**overrides)
    assert (built.side, built.order_type) == expected
    assert built.side is expected[0] and built.order_type is expected[1]


def test_close_and_margin_mode_accept_names_and_wire_values() -> None:
    for close in ("close", "CLOSE", "1", CloseType.CLOSE):
        assert order(close_type=close, position_id=77).close_type is CloseType.CLOSE
    for opening in ("open", "0", CloseType.OPEN):
        assert order(close_type=opening).close_type is CloseType.OPEN
    for mode, member in (("cross", MarginMode.CROSS), ("2", MarginMode.ISOLATED)):
        assert order(cop_type=mode).cop_type is member
    built = order(close_type="1", position_id=77, cop_type="isolated")
    assert built.to_params()["closeType"] == "1" and built.to_params()["positionId"] == "77"
    assert built.to_params()["copType"] == "2"


def test_market_order_needs_no_price_and_defaults_are_open_isolated() -> None:
    built = order(order_type="MARKET", price=None, level=None)
    assert built.price is None and built.level is None
    assert built.close_type is CloseType.OPEN and built.cop_type is MarginMode.ISOLATED


async def test_take_order_refuses_anything_but_a_take_order(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=ok(CREATED))
    with pytest.raises(InvalidRequest) as caught:
        await client.take_order({"contractId": "1"})  # type: ignore[arg-type]
    assert caught.value.field == "order"
    assert route.call_count == 0


CONTRACT_INFO = {
    "market": {
        "E_BTCUSD": {
            "id": 1,
            "symbol": "E_BTCUSD",
            "leverTypes": "1,2,3,5,10",
            "minOrderVolume": "1",
            "maxOrderVolume": "500",
            "pricePrecision": 1,
        },
        "E_ETHUSD": {"id": "2", "symbol": "E_ETHUSD", "leverTypes": ""},
    },
    "marketSymbol": ["E_BTCUSD", "E_ETHUSD"],
}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"volume": Decimal("501")}, "volume"),
        ({"price": Decimal("7000.05")}, "price"),
        ({"cop_type": "CROSS"}, "cop_type"),
    ],
    ids=["above-max-volume", "finer-than-the-price-precision", "cross-margin"],
)
async def test_take_order_is_checked_against_the_loaded_contract(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    overrides: dict[str, Any],
    field: str,
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=ok(CREATED))
    chainup_mock.get("/api/contract_public_info").mock(return_value=ok(CONTRACT_INFO))
    await client.contracts()

    with pytest.raises(InvalidRequest) as caught:
        await client.take_order(order(**overrides))

    assert caught.value.field == field
    assert route.call_count == 0
    await client.take_order(order(volume=Decimal("500"), price=Decimal("7000.50")))
    assert route.call_count == 1


async def test_cross_margin_is_sent_only_when_allowed(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=ok(CREATED))
    cross = order(cop_type="CROSS")
    with pytest.raises(InvalidRequest):
        await make_chainup_client().take_order(cross)

    await make_chainup_client(allow_cross_margin=True).take_order(cross)

    assert route.call_count == 1
    assert sent(route.calls[0].request)["copType"] == "1"


@pytest.mark.parametrize("volume", [Decimal("1.5"), Decimal("0.1"), Decimal("1E-9")])
def test_a_take_order_is_whole_contracts(volume: Decimal) -> None:
    with pytest.raises(InvalidRequest) as caught:
        order(volume=volume)
    assert caught.value.field == "volume"


async def test_open_contracts_reads_hold_contract_list(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post("/api/hold_contract_list").mock(
        return_value=ok(
            [
                {
                    "volume": 100,
                    "symbol": "E_BTCUSD",
                    "side": "BUY",
                    "avgPrice": 3724.4247791642265,
                    "contractId": 19,
                    "contractName": "BitCoin",
                    "unrealisedAmount": "0.00125253598926",
                    "realisedAmount": -0.2035634740245127,
                    "quoteSymbol": "BTC",
                }
            ]
        )
    )

    [held] = await client.open_contracts()

    assert held.contract_id == 19 and held.side is Side.BUY and held.volume == 100
    assert held.avg_price == Decimal("3724.4247791642265")
    assert held.realised_amount == Decimal("-0.2035634740245127")
    assert set(sent(route.calls[0].request)) == {"api_key", "time", "sign"}


async def test_leverage_and_contract_are_checked_once_contracts_are_known(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=ok(CREATED))
    chainup_mock.get("/api/contract_public_info").mock(return_value=ok(CONTRACT_INFO))

    # Unknown contracts: nothing to check against yet.
    await client.take_order(order(level=7))
    assert route.call_count == 1

    await client.contracts()

    with pytest.raises(InvalidRequest) as caught:
        await client.take_order(order(level=7))
    assert caught.value.field == "level"
    assert "7" in str(caught.value)
    with pytest.raises(InvalidRequest) as caught:
        await client.take_order(order(contract_id=3))
    assert caught.value.field == "contract_id"
    assert route.call_count == 1

    for level in (1, 10, None):
        await client.take_order(order(level=level))
    # A contract that lists no levels leaves the level to the venue.
    await client.take_order(order(contract_id=2, level=7))
    assert route.call_count == 5


async def test_change_leverage_is_checked_against_known_levels(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    # Issue 4, "validation before sending": leverage within the contract's allowed levels
    # when known. change_leverage sends a leverage just as take_order does.
    route = chainup_mock.post("/api/change_level").mock(return_value=ok(None))
    chainup_mock.get("/api/contract_public_info").mock(return_value=ok(CONTRACT_INFO))
    await client.contracts()

    with pytest.raises(InvalidRequest) as caught:
        await client.change_leverage(1, 7, 77)
    assert caught.value.field == "leverage"
    assert route.call_count == 0
    await client.change_leverage(1, 5, 77)
    assert route.call_count == 1


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-0.000"), 1.5, 1, "1", Decimal("NaN")])
async def test_transfer_margin_refuses_bad_amounts(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, amount: Any
) -> None:
    route = chainup_mock.post("/api/transfer_margin").mock(return_value=ok(None))
    with pytest.raises(InvalidRequest) as caught:
        await client.transfer_margin(1, 77, amount)
    assert caught.value.field == "amount"
    assert route.call_count == 0


async def test_order_info_needs_ids(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post("/api/order_info").mock(return_value=ok([]))
    with pytest.raises(InvalidRequest) as caught:
        await client.order_info(1, [])
    assert caught.value.field == "order_ids"
    with pytest.raises(InvalidRequest):
        await client.order_info(1, [1, 0])
    assert route.call_count == 0


@pytest.mark.parametrize("page_size", [0, 201, -1, True, 10.0])
async def test_orders_page_size_is_refused_when_called(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, page_size: Any
) -> None:
    route = chainup_mock.post(ORDER_LIST).mock(return_value=ok({"count": 0, "orderList": []}))
    with pytest.raises(InvalidRequest) as caught:
        client.orders(1, page_size=page_size)  # raised by the call, not on iteration
    assert caught.value.field == "page_size"
    with pytest.raises(InvalidRequest):
        client.orders(1, which="open")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        client.orders(0)
    assert route.call_count == 0


async def test_orders_accepts_page_size_bounds(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(ORDER_LIST).mock(return_value=ok({"count": 0, "orderList": []}))
    for size in (1, 200):
        assert [o async for o in client.orders(1, which="filled", page_size=size)] == []
    assert [sent(call.request)["pageSize"] for call in route.calls] == ["1", "200"]
    assert {sent(call.request)["order_type"] for call in route.calls} == {"2"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.cancel_order(0, 1),
        lambda c: c.cancel_order(1, True),
        lambda c: c.cancel_all(0),
        lambda c: c.change_leverage(1, 0, 77),
        lambda c: c.ticker(0),
        lambda c: c.positions(0),
    ],
)
async def test_ids_are_checked_before_sending(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    call: Callable[[ChainupContractClient], Any],
) -> None:
    with pytest.raises(InvalidRequest):
        await call(client)
    assert len(chainup_mock.calls) == 0


# --- no blind resend ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "cause"),
    [
        (raises(httpx.ReadTimeout), TransportError),
        (raises(httpx.RemoteProtocolError), TransportError),
        (raises(httpx.ReadError), TransportError),
        (raises(httpx.WriteTimeout), TransportError),
        (html(502), ServiceUnavailable),
        (html(504), ServiceUnavailable),
        (fail(1, "system error"), ServiceUnavailable),
        (fail(100001, "system exception"), ServiceUnavailable),
        (httpx.Response(200, text="<html>gateway</html>"), MalformedResponse),
        (ok(None), MalformedResponse),  # accepted, but the answer says nothing readable
    ],
)
async def test_take_order_with_unknown_outcome_is_sent_once(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
    first: httpx.Response | Responder,
    cause: type[ExchangeError],
) -> None:
    route = chainup_mock.post(TAKE).mock(side_effect=answers(first, ok(CREATED)))
    placed = order()
    sent_at = clock.time()

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.take_order(placed)

    assert route.call_count == 1
    assert caught.value.request is placed
    assert isinstance(caught.value.sent_at, float)
    assert caught.value.sent_at == pytest.approx(sent_at)
    assert isinstance(caught.value.__cause__, cause)
    # Waiting does not make the client send it again behind the caller's back.
    await clock.sleep(30)
    assert route.call_count == 1


@pytest.mark.parametrize(
    "first",
    [
        fail(119, "too frequent"),
        fail(110041, "too frequent"),
        fail(110042, "too many requests"),
        fail(100008, "request expired"),
        raises(httpx.ConnectError),
        raises(httpx.ConnectTimeout),
        raises(httpx.PoolTimeout),
    ],
)
async def test_take_order_refused_before_processing_is_retried(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    first: httpx.Response | Responder,
) -> None:
    route = chainup_mock.post(TAKE).mock(side_effect=answers(first, ok(CREATED)))

    created = await client.take_order(order())

    assert created.order_id == 15598
    assert route.call_count == 2
    assert sent(route.calls[0].request).keys() == sent(route.calls[1].request).keys()


async def test_an_expired_request_is_resent_with_a_fresh_time(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """100008 (request expired): refused before processing, signed again with a new time."""
    route = chainup_mock.post(TAKE).mock(
        side_effect=answers(fail(100008, "request expired"), ok(CREATED))
    )
    clock.advance(3.0)  # the first attempt's time; the retry's comes later

    await client.take_order(order())

    assert route.call_count == 2  # not processed: safe to send again, even an order
    first, second = (sent(call.request) for call in route.calls)
    assert int(second["time"]) >= int(first["time"]) == int(clock.time() * 1000)


@pytest.mark.parametrize("code", [110041, 110042])
async def test_too_frequent_codes_pause_the_bucket_like_119(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
    code: int,
) -> None:
    arrivals: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        arrivals.append(clock.monotonic())
        return fail(code) if len(arrivals) == 1 else ok(CREATED)

    chainup_mock.post(TAKE).mock(side_effect=venue)

    await client.take_order(order())

    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 1.0  # the venue gives no reset time: a second


@pytest.mark.parametrize(
    ("code", "cls"), [(100005, AuthenticationError), (2, BadParameter), (100004, BadParameter)]
)
async def test_take_order_refused_by_the_venue_is_raised_after_one_request(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    code: int,
    cls: type[ExchangeError],
) -> None:
    route = chainup_mock.post(TAKE).mock(side_effect=answers(fail(code, "refused"), ok(CREATED)))

    with pytest.raises(cls) as caught:
        await client.take_order(order())

    assert not isinstance(caught.value, OrderStatusUnknown)
    assert route.call_count == 1


async def test_take_order_rate_limited_then_timed_out_is_unknown_after_two_requests(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    route = chainup_mock.post(TAKE).mock(
        side_effect=answers(fail(119), raises(httpx.ReadTimeout), ok(CREATED))
    )
    started = clock.time()

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.take_order(order())

    assert route.call_count == 2
    assert caught.value.sent_at is not None and caught.value.sent_at >= started


async def test_take_order_always_rate_limited_raises_rate_limited(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=fail(119, "too frequent"))
    client = make_chainup_client(retry=RetryPolicy(max_attempts=3, deadline=60.0))

    with pytest.raises(RateLimited) as caught:
        await client.take_order(order())

    assert caught.value.code == 119
    assert route.call_count == 3


@pytest.mark.parametrize(
    "first", [raises(httpx.ReadTimeout), raises(httpx.RemoteProtocolError), html(502), fail(1)]
)
async def test_transfer_margin_with_unknown_outcome_is_sent_once(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    first: httpx.Response | Responder,
) -> None:
    route = chainup_mock.post("/api/transfer_margin").mock(side_effect=answers(first, ok(None)))

    with pytest.raises(OrderStatusUnknown) as caught:
        await client.transfer_margin(1, 77, Decimal("5"))

    assert route.call_count == 1
    assert isinstance(caught.value.sent_at, float)


async def test_transfer_margin_rate_limited_is_retried(
    client: ChainupContractClient, chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post("/api/transfer_margin").mock(side_effect=answers(fail(119), ok(None)))
    await client.transfer_margin(1, 77, Decimal("5"))
    assert route.call_count == 2


@pytest.mark.parametrize("first", [raises(httpx.ReadTimeout), html(502), fail(1)])
async def test_cancels_and_reads_are_retried_after_an_unknown_outcome(
    client: ChainupContractClient,
    chainup_mock: respx.MockRouter,
    first: httpx.Response | Responder,
) -> None:
    cancel = chainup_mock.post("/api/cancel_order").mock(side_effect=answers(first, ok(None)))
    positions = chainup_mock.post("/api/user_position").mock(
        side_effect=answers(first, ok({"positions": []}))
    )
    orders = chainup_mock.post(ORDER_LIST).mock(
        side_effect=answers(first, ok({"count": 0, "orderList": []}))
    )
    cancel_all = chainup_mock.post("/api/cancel_order_all").mock(
        side_effect=answers(first, ok(None))
    )

    await client.cancel_order(15598, 1)
    assert await client.positions() == []
    assert [o async for o in client.orders(1)] == []
    await client.cancel_all(1)

    assert cancel.call_count == 2
    assert positions.call_count == 2
    assert orders.call_count == 2
    assert cancel_all.call_count == 2


# --- rate limiting ------------------------------------------------------------------------


def stamped(clock: VirtualClock, arrivals: list[float], answer: object) -> Responder:
    def respond(request: httpx.Request) -> httpx.Response:
        arrivals.append(clock.monotonic())
        return ok(answer)

    return respond


async def test_default_pacing_is_five_a_second_per_endpoint(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    arrivals: list[float] = []
    chainup_mock.post(TAKE).mock(side_effect=stamped(clock, arrivals, CREATED))

    for _ in range(6):
        await client.take_order(order())

    assert arrivals[:5] == [0.0] * 5
    assert 0.99 <= arrivals[5] <= 1.1


async def test_concurrent_calls_are_paced_too(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    arrivals: list[float] = []
    chainup_mock.post(TAKE).mock(side_effect=stamped(clock, arrivals, CREATED))

    await asyncio.gather(*(client.take_order(order()) for _ in range(11)))

    assert sorted(arrivals)[:5] == [0.0] * 5
    assert all(0.99 <= t <= 1.1 for t in sorted(arrivals)[5:10])
    assert 1.99 <= max(arrivals) <= 2.2


async def test_endpoints_and_keys_have_their_own_buckets(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    takes: list[float] = []
    reads: list[float] = []
    chainup_mock.post(TAKE).mock(side_effect=stamped(clock, takes, CREATED))
    chainup_mock.post("/api/user_position").mock(
        side_effect=stamped(clock, reads, {"positions": []})
    )
    first = make_chainup_client()
    other_key = make_chainup_client(api_key="another-key", api_secret="another-secret")

    for _ in range(5):
        await first.take_order(order())
    await first.positions()
    await other_key.take_order(order())

    assert takes == [0.0] * 6
    assert reads == [0.0]


async def test_the_public_endpoint_is_paced_per_host_not_per_key(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    arrivals: list[float] = []

    def public_info(request: httpx.Request) -> httpx.Response:
        arrivals.append(clock.monotonic())
        return ok({"market": {}})

    chainup_mock.get("/api/contract_public_info").mock(side_effect=public_info)
    keyed, other_key = make_chainup_client(), make_chainup_client(api_key="k2", api_secret="s2")
    anonymous = make_chainup_client(api_key=None, api_secret=None)

    for index in range(6):
        await (keyed, other_key, anonymous)[index % 3].contracts(refresh=True)

    assert arrivals[:5] == [0.0] * 5
    assert 0.99 <= arrivals[5] <= 1.1


async def test_the_ticker_is_paced_per_key(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    """/api/market is signed (api_key, time and sign are required): a per-key bucket."""
    arrivals: list[float] = []
    ticker = {"last": "7000", "time": 1556613463000}
    chainup_mock.post("/api/market").mock(side_effect=stamped(clock, arrivals, ticker))
    keyed, other_key = make_chainup_client(), make_chainup_client(api_key="k2", api_secret="s2")

    for _ in range(6):
        await keyed.ticker(1)
    await other_key.ticker(1)

    assert arrivals[:5] == [0.0] * 5
    assert 0.99 <= arrivals[5] <= 1.1
    assert arrivals[6] == arrivals[5]  # the other key's bucket was empty: no wait


async def test_two_clients_of_one_key_share_its_buckets(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    arrivals: list[float] = []
    chainup_mock.post(TAKE).mock(side_effect=stamped(clock, arrivals, CREATED))
    # Each client looks at the order lists once before its first order: not what is measured.
    lists = {"order_list": RateLimit(100)}
    one, two = make_chainup_client(limits=lists), make_chainup_client(limits=lists)

    for index in range(6):
        await (one if index % 2 else two).take_order(order())

    assert arrivals[:5] == [0.0] * 5
    assert arrivals[5] >= 0.99


async def test_limits_are_configurable_per_endpoint(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    arrivals: list[float] = []
    chainup_mock.post(TAKE).mock(side_effect=stamped(clock, arrivals, CREATED))
    client = make_chainup_client(limits={"take_order": RateLimit(2, per=1.0)})

    for _ in range(3):
        await client.take_order(order())

    assert arrivals[:2] == [0.0, 0.0]
    assert 0.99 <= arrivals[2] <= 1.1


async def test_pacing_can_be_switched_off(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    clock: VirtualClock,
) -> None:
    arrivals: list[float] = []
    chainup_mock.post(TAKE).mock(side_effect=stamped(clock, arrivals, CREATED))
    client = make_chainup_client(limits=False)

    for _ in range(12):
        await client.take_order(order())

    assert arrivals == [0.0] * 12


async def test_code_119_pauses_the_endpoint_and_retries(
    client: ChainupContractClient, chainup_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    arrivals: list[float] = []
    state = {"calls": 0}

    def respond(request: httpx.Request) -> httpx.Response:
        arrivals.append(clock.monotonic())
        state["calls"] += 1
        return fail(119, "下单过于频繁") if state["calls"] == 1 else ok(CREATED)

    chainup_mock.post(TAKE).mock(side_effect=respond)

    first = asyncio.ensure_future(client.take_order(order()))
    await clock.sleep(0.5)  # the first call got 119 at 0 s and is backing off
    assert arrivals == [0.0]
    second = asyncio.ensure_future(client.take_order(order()))
    await asyncio.gather(first, second)

    assert len(arrivals) == 3
    # Both the retry and the call made at 0.5 s wait out the venue's back-off (1 s).
    assert all(1.0 <= t <= 1.2 for t in arrivals[1:])


def by_name(states: list[BucketState]) -> dict[str, BucketState]:
    return {state.name: state for state in states}


async def test_chainup_reports_its_buckets_without_a_venue_count(
    make_chainup_client: Callable[..., ChainupContractClient],
) -> None:
    states = by_name(await make_chainup_client().limits_state())

    assert states["take_order"].limit == 5
    assert all(state.venue_left is None for state in states.values())


# --- secrets ------------------------------------------------------------------------------

SECRET = "S3cr3t-ChainUP-do-not-leak-7f3a9c"


def exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


async def test_reprs_never_show_the_secret(
    make_chainup_client: Callable[..., ChainupContractClient],
) -> None:
    client = make_chainup_client(api_secret=SECRET)
    signer = Md5Signer(SECRET)

    for text in (
        repr(client),
        str(client),
        repr(client._venue),
        repr(client.session),
        repr(signer),
        str(signer),
    ):
        assert_no_secret(text, SECRET)
    assert "***" in repr(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(TypeError):
        pickle.dumps(client._venue)


async def test_logs_and_errors_never_show_the_secret(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_chainup_client(api_secret=SECRET)
    take = chainup_mock.post(TAKE).mock(
        side_effect=answers(
            fail(119),
            ok(CREATED),
            fail(100005, "signature error"),
            raises(httpx.ReadTimeout),
            html(502),
        )
    )
    errors: list[BaseException] = []

    await client.take_order(order())
    for _ in range(3):
        try:
            await client.take_order(order())
        except ExchangeError as failure:
            errors.append(failure)
    try:
        order(volume=1.5)
    except InvalidRequest as refusal:
        errors.append(refusal)

    assert [type(error) for error in errors] == [
        AuthenticationError,
        TakeOrderUnknown,  # an OrderStatusUnknown with what reconcile needs
        TakeOrderUnknown,
        InvalidRequest,
    ]
    assert caplog.records, "the session logs each attempt at DEBUG"
    assert_no_secret(caplog.text, SECRET)
    for record in caplog.records:
        assert_no_secret(record.getMessage(), SECRET)
    for caught in errors:
        assert_no_secret(exception_text(caught), SECRET)
    for call in take.calls:
        assert_no_secret(call.request.content.decode(), SECRET)
        assert_no_secret(str(call.request.headers), SECRET)
        assert_no_secret(str(call.request.url), SECRET)


# --- the constructor never shows the secret; the client's lifecycle -----------------------

#: Not encodable: a lone surrogate, as a mis-decoded environment variable gives.
BROKEN = "s3cr3t-\udcff-tail"

CLIENTS: dict[str, Callable[..., Any]] = {
    "chainup": lambda **options: ChainupContractClient(
        "key", base_url="https://chainup.test", **options
    ),
}


@pytest.mark.parametrize("venue", list(CLIENTS))
def test_a_secret_that_is_not_text_is_refused_without_showing_it(venue: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        CLIENTS[venue](api_secret=BROKEN)

    message = str(caught.value)
    assert "cannot be encoded as UTF-8" in message
    assert "s3cr3t" not in message and "tail" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize(
    ("venue", "options"),
    [
        ("chainup", {"timeout": -1.0}),
        ("chainup", {"encoding": "xml"}),
        ("chainup", {"transfer_margin_param": "x"}),
    ],
)
def test_a_traceback_with_locals_never_shows_the_secret(
    venue: str, options: dict[str, Any]
) -> None:
    """Another argument is wrong: every frame of the traceback, locals included, is free of
    the secret (the constructors hold it as Secret(***) from their first line)."""
    with pytest.raises(ConfigurationError) as caught:
        CLIENTS[venue](api_secret=SECRET, **options)

    rendered = rendered_with_locals(caught.value)
    assert SECRET not in rendered
    assert "Secret(***)" in rendered


@pytest.mark.parametrize("venue", list(CLIENTS))
def test_repr_of_a_half_built_client_does_not_raise(venue: str) -> None:
    cls = ChainupContractClient
    half = cls.__new__(cls)
    assert cls.__name__ in repr(half)


async def test_the_client_refuses_to_be_entered_again_once_closed() -> None:
    resources = [ChainupContractClient(API_KEY, API_SECRET, base_url=BASE_URL)]
    for resource in resources:
        async with resource:
            assert not resource.closed
        assert resource.closed
        with pytest.raises(ConfigurationError, match=f"^{type(resource).__name__} is closed"):
            await resource.__aenter__()


def take(volume: object) -> TakeOrder:
    return TakeOrder(contract_id=1, side="BUY", volume=volume, order_type="MARKET")  # type: ignore[arg-type]


@pytest.mark.parametrize(("build", "field"), [(take, "volume")], ids=["chainup"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (100, "must be a decimal.Decimal: write Decimal('100'), got 100"),
        ("100", "must be a decimal.Decimal: write Decimal('100'), got '100'"),
        (0.1, "never a float (a float is not exact): write Decimal('0.1'), got 0.1"),
        (True, "must be a decimal.Decimal, got True"),
        ("a lot", "must be a decimal.Decimal, got 'a lot'"),
    ],
)
def test_an_amount_of_the_wrong_type_says_what_to_write(
    build: Callable[[object], object], field: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build(value)

    assert caught.value.field == field
    assert says in str(caught.value)
