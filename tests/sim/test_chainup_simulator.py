"""The ChainUP contract simulator answers what the venue answers: hand-signed requests in process.

Nothing here goes through a ChainUP client: every request is built and MD5-signed by the test
(its own signer, pinned to the reference vectors), so these tests check the simulator itself.
Time is a VirtualClock moved by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from asyncexch import VirtualClock
from asyncexch.sim import ChainupSimulator, Fault, Faults, SimTransport

START = 1_700_000_000.0
START_MS = 1_700_000_000_000
BASE_URL = "http://chainup-sim.test"
KEY, SECRET = "test-key", "test-secret"
OTHER_KEY, OTHER_SECRET = "other-key", "other-secret"
#: The reference's worked example: its api_key and a secret of 17 x.
REF_KEY, REF_SECRET = "0816016bb06417f50327e2b557d39aaa", "x" * 17

PUBLIC_INFO = "/api/contract_public_info"
MARKET = "/api/market"
TAKE = "/api/take_order"
CANCEL = "/api/cancel_order"
CANCEL_ALL = "/api/cancel_order_all"
INFO = "/api/order_info"
LIST = "/api/order_list_v2"
POSITION = "/api/user_position"
BALANCE = "/api/account_balance"
LEVEL = "/api/change_level"
TRANSFER = "/api/transfer_margin"

HOLD = "/api/hold_contract_list"

#: The private endpoints, by the bucket names the client and the simulator share.
PRIVATE = {
    "take_order": TAKE,
    "cancel_order": CANCEL,
    "cancel_all": CANCEL_ALL,
    "order_info": INFO,
    "order_list": LIST,
    "position": POSITION,
    "open_contracts": HOLD,
    "balance": BALANCE,
    "change_level": LEVEL,
    "transfer_margin": TRANSFER,
    "market": MARKET,
}
#: Limits high enough that only the rate-limit tests ever meet them.
GENEROUS = {name: (1000, 1.0) for name in [*PRIVATE, "contracts"]}
BTC_LAST = Decimal("68403.6")


def make_sim(**options: Any) -> ChainupSimulator:
    """A simulator on a virtual clock at START, generous limits unless told otherwise."""
    options.setdefault("clock", VirtualClock(start=START))
    options.setdefault("limits", GENEROUS)
    sim = ChainupSimulator(**options)
    sim.add_account(KEY, SECRET)
    return sim


def md5_sign(params: Mapping[str, str | None], secret: str) -> str:
    """The venue's rule, written out independently of the simulator."""
    pairs = sorted((k, v) for k, v in params.items() if k != "sign" and v)
    return hashlib.md5(("".join(k + v for k, v in pairs) + secret).encode()).hexdigest()


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The ChainUP envelope of an answer, checked for shape; JSON numbers become Decimals."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
    assert set(data) == {"code", "msg", "data"}
    assert isinstance(data["code"], str)
    assert isinstance(data["msg"], str)
    if data["code"] == "0":
        assert data["msg"] == "成功"
    else:
        assert data["data"] is None
    return data


def take(**fields: str) -> dict[str, str]:
    """take_order parameters: by default a market BUY of 1 E_BTCUSD contract at 10x, opening."""
    params = {
        "contractId": "1",
        "volume": "1",
        "orderType": "2",
        "copType": "2",
        "closeType": "0",
        "side": "BUY",
        "level": "10",
    }
    params.update(fields)
    return params


