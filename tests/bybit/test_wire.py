"""Bybit requests as they reach the wire, through a real BybitClient bound to respx (and, for
a signed query on both HTTP stacks, a raw server on 127.0.0.1).

Every check reads what the transport received (``request.content``, ``request.url.query``,
``request.headers``) and recomputes the signature from those bytes: the signature must cover
exactly what is on the wire, on every attempt.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from asyncexch import (
    AuthenticationError,
    ConfigurationError,
    Endpoint,
    InvalidRequest,
    OrderStatusUnknown,
    RetryPolicy,
    VirtualClock,
)
from asyncexch.bybit import BybitClient, BybitVenue, OrderAck, RedeemOrder, StakeOrder
from asyncexch.bybit._endpoints import PLACE_ORDER, REDEEM_ESTIMATE
from tests.builders.bybit import (
    API_KEY,
    API_SECRET,
    ESTIMATE,
    ORDER,
    PLACE,
    PRODUCT,
    QUOTE,
    SERVER_MS,
    TIME,
    fail,
    ok,
    page,
    redeem_order,
    stake_order,
)
from tests.raw_server import RawServer, Respond, answer
from tests.secret_leaks import assert_no_secret

#: The documented stake example, compact (reference notes, sections 1.4 and 2).
STAKE_BODY = (
    '{"category":"SmartLeverage","productId":"12999","coin":"USDT","orderType":"Stake",'
    '"amount":"100","accountType":"FUND","orderLinkId":"usdt-earn-007",'
    '"smartLeverageStakeExtra":{"initialPrice":"68403","breakevenPrice":"68650"}}'
)
STAKE_SIGN_AT_1672211928338 = "9e84640c6f790449e6c0ef9abad5724950a7461c21700706698808cb7159ce57"
#: The documented redeem example (isSlippageProtected true).
REDEEM_BODY = (
    '{"category":"SmartLeverage","productId":"12999","orderType":"Redeem","accountType":"FUND",'
    '"orderLinkId":"usdt-earn-008","smartLeverageRedeemExtra":{"positionId":"1277",'
    '"estRedeemAmount":"77.8469","isSlippageProtected":true}}'
)
ESTIMATE_QUERY = "category=SmartLeverage&positionIds=1277,1260"
ESTIMATE_SIGN_AT_1672280218882 = "0a8172b8fd5f526c6f72d70d8a9b86a0f1ef388e194214c1a277223fc0957f0e"

Responder = Callable[[httpx.Request, int], httpx.Response]


# --- helpers ------------------------------------------------------------------------------


def documented_stake(**overrides: Any) -> StakeOrder:
    """The reference's stake example with its orderLinkId: the body :data:`STAKE_BODY`."""
    return stake_order(**{"order_link_id": "usdt-earn-007", **overrides})


def documented_redeem(**overrides: Any) -> RedeemOrder:
    """The reference's redeem example with its orderLinkId: the body :data:`REDEEM_BODY`."""
    return redeem_order(**{"order_link_id": "usdt-earn-008", **overrides})


def ack(
    order_link_id: str, order_id: str = "97f198e9-b14b-4703-b4a6-a4aa06ba1499"
) -> dict[str, str]:
    return {"orderId": order_id, "orderLinkId": order_link_id}


def order_info(order_link_id: str, **overrides: str) -> dict[str, str]:
    info = {
        "orderId": "97f198e9-b14b-4703-b4a6-a4aa06ba1499",
        "orderLinkId": order_link_id,
        "productId": "12999",
        "orderType": "Stake",
        "amount": "100",
        "status": "Pending",
        "createdTime": str(SERVER_MS),
    }
    info.update(overrides)
    return info


def virtual_ms(clock: VirtualClock) -> int:
    return int(clock.time() * 1000)


