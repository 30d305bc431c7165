"""ChainUP contract open-API v1 on the wire: MD5 signing, bodies, decoding and the error map.

Requests go through a real ChainupContractClient bound to respx (or, for codes Python cannot
read, a raw server on 127.0.0.1); each check reads what the transport received and recomputes
the signature from those bytes independently (``hashlib.md5`` over the sorted ``key+value``
pairs plus the secret).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from asyncexch import (
    InvalidRequest,
    OrderStatusUnknown,
    RetryPolicy,
    Secret,
    TransportChoice,
    VirtualClock,
)
from asyncexch._endpoint import Endpoint
from asyncexch.chainup import (
    ChainupContractClient,
    ChainupVenue,
    CloseType,
    MarginMode,
    Md5Signer,
    OrderStatus,
    OrderType,
    Side,
    TakeOrder,
    string_to_sign,
)
from asyncexch.chainup._endpoints import CONTRACTS, MARKET, ORDER_LIST, TAKE_ORDER
from asyncexch.errors import (
    ApiError,
    AuthenticationError,
    BadParameter,
    ClockSkew,
    ConfigurationError,
    InsufficientBalance,
    MalformedResponse,
    OrderNotFound,
    Outcome,
    PermissionDenied,
    ProductUnavailable,
    RateLimited,
    ServiceUnavailable,
)
from tests.builders import raw
from tests.builders.chainup import API_KEY, API_SECRET, BASE_URL, TAKE, fail, ok
from tests.raw_server import RawServer, answer

#: reference/contract-api.md section 3, self-computed vectors (secret = 17 x "x").
SYMBOL_STRING = "api_key0816016bb06417f50327e2b557d39aaasymbolltcbtctime1522055680"
SYMBOL_SIGN = "87d2ac36631a386b38a613eb394c6e1a"
APPKEY_SIGN = "82d38bae5fc727feea4f7a96c7db0492"
DOC_TIME_MS = 1556613463000
DOC_STRING = (
    "api_key0816016bb06417f50327e2b557d39aaacloseType0contractId1copType2level10orderType1"
    "price7000sideBUYtime1556613463000volume1"
)
DOC_SIGN = "8854f88e3803f54c414a57b8d2fd32b9"
DOC_BODY = {
    "api_key": API_KEY,
    "closeType": "0",
    "contractId": "1",
    "copType": "2",
    "level": "10",
    "orderType": "1",
    "price": "7000",
    "side": "BUY",
    "time": "1556613463000",
    "volume": "1",
    "sign": DOC_SIGN,
}

ORDER_CREATED = (
    '{"code":"0","data":{"orderId":15598,"liquidationPrice":6857.054400004785},"msg":"成功"}'
)


# --- helpers and fixtures -----------------------------------------------------------------


def doc_order(**overrides: Any) -> TakeOrder:
    """The documented take_order example."""
    fields: dict[str, Any] = {
        "contract_id": 1,
        "volume": Decimal(1),
        "price": Decimal(7000),
        "level": 10,
        "order_type": OrderType.LIMIT,
        "close_type": CloseType.OPEN,
        "cop_type": MarginMode.ISOLATED,
        "side": Side.BUY,
    }
    fields.update(overrides)
    return TakeOrder(**fields)


def independent_sign(fields: Mapping[str, str], secret: str = API_SECRET) -> str:
    text = "".join(
        key + value
        for key, value in sorted(fields.items(), key=lambda kv: kv[0].encode("utf-8"))
        if key != "sign" and value != ""
    )
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


def body_fields(request: httpx.Request) -> dict[str, str]:
    """The parameters as received, JSON or form."""
    content_type = request.headers["Content-Type"]
    if content_type == "application/json":
        body = json.loads(request.content)
        assert isinstance(body, dict)
        for key, value in body.items():
            assert isinstance(value, str), f"{key} sent as {type(value).__name__}, not a string"
        return body
    assert content_type == "application/x-www-form-urlencoded"
    pairs = parse_qsl(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    assert len({key for key, _ in pairs}) == len(pairs)
    return dict(pairs)


def assert_signed(request: httpx.Request, secret: str = API_SECRET) -> dict[str, str]:
    fields = body_fields(request)
    assert fields["api_key"] == API_KEY
    assert fields["time"].isdigit() and len(fields["time"]) == 13
    assert fields["sign"] == independent_sign(fields, secret)
    assert all(value != "" for value in fields.values())
    return fields


def venue(encoding: str = "json") -> ChainupVenue:
    return ChainupVenue(API_KEY, API_SECRET, base_url=BASE_URL, encoding=encoding)  # type: ignore[arg-type]


# --- the reference vectors ----------------------------------------------------------------


def test_string_to_sign_and_md5_of_the_symbol_vector() -> None:
    fields = [("time", "1522055680"), ("symbol", "ltcbtc"), ("api_key", API_KEY)]
    assert string_to_sign(fields) == SYMBOL_STRING
    assert Md5Signer(API_SECRET).sign(fields) == SYMBOL_SIGN
    assert Md5Signer(API_SECRET).sign(fields) == independent_sign(dict(fields))


def test_md5_of_the_open_platform_appkey_vector() -> None:
    fields = [("appKey", API_KEY), ("symbol", "ltcbtc"), ("time", "1522055680")]
    assert Md5Signer(API_SECRET).sign(fields) == APPKEY_SIGN


def test_string_to_sign_and_md5_of_the_take_order_vector() -> None:
    fields = [(key, value) for key, value in DOC_BODY.items() if key != "sign"]
    assert string_to_sign(reversed(fields)) == DOC_STRING
    assert Md5Signer(API_SECRET).sign(fields) == DOC_SIGN
    # ``sign`` itself never takes part, nor do empty values.
    assert Md5Signer(API_SECRET).sign([*fields, ("sign", "abc"), ("positionId", "")]) == DOC_SIGN


def test_the_signature_is_lowercase_hex_and_depends_on_the_secret() -> None:
    fields = [("a", "1")]
    sign = Md5Signer(API_SECRET).sign(fields)
    assert sign == independent_sign({"a": "1"}) == hashlib.md5(b"a1" + b"x" * 17).hexdigest()
    assert re.fullmatch("[0-9a-f]{32}", sign)
    assert Md5Signer("y" * 17).sign(fields) != sign


def test_string_to_sign_sorts_by_byte_order() -> None:
    # "_" (0x5F) sorts after upper case and before lower case; upper case before lower.
    fields = [("b", "1"), ("a_b", "2"), ("aB", "3"), ("A", "4"), ("a", "5")]
    assert string_to_sign(fields) == "A4a5aB3a_b2b1"


def test_md5_signer_refuses_an_empty_secret() -> None:
    with pytest.raises(ConfigurationError):
        Md5Signer("")


async def test_take_order_on_the_wire_matches_the_documented_vector(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client(clock=VirtualClock(start=DOC_TIME_MS / 1000))

    await client.take_order(doc_order())

    assert route.call_count == 1
    request = route.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert body_fields(request) == DOC_BODY
    assert request.url.query == b""
    assert_signed(request)


async def test_take_order_form_encoded_carries_the_same_fields_and_signature(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client(clock=VirtualClock(start=DOC_TIME_MS / 1000), encoding="form")

    await client.take_order(doc_order())

    request = route.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert not request.content.startswith(b"{")
    assert body_fields(request) == DOC_BODY
    assert_signed(request)


async def test_form_encoding_escapes_values_but_signs_them_raw(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client(encoding="form")

    await client.take_order(doc_order(price=Decimal("7000.10"), volume=Decimal("1E+3")))

    fields = assert_signed(route.calls[0].request)
    assert fields["price"] == "7000.10" and fields["volume"] == "1000"


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        venue("xml")


# --- what goes on the wire ----------------------------------------------------------------


async def test_time_is_the_clock_in_milliseconds(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    clock = VirtualClock(start=1_700_000_123.456789)
    client = make_chainup_client(clock=clock)

    await client.take_order(doc_order())

    fields = assert_signed(route.calls[0].request)
    assert fields["time"] == "1700000123456"


async def test_optional_parameters_are_left_out_of_body_and_signature(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client()

    await client.take_order(
        TakeOrder(contract_id=7, side="SELL", volume=Decimal("2"), order_type="MARKET")
    )

    fields = assert_signed(route.calls[0].request)
    assert set(fields) == {
        "api_key",
        "closeType",
        "contractId",
        "copType",
        "orderType",
        "side",
        "time",
        "volume",
        "sign",
    }
    assert fields["closeType"] == "0"  # "0" is a value, not an empty one
    assert b"null" not in route.calls[0].request.content
    assert b"None" not in route.calls[0].request.content


def test_encode_drops_none_and_empty_values_from_body_and_signature() -> None:
    chainup = venue()
    wire = chainup.sign(
        chainup.encode(ORDER_LIST, {"b": "", "c": None, "a": "x", "z": 0}), DOC_TIME_MS
    )
    body = json.loads(wire.body or b"")
    assert set(body) == {"a", "z", "api_key", "time", "sign"}
    assert body["a"] == "x" and body["z"] == "0" and body["time"] == str(DOC_TIME_MS)
    assert body["sign"] == independent_sign(body)
    assert dict(wire.headers)["Content-Type"] == "application/json"


def test_each_signing_starts_from_the_unsigned_fields() -> None:
    chainup = venue()
    wire = chainup.encode(ORDER_LIST, {"contractId": "1"})
    first = json.loads(chainup.sign(wire, DOC_TIME_MS).body or b"")
    second = json.loads(chainup.sign(wire, DOC_TIME_MS + 1000).body or b"")
    assert second["time"] == str(DOC_TIME_MS + 1000)
    assert second["sign"] == independent_sign(second) != first["sign"]
    assert set(second) == {"contractId", "api_key", "time", "sign"}


def test_get_parameters_go_in_the_query_string_not_dropped() -> None:
    # A GET endpoint (public, unsigned) once lost its parameters on the way to the wire.
    ticker = Endpoint("ticker", "GET", "/api/ticker", dict, buckets=("market",), signed=False)
    wire = venue().encode(ticker, {"contractName": "E-BTC-USDT", "depth": 5, "skip": None})
    assert (wire.method, wire.path, wire.body) == ("GET", "/api/ticker", None)
    assert wire.query == "contractName=E-BTC-USDT&depth=5"


@pytest.mark.parametrize(
    ("volume", "price", "sent_volume", "sent_price"),
    [
        (Decimal("1"), Decimal("7000.10"), "1", "7000.10"),
        (Decimal("1E+3"), Decimal("7E+3"), "1000", "7000"),
        (Decimal("2"), Decimal("1E-8"), "2", "0.00000001"),
        # Whole contracts go as integers: "10", not "10.000".
        (Decimal("10.000"), Decimal("6857.054400004785"), "10", "6857.054400004785"),
    ],
)
async def test_decimals_are_sent_exactly_as_signed_in_plain_notation(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    volume: Decimal,
    price: Decimal,
    sent_volume: str,
    sent_price: str,
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client()

    await client.take_order(doc_order(volume=volume, price=price))

    request = route.calls[0].request
    fields = assert_signed(request)
    assert fields["volume"] == sent_volume
    assert fields["price"] == sent_price
    assert b"E" not in request.content and b"e+" not in request.content
    assert b"e-" not in request.content


async def test_transfer_margin_amount_in_plain_notation(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post("/api/transfer_margin").mock(return_value=ok(None))
    client = make_chainup_client()

    await client.transfer_margin(1, 77, Decimal("-1E+1"))
    await client.transfer_margin(1, 77, Decimal("0.50"))

    first, second = (assert_signed(call.request) for call in route.calls)
    assert {k: first[k] for k in ("contactId", "positionId", "amount")} == {
        "contactId": "1",  # the published spelling, by default
        "positionId": "77",
        "amount": "-10",
    }
    assert "contractId" not in first
    assert second["amount"] == "0.50"


async def test_transfer_margin_can_send_the_apps_spelling(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post("/api/transfer_margin").mock(return_value=ok(None))
    client = make_chainup_client(transfer_margin_param="contractId")

    await client.transfer_margin(1, 77, Decimal("5"))

    fields = assert_signed(route.calls[0].request)
    assert fields["contractId"] == "1" and "contactId" not in fields


def test_transfer_margin_param_must_be_one_of_the_two_spellings() -> None:
    with pytest.raises(ConfigurationError, match="transfer_margin_param"):
        ChainupContractClient(base_url=BASE_URL, transfer_margin_param="contract_id")  # type: ignore[arg-type]


async def test_other_private_endpoints_send_their_documented_parameters(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    cancel = chainup_mock.post("/api/cancel_order").mock(return_value=ok(None))
    cancel_all = chainup_mock.post("/api/cancel_order_all").mock(return_value=ok(None))
    info = chainup_mock.post("/api/order_info").mock(return_value=ok([]))
    level = chainup_mock.post("/api/change_level").mock(return_value=ok(None))
    positions = chainup_mock.post("/api/user_position").mock(
        return_value=ok({"positionCount": 0, "orderCount": 0, "positions": []})
    )
    balance = chainup_mock.post("/api/account_balance").mock(return_value=ok([]))
    client = make_chainup_client()

    await client.cancel_order(15598, 1)
    await client.cancel_all(1)
    await client.order_info(1, [15598, 15599])
    await client.change_leverage(1, 20, 77)
    await client.positions()
    await client.positions(2)
    await client.account_balance()

    def sent(route: respx.Route, index: int = 0) -> dict[str, str]:
        fields = assert_signed(route.calls[index].request)
        return {k: v for k, v in fields.items() if k not in ("api_key", "time", "sign")}

    assert sent(cancel) == {"orderId": "15598", "contractId": "1"}
    assert sent(cancel_all) == {"contractId": "1"}
    assert sent(info) == {"contract_id": "1", "ids": "15598,15599"}
    assert sent(level) == {"contractId": "1", "leverageLevel": "20", "positionId": "77"}
    assert sent(positions, 0) == {}
    assert sent(positions, 1) == {"contractId": "2"}
    assert sent(balance) == {}


async def test_every_attempt_is_signed_afresh_with_its_own_time(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(
        side_effect=[fail(119, "too frequent"), raw(ORDER_CREATED)]
    )
    client = make_chainup_client()

    await client.take_order(doc_order())

    first, second = (assert_signed(call.request) for call in route.calls)
    assert int(second["time"]) - int(first["time"]) >= 1000
    assert first["sign"] != second["sign"]
    assert {k: v for k, v in first.items() if k not in ("time", "sign")} == {
        k: v for k, v in second.items() if k not in ("time", "sign")
    }


# --- unsigned public endpoints ------------------------------------------------------------

CONTRACT_INFO = """{"code":"0","msg":"","data":{"market":{
 "E_BTCUSD":{"id":1,"symbol":"E_BTCUSD","contractName":"BTC永续","contractType":"0",
  "baseSymbol":"BTC","quoteSymbol":"USD","feeRateMaker":"0.0002","feeRateTaker":0.00075,
  "holdRate":0.005,"leverTypes":"1,2,3,5,10","maxLeverageLevel":"100","minOrderVolume":1,
  "maxOrderVolume":"100000","minMargin":"0.0001","pricePrecision":1,"multiplier":"1",
  "settleTime":0,"status":1},
 "E_ETHUSD":{"id":"2","symbol":"E_ETHUSD","contractType":1,"leverTypes":"1,5,20",
  "maxLeverageLevel":20,"minOrderVolume":"0.01","pricePrecision":"2",
  "feeRateTaker":"0.0007500000000000000001","status":"2"}},
 "marketSymbol":["E_BTCUSD","E_ETHUSD"],"wsUrl":"wss://ws.chainup.test","lan":{},"coinList":[]}}"""

TICKER = (
    '{"code":"0","msg":"suc","data":{"high":"7100","low":6900.5,"vol":"1000",'
    '"last":7000.123456789012345,"buy":"7000","sell":7000.5,"rose":"-0.0125",'
    '"indexPrice":7001.01,"tagPrice":"7001.02","time":1556613463000}}'
)


@pytest.mark.parametrize("keyed", [True, False])
async def test_contracts_is_a_bare_get(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    keyed: bool,
) -> None:
    route = chainup_mock.get("/api/contract_public_info").mock(return_value=raw(CONTRACT_INFO))
    client = make_chainup_client() if keyed else make_chainup_client(api_key=None, api_secret=None)

    await client.contracts()

    request = route.calls[0].request
    assert request.method == "GET"
    assert request.url.query == b""
    assert request.content == b""
    for word in (b"api_key", b"sign", b"time"):
        assert word not in request.url.raw_path


async def test_ticker_is_signed_as_published(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    """/api/market lists api_key, time and sign as required."""
    route = chainup_mock.post("/api/market").mock(return_value=raw(TICKER))
    client = make_chainup_client()

    await client.ticker(1)

    request = route.calls[0].request
    fields = assert_signed(request)
    assert set(fields) == {"contractId", "api_key", "time", "sign"}
    assert fields["contractId"] == "1"
    assert request.url.query == b""
    with pytest.raises(ConfigurationError):
        await make_chainup_client(api_key=None, api_secret=None).ticker(1)
    assert route.call_count == 1


async def test_signed_endpoint_without_keys_is_refused_before_sending(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client(api_key=None, api_secret=None)

    with pytest.raises(ConfigurationError):
        await client.take_order(doc_order())
    with pytest.raises(ConfigurationError):
        await client.positions()
    assert route.call_count == 0
    assert len(chainup_mock.calls) == 0


def test_key_without_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        ChainupContractClient(API_KEY, None, base_url=BASE_URL)
    with pytest.raises(ConfigurationError):
        ChainupContractClient(None, API_SECRET, base_url=BASE_URL)


# --- decoding -----------------------------------------------------------------------------


async def test_order_created_keeps_every_digit(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post(TAKE).mock(return_value=raw(ORDER_CREATED))
    client = make_chainup_client()

    created = await client.take_order(doc_order())

    assert created.order_id == 15598 and type(created.order_id) is int
    assert isinstance(created.liquidation_price, Decimal)
    assert created.liquidation_price == Decimal("6857.054400004785")
    assert str(created.liquidation_price) == "6857.054400004785"


async def test_code_as_json_integer_zero_is_success(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post(TAKE).mock(
        return_value=raw('{"code":0,"msg":"","data":{"orderId":"42","liquidationPrice":""}}')
    )
    client = make_chainup_client()

    created = await client.take_order(doc_order())

    assert created.order_id == 42
    assert created.liquidation_price is None


async def test_positions_with_mixed_numbers_and_strings(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post("/api/user_position").mock(
        return_value=raw(
            '{"code":"0","msg":"","data":{"positionCount":1,"orderCount":0,"positions":[{'
            '"id":5047,"contractId":"1","symbol":"E_BTCUSD","contractName":"BTC永续",'
            '"side":"BUY","volume":"10","avgPrice":7000.123456789012345678,'
            '"liquidationPrice":"6857.054400004785","indexPrice":7010,"leverageLevel":"10",'
            '"usedMargin":"0.0142857","holdAmount":0,"canUseMargin":1.5e-3,'
            '"realisedAmountCurr":"-0.0001","unrealisedAmountIndex":0.00000123,'
            '"copType":2}]}}'
        )
    )
    client = make_chainup_client()

    (position,) = await client.positions(1)

    assert position.id == 5047 and position.contract_id == 1
    assert position.side is Side.BUY
    assert position.volume == Decimal("10")
    assert str(position.avg_price) == "7000.123456789012345678"
    assert position.liquidation_price == Decimal("6857.054400004785")
    assert position.index_price == Decimal(7010)
    assert position.leverage_level == 10
    assert position.used_margin == Decimal("0.0142857")
    assert position.hold_amount == Decimal(0)
    assert position.can_use_margin == Decimal("0.0015")
    assert position.realised_amount_curr == Decimal("-0.0001")
    assert position.unrealised_amount_index == Decimal("0.00000123")


async def test_balances_with_mixed_numbers_and_strings(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post("/api/account_balance").mock(
        return_value=raw(
            '{"code":"0","msg":"","data":[{"quoteSymbol":"USDT","margin":"1000.5",'
            '"accountRight":1000.123456789012345,"canUseBalance":0,"positionMargin":"12.5",'
            '"orderMargin":3,"unrealisedAmount":"-0.25","openPositionFee":0.0001},'
            '{"quoteSymbol":"BTC","margin":"","accountRight":"0"}]}'
        )
    )
    client = make_chainup_client()

    usdt, btc = await client.account_balance()

    assert usdt.quote_symbol == "USDT"
    assert usdt.margin == Decimal("1000.5")
    assert str(usdt.account_right) == "1000.123456789012345"
    assert usdt.can_use_balance == Decimal(0)
    assert usdt.position_margin == Decimal("12.5")
    assert usdt.order_margin == Decimal(3)
    assert usdt.unrealised_amount == Decimal("-0.25")
    assert usdt.open_position_fee == Decimal("0.0001")
    assert btc.quote_symbol == "BTC" and btc.margin is None and btc.account_right == 0
    for value in (usdt.margin, usdt.account_right, usdt.can_use_balance, usdt.order_margin):
        assert isinstance(value, Decimal)


async def test_contracts_with_mixed_fields_and_leverage_levels(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.get("/api/contract_public_info").mock(return_value=raw(CONTRACT_INFO))
    client = make_chainup_client()

    contracts = {contract.symbol: contract for contract in await client.contracts()}
    await client.contracts()  # cached

    assert route.call_count == 1
    btc, eth = contracts["E_BTCUSD"], contracts["E_ETHUSD"]
    assert btc.id == 1 and eth.id == 2
    assert btc.contract_name == "BTC永续"
    assert btc.lever_types == "1,2,3,5,10"
    assert btc.leverage_levels == (1, 2, 3, 5, 10)
    assert eth.leverage_levels == (1, 5, 20)
    assert btc.contract_type == 0 and eth.contract_type == 1
    assert btc.fee_rate_maker == Decimal("0.0002")
    assert btc.fee_rate_taker == Decimal("0.00075")
    assert str(eth.fee_rate_taker) == "0.0007500000000000000001"
    assert btc.max_leverage_level == 100 and eth.max_leverage_level == 20
    assert btc.min_order_volume == Decimal(1) and eth.min_order_volume == Decimal("0.01")
    assert btc.price_precision == 1 and eth.price_precision == 2
    assert btc.status == 1 and eth.status == 2

    await client.contracts(refresh=True)
    assert route.call_count == 2


async def test_ticker_decodes_exactly(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post("/api/market").mock(return_value=raw(TICKER))
    client = make_chainup_client()

    ticker = await client.ticker(1)

    assert str(ticker.last) == "7000.123456789012345"
    assert ticker.high == Decimal("7100") and ticker.low == Decimal("6900.5")
    assert ticker.rose == Decimal("-0.0125")
    assert ticker.index_price == Decimal("7001.01") and ticker.tag_price == Decimal("7001.02")
    assert ticker.time == datetime(2019, 4, 30, 8, 37, 43, tzinfo=timezone.utc)


ORDER_LIST_BODY = (
    '{"code":"0","msg":"","data":{"count":2,"orderList":['
    '{"orderId":"15598","contractId":1,"side":"BUY","type":"1","volume":1,"dealVolume":"0.5",'
    '"price":7000.10,"status":3,"positionId":"77","level":10,"action":"OPEN",'
    '"ctime":1556613463000},'
    '{"orderId":15599,"contractId":"1","side":"SELL","type":2,"volume":"3","dealVolume":0,'
    '"price":"","status":"9","positionId":null,"level":"5","action":"CLOSE",'
    '"ctime":"1556613464000"}]}}'
)


async def test_order_list_with_mixed_fields(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    # A second page (or more) would be a bug: count says 2 and both came on page 1.
    route = chainup_mock.post("/api/order_list_v2").mock(
        side_effect=[raw(ORDER_LIST_BODY), ok({"count": 2, "orderList": []})]
    )
    client = make_chainup_client()

    first, second = [order async for order in client.orders(1, which="history", page_size=50)]

    assert route.call_count == 1

    fields = assert_signed(route.calls[0].request)
    assert {k: fields[k] for k in ("contractId", "order_type", "pageNo", "pageSize")} == {
        "contractId": "1",
        "order_type": "3",
        "pageNo": "1",
        "pageSize": "50",
    }
    assert first.order_id == 15598 and second.order_id == 15599
    assert first.contract_id == 1 == second.contract_id
    assert first.side is Side.BUY and second.side is Side.SELL
    assert first.type is OrderType.LIMIT and second.type is OrderType.MARKET
    assert first.volume == 1 and second.volume == Decimal(3)
    assert first.deal_volume == Decimal("0.5") and second.deal_volume == 0
    assert str(first.price) == "7000.10" and second.price is None
    assert first.status is OrderStatus.PARTIALLY_FILLED
    assert second.status == 9 and not second.status.known
    assert first.position_id == 77 and second.position_id is None
    assert first.level == 10 and second.level == 5
    assert first.action == "OPEN" and second.action == "CLOSE"
    assert first.ctime == datetime(2019, 4, 30, 8, 37, 43, tzinfo=timezone.utc)
    assert second.ctime == datetime(2019, 4, 30, 8, 37, 44, tzinfo=timezone.utc)


async def test_order_info_with_trades(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post("/api/order_info").mock(
        return_value=raw(
            '{"code":"0","msg":"","data":[{"id":15598,"side":"BUY","type":1,"volume":"1",'
            '"dealVolume":1,"price":"7000","avgPrice":6999.123456789012345,"realizedAmount":"0",'
            '"freezeAmount":0,"status":2,"tradeList":[{"id":"1","price":6999.5,"volume":"0.4",'
            '"askId":1,"bidId":2,"trendSide":"BUY"},{"id":2,"price":"6998.75","volume":0.6}]}]}'
        )
    )
    client = make_chainup_client()

    (detail,) = await client.order_info(1, [15598])

    assert detail.id == 15598 and detail.side is Side.BUY and detail.type is OrderType.LIMIT
    assert detail.status is OrderStatus.FILLED and detail.status.is_final
    assert str(detail.avg_price) == "6999.123456789012345"
    assert detail.deal_volume == 1 and detail.freeze_amount == 0
    assert [(t.id, t.price, t.volume) for t in detail.trade_list] == [
        (1, Decimal("6999.5"), Decimal("0.4")),
        (2, Decimal("6998.75"), Decimal("0.6")),
    ]


@pytest.mark.parametrize(
    ("wire", "member", "final"),
    [
        (0, OrderStatus.INITIAL, False),
        ("1", OrderStatus.NEW, False),
        (2, OrderStatus.FILLED, True),
        (3, OrderStatus.PARTIALLY_FILLED, False),
        ("4", OrderStatus.CANCELLED, True),
        (5, OrderStatus.PENDING_CANCEL, False),
        (6, OrderStatus.ABNORMAL, True),
        (7, OrderStatus.PARTIALLY_FILLED_CANCELLED, True),
    ],
)
async def test_known_order_statuses(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    wire: int | str,
    member: OrderStatus,
    final: bool,
) -> None:
    item = {"orderId": 1, "contractId": 1, "side": "BUY", "type": 1, "volume": "1"}
    route = chainup_mock.post("/api/order_list_v2").mock(
        side_effect=[
            ok({"count": 1, "orderList": [{**item, "status": wire}]}),
            ok({"count": 1, "orderList": []}),
        ]
    )
    client = make_chainup_client()

    (order,) = [order async for order in client.orders(1)]

    assert route.call_count == 1

    assert order.status is member
    assert order.status.known
    assert order.status.is_final is final


def test_an_unknown_order_status_is_kept() -> None:
    status = OrderStatus(9)
    assert status == 9 and int(status) == 9
    assert status.known is False
    assert status.is_final is False
    assert "9" in status.name
    assert all(OrderStatus(value).known for value in range(8))


# --- the answer envelope ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<html><body><h1>Welcome</h1></body></html>",
        '{"code":"0","data":{"orderId":1',
        '{"code":"0","msg":"ok"}',
        '{"code":"abc","msg":"?","data":null}',
        '{"code":null,"msg":"","data":{}}',
        '{"code":true,"msg":"","data":{}}',
        '{"code":0.5,"msg":"","data":{}}',
        '{"code":"","msg":"","data":{}}',
        '{"msg":"no code","data":{}}',
        '[{"code":"0"}]',
        "",
    ],
)
def test_a_malformed_envelope_is_malformed_response(body: str) -> None:
    reply = venue().read(TAKE_ORDER, raw(body))
    assert reply.result is None
    assert isinstance(reply.error, MalformedResponse)


def test_non_json_4xx_is_malformed_response() -> None:
    reply = venue().read(CONTRACTS, raw("<html>404 Not Found</html>", status=404))
    assert isinstance(reply.error, MalformedResponse)
    assert reply.error.status_code == 404


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_html_is_service_unavailable(status: int) -> None:
    reply = venue().read(TAKE_ORDER, raw("<html><h1>Bad Gateway</h1></html>", status=status))
    error = reply.error
    assert type(error) is ServiceUnavailable
    assert error.code == status and error.http_status == status
    assert error.venue == "chainup"


def test_http_429_without_envelope_is_rate_limited() -> None:
    reply = venue().read(TAKE_ORDER, raw("Too Many Requests", status=429))
    assert type(reply.error) is RateLimited
    assert (reply.error.code, reply.error.outcome) == (429, Outcome.NOT_PROCESSED)
    assert reply.error.retry_after == 1.0  # no reset time given: the venue's default wait


async def test_malformed_answer_to_a_read_raises_malformed_response(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    route = chainup_mock.post("/api/account_balance").mock(
        return_value=raw("<html>maintenance</html>")
    )
    client = make_chainup_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(MalformedResponse):
        await client.account_balance()
    assert route.call_count == 1


async def test_5xx_html_to_a_read_raises_service_unavailable(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.get("/api/contract_public_info").mock(
        return_value=raw("<html>502 Bad Gateway</html>", status=502)
    )
    client = make_chainup_client(retry=RetryPolicy(max_attempts=2))

    with pytest.raises(ServiceUnavailable) as caught:
        await client.contracts()
    assert caught.value.code == 502 and caught.value.venue == "chainup"


async def test_answer_of_the_wrong_shape_is_malformed_response(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post("/api/user_position").mock(
        return_value=ok({"positions": [{"id": 1, "contractId": 1, "side": "BUY", "volume": 1.5}]})
    )
    chainup_mock.post("/api/account_balance").mock(return_value=ok({"not": "a list"}))
    client = make_chainup_client(retry=RetryPolicy(max_attempts=1))

    # 1.5 went through json.dumps as a float, so it is a Decimal now: fine.
    (position,) = await client.positions()
    assert position.volume == Decimal("1.5")
    with pytest.raises(MalformedResponse):
        await client.account_balance()


# --- the error map ------------------------------------------------------------------------

#: Every code of reference/contract-api.md section 4 and the class it must raise.
ERROR_MAP: Sequence[tuple[int, type[ApiError]]] = [
    (1, ServiceUnavailable),
    (2, BadParameter),
    (101, PermissionDenied),
    (102, PermissionDenied),
    (103, PermissionDenied),
    (104, PermissionDenied),
    (105, OrderNotFound),
    (106, InsufficientBalance),
    (107, ProductUnavailable),
    (108, BadParameter),
    (109, BadParameter),
    (110, OrderNotFound),
    (111, ProductUnavailable),
    (112, BadParameter),
    (116, PermissionDenied),
    (117, PermissionDenied),
    (118, InsufficientBalance),
    (119, RateLimited),
    (100001, ServiceUnavailable),
    (100002, ServiceUnavailable),
    (100004, BadParameter),
    (100005, AuthenticationError),
    (100007, PermissionDenied),
    (100008, ClockSkew),
    (110032, PermissionDenied),
    (110041, RateLimited),
    (110042, RateLimited),
]


def test_the_error_map_covers_every_documented_code() -> None:
    from asyncexch.chainup import _errors

    assert set(_errors._CODES) == {code for code, _ in ERROR_MAP}


@pytest.mark.parametrize(("code", "cls"), ERROR_MAP)
@pytest.mark.parametrize("as_json_number", [False, True])
def test_error_code_maps_to_its_class(code: int, cls: type[ApiError], as_json_number: bool) -> None:
    wire_code = code if as_json_number else str(code)
    response = httpx.Response(200, json={"code": wire_code, "msg": f"m{code}", "data": None})

    reply = venue().read(TAKE_ORDER, response)

    error = reply.error
    assert type(error) is cls
    assert isinstance(error, ApiError)
    assert error.code == code and type(error.code) is int
    assert error.message == f"m{code}"
    assert error.venue == "chainup"
    assert error.http_status == 200
    assert f"m{code}" in str(error)
    if cls is RateLimited:
        assert isinstance(error, RateLimited) and error.retry_after == pytest.approx(1.0)


@pytest.mark.parametrize("code", [3, 99, 113, 120, 100003, 100006, 999999])
def test_unknown_code_is_a_plain_api_error(code: int) -> None:
    reply = venue().read(TAKE_ORDER, fail(code, "something new"))
    assert type(reply.error) is ApiError
    assert reply.error.code == code
    assert reply.error.message == "something new"
    assert reply.error.venue == "chainup"


def test_error_without_message_has_an_empty_message() -> None:
    reply = venue().read(TAKE_ORDER, raw('{"code":"106","data":null}'))
    assert type(reply.error) is InsufficientBalance
    assert reply.error.message == ""


@pytest.mark.parametrize(
    ("code", "cls"),
    [(106, InsufficientBalance), (118, InsufficientBalance), (107, ProductUnavailable)],
)
async def test_take_order_error_is_raised_after_one_request(
    make_chainup_client: Callable[..., ChainupContractClient],
    chainup_mock: respx.MockRouter,
    code: int,
    cls: type[ApiError],
) -> None:
    route = chainup_mock.post(TAKE).mock(return_value=fail(code, "nope"))
    client = make_chainup_client()

    with pytest.raises(cls) as caught:
        await client.take_order(doc_order())
    assert caught.value.code == code and caught.value.venue == "chainup"
    assert route.call_count == 1


# --- the secret, and values that cannot go on the wire -------------------------------------

#: Not encodable: a lone surrogate, as a mis-decoded environment variable gives.
BROKEN = "s3cr3t-\udcff-tail"
SECRET = "S3cr3t-never-shown-4b1d"


@pytest.mark.parametrize("signer", [Md5Signer], ids=lambda cls: cls.__name__)
def test_signers_refuse_a_secret_that_is_not_text(signer: Callable[[str], object]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer(BROKEN)
    assert "s3cr3t" not in str(caught.value) and caught.value.__context__ is None


def test_a_client_given_a_secret_holder_signs_with_it() -> None:
    assert Md5Signer(Secret(SECRET)).sign([("a", "1")]) == Md5Signer(SECRET).sign([("a", "1")])


async def test_a_lone_surrogate_in_a_value_is_an_invalid_request_naming_it() -> None:
    async with ChainupContractClient("key", SECRET, base_url="https://chainup.test") as cu:
        with pytest.raises(InvalidRequest) as caught:
            await cu.session.call(MARKET, {"contractId": "1\udcff"})
    assert caught.value.field == "contractId"


# --- a raw server on 127.0.0.1: codes that are digits but not numbers ----------------------

#: Real seconds any one call may take before the test calls it a hang.
BOUND = 20.0
JSON = ((b"Content-Type", b"application/json"),)


@pytest.mark.integration
@pytest.mark.parametrize("code", ['"\\u00b2"', '"0\\u0660"', '"' + "9" * 5000 + '"'])
async def test_a_chainup_code_python_cannot_read_after_an_order_is_unknown_not_value_error(
    http_transport: TransportChoice, code: str
) -> None:
    body = b'{"code":' + code.encode() + b',"msg":"","data":{"orderId":1}}'
    empty = json.dumps({"code": "0", "msg": "", "data": {"count": 0, "orderList": []}}).encode()

    async def respond(writer: asyncio.StreamWriter, head: bytes, request_body: bytes) -> bool:
        chosen = body if b"take_order" in head.split(b"\r\n", 1)[0] else empty
        return await answer(chosen, headers=JSON)(writer, head, request_body)

    async with (
        RawServer(respond) as server,
        ChainupContractClient(
            "key", "secret", base_url=server.url, transport=http_transport
        ) as client,
    ):
        order = TakeOrder(contract_id=1, side="BUY", volume=Decimal(1), order_type="MARKET")
        with pytest.raises(OrderStatusUnknown) as caught:
            await asyncio.wait_for(client.take_order(order), BOUND)

    assert isinstance(caught.value.__cause__, MalformedResponse)
    assert caught.value.request is order