class Raw:
    """Hand-built, hand-signed ChainUP requests sent to a simulator in process."""

    def __init__(self, sim: ChainupSimulator, http: httpx.AsyncClient) -> None:
        self.sim = sim
        self.http = http

    def signed(
        self,
        params: Mapping[str, str],
        *,
        key: str = KEY,
        secret: str = SECRET,
        time: int | None = None,
    ) -> dict[str, str]:
        full = {"api_key": key, "time": str(self.sim.now_ms() if time is None else time)}
        full.update(params)
        full["sign"] = md5_sign(full, secret)
        return full

    async def send(
        self, path: str, body: Mapping[str, Any] | bytes, *, form: bool = False
    ) -> httpx.Response:
        if isinstance(body, bytes):
            return await self.http.post(
                path, content=body, headers={"Content-Type": "application/json"}
            )
        if form:
            return await self.http.post(
                path,
                content=urlencode(body).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        return await self.http.post(path, json=body)

    async def call(
        self, path: str, params: Mapping[str, str] | None = None, *, form: bool = False, **auth: Any
    ) -> dict[str, Any]:
        """A signed private request; the parsed envelope."""
        return envelope(await self.send(path, self.signed(params or {}, **auth), form=form))

    async def place(self, **fields: str) -> int:
        """Place an order that must be accepted; its id."""
        data = await self.call(TAKE, take(**fields))
        assert data["code"] == "0", data
        order_id: int = data["data"]["orderId"]
        return order_id

    async def open_position(self, side: str = "BUY", volume: str = "2", level: str = "10") -> int:
        """Open (or extend) a position with a market order; the position's id."""
        order_id = await self.place(side=side, volume=volume, level=level)
        position_id = self.sim.orders[order_id].position_id
        assert position_id is not None
        return position_id

    async def positions(self, contract_id: str | None = None) -> list[dict[str, Any]]:
        data = await self.call(POSITION, {"contractId": contract_id} if contract_id else {})
        assert data["code"] == "0", data
        positions: list[dict[str, Any]] = data["data"]["positions"]
        return positions

    async def balance(self, **auth: Any) -> dict[str, Any]:
        data = await self.call(BALANCE, **auth)
        assert data["code"] == "0", data
        [item] = data["data"]
        return dict(item)


def clock_of(sim: ChainupSimulator) -> VirtualClock:
    assert isinstance(sim.clock, VirtualClock)
    return sim.clock


def in_process(sim: ChainupSimulator, ip: str = "127.0.0.1") -> Raw:
    transport = SimTransport(sim.app, client=(ip, 40000))
    return Raw(sim, httpx.AsyncClient(transport=transport, base_url=BASE_URL))


@pytest.fixture
def sim() -> ChainupSimulator:
    return make_sim()


@pytest.fixture
async def raw(sim: ChainupSimulator) -> AsyncIterator[Raw]:
    client = in_process(sim)
    async with client.http:
        yield client


# --- public endpoints -----------------------------------------------------------------------


async def test_contract_public_info_lists_both_contracts_with_mixed_types(raw: Raw) -> None:
    response = await raw.http.get(PUBLIC_INFO)
    data = envelope(response)
    assert data["code"] == "0"
    market = data["data"]["market"]
    assert set(market) == {"E_BTCUSD", "E_ETHUSD"}
    btc = market["E_BTCUSD"]
    assert btc["id"] == 1 and market["E_ETHUSD"]["id"] == 2  # JSON ints
    assert btc["symbol"] == "E_BTCUSD"
    assert btc["contractType"] == 0
    assert btc["baseSymbol"] == "BTC"
    assert btc["quoteSymbol"] == "USDT"
    assert btc["leverTypes"] == "1,2,3,5,10,20,50,100"
    assert btc["maxLeverageLevel"] == 100
    assert btc["pricePrecision"] == 1
    assert btc["status"] == 1
    # Fee rates are JSON numbers, volumes are strings: both as the venue mixes them.
    assert btc["feeRateTaker"] == Decimal("0.0006")
    assert btc["feeRateMaker"] == Decimal("0.0002")
    assert btc["holdRate"] == Decimal("0.005")
    assert btc["minOrderVolume"] == "1"
    assert btc["maxOrderVolume"] == "1000000"
    assert btc["multiplier"] == "0.001"
    assert isinstance(btc["minMargin"], Decimal)
    assert market["E_ETHUSD"]["feeRateMaker"] == Decimal("-0.00025")  # a maker rebate
    assert data["data"]["marketSymbol"] == "E_BTCUSD"
    assert isinstance(data["data"]["coinList"], list)
    assert '"feeRateTaker":0.0006' in response.text  # a number, not a string
    assert raw.sim.stats.requests["contracts"] == 1


async def test_the_market_ticker_has_numbers_strings_and_the_server_time(raw: Raw) -> None:
    clock_of(raw.sim).advance(2.5)
    response = await raw.send(MARKET, raw.signed({"contractId": "1"}))
    data = envelope(response)
    assert data["code"] == "0"
    ticker = data["data"]
    assert set(ticker) == {
        "high",
        "low",
        "vol",
        "last",
        "buy",
        "sell",
        "rose",
        "indexPrice",
        "tagPrice",
        "time",
    }
    assert ticker["time"] == START_MS + 2500
    assert ticker["last"] == BTC_LAST
    assert isinstance(ticker["vol"], int)
    assert isinstance(ticker["buy"], str) and isinstance(ticker["sell"], str)
    assert Decimal(ticker["buy"]) < BTC_LAST < Decimal(ticker["sell"])
    assert ticker["indexPrice"] == raw.sim.index_price(1)
    assert ticker["tagPrice"] == raw.sim.tag_price("E_BTCUSD")
    # The index price carries many digits and arrives as a JSON number, exactly.
    assert f'"tagPrice":{raw.sim.tag_price(1)}' in response.text
    assert len(str(ticker["tagPrice"]).replace(".", "")) >= 15


async def test_the_ticker_follows_set_price_with_high_low_and_rose(raw: Raw) -> None:
    raw.sim.set_price("E_BTCUSD", Decimal("70000"))
    raw.sim.set_price(1, Decimal("60000"))
    ticker = (await raw.call(MARKET, {"contractId": "1"}))["data"]
    assert ticker["last"] == Decimal("60000")
    assert ticker["high"] == Decimal("70000")
    assert ticker["low"] == Decimal("60000")
    assert ticker["rose"] == ((Decimal("60000") - BTC_LAST) / BTC_LAST).quantize(Decimal("1E-8"))


async def test_the_market_is_signed_as_published_json_or_form(raw: Raw) -> None:
    signed = await raw.call(MARKET, {"contractId": "2"})
    form = await raw.call(MARKET, {"contractId": "2"}, form=True)
    unsigned = envelope(await raw.send(MARKET, {"contractId": "2"}))
    assert signed["code"] == form["code"] == "0"
    assert signed["data"]["last"] == form["data"]["last"] == Decimal("3512.45")
    assert unsigned["code"] == "100005"  # api_key, time and sign are required


@pytest.mark.parametrize(("params", "code"), [({"contractId": "9"}, "107"), ({}, "2")])
async def test_the_market_refuses_an_unknown_or_missing_contract(
    raw: Raw, params: dict[str, str], code: str
) -> None:
    assert (await raw.call(MARKET, params))["code"] == code


# --- signatures -----------------------------------------------------------------------------

#: The self-computed vectors of reference/contract-api.md (secret 17 x 'x').
VECTOR_BALANCE = (
    {"api_key": REF_KEY, "symbol": "ltcbtc", "time": "1522055680"},
    "87d2ac36631a386b38a613eb394c6e1a",
)
VECTOR_TAKE = (
    {
        "api_key": REF_KEY,
        "closeType": "0",
        "contractId": "1",
        "copType": "2",
        "level": "10",
        "orderType": "1",
        "price": "7000",
        "side": "BUY",
        "time": "1556613463000",
        "volume": "1",
    },
    "8854f88e3803f54c414a57b8d2fd32b9",
)


def test_the_test_signer_reproduces_the_reference_vectors() -> None:
    for params, sign in (VECTOR_BALANCE, VECTOR_TAKE):
        assert md5_sign(params, REF_SECRET) == sign
    # The documented Open Platform vector (key name appKey) pins the concatenation too.
    doc = {"appKey": REF_KEY, "symbol": "ltcbtc", "time": "1522055680"}
    assert md5_sign(doc, REF_SECRET) == "82d38bae5fc727feea4f7a96c7db0492"


async def test_the_simulator_accepts_the_reference_signature_vectors() -> None:
    # The vectors' times are from 2018/2019: the freshness check is off for this test.
    sim = make_sim(time_window=None)
    sim.add_account(REF_KEY, REF_SECRET)
    raw = in_process(sim)
    async with raw.http:
        balance = envelope(
            await raw.send(BALANCE, {**VECTOR_BALANCE[0], "sign": VECTOR_BALANCE[1]})
        )
        placed = envelope(await raw.send(TAKE, {**VECTOR_TAKE[0], "sign": VECTOR_TAKE[1]}))
    assert balance["code"] == "0", balance
    assert placed["code"] == "0", placed
    [order] = sim.orders_for(REF_KEY)
    assert order.order_id == placed["data"]["orderId"]
    assert order.params == {**VECTOR_TAKE[0], "sign": VECTOR_TAKE[1]}
    assert (order.side, order.volume, order.price, order.level) == ("BUY", 1, Decimal(7000), 10)
    assert order.status == 1  # a BUY at 7000 rests below the market


@pytest.mark.parametrize(
    "change",
    [
        {"sign": "8854f88e3803f54c414a57b8d2fd32b8"},  # one hex digit off
        {"sign": "8854F88E3803F54C414A57B8D2FD32B9"},  # upper case
        {"price": "7000.0"},  # the same price, another string
        {"volume": "2"},
        {"time": "1556613463001"},
    ],
)
async def test_a_reference_request_with_anything_changed_is_refused(change: dict[str, str]) -> None:
    sim = make_sim(time_window=None)
    sim.add_account(REF_KEY, REF_SECRET)
    raw = in_process(sim)
    async with raw.http:
        data = envelope(await raw.send(TAKE, {**VECTOR_TAKE[0], "sign": VECTOR_TAKE[1], **change}))
    assert data["code"] == "100005"
    assert sim.orders == {}
    assert sim.stats.rejections == {"100005": 1}


async def test_a_wrong_secret_is_refused_with_100005(raw: Raw) -> None:
    data = await raw.call(TAKE, take(), secret="not-the-secret")
    assert data["code"] == "100005"
    assert "sign" in data["msg"]
    assert raw.sim.orders == {}
    assert raw.sim.stats.rejections["100005"] == 1


async def test_a_missing_sign_is_refused_with_100005(raw: Raw) -> None:
    params = raw.signed(take())
    del params["sign"]
    data = envelope(await raw.send(TAKE, params))
    assert data["code"] == "100005"
    assert raw.sim.orders == {}


@pytest.mark.parametrize("key", ["nobody", None])
async def test_an_unknown_or_missing_api_key_is_refused_with_100005(
    raw: Raw, key: str | None
) -> None:
    params = raw.signed(take(), key=key or "", secret=SECRET)
    if key is None:
        del params["api_key"]
    data = envelope(await raw.send(TAKE, params))
    assert data["code"] == "100005"
    assert "api_key" in data["msg"]
    assert raw.sim.orders == {}


async def test_the_signature_covers_the_values_as_sent(raw: Raw) -> None:
    params = raw.signed(take(orderType="1", price="68000.0"))
    params["price"] = "68000"  # the same number, not the same string
    assert envelope(await raw.send(TAKE, params))["code"] == "100005"
    extra = raw.signed(take())
    extra["note"] = "added after signing"
    assert envelope(await raw.send(TAKE, extra))["code"] == "100005"
    assert raw.sim.orders == {}


async def test_empty_and_null_values_are_left_out_of_the_signature(raw: Raw) -> None:
    params = raw.signed(take())  # signed without a price
    with_empty = envelope(await raw.send(TAKE, {**params, "price": ""}))
    with_null = envelope(await raw.send(TAKE, {**params, "price": None}))
    assert with_empty["code"] == with_null["code"] == "0"
    # A signer that keeps the empty value ("price" with nothing after it) signs another text.
    base = {"api_key": KEY, "time": str(raw.sim.now_ms()), **take(), "price": ""}
    text = "".join(k + v for k, v in sorted(base.items())) + SECRET
    wrong = {**base, "sign": hashlib.md5(text.encode()).hexdigest()}
    assert envelope(await raw.send(TAKE, wrong))["code"] == "100005"
    assert len(raw.sim.orders) == 2


async def test_keys_sort_by_byte_order(raw: Raw) -> None:
    params = {"api_key": KEY, "time": str(raw.sim.now_ms()), "Zone": "a", "_tag": "b"}
    byte_order = sorted(params)
    assert byte_order == ["Zone", "_tag", "api_key", "time"]  # upper case, then _, then lower
    case_blind = sorted(params, key=str.lower)
    assert case_blind != byte_order
    good = md5_sign(params, SECRET)
    blind = hashlib.md5(("".join(k + params[k] for k in case_blind) + SECRET).encode()).hexdigest()
    assert envelope(await raw.send(BALANCE, {**params, "sign": good}))["code"] == "0"
    assert envelope(await raw.send(BALANCE, {**params, "sign": blind}))["code"] == "100005"


async def test_a_form_encoded_order_is_accepted_and_checked_alike(raw: Raw) -> None:
    placed = await raw.call(TAKE, take(volume="3"), form=True)
    assert placed["code"] == "0", placed
    assert raw.sim.orders[placed["data"]["orderId"]].volume == 3
    params = raw.signed(take(), secret="wrong")
    assert envelope(await raw.send(TAKE, params, form=True))["code"] == "100005"
    assert len(raw.sim.orders) == 1


async def test_a_parameter_given_twice_in_a_form_is_refused(raw: Raw) -> None:
    params = raw.signed(take())
    body = (urlencode(params) + "&volume=2").encode()
    response = await raw.http.post(
        TAKE, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert envelope(response)["code"] == "2"
    assert raw.sim.orders == {}


# --- the time parameter ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_ms", "code"),
    [
        (-60_001, "100008"),
        (-60_000, "0"),
        (0, "0"),
        (60_000, "0"),
        (60_001, "100008"),
        (-3_600_000, "100008"),
    ],
)
async def test_time_may_be_60_seconds_from_the_server_clock(
    raw: Raw, offset_ms: int, code: str
) -> None:
    """Outside the window the request has expired: 100008 (ChainUP's gateway code)."""
    clock_of(raw.sim).advance(100.0)
    server_ms = raw.sim.now_ms()
    data = await raw.call(BALANCE, time=server_ms + offset_ms)
    assert data["code"] == code, data
    if code == "100008":
        assert "time" in data["msg"] and str(server_ms) in data["msg"]


@pytest.mark.parametrize(
    ("stamp", "code"),
    [(None, "100008"), ("", "100008"), ("1.7e12", "2"), ("-1700000000000", "2"), ("now", "2")],
)
async def test_time_must_be_given_in_digits(raw: Raw, stamp: str | None, code: str) -> None:
    """No time is an expired request (100008); a time that is not digits a parameter error."""
    params = raw.signed({})
    if stamp is None:
        del params["time"]
    else:
        params["time"] = stamp
        params["sign"] = md5_sign(params, SECRET)
    data = envelope(await raw.send(BALANCE, params))
    assert data["code"] == code
    assert "time" in data["msg"]


async def test_the_time_window_is_configurable_or_off() -> None:
    narrow, off = make_sim(time_window=5.0), make_sim(time_window=None)
    for sim, late, code in (
        (narrow, 5001, "100008"),
        (narrow, 5000, "0"),
        (off, 86_400_000, "0"),
    ):
        raw = in_process(sim)
        async with raw.http:
            assert (await raw.call(BALANCE, time=sim.now_ms() - late))["code"] == code


async def test_a_skewed_server_clock_moves_the_window() -> None:
    sim = make_sim(faults=Faults(clock_skew=90.0))
    raw = in_process(sim)
    local_ms = int(START * 1000)  # what an unsynchronised client would send
    async with raw.http:
        stale = await raw.call(BALANCE, time=local_ms)
        synced = await raw.call(BALANCE, time=local_ms + 90_000)
        ticker = await raw.call(MARKET, {"contractId": "1"}, time=local_ms + 90_000)
    assert (stale["code"], synced["code"]) == ("100008", "0")
    assert ticker["data"]["time"] == local_ms + 90_000


# --- parameter errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["contractId", "volume", "orderType", "copType", "closeType", "side"]
)
async def test_take_order_without_a_required_field_is_2(raw: Raw, field: str) -> None:
    params = take()
    del params[field]
    data = await raw.call(TAKE, params)
    assert data["code"] == "2", data
    assert field in data["msg"]
    assert raw.sim.orders == {}