def expected_hmac(request: httpx.Request, secret: str = API_SECRET) -> str:
    """HMAC over timestamp + key + recv window + the payload exactly as received."""
    payload = request.content if request.method == "POST" else request.url.query
    message = (
        request.headers["X-BAPI-TIMESTAMP"]
        + request.headers["X-BAPI-API-KEY"]
        + request.headers["X-BAPI-RECV-WINDOW"]
    ).encode("utf-8") + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def assert_signed(request: httpx.Request) -> None:
    assert request.headers["X-BAPI-API-KEY"] == API_KEY
    assert request.headers["X-BAPI-RECV-WINDOW"] == "5000"
    assert request.headers["X-BAPI-SIGN-TYPE"] == "2"
    assert request.headers["X-BAPI-TIMESTAMP"].isdigit()
    assert request.headers["X-BAPI-SIGN"] == expected_hmac(request)


def link_id_on_wire(request: httpx.Request) -> str:
    body = json.loads(request.content)
    link = body["orderLinkId"]
    assert isinstance(link, str)
    return link


def scripted(
    clock: VirtualClock, steps: Sequence[Responder], arrivals: list[int] | None = None
) -> Callable[[httpx.Request], Any]:
    """A respx side effect answering step by step, stamped with the current virtual time.

    ``arrivals`` collects the virtual time (ms) at which each request arrived.
    """
    remaining = list(steps)

    def respond(request: httpx.Request) -> httpx.Response:
        assert remaining, f"unexpected extra request {request.method} {request.url}"
        now = virtual_ms(clock)
        if arrivals is not None:
            arrivals.append(now)
        return remaining.pop(0)(request, now)

    return respond


def answer_ok(result: object) -> Responder:
    return lambda request, now: ok(result, time=now)


def answer_fail(
    code: int, message: str = "error", headers: dict[str, str] | None = None
) -> Responder:
    return lambda request, now: fail(code, message, time=now, headers=headers)


def rate_limited(reset_after_ms: int = 1500) -> Responder:
    return lambda request, now: fail(
        10006,
        "Too many visits!",
        time=now,
        headers={"X-Bapi-Limit-Reset-Timestamp": str(now + reset_after_ms)},
    )


def read_timeout() -> Responder:
    def raise_timeout(request: httpx.Request, now: int) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    return raise_timeout


def html_5xx(status: int = 502) -> Responder:
    return lambda request, now: httpx.Response(
        status, text="<html><body><h1>502 Bad Gateway</h1></body></html>"
    )


def server_time_route(bybit_mock: respx.MockRouter, clock: VirtualClock) -> respx.Route:
    def respond(request: httpx.Request) -> httpx.Response:
        now = virtual_ms(clock)
        return ok({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}, time=now)

    return bybit_mock.get(TIME).mock(side_effect=respond)


# --- POST bodies and headers --------------------------------------------------------------


async def test_stake_order_body_headers_and_signature_on_the_wire(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("usdt-earn-007")))
    client = make_client()

    result = await client.advance_earn.place_order(documented_stake())

    assert result.order_link_id == "usdt-earn-007"
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.content == STAKE_BODY.encode("utf-8")
    assert request.headers["Content-Type"] == "application/json"
    assert_signed(request)
    # The clock starts at SERVER_MS and nothing waited: the timestamp is the virtual now,
    # within Bybit's window (not ahead of the server, not more than recv_window behind).
    timestamp = int(request.headers["X-BAPI-TIMESTAMP"])
    assert SERVER_MS - 5000 < timestamp <= virtual_ms(clock)
    assert request.url.query == b""


async def test_stake_order_matches_the_reference_vector_at_its_timestamp(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("usdt-earn-007")))
    client = make_client(clock=VirtualClock(start=1672211928.3385))

    await client.advance_earn.place_order(documented_stake())

    request = route.calls[0].request
    assert request.headers["X-BAPI-TIMESTAMP"] == "1672211928338"
    assert request.content == STAKE_BODY.encode("utf-8")
    assert request.headers["X-BAPI-SIGN"] == STAKE_SIGN_AT_1672211928338


