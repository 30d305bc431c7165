"""Bybit answers -> typed errors: the retCode table, transport failures and garbled answers.

Everything goes through a real :class:`BybitClient` talking to respx, so the whole pipeline
(read -> classify -> retry -> decode) is what is under test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from asyncexch import (
    ApiError,
    AuthenticationError,
    BadParameter,
    ClockSkew,
    ExchangeError,
    InsufficientBalance,
    MalformedResponse,
    OrderAlreadyExists,
    OrderNotFound,
    Outcome,
    PermissionDenied,
    ProductUnavailable,
    RateLimited,
    RedeemNotAllowed,
    RetryPolicy,
    ServiceUnavailable,
    SlippageExceeded,
    TransportError,
)
from asyncexch.bybit import BybitClient, Quote, StakeOrder
from asyncexch.bybit._errors import _CODES
from tests.builders import raw
from tests.builders.bybit import (
    POSITION,
    PRODUCT,
    QUOTE,
    SERVER_MS,
    SUPERSCRIPT_TWO_TIMENOW,
    TIME,
    Headers,
    fail,
    ok,
)

QUOTE_RESULT: dict[str, Any] = {
    "category": "SmartLeverage",
    "productId": "P1",
    "currentPrice": "100.5",
}
ResponseFactory = Callable[[], Any]

# The expected class of every documented retCode, written out independently of the library's
# table (docs/v5/error.mdx "UTA" and "Earn" tables; ../shared/reference/bybit-v5.md section 4).
EXPECTED: dict[int, type[ApiError]] = {
    10000: ServiceUnavailable,
    10001: BadParameter,
    10002: ClockSkew,
    10003: AuthenticationError,
    10004: AuthenticationError,
    10005: PermissionDenied,
    10006: RateLimited,
    10007: AuthenticationError,
    10008: PermissionDenied,
    10009: PermissionDenied,
    10010: PermissionDenied,
    10014: OrderAlreadyExists,
    10016: ServiceUnavailable,
    10017: BadParameter,
    10018: RateLimited,
    10024: PermissionDenied,
    10027: PermissionDenied,
    10028: PermissionDenied,
    10029: PermissionDenied,
    429: RateLimited,
    180001: BadParameter,
    180002: BadParameter,
    180003: PermissionDenied,
    180004: PermissionDenied,
    180005: PermissionDenied,
    180006: BadParameter,
    180007: ProductUnavailable,
    180008: ProductUnavailable,
    180009: ProductUnavailable,
    180010: PermissionDenied,
    180011: PermissionDenied,
    180012: BadParameter,
    180013: BadParameter,
    180014: BadParameter,
    180015: ProductUnavailable,
    180016: InsufficientBalance,
    180017: PermissionDenied,
    180018: ServiceUnavailable,
    180019: BadParameter,
    180020: OrderNotFound,
    180021: BadParameter,
    180022: PermissionDenied,
    180023: ServiceUnavailable,
    180024: PermissionDenied,
    180025: OrderAlreadyExists,
    180026: ProductUnavailable,
    180027: PermissionDenied,
    180028: BadParameter,
    180029: RedeemNotAllowed,
    180030: SlippageExceeded,
    180031: OrderAlreadyExists,
}

EXPECTED_OUTCOME: dict[type[ApiError], Outcome] = {
    ServiceUnavailable: Outcome.UNKNOWN,
    RateLimited: Outcome.NOT_PROCESSED,
    ClockSkew: Outcome.NOT_PROCESSED,
}


def html(status: int, text: str = "Bad Gateway") -> httpx.Response:
    return httpx.Response(
        status,
        text=f"<html><head><title>{status} {text}</title></head><body>{text}</body></html>",
        headers={"Content-Type": "text/html"},
    )


@pytest.fixture(autouse=True)
def time_route(bybit_mock: respx.MockRouter) -> respx.Route:
    """The server-time endpoint a 10002 makes the client call; it agrees with our clock."""
    return bybit_mock.get(TIME).mock(
        return_value=ok({"timeSecond": str(SERVER_MS // 1000), "timeNano": str(SERVER_MS * 10**6)})
    )


# --- the retCode table --------------------------------------------------------------------


def test_table_covers_exactly_the_documented_codes() -> None:
    assert set(_CODES) == set(EXPECTED)


@pytest.mark.parametrize(("code", "cls"), sorted(EXPECTED.items()), ids=str)
async def test_ret_code_maps_to_its_typed_error(
    code: int,
    cls: type[ApiError],
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.get(QUOTE).mock(return_value=fail(code, f"the message of {code}"))
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(ApiError) as info:
        await client.advance_earn.quote("P1")

    error = info.value
    assert type(error) is cls
    assert error.code == code
    assert error.message == f"the message of {code}"
    assert error.venue == "bybit"
    assert error.http_status == 200
    assert error.outcome is EXPECTED_OUTCOME.get(cls, Outcome.FAILED)
    assert str(code) in str(error)
    assert route.call_count == 1


async def test_unknown_code_is_plain_api_error(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(QUOTE).mock(side_effect=[fail(123456, "new"), ok(QUOTE_RESULT)])
    client = make_client()

    with pytest.raises(ApiError) as info:
        await client.advance_earn.quote("P1")

    assert type(info.value) is ApiError
    assert (info.value.code, info.value.message, info.value.venue) == (123456, "new", "bybit")
    assert info.value.outcome is Outcome.FAILED
    assert route.call_count == 1  # FAILED: never retried


async def test_error_envelope_keeps_its_http_status(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    body = {"retCode": 10001, "retMsg": "params error", "result": {}, "time": SERVER_MS}
    bybit_mock.get(QUOTE).mock(return_value=httpx.Response(400, json=body))
    client = make_client()

    with pytest.raises(BadParameter) as info:
        await client.advance_earn.quote("P1")

    assert (info.value.code, info.value.http_status) == (10001, 400)


async def test_error_without_ret_msg_still_typed(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    body = {"retCode": 180016, "retMsg": None, "result": None, "time": SERVER_MS}
    bybit_mock.get(QUOTE).mock(return_value=httpx.Response(200, json=body))
    client = make_client()

    with pytest.raises(InsufficientBalance) as info:
        await client.advance_earn.quote("P1")

    assert info.value.code == 180016
    assert isinstance(info.value.message, str)


# --- retry or not, by outcome (GET) ---------------------------------------------------------

RETRIED: dict[str, ResponseFactory] = {
    # NOT_PROCESSED
    "10006": lambda: fail(10006, "Too many visits"),
    "10018": lambda: fail(10018, "IP rate limit"),
    "10002": lambda: fail(10002, "invalid request, please check your server timestamp"),
    "retCode-429": lambda: fail(429, "system frequency protection"),
    "http-429": lambda: httpx.Response(429, text="Too Many Requests"),
    "ConnectError": lambda: httpx.ConnectError,
    "ConnectTimeout": lambda: httpx.ConnectTimeout,
    # UNKNOWN (a GET is idempotent)
    "10000": lambda: fail(10000, "Server Timeout"),
    "10016": lambda: fail(10016, "service restarting"),
    "180018": lambda: fail(180018, "internal error"),
    "180023": lambda: fail(180023, "Service maintenance"),
    "http-500-html": lambda: html(500, "Internal Server Error"),
    "http-502-html": lambda: html(502, "Bad Gateway"),
    "http-503-html": lambda: html(503, "Service Unavailable"),
    "ReadTimeout": lambda: httpx.ReadTimeout,
    "RemoteProtocolError": lambda: httpx.RemoteProtocolError,
    "html-200": lambda: html(200, "Cloudflare"),
}


@pytest.mark.parametrize("first", list(RETRIED.values()), ids=list(RETRIED))
async def test_get_retries_not_processed_and_unknown_failures(
    first: ResponseFactory,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.get(QUOTE).mock(side_effect=[first(), ok(QUOTE_RESULT)])
    client = make_client()

    quote = await client.advance_earn.quote("P1")

    assert quote == Quote(category="SmartLeverage", product_id="P1", current_price=Decimal("100.5"))
    assert route.call_count == 2


FAILED_CODES = [10001, 10003, 10004, 10005, 10007, 10010, 10017, 180001, 180016, 180020, 180025]


@pytest.mark.parametrize("code", FAILED_CODES)
async def test_get_raises_failed_at_once(
    code: int, make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(QUOTE).mock(side_effect=[fail(code), ok(QUOTE_RESULT)])
    client = make_client()

    with pytest.raises(ApiError) as info:
        await client.advance_earn.quote("P1")

    assert type(info.value) is EXPECTED[code]
    assert info.value.outcome is Outcome.FAILED
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (httpx.ConnectError, Outcome.NOT_PROCESSED),
        (httpx.ConnectTimeout, Outcome.NOT_PROCESSED),
        (httpx.PoolTimeout, Outcome.NOT_PROCESSED),
        (httpx.ReadTimeout, Outcome.UNKNOWN),
        (httpx.WriteTimeout, Outcome.UNKNOWN),
        (httpx.ReadError, Outcome.UNKNOWN),
        (httpx.RemoteProtocolError, Outcome.UNKNOWN),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
async def test_transport_failure_outcome(
    exc: type[httpx.HTTPError],
    outcome: Outcome,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.get(QUOTE).mock(side_effect=exc)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(TransportError) as info:
        await client.advance_earn.quote("P1")

    assert type(info.value) is TransportError
    assert info.value.outcome is outcome
    assert isinstance(info.value.__cause__, exc)
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_html_is_service_unavailable(
    status: int, make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(QUOTE).mock(return_value=html(status))
    client = make_client(retry=RetryPolicy(max_attempts=2))

    with pytest.raises(ServiceUnavailable) as info:
        await client.advance_earn.quote("P1")

    assert type(info.value) is ServiceUnavailable
    assert info.value.code == status
    assert info.value.http_status == status
    assert info.value.venue == "bybit"
    assert info.value.outcome is Outcome.UNKNOWN


# Bybit's error page (docs/v5/error.mdx, "HTTP Code") defines 400, 401 and 404 as refusals of
# the request; a gateway answers them as plain text, without an envelope.
REFUSED_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadParameter,
    401: AuthenticationError,
    404: ApiError,
    405: ApiError,
    413: ApiError,
}


@pytest.mark.parametrize(("status", "cls"), sorted(REFUSED_BY_STATUS.items()), ids=str)
async def test_4xx_without_envelope_is_a_definite_refusal(
    status: int,
    cls: type[ApiError],
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.get(QUOTE).mock(
        side_effect=[httpx.Response(status, text="gateway says no"), ok(QUOTE_RESULT)]
    )
    client = make_client()

    with pytest.raises(ApiError) as info:
        await client.advance_earn.quote("P1")

    assert type(info.value) is cls
    assert (info.value.code, info.value.http_status) == (status, status)
    assert info.value.outcome is Outcome.FAILED
    assert f"HTTP {status}" in str(info.value) and "gateway says no" in str(info.value)
    assert route.call_count == 1  # refused: not sent again


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_4xx_refusal_of_an_order_is_not_status_unknown(
    status: int, make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    place = bybit_mock.post("/v5/earn/advance/place-order").mock(
        return_value=httpx.Response(status, text="Not here")
    )
    lookup = bybit_mock.get("/v5/earn/advance/order").mock(return_value=ok({"list": []}))
    client = make_client()
    order = StakeOrder(
        product_id="P1",
        coin="USDT",
        amount=Decimal("100"),
        initial_price=Decimal("100"),
        breakeven_price=Decimal("101"),
    )

    with pytest.raises(ApiError) as info:
        await client.advance_earn.place_order(order)

    assert type(info.value) is REFUSED_BY_STATUS[status]
    assert info.value.outcome is Outcome.FAILED
    assert place.call_count == 1  # sent once: never resent, never an unknown order
    assert lookup.call_count == 0


async def test_5xx_with_envelope_keeps_ret_code(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    body = {"retCode": 10016, "retMsg": "restarting", "result": {}, "time": SERVER_MS}
    bybit_mock.get(QUOTE).mock(return_value=httpx.Response(500, json=body))
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(ServiceUnavailable) as info:
        await client.advance_earn.quote("P1")

    assert (info.value.code, info.value.http_status) == (10016, 500)


# --- garbled answers ----------------------------------------------------------------------

GARBLED: dict[str, ResponseFactory] = {
    "html-200": lambda: html(200, "Just a moment..."),
    "truncated-json": lambda: raw('{"retCode":0,"retMsg":"OK","result":{"productId":"P1"'),
    "json-array": lambda: raw("[1, 2, 3]"),
    "json-string": lambda: raw('"OK"'),
    "json-null": lambda: raw("null"),
    "empty-body": lambda: raw(b""),
    "not-utf8": lambda: raw(b"\xff\xfe\x00garbage"),
    "missing-result": lambda: raw('{"retCode":0,"retMsg":"OK","time":1700000000000}'),
    "result-null": lambda: raw('{"retCode":0,"retMsg":"OK","result":null}'),
    "result-list": lambda: raw('{"retCode":0,"retMsg":"OK","result":[]}'),
    "result-string": lambda: raw('{"retCode":0,"retMsg":"OK","result":"x"}'),
    "retCode-string": lambda: raw('{"retCode":"0","retMsg":"OK","result":{}}'),
    "retCode-string-error": lambda: raw('{"retCode":"10006","retMsg":"x","result":{}}'),
    "retCode-bool": lambda: raw('{"retCode":false,"retMsg":"OK","result":{}}'),
    "retCode-float": lambda: raw('{"retCode":0.0,"retMsg":"OK","result":{}}'),
    "retCode-null": lambda: raw('{"retCode":null,"retMsg":"OK","result":{}}'),
    "retCode-NaN": lambda: raw('{"retCode":NaN,"retMsg":"OK","result":{}}'),
    "missing-retCode": lambda: raw('{"retMsg":"OK","result":{}}'),
    "result-empty": lambda: ok({}),
    "missing-productId": lambda: ok({"category": "SmartLeverage", "currentPrice": "1"}),
    "productId-null": lambda: ok({**QUOTE_RESULT, "productId": None}),
    "productId-list": lambda: ok({**QUOTE_RESULT, "productId": ["P1"]}),
    "price-bool": lambda: ok({**QUOTE_RESULT, "currentPrice": True}),
    "price-not-a-number": lambda: ok({**QUOTE_RESULT, "currentPrice": "abc"}),
    "price-infinite": lambda: ok({**QUOTE_RESULT, "currentPrice": "Infinity"}),
    "price-object": lambda: ok({**QUOTE_RESULT, "currentPrice": {"v": 1}}),
    "expireAt-text": lambda: ok({**QUOTE_RESULT, "expireAt": "tomorrow"}),
    "deeply-nested": lambda: raw(b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("answer", list(GARBLED.values()), ids=list(GARBLED))
async def test_garbled_answer_is_malformed_response(
    answer: ResponseFactory,
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    bybit_mock.get(QUOTE).mock(side_effect=lambda request: answer())
    client = make_client(retry=RetryPolicy(max_attempts=2))

    with pytest.raises(ExchangeError) as info:
        await client.advance_earn.quote("P1")

    assert type(info.value) is MalformedResponse, repr(info.value)
    assert info.value.outcome is Outcome.UNKNOWN


GARBLED_POSITIONS: dict[str, dict[str, Any]] = {
    "list-null": {"category": "SmartLeverage", "nextPageCursor": "", "list": None},
    "list-missing": {"category": "SmartLeverage", "nextPageCursor": ""},
    "list-of-strings": {"category": "SmartLeverage", "nextPageCursor": "", "list": ["p"]},
    "amount-bool": {
        "nextPageCursor": "",
        "list": [
            {
                "positionId": "1",
                "productId": "P1",
                "amount": True,
                "status": "Active",
                "redeemable": True,
            }
        ],
    },
    "missing-productId": {
        "nextPageCursor": "",
        "list": [{"positionId": "1", "amount": "5", "status": "Active", "redeemable": True}],
    },
    "redeemable-yes": {
        "nextPageCursor": "",
        "list": [
            {
                "positionId": "1",
                "productId": "P1",
                "amount": "5",
                "status": "Active",
                "redeemable": "yes",
            }
        ],
    },
    "cursor-number": {"nextPageCursor": 5.5, "list": []},
}


@pytest.mark.parametrize("result", list(GARBLED_POSITIONS.values()), ids=list(GARBLED_POSITIONS))
async def test_result_with_wrong_types_is_malformed_response(
    result: dict[str, Any],
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
) -> None:
    route = bybit_mock.get(POSITION).mock(return_value=ok(result))
    client = make_client()

    with pytest.raises(ExchangeError) as info:
        _ = [position async for position in client.advance_earn.positions()]

    assert type(info.value) is MalformedResponse, repr(info.value)
    assert route.call_count == 1  # a payload that decodes badly is not sent again


PRODUCT_ITEM = {
    "category": "SmartLeverage",
    "productId": "P1",
    "investCoin": "USDT",
    "underlyingAsset": "BTC",
    "direction": "Long",
    "leverage": "2",
    "duration": "3d",
    "minPurchaseAmount": "10",
    "remainingAmount": "1000",
    "orderPrecisionDigital": 2,
}


async def test_well_formed_product_decodes(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(PRODUCT).mock(return_value=ok({"list": [PRODUCT_ITEM], "nextPageCursor": ""}))
    client = make_client()

    (product,) = await client.advance_earn.products()

    assert product.order_precision_digital == 2
    assert product.leverage == Decimal("2")


@pytest.mark.parametrize(
    "precision", ["2.5", "true", '"two"', "null"], ids=["fraction", "bool", "text", "null"]
)
async def test_integer_field_with_wrong_value_is_malformed_response(
    precision: str, make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    product = json.dumps({**PRODUCT_ITEM, "orderPrecisionDigital": "X"}).replace('"X"', precision)
    text = f'{{"retCode":0,"retMsg":"OK","result":{{"list":[{product}]}},"time":{SERVER_MS}}}'
    bybit_mock.get(PRODUCT).mock(return_value=raw(text))
    client = make_client()

    with pytest.raises(ExchangeError) as info:
        await client.advance_earn.products()

    assert type(info.value) is MalformedResponse, repr(info.value)


async def test_malformed_response_carries_status_and_excerpt(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(QUOTE).mock(return_value=html(200, "Just a moment"))
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(MalformedResponse) as info:
        await client.advance_earn.quote("P1")

    assert info.value.status_code == 200
    assert info.value.excerpt.startswith("<html>")
    assert "Just a moment" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "time", "offset"),
    [(SUPERSCRIPT_TWO_TIMENOW, SERVER_MS, 0.0), (None, 10**400, None)],
    ids=["superscript-digit-header", "huge-envelope-time"],
)
async def test_garbage_numbers_in_an_answer_are_typed_errors(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    headers: Headers | None,
    time: int,
    offset: float | None,
) -> None:
    """int("²") would raise ValueError reading a header; float(10**400) would overflow in
    ServerTime.observe: neither escapes, and the garbage is ignored. The answer is read (the
    header's digit is not a time; the envelope's time, when it is one, still teaches the
    server's clock; a time past any clock teaches nothing)."""
    bybit_mock.get(PRODUCT).mock(
        return_value=ok({"category": "SmartLeverage", "list": []}, time=time, headers=headers)
    )
    client = make_client()

    assert await client.advance_earn.products() == []
    assert client.session.server_time.offset == offset


async def test_garbled_answer_then_good_one_succeeds(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(QUOTE).mock(
        side_effect=[html(200), raw('{"retCode":0,"res'), ok(QUOTE_RESULT)]
    )
    client = make_client()

    quote = await client.advance_earn.quote("P1")

    assert quote.current_price == Decimal("100.5")
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"retCode": 0, "retMsg": "OK", "resu', "truncated JSON, not a Bybit answer"),
        (b"<html><body>Maintenance</body></html>", "an HTML page, not a Bybit answer"),
        (b"", "an empty body, not a Bybit answer"),
        (b'["a list"]', "JSON, not a Bybit answer"),
    ],
)
async def test_an_unreadable_answer_says_what_it_is(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, body: bytes, said: str
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(return_value=httpx.Response(200, content=body))

    with pytest.raises(MalformedResponse) as caught:
        await make_client(retry=RetryPolicy(max_attempts=1)).advance_earn.products()

    assert f"/v5/earn/advance/product: {said}" in str(caught.value)


# --- a refused key ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [fail(10003, "API key is invalid."), httpx.Response(401, text="Unauthorized")],
    ids=["10003", "http-401"],
)
async def test_a_refused_key_hints_at_the_environment(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, answer: httpx.Response
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(return_value=answer)
    client = make_client()

    with pytest.raises(AuthenticationError) as caught:
        await client.advance_earn.products()

    text = str(caught.value)
    assert "keys of Bybit's mainnet, testnet and demo trading are separate" in text
    assert "this client talks to api.bybit.test" in text
    assert "separate" not in caught.value.message  # the venue's own words stay apart