@pytest.mark.parametrize(
    "fields",
    [
        {"side": "buy"},
        {"side": "LONG"},
        {"orderType": "3"},
        {"copType": "1"},  # cross: "currently only isolated is supported"
        {"copType": "0"},
        {"closeType": "2"},
        {"level": "7"},  # not in leverTypes
        {"level": "200"},
        {"level": "ten"},
        {"volume": "1.5"},
        {"volume": "one"},
        {"orderType": "1"},  # a limit order without a price
        {"orderType": "1", "price": "abc"},
        {"orderType": "1", "price": "-68000"},
        {"orderType": "1", "price": "0"},
    ],
)
async def test_take_order_with_a_bad_value_is_2(raw: Raw, fields: dict[str, str]) -> None:
    data = await raw.call(TAKE, take(**fields))
    assert data["code"] == "2", data
    assert raw.sim.orders == {}


@pytest.mark.parametrize(
    "body",
    [
        b'{"api_key": "test-key", "time": 1700000000000}',  # a JSON number, not a string
        b'[["api_key", "test-key"]]',
        b"api_key=test-key",  # not JSON, and not sent as a form
        b'{"api_key": "test-key", "volume": {"n": "1"}}',
    ],
)
async def test_a_body_that_is_not_an_object_of_strings_is_2(raw: Raw, body: bytes) -> None:
    data = envelope(await raw.send(BALANCE, body))
    assert data["code"] == "2", data
    assert raw.sim.stats.rejections["2"] == 1


async def test_order_info_takes_contract_id_in_snake_case(raw: Raw) -> None:
    order_id = await raw.place()
    camel = await raw.call(INFO, {"contractId": "1", "ids": str(order_id)})
    snake = await raw.call(INFO, {"contract_id": "1", "ids": str(order_id)})
    assert camel["code"] == "2"
    assert "contract_id" in camel["msg"]
    assert snake["code"] == "0"
    assert [item["id"] for item in snake["data"]] == [order_id]


# --- validation codes -----------------------------------------------------------------------


@pytest.mark.parametrize("contract_id", ["3", "0", "E_BTCUSD"])
async def test_an_unknown_contract_is_107(raw: Raw, contract_id: str) -> None:
    data = await raw.call(TAKE, take(contractId=contract_id))
    assert data["code"] == "107", data
    assert raw.sim.orders == {}


@pytest.mark.parametrize(
    ("volume", "code"),
    [("0", "109"), ("4", "109"), ("5", "0"), ("1000000", "0"), ("1000001", "108")],
)
async def test_volume_bounds_are_109_and_108(raw: Raw, volume: str, code: str) -> None:
    raw.sim.contract(1).min_order_volume = 5
    # A limit BUY far below the market at 100x: even the maximum needs little margin.
    data = await raw.call(TAKE, take(volume=volume, orderType="1", price="1", level="100"))
    assert data["code"] == code, data
    assert len(raw.sim.orders) == (1 if code == "0" else 0)