async def test_redeem_order_body_without_amount_and_coin_by_default(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("usdt-earn-008")))
    client = make_client()

    await client.advance_earn.place_order(documented_redeem(is_slippage_protected=False))

    request = route.calls[0].request
    assert request.content == (
        b'{"category":"SmartLeverage","productId":"12999","orderType":"Redeem",'
        b'"accountType":"FUND","orderLinkId":"usdt-earn-008","smartLeverageRedeemExtra":'
        b'{"positionId":"1277","estRedeemAmount":"77.8469","isSlippageProtected":false}}'
    )
    body = json.loads(request.content)
    assert "amount" not in body and "coin" not in body
    assert body["smartLeverageRedeemExtra"]["isSlippageProtected"] is False
    assert request.headers["Content-Type"] == "application/json"
    assert_signed(request)


async def test_redeem_order_matches_the_documented_example(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("usdt-earn-008")))
    client = make_client()

    await client.advance_earn.place_order(documented_redeem())  # protected by default

    request = route.calls[0].request
    assert request.content == REDEEM_BODY.encode("utf-8")
    assert json.loads(request.content)["smartLeverageRedeemExtra"]["isSlippageProtected"] is True
    assert_signed(request)


async def test_redeem_order_with_amount_and_coin(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("usdt-earn-008")))
    client = make_client()

    await client.advance_earn.place_order(
        documented_redeem(amount=Decimal("1E+2"), coin="USDT", account_type="UNIFIED")
    )

    request = route.calls[0].request
    assert request.content == (
        b'{"category":"SmartLeverage","productId":"12999","orderType":"Redeem",'
        b'"amount":"100","coin":"USDT","accountType":"UNIFIED","orderLinkId":"usdt-earn-008",'
        b'"smartLeverageRedeemExtra":{"positionId":"1277","estRedeemAmount":"77.8469",'
        b'"isSlippageProtected":true}}'
    )
    assert_signed(request)


async def test_decimals_go_in_plain_notation(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("tiny-1")))
    client = make_client()

    await client.advance_earn.place_order(
        documented_stake(
            amount=Decimal("1E+2"),
            initial_price=Decimal("0.00000001"),
            breakeven_price=Decimal("6.865E+4"),
            order_link_id="tiny-1",
        )
    )

    request = route.calls[0].request
    body = json.loads(request.content)
    assert body["amount"] == "100"
    assert body["smartLeverageStakeExtra"] == {
        "initialPrice": "0.00000001",
        "breakevenPrice": "68650",
    }
    assert b"E" not in request.content.replace(b"Extra", b"").replace(b"Earn", b"")
    assert b"e-" not in request.content and b"e+" not in request.content
    assert_signed(request)


def test_venue_encodes_raw_decimals_in_plain_notation() -> None:
    """Decimals handed straight to the encoder (GET and POST) never use an exponent."""
    venue = BybitVenue(API_KEY, API_SECRET, base_url="https://api.bybit.test", recv_window=5000)
    wire = venue.encode(
        REDEEM_ESTIMATE, {"b": Decimal("1E+2"), "a": Decimal("0.00000001"), "c": None}
    )
    assert wire.query == "a=0.00000001&b=100"
    post = venue.encode(
        PLACE_ORDER, {"amount": Decimal("1E+2"), "x": {"p": Decimal("1E-8"), "q": None}}
    )
    assert post.body == b'{"amount":"100","x":{"p":"0.00000001"}}'


# --- GET query strings --------------------------------------------------------------------


async def test_get_query_is_sorted_drops_none_and_is_what_was_signed(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    cursor = "53%3A1%2C53%3A1"
    route = bybit_mock.get(ORDER).mock(
        side_effect=[
            page(order_info("abc-1"), cursor=cursor),
            page(),
        ]
    )
    client = make_client()

    found = [
        info
        async for info in client.advance_earn.orders(
            product_id="12999",
            order_link_id="abc-1",
            start_time=datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc),
            page_size=5,
        )
    ]

    assert [info.order_link_id for info in found] == ["abc-1"]
    first, second = (call.request for call in route.calls)
    assert first.url.query == (
        b"category=SmartLeverage&limit=5&orderLinkId=abc-1&productId=12999&startTime=1700000000000"
    )
    # The server's already-escaped cursor goes back exactly as received, and is signed so.
    assert second.url.query == (
        b"category=SmartLeverage&cursor=53%3A1%2C53%3A1&limit=5&orderLinkId=abc-1"
        b"&productId=12999&startTime=1700000000000"
    )
    for request in (first, second):
        keys = [pair.split(b"=", 1)[0] for pair in request.url.query.split(b"&")]
        assert keys == sorted(keys)
        assert b"None" not in request.url.query
        assert request.content == b""
        assert "Content-Type" not in request.headers
        assert_signed(request)