@pytest.mark.parametrize(
    ("contract_id", "price", "code"),
    [
        ("1", "68000.5", "0"),
        ("1", "68000.50", "0"),  # a trailing zero is not a finer price
        ("1", "68000.55", "112"),
        ("2", "3500.12", "0"),
        ("2", "3500.125", "112"),
    ],
)
async def test_price_precision_is_112(raw: Raw, contract_id: str, price: str, code: str) -> None:
    data = await raw.call(TAKE, take(contractId=contract_id, orderType="1", price=price))
    assert data["code"] == code, data


async def test_an_order_beyond_the_available_margin_is_106(raw: Raw) -> None:
    # 1 contract of 0.001 BTC at 68403.6 at 10x: 6.84036 margin + 0.04104216 taker fee.
    raw.sim.add_account("poor", "poor-secret", balances={"USDT": Decimal("10")})
    first = await raw.call(TAKE, take(), key="poor", secret="poor-secret")
    second = await raw.call(TAKE, take(), key="poor", secret="poor-secret")
    assert (first["code"], second["code"]) == ("0", "106")
    assert len(raw.sim.orders_for("poor")) == 1
    assert raw.sim.accounts["poor"].balances["USDT"] == Decimal("10") - Decimal("0.04104216")


async def test_a_settling_contract_is_111(raw: Raw) -> None:
    raw.sim.contract(2).status = 3
    assert (await raw.call(TAKE, take(contractId="2")))["code"] == "111"
    assert (await raw.call(TAKE, take(contractId="1")))["code"] == "0"


async def test_closing_needs_a_position_id(raw: Raw) -> None:
    await raw.open_position()
    data = await raw.call(TAKE, take(closeType="1", side="SELL"))
    assert data["code"] == "2"
    assert "positionId" in data["msg"]


async def test_closing_an_unknown_or_foreign_position_is_110(raw: Raw) -> None:
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    await raw.call(TAKE, take(volume="2"), key=OTHER_KEY, secret=OTHER_SECRET)
    [theirs] = [p.position_id for p in raw.sim.positions_for(OTHER_KEY)]
    mine = await raw.open_position()
    for position_id in ("424242", str(theirs), "x"):
        data = await raw.call(TAKE, take(closeType="1", side="SELL", positionId=position_id))
        assert data["code"] == "110", (position_id, data)
    # A position of another contract is not found under this one.
    data = await raw.call(
        TAKE, take(contractId="2", closeType="1", side="SELL", positionId=str(mine))
    )
    assert data["code"] == "110"


async def test_closing_a_closed_position_is_105(raw: Raw) -> None:
    position_id = await raw.open_position(volume="2")
    close = take(closeType="1", side="SELL", volume="2", positionId=str(position_id))
    assert (await raw.call(TAKE, close))["code"] == "0"
    assert not raw.sim.positions[position_id].open
    again = await raw.call(TAKE, close)
    assert again["code"] == "105"


async def test_closing_with_the_position_side_is_2(raw: Raw) -> None:
    position_id = await raw.open_position()
    data = await raw.call(TAKE, take(closeType="1", side="BUY", positionId=str(position_id)))
    assert data["code"] == "2"
    assert raw.sim.positions[position_id].volume == 2


async def test_closing_more_than_the_position_holds_is_108(raw: Raw) -> None:
    position_id = await raw.open_position(volume="3")
    pid = str(position_id)
    over = await raw.call(TAKE, take(closeType="1", side="SELL", volume="4", positionId=pid))
    assert over["code"] == "108"
    # A resting close order reserves its volume: only the rest can be closed besides it.
    resting = await raw.call(
        TAKE,
        take(closeType="1", side="SELL", volume="2", positionId=pid, orderType="1", price="90000"),
    )
    assert resting["code"] == "0"
    assert raw.sim.orders[resting["data"]["orderId"]].status == 1
    two = await raw.call(TAKE, take(closeType="1", side="SELL", volume="2", positionId=pid))
    one = await raw.call(TAKE, take(closeType="1", side="SELL", volume="1", positionId=pid))
    assert (two["code"], one["code"]) == ("108", "0")
    assert raw.sim.positions[position_id].volume == 2


async def test_opening_at_another_leverage_than_the_position_is_102(raw: Raw) -> None:
    await raw.open_position(level="10")
    other = await raw.call(TAKE, take(level="20"))
    same = await raw.call(TAKE, take(level="10"))
    default = await raw.call(TAKE, {k: v for k, v in take().items() if k != "level"})
    short = await raw.call(TAKE, take(side="SELL", level="20"))  # the other side is free
    assert [other["code"], same["code"], default["code"], short["code"]] == ["102", "0", "0", "0"]
    assert raw.sim.orders[default["data"]["orderId"]].level == 10


async def test_without_a_level_and_a_position_the_leverage_is_1(raw: Raw) -> None:
    params = {k: v for k, v in take().items() if k != "level"}
    order_id = (await raw.call(TAKE, params))["data"]["orderId"]
    assert raw.sim.orders[order_id].level == 1
    [position] = await raw.positions()
    assert position["leverageLevel"] == 1
    assert Decimal(position["usedMargin"]) == BTC_LAST * Decimal("0.001")


async def test_a_market_order_may_carry_a_price_of_any_precision(raw: Raw) -> None:
    # ChainUP's own clients close at market with price=<indexPrice>: many digits, no 112.
    index = str(raw.sim.index_price(1))
    order_id = await raw.place(price=index)
    order = raw.sim.orders[order_id]
    assert order.price == Decimal(index)
    assert order.avg_price == BTC_LAST  # filled at the market all the same
    listed = (await raw.call(LIST, page("2", 1, 1)))["data"]["orderList"][0]
    assert listed["price"] == Decimal(index)
    assert (await raw.call(TAKE, take(price="abc")))["code"] == "2"
    assert (await raw.call(TAKE, take(price="-1")))["code"] == "2"


# --- fills and positions --------------------------------------------------------------------


async def test_a_market_order_fills_at_once_at_the_last_price(raw: Raw) -> None:
    before = raw.sim.accounts[KEY].balances["USDT"]
    order_id = await raw.place(volume="2", level="10")
    order = raw.sim.orders[order_id]
    assert (order.status, order.deal_volume, order.avg_price) == (2, 2, BTC_LAST)
    notional = 2 * Decimal("0.001") * BTC_LAST
    fee = notional * Decimal("0.0006")
    assert raw.sim.accounts[KEY].balances["USDT"] == before - fee
    [position] = await raw.positions()
    assert position["id"] == order.position_id
    assert (position["side"], position["volume"], position["leverageLevel"]) == ("BUY", 2, 10)
    assert position["avgPrice"] == BTC_LAST
    assert Decimal(position["usedMargin"]) == notional / 10
    assert position["copType"] == 2
    balance = await raw.balance()
    assert Decimal(balance["positionMargin"]) == notional / 10
    assert balance["canUseBalance"] == before - fee - notional / 10


async def test_a_resting_limit_order_freezes_margin_and_fills_when_the_market_comes(
    raw: Raw,
) -> None:
    order_id = await raw.place(orderType="1", price="68000", volume="2", level="5")
    order = raw.sim.orders[order_id]
    assert order.status == 1 and order.deal_volume == 0
    notional = 2 * Decimal("0.001") * Decimal("68000")
    frozen = notional / 5 + notional * Decimal("0.0006")
    balance = await raw.balance()
    assert Decimal(balance["orderMargin"]) == frozen
    assert balance["openPositionFee"] == notional * Decimal("0.0006")
    assert await raw.positions() == []
    raw.sim.set_price(1, Decimal("68000.1"))
    assert order.status == 1
    before = raw.sim.accounts[KEY].balances["USDT"]
    raw.sim.set_price(1, Decimal("67990"))  # the market trades through the bid
    assert order.status == 2
    assert order.avg_price == Decimal("68000")  # filled at its own price, as a maker
    assert order.trades[0].taker is False
    maker_fee = notional * Decimal("0.0002")
    assert raw.sim.accounts[KEY].balances["USDT"] == before - maker_fee
    balance = await raw.balance()
    assert Decimal(balance["orderMargin"]) == 0
    assert Decimal(balance["positionMargin"]) == notional / 5
    [position] = await raw.positions()
    assert position["avgPrice"] == Decimal("68000")


@pytest.mark.parametrize(
    ("side", "price", "fills"),
    [
        ("SELL", "68403.6", True),
        ("SELL", "60000", True),
        ("SELL", "68403.7", False),
        ("BUY", "68403.6", True),
        ("BUY", "70000", True),
        ("BUY", "68403.5", False),
    ],
)
async def test_a_marketable_limit_order_fills_at_once_at_the_last_price(
    raw: Raw, side: str, price: str, fills: bool
) -> None:
    order = raw.sim.orders[await raw.place(orderType="1", price=price, side=side)]
    assert order.status == (2 if fills else 1)
    if fills:
        assert order.avg_price == BTC_LAST  # the better price: the market's, as a taker
        assert order.trades[0].taker is True


async def test_closing_realises_the_profit_and_frees_the_margin(raw: Raw) -> None:
    position_id = await raw.open_position(volume="4", level="10")
    start = raw.sim.accounts[KEY].balances["USDT"]
    raw.sim.set_price(1, Decimal("70403.6"))  # +2000 per BTC
    pid = str(position_id)
    half = await raw.place(closeType="1", side="SELL", volume="1", positionId=pid)
    profit = Decimal("2000") * Decimal("0.001")
    fee = Decimal("70403.6") * Decimal("0.001") * Decimal("0.0006")
    assert raw.sim.orders[half].realized_amount == profit
    assert raw.sim.accounts[KEY].balances["USDT"] == start + profit - fee
    [position] = await raw.positions()
    assert position["volume"] == 3
    assert Decimal(position["realisedAmountCurr"]) == profit
    assert Decimal(position["usedMargin"]) == 3 * Decimal("0.001") * BTC_LAST / 10
    await raw.place(closeType="1", side="SELL", volume="3", positionId=pid)
    assert await raw.positions() == []
    assert raw.sim.positions[position_id].margin == 0
    balance = await raw.balance()
    assert Decimal(balance["positionMargin"]) == 0
    assert balance["canUseBalance"] == balance["margin"]
    assert raw.sim.accounts[KEY].balances["USDT"] == start + 4 * profit - 4 * fee


async def test_a_short_loses_when_the_price_rises(raw: Raw) -> None:
    position_id = await raw.open_position(side="SELL", volume="1")
    raw.sim.set_price(1, Decimal("69403.6"))
    [position] = await raw.positions()
    assert position["side"] == "SELL"
    assert Decimal(position["unrealisedAmountIndex"]) < 0
    order_id = await raw.place(closeType="1", side="BUY", positionId=str(position_id))
    assert raw.sim.orders[order_id].realized_amount == Decimal("-1.0")


async def test_orders_extend_one_position_per_side_and_average_its_price(raw: Raw) -> None:
    first = await raw.open_position(volume="1", level="10")
    raw.sim.set_price(1, Decimal("68500.1"))
    second = await raw.open_position(volume="2", level="10")
    short = await raw.open_position(side="SELL", volume="1", level="10")
    assert first == second != short
    positions = {p["side"]: p for p in await raw.positions("1")}
    assert positions["BUY"]["volume"] == 3
    # (68403.6 + 2 x 68500.1) / 3 = 68467.9333...: a JSON number with many digits, exactly.
    assert positions["BUY"]["avgPrice"] == Decimal("68467.93333333333")
    assert positions["SELL"]["avgPrice"] == Decimal("68500.1")
    data = await raw.call(POSITION, {})
    assert data["data"]["positionCount"] == 2


async def test_user_position_filters_by_contract_and_has_the_documented_types(raw: Raw) -> None:
    await raw.open_position()
    await raw.place(contractId="2", volume="3", level="5")
    await raw.place(contractId="2", orderType="1", price="3000", level="5")  # rests
    everything = await raw.call(POSITION, {})
    eth = await raw.call(POSITION, {"contractId": "2"})
    unknown = await raw.call(POSITION, {"contractId": "7"})
    assert everything["data"]["positionCount"] == 2
    assert everything["data"]["orderCount"] == 1
    assert eth["data"]["positionCount"] == 1 and eth["data"]["orderCount"] == 1
    assert unknown["code"] == "107"
    [position] = eth["data"]["positions"]
    assert position["symbol"] == "E_ETHUSD" and position["contractId"] == 2
    for field in ("usedMargin", "realisedAmountCurr", "unrealisedAmountIndex"):
        assert isinstance(position[field], str), field
        assert re.fullmatch(r"-?\d+\.\d{8}", position[field]), field
    for field in ("avgPrice", "liquidationPrice", "indexPrice", "holdAmount", "canUseMargin"):
        assert isinstance(position[field], Decimal), field
    assert isinstance(position["id"], int) and isinstance(position["volume"], int)
    assert position["indexPrice"] == raw.sim.tag_price(2)


async def test_a_fill_delay_keeps_a_market_order_active_until_it_passes() -> None:
    sim = make_sim(fill_delay=0.5)
    raw = in_process(sim)
    async with raw.http:
        order_id = await raw.place()
        assert sim.orders[order_id].status == 1
        clock_of(sim).advance(0.499)
        active = await raw.call(
            LIST, {"contractId": "1", "order_type": "1", "pageNo": "1", "pageSize": "10"}
        )
        clock_of(sim).advance(0.001)
        filled = await raw.call(
            LIST, {"contractId": "1", "order_type": "2", "pageNo": "1", "pageSize": "10"}
        )
    assert [o["orderId"] for o in active["data"]["orderList"]] == [order_id]
    assert [o["orderId"] for o in filled["data"]["orderList"]] == [order_id]
    assert sim.orders[order_id].status == 2


async def test_a_partial_fill_then_a_cancel_is_status_7(raw: Raw) -> None:
    order_id = await raw.place(orderType="1", price="60000", volume="5")
    raw.sim.fill(order_id, 2)
    info = await raw.call(INFO, {"contract_id": "1", "ids": str(order_id)})
    [item] = info["data"]
    assert (item["status"], item["dealVolume"], item["volume"]) == (3, 2, 5)
    assert item["freezeAmount"] > 0
    assert (await raw.call(CANCEL, {"orderId": str(order_id), "contractId": "1"}))["code"] == "0"
    assert raw.sim.orders[order_id].status == 7
    assert raw.sim.orders[order_id].freeze_amount == 0
    [position] = await raw.positions()
    assert position["volume"] == 2


# --- the numbers themselves -----------------------------------------------------------------


async def test_the_liquidation_price_arrives_as_a_json_number_with_many_digits(raw: Raw) -> None:
    raw.sim.set_price(1, Decimal("68403.7"))
    response = await raw.send(TAKE, raw.signed(take(volume="1", level="3")))
    # 68403.7 x (1 - 1/3 + 0.005) = 45944.48516666..., printed as the venue's double prints it.
    assert '"liquidationPrice":45944.485166666665' in response.text
    data = envelope(response)
    assert data["data"]["liquidationPrice"] == Decimal("45944.485166666665")
    exact = Decimal("68403.7") * (1 - Decimal(1) / 3 + Decimal("0.005"))
    assert abs(data["data"]["liquidationPrice"] - exact) < Decimal("1E-10")
    assert isinstance(data["data"]["orderId"], int)
    [position] = await raw.positions()
    assert position["liquidationPrice"] == Decimal("45944.485166666665")


async def test_a_short_liquidation_price_is_above_the_entry(raw: Raw) -> None:
    data = await raw.call(TAKE, take(side="SELL", level="10"))
    expected = BTC_LAST * (1 + Decimal("0.1") - Decimal("0.005"))
    assert data["data"]["liquidationPrice"] == expected