async def test_redeem_estimates_send_comma_separated_ids_raw(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    estimates = [
        {"success": True, "positionId": "1260", "estRedeemAmount": "10", "slippageRate": "0.97"},
        {"success": True, "positionId": "1277", "estRedeemAmount": "77.8469"},
    ]
    route = bybit_mock.get(ESTIMATE).mock(return_value=ok({"list": estimates}))
    client = make_client()

    result = await client.advance_earn.redeem_estimates(["1277", "1260"])

    assert [e.position_id for e in result] == ["1277", "1260"]
    request = route.calls[0].request
    assert request.url.query == ESTIMATE_QUERY.encode("ascii")
    assert b"%2C" not in request.url.raw_path
    assert_signed(request)


async def test_redeem_estimates_match_the_reference_vector_at_its_timestamp(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    estimates = [
        {"success": True, "positionId": "1277", "estRedeemAmount": "77.8469"},
        {"success": True, "positionId": "1260", "estRedeemAmount": "10"},
    ]
    route = bybit_mock.get(ESTIMATE).mock(return_value=ok({"list": estimates}))
    client = make_client(clock=VirtualClock(start=1672280218.8825))

    await client.advance_earn.redeem_estimates(["1277", "1260"])

    request = route.calls[0].request
    assert request.headers["X-BAPI-TIMESTAMP"] == "1672280218882"
    assert request.url.query == ESTIMATE_QUERY.encode("ascii")
    assert request.headers["X-BAPI-SIGN"] == ESTIMATE_SIGN_AT_1672280218882


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
async def test_public_endpoints_send_no_auth_headers(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, keyed: bool
) -> None:
    products = bybit_mock.get(PRODUCT).mock(return_value=page())
    quote = bybit_mock.get(QUOTE).mock(
        return_value=ok(
            {"category": "SmartLeverage", "productId": "12999", "currentPrice": "68403"}
        )
    )
    client = make_client() if keyed else make_client(api_key=None, api_secret=None)

    assert await client.advance_earn.products(coin="BTC") == []
    assert (await client.advance_earn.quote("12999")).current_price == Decimal("68403")

    assert products.calls[0].request.url.query == b"category=SmartLeverage&coin=BTC"
    assert quote.calls[0].request.url.query == b"category=SmartLeverage&productId=12999"
    for route in (products, quote):
        request = route.calls[0].request
        leaked = [name for name in request.headers if name.lower().startswith("x-bapi")]
        assert leaked == []
        assert request.content == b""


# --- retries re-sign, and never change the order id ---------------------------------------


async def test_rate_limited_retry_resends_same_bytes_with_a_fresh_signature(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    order = documented_stake()
    route = bybit_mock.post(PLACE).mock(
        side_effect=scripted(clock, [rate_limited(1500), answer_ok(ack(order.order_link_id))])
    )
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result.order_link_id == order.order_link_id
    first, second = (call.request for call in route.calls)
    assert first.content == second.content == STAKE_BODY.encode("utf-8")
    assert link_id_on_wire(first) == link_id_on_wire(second) == "usdt-earn-007"
    first_ts = int(first.headers["X-BAPI-TIMESTAMP"])
    second_ts = int(second.headers["X-BAPI-TIMESTAMP"])
    # The retry waited for the reset time (1.5 s of virtual time) and was signed afresh.
    assert second_ts - first_ts >= 1500
    assert first.headers["X-BAPI-SIGN"] != second.headers["X-BAPI-SIGN"]
    assert_signed(first)
    assert_signed(second)


RETRY_SEQUENCES: dict[str, list[Callable[[], Responder]]] = {
    "read-timeout": [read_timeout],
    "10000": [lambda: answer_fail(10000, "Server Timeout")],
    "10016": [lambda: answer_fail(10016, "Server error")],
    "5xx-html": [html_5xx],
    "10006": [rate_limited],
    "10002": [lambda: answer_fail(10002, "invalid request, please check your server timestamp")],
    "everything": [
        read_timeout,
        lambda: answer_fail(10000, "Server Timeout"),
        lambda: answer_fail(10016, "Server error"),
        html_5xx,
        rate_limited,
        lambda: answer_fail(10002, "invalid request, please check your server timestamp"),
    ],
}


@pytest.mark.parametrize("sequence", sorted(RETRY_SEQUENCES))
@pytest.mark.parametrize("kind", ["stake", "redeem"])
async def test_retries_never_put_a_second_order_id_on_the_wire(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    clock: VirtualClock,
    sequence: str,
    kind: str,
) -> None:
    order: StakeOrder | RedeemOrder = (
        documented_stake(order_link_id="retry-me-1") if kind == "stake" else documented_redeem()
    )
    failures = [make() for make in RETRY_SEQUENCES[sequence]]
    arrivals: list[int] = []
    route = bybit_mock.post(PLACE).mock(
        side_effect=scripted(clock, [*failures, answer_ok(ack(order.order_link_id))], arrivals)
    )
    server_time_route(bybit_mock, clock)
    client = make_client(retry=RetryPolicy(max_attempts=10, deadline=600.0))

    result = await client.advance_earn.place_order(order)

    assert result.order_link_id == order.order_link_id
    requests = [call.request for call in route.calls]
    assert len(requests) == len(failures) + 1
    assert {link_id_on_wire(request) for request in requests} == {order.order_link_id}
    assert {request.content for request in requests} == {
        json.dumps(order.to_params(), separators=(",", ":")).encode("utf-8")
    }
    for request in requests:
        assert_signed(request)
    # Each attempt is stamped when it leaves (the server's clock equals ours here): a
    # fresh timestamp per attempt, never ahead, never stale.
    stamps = [int(request.headers["X-BAPI-TIMESTAMP"]) for request in requests]
    for stamp, arrived in zip(stamps, arrivals, strict=True):
        assert arrived - 5 <= stamp <= arrived
    assert stamps == sorted(stamps)


async def test_unknown_outcome_then_placing_again_reuses_the_order_id(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    order = documented_stake(order_link_id="unknown-then-again")
    route = bybit_mock.post(PLACE).mock(
        side_effect=scripted(
            clock, [*(read_timeout() for _ in range(3)), answer_ok(ack(order.order_link_id))]
        )
    )
    client = make_client(retry=RetryPolicy(max_attempts=3, deadline=600.0))

    with pytest.raises(OrderStatusUnknown) as info:
        await client.advance_earn.place_order(order)
    assert info.value.request is order
    await client.advance_earn.place_order(order)

    requests = [call.request for call in route.calls]
    assert len(requests) == 4
    assert {link_id_on_wire(request) for request in requests} == {"unknown-then-again"}
    for request in requests:
        assert_signed(request)


async def test_order_already_exists_is_looked_up_by_the_same_order_id(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    order = documented_stake(order_link_id="dup-check-1")
    place = bybit_mock.post(PLACE).mock(
        side_effect=scripted(clock, [read_timeout(), answer_fail(180025, "Order already exists")])
    )
    lookup = bybit_mock.get(ORDER).mock(return_value=page(order_info("dup-check-1")))
    client = make_client()

    result = await client.advance_earn.place_order(order)

    assert result.order_link_id == "dup-check-1"
    assert {link_id_on_wire(call.request) for call in place.calls} == {"dup-check-1"}
    assert place.call_count == 2
    query = lookup.calls[0].request.url.query
    assert query == b"category=SmartLeverage&limit=1&orderLinkId=dup-check-1"
    assert_signed(lookup.calls[0].request)


# --- timestamps are never ahead of the server ---------------------------------------------


@pytest.mark.parametrize("skew_ms", [-7000, -1, 0, 800, 60_000])
async def test_timestamp_follows_the_server_clock_and_is_never_ahead(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    clock: VirtualClock,
    skew_ms: int,
) -> None:
    """Server clock = local clock + skew. After an answer stamped T received at L, a request
    sent at local time N carries a timestamp <= T + (N - L)."""
    seen: list[tuple[int, float]] = []  # (server stamp, local receive time)
    sent_at: list[float] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.time())
        stamp = virtual_ms(clock) + skew_ms
        seen.append((stamp, clock.time()))
        return page(time=stamp)

    route = bybit_mock.get(ORDER).mock(side_effect=respond)
    client = make_client()

    assert [o async for o in client.advance_earn.orders()] == []
    await clock.sleep(2.5)
    assert [o async for o in client.advance_earn.orders()] == []

    second = route.calls[1].request
    stamp, received = seen[0]
    bound = stamp + (sent_at[1] - received) * 1000
    timestamp = int(second.headers["X-BAPI-TIMESTAMP"])
    assert timestamp <= bound
    assert timestamp >= bound - 5  # follows the server: not needlessly behind either
    assert_signed(second)


async def test_timestamp_uses_the_lower_bound_of_the_offset_after_a_slow_answer(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """The server stamps its answer on arrival; the answer then takes 3 s to come back.

    The server may have stamped it at any moment of the round trip, so the only safe
    estimate takes the stamp as of the receive time: a mid-point estimate would run ahead.
    """
    seen: list[tuple[int, float]] = []
    sent_at: list[float] = []

    async def respond(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.time())
        stamp = virtual_ms(clock)  # in sync with us when the request arrives
        await clock.sleep(3.0)  # ... and the answer is slow to come back
        seen.append((stamp, clock.time()))
        return page(time=stamp)

    route = bybit_mock.get(ORDER).mock(side_effect=respond)
    client = make_client()

    assert [o async for o in client.advance_earn.orders()] == []
    assert [o async for o in client.advance_earn.orders()] == []

    second = route.calls[1].request
    stamp, received = seen[0]
    timestamp = int(second.headers["X-BAPI-TIMESTAMP"])
    assert timestamp <= stamp + (sent_at[1] - received) * 1000
    assert_signed(second)


async def test_retry_after_clock_skew_is_signed_with_the_resynced_time(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    """Local clock 4 s ahead of the server: 10002, resync, and the retry is in the window."""
    skew_ms = -4000
    order = documented_stake(order_link_id="skewed-1")
    attempts: list[tuple[int, int]] = []  # (timestamp sent, server now)

    def place(request: httpx.Request) -> httpx.Response:
        server_now = virtual_ms(clock) + skew_ms
        timestamp = int(request.headers["X-BAPI-TIMESTAMP"])
        attempts.append((timestamp, server_now))
        if not server_now - 5000 <= timestamp < server_now + 1000:
            return fail(
                10002, "invalid request, please check your server timestamp", time=server_now
            )
        return ok(ack(order.order_link_id), time=server_now)

    def server_time(request: httpx.Request) -> httpx.Response:
        now = virtual_ms(clock) + skew_ms
        return ok({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}, time=now)

    route = bybit_mock.post(PLACE).mock(side_effect=place)
    bybit_mock.get(TIME).mock(side_effect=server_time)
    client = make_client()

    await client.advance_earn.place_order(order)

    assert len(attempts) == 2
    retry_ts, server_now = attempts[1]
    assert retry_ts <= server_now
    assert link_id_on_wire(route.calls[0].request) == link_id_on_wire(route.calls[1].request)
    for call in route.calls:
        assert_signed(call.request)


# --- RSA keys on the wire -----------------------------------------------------------------


async def test_rsa_signed_request_verifies_over_the_wire_bytes(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    route = bybit_mock.post(PLACE).mock(return_value=ok(ack("usdt-earn-007")))
    client = make_client(api_secret=pem)

    await client.advance_earn.place_order(documented_stake())

    request = route.calls[0].request
    assert request.content == STAKE_BODY.encode("utf-8")
    assert request.headers["X-BAPI-SIGN-TYPE"] == "2"
    message = (
        request.headers["X-BAPI-TIMESTAMP"] + API_KEY + request.headers["X-BAPI-RECV-WINDOW"]
    ).encode("utf-8") + request.content
    key.public_key().verify(
        base64.b64decode(request.headers["X-BAPI-SIGN"]),
        message,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


# --- the secret never shows ---------------------------------------------------------------


async def test_reprs_never_show_the_secret(make_client: Callable[..., BybitClient]) -> None:
    client = make_client()
    venue = client.session.venue
    signer = getattr(venue, "_signer", None)
    assert signer is not None
    for obj in (client, client.session, venue, signer, client.advance_earn):
        assert_no_secret(repr(obj), API_SECRET)
        assert_no_secret(str(obj), API_SECRET)
    assert "BybitClient" in repr(client)


async def _run_and_capture(
    caplog: pytest.LogCaptureFixture, action: Callable[[], Awaitable[object]]
) -> list[logging.LogRecord]:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    try:
        await action()
    except Exception:
        logging.getLogger("asyncexch.test").debug("call failed", exc_info=True)
    return list(caplog.records)


async def test_debug_logs_never_show_the_secret(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    order = documented_stake(order_link_id="logged-1")
    bybit_mock.post(PLACE).mock(
        side_effect=scripted(
            clock,
            [
                read_timeout(),
                rate_limited(),
                answer_ok(ack(order.order_link_id)),
                answer_fail(10004, "Error sign"),
            ],
        )
    )
    client = make_client()

    records = await _run_and_capture(caplog, lambda: client.advance_earn.place_order(order))
    records += await _run_and_capture(
        caplog, lambda: client.advance_earn.place_order(documented_stake(order_link_id="logged-2"))
    )

    library_records = [r for r in records if r.name.startswith("asyncexch")]
    assert len(library_records) >= 4  # three attempts, one failure: the check has material
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
    for record in records:
        assert_no_secret(formatter.format(record), API_SECRET)
        assert_no_secret(repr(record.args), API_SECRET)
        assert_no_secret(str(record.msg), API_SECRET)


async def test_errors_never_show_the_secret(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    bybit_mock.post(PLACE).mock(
        side_effect=scripted(clock, [answer_fail(10004, "Error sign, origin_string[...]")])
    )
    client = make_client()

    with pytest.raises(AuthenticationError) as info:
        await client.advance_earn.place_order(documented_stake())

    error = info.value
    assert error.code == 10004
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    link: BaseException | None = error
    while link is not None:
        texts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        link = link.__cause__ or link.__context__
    for text in texts:
        assert_no_secret(text, API_SECRET)


async def test_unknown_outcome_errors_never_show_the_secret(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    bybit_mock.post(PLACE).mock(
        side_effect=scripted(clock, [read_timeout(), html_5xx(), answer_fail(10000)])
    )
    client = make_client(retry=RetryPolicy(max_attempts=3, deadline=600.0))

    with pytest.raises(OrderStatusUnknown) as info:
        await client.advance_earn.place_order(documented_stake())

    error = info.value
    texts = [str(error), repr(error), repr(error.request)]
    texts.append("".join(traceback.format_exception(error)))
    link: BaseException | None = error
    while link is not None:
        texts += [str(link), repr(link), repr(link.args)]
        link = link.__cause__ or link.__context__
    for text in texts:
        assert_no_secret(text, API_SECRET)


@pytest.mark.parametrize("key", ["Qz7Kp\n", " Qz7Kp", "Qz7 Kp", "", "Qz7Kpé", "Qz7Kp\x00"])
def test_an_api_key_that_cannot_go_on_the_wire_is_refused_at_construction(key: str) -> None:
    from asyncexch.chainup import ChainupContractClient

    with pytest.raises(ConfigurationError) as info:
        BybitClient(key, "secret")
    assert "Qz7" not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        ChainupContractClient(key, "secret", base_url="https://chainup.test")
        assert "Qz7" not in str(info.value)


async def test_a_lone_surrogate_in_a_value_is_an_invalid_request_naming_it() -> None:
    async with BybitClient(
        "key", "S3cr3t-never-shown-4b1d", base_url="https://bybit.test"
    ) as bybit:
        with pytest.raises(InvalidRequest) as caught:
            await bybit.advance_earn.quote("13015\udcff")
    assert caught.value.field == "productId"


# --- a signed query on both HTTP stacks, as a raw server reads it ------------------------

KEY = "aiohttp-key"
SECRET = "aiohttp-secret"
#: A signed read, to see the signed query string on the wire.
PROBE = Endpoint("probe", "GET", "/v5/test/probe", OrderAck)
#: Attempts allowed per call: a wrongly "never sent" failure would be resent.
RETRY = RetryPolicy(max_attempts=3, backoff=0.01, max_backoff=0.01)


def bybit_ack() -> Respond:
    envelope = {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"orderId": "1", "orderLinkId": "a"},
        "retExtInfo": {},
        "time": SERVER_MS,
    }
    return answer(json.dumps(envelope).encode(), headers=((b"Content-Type", b"application/json"),))


@contextlib.asynccontextmanager
async def _bybit(url: str, **kwargs: Any) -> AsyncIterator[BybitClient]:
    kwargs.setdefault("transport", "aiohttp")
    kwargs.setdefault("retry", RETRY)
    async with BybitClient(KEY, SECRET, base_url=url, limits=False, **kwargs) as client:
        yield client


def _request_line(head: bytes) -> bytes:
    return head.split(b"\r\n", 1)[0]


def _fields(head: bytes, *, lower: bool = False) -> list[tuple[bytes, bytes]]:
    """The header fields of a request head, names lower-cased if asked."""
    fields = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields.append((name.lower() if lower else name, value.strip()))
    return fields


async def test_a_signed_bybit_query_reaches_the_server_as_signed() -> None:
    # Both transports on the same virtual clock: the same timestamp, so the same signature.
    params = {"cursor": "page%3D2%2f3", "orderId": "1,2", "symbol": "BTC/USDT", "note": "a~b c"}
    seen: dict[str, bytes] = {}
    async with RawServer(bybit_ack()) as server:
        for stack in ("httpx", "aiohttp"):
            clock = VirtualClock(SERVER_MS / 1000)
            async with _bybit(server.url, transport=stack, clock=clock) as client:
                await client.session.call(PROBE, params)
            seen[stack], _ = server.requests[-1]
    assert _request_line(seen["aiohttp"]) == _request_line(seen["httpx"])
    assert _request_line(seen["aiohttp"]) == (
        b"GET /v5/test/probe?cursor=page%3D2%2f3&note=a~b%20c&orderId=1,2&symbol=BTC%2FUSDT"
        b" HTTP/1.1"
    )
    # The same headers, values and order (the signature among them), names aside.
    assert _fields(seen["aiohttp"], lower=True) == _fields(seen["httpx"], lower=True)
    assert b"x-bapi-sign" in dict(_fields(seen["aiohttp"], lower=True))