async def test_json_numbers_are_the_simulators_decimals_digit_for_digit(raw: Raw) -> None:
    await raw.open_position(volume="1")
    raw.sim.set_price(1, Decimal("68500.1"))
    await raw.open_position(volume="2")
    response = await raw.send(POSITION, raw.signed({}))
    text = response.text
    # No exponents and no float round trips: each number is written from its Decimal.
    assert not re.search(r"\d[eE][-+]?\d", text)
    position = envelope(response)["data"]["positions"][0]
    assert f'"avgPrice":{position["avgPrice"]}' in text
    assert position["indexPrice"] == raw.sim.tag_price(1)
    balance = await raw.send(BALANCE, raw.signed({}))
    margin = envelope(balance)["data"][0]["margin"]
    assert margin == raw.sim.accounts[KEY].balances["USDT"]
    assert f'"margin":{margin}' in balance.text


async def test_decimals_are_written_digit_for_digit_never_through_float(raw: Raw) -> None:
    price = Decimal("3512.1234567890123456789")  # more digits than any double holds
    raw.sim.set_price("E_ETHUSD", price)
    response = await raw.send(MARKET, raw.signed({"contractId": "2"}))
    assert '"last":3512.1234567890123456789,' in response.text
    assert envelope(response)["data"]["last"] == price
    assert Decimal(repr(float(price))) != price  # a float round trip would have shown


# --- the absence of idempotency -------------------------------------------------------------


async def test_the_same_order_request_twice_places_two_orders(raw: Raw) -> None:
    params = raw.signed(take(volume="2"))  # one time, one sign: byte for byte the same body
    first = envelope(await raw.send(TAKE, params))
    second = envelope(await raw.send(TAKE, params))
    assert first["code"] == second["code"] == "0"
    assert first["data"]["orderId"] != second["data"]["orderId"]
    assert len(raw.sim.orders_for(KEY)) == 2
    assert {o.params["sign"] for o in raw.sim.orders_for(KEY)} == {params["sign"]}
    [position] = await raw.positions()
    assert position["volume"] == 4


# --- order queries --------------------------------------------------------------------------


def page(
    order_type: str = "3", page_no: int = 1, size: int = 3, contract: str = "1"
) -> dict[str, str]:
    return {
        "contractId": contract,
        "order_type": order_type,
        "pageNo": str(page_no),
        "pageSize": str(size),
    }


async def test_order_list_v2_pages_newest_first_with_the_documented_item(raw: Raw) -> None:
    ids = []
    for _ in range(7):
        clock_of(raw.sim).advance(0.01)  # distinct creation times
        ids.append(await raw.place())
    pages = [await raw.call(LIST, page("2", n, 3)) for n in (1, 2, 3, 4)]
    assert all(p["code"] == "0" for p in pages)
    assert [p["data"]["count"] for p in pages] == [7, 7, 7, 7]
    assert [len(p["data"]["orderList"]) for p in pages] == [3, 3, 1, 0]
    seen = [o["orderId"] for p in pages for o in p["data"]["orderList"]]
    assert seen == list(reversed(ids))
    [newest] = (await raw.call(LIST, page("2", 1, 1)))["data"]["orderList"]
    assert newest == {
        "orderId": ids[-1],
        "contractId": 1,
        "side": "BUY",
        "type": 2,
        "volume": 1,
        "dealVolume": 1,
        "price": 0,
        "status": 2,
        "positionId": raw.sim.orders[ids[-1]].position_id,
        "level": 10,
    }  # exactly the published item: no creation time, no open/close


async def test_order_list_v2_in_the_apps_shape_and_oldest_first() -> None:
    """ChainUP's apps receive action, ctime as a UTC+8 date string and ctimeStr in ms."""
    sim = make_sim(list_shape="app", list_order="asc")
    raw = in_process(sim)
    async with raw.http:
        ids = []
        for _ in range(3):
            clock_of(sim).advance(0.01)
            ids.append(await raw.place())
        listed = (await raw.call(LIST, page("2", 1, 200)))["data"]["orderList"]
    assert [item["orderId"] for item in listed] == ids  # oldest first
    first = listed[0]
    assert first["action"] == "OPEN"
    assert first["ctimeStr"] == str(START_MS + 10)
    assert first["ctime"] == "2023-11-15 06:13:20"  # START (22:13:20 UTC) on UTC+8


def test_list_options_must_be_known_readings() -> None:
    with pytest.raises(ValueError, match="list_shape"):
        ChainupSimulator(list_shape="java")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="list_order"):
        ChainupSimulator(list_order="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transfer_margin_param"):
        ChainupSimulator(transfer_margin_param="id")  # type: ignore[arg-type]


async def test_order_list_v2_selects_active_filled_or_finished_orders(raw: Raw) -> None:
    filled = await raw.place()
    resting = await raw.place(orderType="1", price="60000")
    cancelled = await raw.place(orderType="1", price="61000")
    await raw.call(CANCEL, {"orderId": str(cancelled), "contractId": "1"})
    await raw.place(contractId="2")  # another contract
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    await raw.call(TAKE, take(), key=OTHER_KEY, secret=OTHER_SECRET)  # another key

    async def ids(order_type: str) -> set[int]:
        data = await raw.call(LIST, page(order_type, 1, 200))
        return {o["orderId"] for o in data["data"]["orderList"]}

    assert await ids("1") == {resting}
    assert await ids("2") == {filled}
    assert await ids("3") == {filled, cancelled}
    closing = await raw.place(
        closeType="1", side="SELL", positionId=str(raw.sim.orders[filled].position_id)
    )
    history = await raw.call(LIST, page("3", 1, 1))
    assert history["data"]["orderList"][0]["orderId"] == closing
    assert "action" not in history["data"]["orderList"][0]  # not in the published item


@pytest.mark.parametrize(
    "change",
    [
        {"pageSize": "201"},
        {"pageSize": "0"},
        {"pageNo": "0"},
        {"pageNo": "x"},
        {"order_type": "4"},
        {"pageNo": None},
        {"pageSize": None},
        {"order_type": None},
    ],
)
async def test_order_list_v2_refuses_bad_paging_with_2(
    raw: Raw, change: dict[str, str | None]
) -> None:
    params = page()
    for key, value in change.items():
        if value is None:
            del params[key]
        else:
            params[key] = value
    assert (await raw.call(LIST, params))["code"] == "2"


async def test_order_list_v2_takes_200_per_page(raw: Raw) -> None:
    assert (await raw.call(LIST, page(size=200)))["code"] == "0"


async def test_order_info_returns_the_asked_orders_with_their_trades(raw: Raw) -> None:
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    market = await raw.place(volume="2")
    resting = await raw.place(orderType="1", price="60000")
    eth = await raw.place(contractId="2")
    theirs = (await raw.call(TAKE, take(), key=OTHER_KEY, secret=OTHER_SECRET))["data"]["orderId"]
    ids = f"{resting},{market},424242,{eth},{theirs}"
    data = await raw.call(INFO, {"contract_id": "1", "ids": ids})
    assert data["code"] == "0"
    assert [item["id"] for item in data["data"]] == [resting, market]
    rest, fill = data["data"]
    assert rest["status"] == 1 and rest["tradeList"] == [] and rest["freezeAmount"] > 0
    assert (fill["status"], fill["type"], fill["dealVolume"], fill["avgPrice"]) == (
        2,
        2,
        2,
        BTC_LAST,
    )
    [trade] = fill["tradeList"]
    assert trade["price"] == BTC_LAST and trade["volume"] == 2
    assert trade["bidId"] == market and trade["bidUid"] == raw.sim.accounts[KEY].uid
    assert trade["trendSide"] == "BUY"
    assert trade["bidFee"] == 2 * Decimal("0.001") * BTC_LAST * Decimal("0.0006")
    assert (await raw.call(INFO, {"contract_id": "1", "ids": "1,,2"}))["code"] == "2"


# --- cancelling -----------------------------------------------------------------------------


async def test_cancel_order_cancels_a_resting_order_and_frees_its_margin(raw: Raw) -> None:
    before = await raw.balance()
    order_id = await raw.place(orderType="1", price="60000", volume="3")
    assert (await raw.balance())["canUseBalance"] < before["canUseBalance"]
    data = await raw.call(CANCEL, {"orderId": str(order_id), "contractId": "1"})
    assert data == {"code": "0", "msg": "成功", "data": None}
    assert raw.sim.orders[order_id].status == 4
    assert (await raw.balance())["canUseBalance"] == before["canUseBalance"]
    again = await raw.call(CANCEL, {"orderId": str(order_id), "contractId": "1"})
    assert again["code"] == "2"


async def test_cancel_order_refuses_unknown_filled_and_foreign_orders(raw: Raw) -> None:
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    filled = await raw.place()
    resting = await raw.place(orderType="1", price="60000")
    theirs = (
        await raw.call(TAKE, take(orderType="1", price="60000"), key=OTHER_KEY, secret=OTHER_SECRET)
    )["data"]["orderId"]
    for order_id, contract in ((424242, "1"), (filled, "1"), (theirs, "1"), (resting, "2")):
        data = await raw.call(CANCEL, {"orderId": str(order_id), "contractId": contract})
        assert data["code"] == "2", order_id
    assert (await raw.call(CANCEL, {"orderId": str(resting), "contractId": "9"}))["code"] == "107"
    assert raw.sim.orders[theirs].status == raw.sim.orders[resting].status == 1


async def test_cancel_order_all_cancels_this_contracts_active_orders_only(raw: Raw) -> None:
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    mine = [await raw.place(orderType="1", price=p) for p in ("60000", "61000")]
    filled = await raw.place()
    eth = await raw.place(contractId="2", orderType="1", price="3000")
    theirs = (
        await raw.call(TAKE, take(orderType="1", price="60000"), key=OTHER_KEY, secret=OTHER_SECRET)
    )["data"]["orderId"]
    data = await raw.call(CANCEL_ALL, {"contractId": "1"})
    assert data["code"] == "0" and data["data"] is None
    statuses = [raw.sim.orders[i].status for i in (*mine, filled, eth, theirs)]
    assert statuses == [4, 4, 2, 1, 1]


# --- leverage and margin --------------------------------------------------------------------


async def test_change_level_moves_the_position_margin(raw: Raw) -> None:
    position_id = await raw.open_position(volume="2", level="10")
    notional = 2 * Decimal("0.001") * BTC_LAST
    pid = str(position_id)
    data = await raw.call(LEVEL, {"contractId": "1", "leverageLevel": "5", "positionId": pid})
    assert data == {"code": "0", "msg": "成功", "data": None}
    [position] = await raw.positions()
    assert position["leverageLevel"] == 5
    assert Decimal(position["usedMargin"]) == notional / 5
    for level, code in (("7", "2"), ("abc", "2"), ("20", "0")):
        answer = await raw.call(
            LEVEL, {"contractId": "1", "leverageLevel": level, "positionId": pid}
        )
        assert answer["code"] == code, level
    assert raw.sim.positions[position_id].margin == notional / 20
    unknown = await raw.call(LEVEL, {"contractId": "1", "leverageLevel": "5", "positionId": "99"})
    assert unknown["code"] == "110"


async def test_change_level_with_open_orders_is_102(raw: Raw) -> None:
    position_id = await raw.open_position(level="10")
    await raw.place(orderType="1", price="60000", level="10")
    data = await raw.call(
        LEVEL, {"contractId": "1", "leverageLevel": "5", "positionId": str(position_id)}
    )
    assert data["code"] == "102"
    assert raw.sim.positions[position_id].leverage == 10


async def test_transfer_margin_adds_and_withdraws(raw: Raw) -> None:
    position_id = await raw.open_position(volume="2", level="10")
    initial = 2 * Decimal("0.001") * BTC_LAST / 10
    pid = str(position_id)

    async def transfer(amount: str, name: str = "contactId") -> str:
        answer = await raw.call(TRANSFER, {name: "1", "positionId": pid, "amount": amount})
        code: str = answer["code"]
        return code

    assert await transfer("-1") == "101"  # nothing above the initial margin yet
    assert await transfer("10") == "0"
    assert raw.sim.positions[position_id].margin == initial + 10
    assert await transfer("-4") == "0"
    assert raw.sim.positions[position_id].margin == initial + 6
    assert await transfer("-6.01") == "101"
    assert await transfer("0") == "2"
    assert await transfer("lots") == "2"
    available = raw.sim.available(KEY)
    assert await transfer(str(available + 1)) == "118"
    assert await transfer(str(available)) == "0"
    assert raw.sim.available(KEY) == 0


@pytest.mark.parametrize("spelling", ["contactId", "contractId"])
async def test_transfer_margin_reads_only_the_configured_spelling(spelling: str) -> None:
    """The published page spells it contactId, ChainUP's apps contractId: an exchange reads
    one of them, and the other is a parameter error."""
    sim = make_sim(transfer_margin_param=spelling)
    raw = in_process(sim)
    async with raw.http:
        pid = str(await raw.open_position(volume="2", level="10"))
        other = "contractId" if spelling == "contactId" else "contactId"
        wrong = await raw.call(TRANSFER, {other: "1", "positionId": pid, "amount": "5"})
        right = await raw.call(TRANSFER, {spelling: "1", "positionId": pid, "amount": "5"})
    assert (wrong["code"], right["code"]) == ("2", "0")
    assert spelling in wrong["msg"]


async def test_hold_contract_list_lists_open_positions(raw: Raw) -> None:
    await raw.open_position(volume="3", level="10")
    data = await raw.call(HOLD)
    assert data["code"] == "0"
    [item] = data["data"]
    assert item["contractId"] == 1 and item["side"] == "BUY" and item["volume"] == 3
    assert set(item) == {
        "volume",
        "symbol",
        "side",
        "avgPrice",
        "contractId",
        "contractName",
        "unrealisedAmount",
        "realisedAmount",
        "quoteSymbol",
    }


async def test_account_balance_adds_up(raw: Raw) -> None:
    await raw.open_position(volume="3", level="10")
    await raw.place(orderType="1", price="60000", volume="2", level="10")
    raw.sim.set_price(1, Decimal("69000"))
    response = await raw.send(BALANCE, raw.signed({}))
    [item] = envelope(response)["data"]
    assert item["quoteSymbol"] == "USDT"
    for field in ("margin", "canUseBalance", "openPositionFee"):
        assert isinstance(item[field], Decimal), field
    for field in ("accountRight", "positionMargin", "orderMargin", "unrealisedAmount"):
        assert isinstance(item[field], str), field
    wallet = raw.sim.accounts[KEY].balances["USDT"]
    assert item["margin"] == wallet
    position_margin, order_margin = Decimal(item["positionMargin"]), Decimal(item["orderMargin"])
    assert position_margin == 3 * Decimal("0.001") * BTC_LAST / 10
    assert order_margin == 2 * Decimal("0.001") * 60000 * (Decimal("0.1") + Decimal("0.0006"))
    assert item["canUseBalance"] == wallet - position_margin - order_margin
    unrealised = Decimal(item["unrealisedAmount"])
    assert unrealised > 0
    assert Decimal(item["accountRight"]) == (wallet + unrealised).quantize(Decimal("1E-8"))


# --- rate limits ----------------------------------------------------------------------------


async def test_the_default_limit_is_5_per_rolling_second_with_119() -> None:
    sim = make_sim(limits=None)
    clock = clock_of(sim)
    raw = in_process(sim)
    codes: dict[float, str] = {}
    async with raw.http:
        for at in (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.05, 1.21):
            clock.advance(at - clock.monotonic())
            codes[at] = (await raw.call(TAKE, take()))["code"]
    # 1.0: the request of 0.0 has left the window. 1.05: the window (0.05, 1.05] holds 0.2,
    # 0.4, 0.6, 0.8 and 1.0, so a fixed window that restarted at 1.0 would be wrong.
    assert codes == {
        0.0: "0",
        0.2: "0",
        0.4: "0",
        0.6: "0",
        0.8: "0",
        0.9: "119",
        1.0: "0",
        1.05: "119",
        1.21: "0",
    }
    assert len(sim.orders) == 7
    assert sim.stats.rate_limit_rejections == sim.stats.rejections["119"] == 2
    assert sim.stats.requests["take_order"] == 9


@pytest.mark.parametrize("name", sorted(PRIVATE))
async def test_every_private_endpoint_allows_5_per_second_by_default(name: str) -> None:
    sim = make_sim(limits=None)
    raw = in_process(sim)
    async with raw.http:
        codes = [(await raw.call(PRIVATE[name], {}))["code"] for _ in range(6)]
    # Parameter errors count like any other answer; the sixth is refused before them.
    assert "119" not in codes[:5]
    assert codes[5] == "119"


async def test_the_limit_is_per_key_and_per_endpoint() -> None:
    sim = make_sim(limits={"take_order": (1, 1.0), "order_list": (1, 1.0)})
    sim.add_account(OTHER_KEY, OTHER_SECRET)
    raw = in_process(sim)
    async with raw.http:
        codes = [
            (await raw.call(TAKE, take()))["code"],
            (await raw.call(TAKE, take(), key=OTHER_KEY, secret=OTHER_SECRET))["code"],
            (await raw.call(LIST, page()))["code"],
            (await raw.call(TAKE, take()))["code"],
            (await raw.call(LIST, page()))["code"],
        ]
    assert codes == ["0", "0", "0", "119", "119"]
    assert len(sim.orders_for(KEY)) == 1 and len(sim.orders_for(OTHER_KEY)) == 1


async def test_public_limits_are_per_ip() -> None:
    sim = make_sim(limits={"contracts": (2, 1.0)})
    one, two = in_process(sim, "10.0.0.1"), in_process(sim, "10.0.0.2")
    async with one.http, two.http:
        first = [envelope(await one.http.get(PUBLIC_INFO))["code"] for _ in range(3)]
        other = envelope(await two.http.get(PUBLIC_INFO))["code"]
    assert first == ["0", "0", "119"]
    assert other == "0"


async def test_refused_signatures_do_not_use_up_the_window() -> None:
    sim = make_sim(limits={"take_order": (1, 1.0)})
    raw = in_process(sim)
    async with raw.http:
        bad = [(await raw.call(TAKE, take(), secret="wrong"))["code"] for _ in range(3)]
        good = (await raw.call(TAKE, take()))["code"]
    assert bad == ["100005"] * 3
    assert good == "0"


def test_the_simulator_refuses_unknown_options() -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        ChainupSimulator(limits={"place_order": (1, 1.0)})
    with pytest.raises(ValueError, match="fill_delay"):
        ChainupSimulator(fill_delay=-1.0)
    with pytest.raises(ValueError, match="time_window"):
        ChainupSimulator(time_window=-1.0)
    with pytest.raises(ValueError, match="positive"):
        ChainupSimulator().set_price(1, Decimal(0))
    with pytest.raises(KeyError):
        ChainupSimulator().contract("E_XRPUSD")


# --- faults ---------------------------------------------------------------------------------


def only(kind: Fault) -> Faults:
    return Faults(rate=1.0, kinds=[kind], seed=1)


async def faulty(kind: Fault) -> tuple[ChainupSimulator, httpx.Response | None]:
    """One take_order through a simulator where every request meets ``kind``."""
    sim = make_sim(faults=only(kind))
    raw = in_process(sim)
    async with raw.http:
        try:
            return sim, await raw.send(TAKE, raw.signed(take()))
        except httpx.ReadError:
            return sim, None


async def test_http_5xx_is_an_html_502_and_nothing_is_placed() -> None:
    sim, response = await faulty(Fault.HTTP_5XX)
    assert response is not None and response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert sim.orders == {}
    assert sim.stats.faults == {"http_5xx": 1}


async def test_busy_is_code_1_and_nothing_is_placed() -> None:
    sim, response = await faulty(Fault.BUSY)
    assert response is not None
    data = envelope(response)
    assert data["code"] == "1"
    assert sim.orders == {}
    assert sim.stats.faults == {"busy": 1}


async def test_timeout_after_commit_is_code_1_but_the_order_exists() -> None:
    sim, response = await faulty(Fault.TIMEOUT_AFTER_COMMIT)
    assert response is not None
    assert envelope(response)["code"] == "1"
    assert len(sim.orders) == 1
    [order] = sim.orders.values()
    assert order.status == 2 and sim.positions_for(KEY)[0].volume == 1
    assert sim.stats.faults == {"timeout_after_commit": 1}


async def test_drop_before_commit_is_a_read_error_and_nothing_is_placed() -> None:
    sim, response = await faulty(Fault.DROP_BEFORE_COMMIT)
    assert response is None
    assert sim.orders == {}
    assert sim.stats.faults == {"drop_before_commit": 1}


async def test_drop_after_commit_is_a_read_error_but_the_order_exists() -> None:
    sim, response = await faulty(Fault.DROP_AFTER_COMMIT)
    assert response is None
    assert len(sim.orders) == 1
    assert sim.stats.faults == {"drop_after_commit": 1}


async def test_a_truncated_answer_is_invalid_json_but_the_order_exists() -> None:
    sim, response = await faulty(Fault.TRUNCATED)
    assert response is not None and response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert response.text.startswith('{"code":"0"')
    assert len(sim.orders) == 1
    assert sim.stats.faults == {"truncated": 1}


async def test_refused_requests_meet_no_faults() -> None:
    sim = make_sim(faults=only(Fault.DROP_BEFORE_COMMIT), limits={"take_order": (1, 60.0)})
    raw = in_process(sim)
    async with raw.http:
        bad_sign = await raw.call(TAKE, take(), secret="wrong")
        stale = await raw.call(TAKE, take(), time=sim.now_ms() - 120_000)
        with pytest.raises(httpx.ReadError):
            await raw.send(TAKE, raw.signed(take()))
        limited = await raw.call(TAKE, take())
    assert (bad_sign["code"], stale["code"], limited["code"]) == ("100005", "100008", "119")
    assert sim.stats.faults == {"drop_before_commit": 1}


async def run_sequence(seed: int) -> tuple[list[str], ChainupSimulator]:
    sim = make_sim(faults=Faults(rate=0.5, seed=seed))
    raw = in_process(sim)
    seen: list[str] = []
    async with raw.http:
        for _ in range(40):
            try:
                response = await raw.send(TAKE, raw.signed(take()))
            except httpx.ReadError:
                seen.append("dropped")
                continue
            try:
                seen.append(json.loads(response.content)["code"])
            except ValueError:
                seen.append(f"http {response.status_code} unreadable")
    return seen, sim


async def test_the_same_seed_gives_the_same_faults_and_orders() -> None:
    first, sim_a = await run_sequence(7)
    second, sim_b = await run_sequence(7)
    other, _ = await run_sequence(8)
    assert first == second
    assert first != other
    assert sim_a.stats.faults == sim_b.stats.faults
    assert len(sim_a.stats.faults) >= 4  # a real mix of kinds
    assert sorted(sim_a.orders) == sorted(sim_b.orders)
    # Orders exist exactly for the answers of code 0 and the faults after the commit.
    committed = sum(sim_a.stats.faults[f.value] for f in Fault if f.after_commit) + first.count("0")
    assert len(sim_a.orders) == committed
