"""The Bybit simulator rejects what Bybit rejects: hand-built, hand-signed requests in process.

Nothing here goes through BybitClient: every request is built, serialised and signed by the
test, so these tests check the simulator itself. Time is a VirtualClock moved by hand.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from asyncexch.sim import BybitSimulator, SimTransport
from tests.builders.raw_bybit import (
    BASE_URL,
    ESTIMATE,
    KEY,
    ORDER,
    OTHER_KEY,
    OTHER_SECRET,
    PLACE,
    POSITION,
    PRODUCT,
    QUOTE,
    START_MS,
    TIME,
    Raw,
    clock_of,
    compact,
    envelope,
    hmac_sign,
    make_sim,
)


@pytest.fixture
def sim() -> BybitSimulator:
    return make_sim()


async def raw_for(sim: BybitSimulator, ip: str = "127.0.0.1") -> Raw:
    http = httpx.AsyncClient(transport=SimTransport(sim.app, client=(ip, 40000)), base_url=BASE_URL)
    return Raw(sim, http)


# --- the envelope and the public endpoints ---------------------------------------------------


async def test_server_time_is_the_simulator_clock_in_the_bybit_envelope(raw: Raw) -> None:
    clock_of(raw.sim).advance(2.5)
    response = await raw.get(TIME, private=False)
    data = envelope(response)
    assert data["retCode"] == 0
    assert data["time"] == START_MS + 2500
    assert data["result"] == {
        "timeSecond": str((START_MS + 2500) // 1000),
        "timeNano": str((START_MS + 2500) * 1_000_000),
    }
    assert response.headers["Timenow"] == str(START_MS + 2500)


async def test_public_product_list_has_the_documented_fields(raw: Raw) -> None:
    data = envelope(await raw.get(PRODUCT, "category=SmartLeverage&coin=ETH", private=False))
    assert data["retCode"] == 0
    [product] = data["result"]["list"]
    assert product["productId"] == "13020"
    assert product["underlyingAsset"] == "ETH"
    assert product["orderPrecisionDigital"] == 4  # a JSON number, as documented
    assert isinstance(product["minPurchaseAmount"], str)


# --- signatures -----------------------------------------------------------------------------


async def test_a_correctly_signed_post_is_accepted(raw: Raw) -> None:
    data = envelope(await raw.post(PLACE, raw.stake("ok-1")))
    assert data["retCode"] == 0, data
    assert data["result"]["orderLinkId"] == "ok-1"
    assert [order.order_link_id for order in raw.sim.orders_for(KEY)] == ["ok-1"]


async def test_a_wrong_hmac_secret_is_refused_with_10004(raw: Raw) -> None:
    data = envelope(await raw.post(PLACE, raw.stake("bad-sign"), secret="not-the-secret"))
    assert data["retCode"] == 10004
    assert data["result"] == {}
    assert raw.sim.orders == {}
    assert raw.sim.stats.rejections[10004] == 1


async def test_a_garbage_signature_is_refused_with_10004(raw: Raw) -> None:
    data = envelope(await raw.get(ORDER, "category=SmartLeverage", signature="0" * 64))
    assert data["retCode"] == 10004


async def test_a_signature_over_a_reserialised_body_is_refused(raw: Raw) -> None:
    body = raw.stake("reserialised")
    sent = compact(body)
    signed = json.dumps(body).encode()  # the same object, other bytes (default separators)
    assert sent != signed and json.loads(sent) == json.loads(signed)
    data = envelope(await raw.post(PLACE, sent, signed_body=signed))
    assert data["retCode"] == 10004
    assert raw.sim.orders == {}


async def test_a_signature_over_a_reordered_query_is_refused(raw: Raw) -> None:
    data = envelope(
        await raw.get(
            ORDER, "limit=5&category=SmartLeverage", signed_query="category=SmartLeverage&limit=5"
        )
    )
    assert data["retCode"] == 10004
    # The very same query, signed as sent, passes.
    data = envelope(await raw.get(ORDER, "limit=5&category=SmartLeverage"))
    assert data["retCode"] == 0


async def test_the_signature_covers_the_recv_window(raw: Raw) -> None:
    headers = raw.auth(b"category=SmartLeverage", recv_window=5000)
    headers["X-BAPI-RECV-WINDOW"] = "6000"
    response = await raw.http.get(ORDER + "?category=SmartLeverage", headers=headers)
    assert envelope(response)["retCode"] == 10004


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_signer(key: rsa.RSAPrivateKey) -> Any:
    def sign(message: bytes) -> str:
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    return sign


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def test_an_rsa_account_accepts_a_valid_rsa_signature(
    raw: Raw, rsa_key: rsa.RSAPrivateKey
) -> None:
    raw.sim.add_account("rsa-key", public_key_pem=public_pem(rsa_key))
    data = envelope(
        await raw.post(PLACE, raw.stake("rsa-1"), key="rsa-key", signer=rsa_signer(rsa_key))
    )
    assert data["retCode"] == 0, data
    assert [order.order_link_id for order in raw.sim.orders_for("rsa-key")] == ["rsa-1"]


@pytest.mark.parametrize("kind", ["other key", "other bytes", "not base64", "hmac"])
async def test_an_rsa_account_refuses_a_bad_signature(
    raw: Raw, rsa_key: rsa.RSAPrivateKey, kind: str
) -> None:
    raw.sim.add_account("rsa-key", public_key_pem=public_pem(rsa_key))
    body = raw.stake("rsa-bad")
    stamp = raw.sim.now_ms()
    message = f"{stamp}rsa-key5000".encode() + compact(body)
    if kind == "other key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        signature = rsa_signer(other)(message)
    elif kind == "other bytes":
        signature = rsa_signer(rsa_key)(message + b" ")
    elif kind == "not base64":
        signature = "!!not-base64!!"
    else:
        signature = hmac_sign("whatever", message)
    data = envelope(
        await raw.post(PLACE, body, key="rsa-key", timestamp=stamp, signature=signature)
    )
    assert data["retCode"] == 10004
    assert raw.sim.orders == {}


# --- keys and timestamps --------------------------------------------------------------------


async def test_an_unknown_key_is_refused_with_10003(raw: Raw) -> None:
    data = envelope(await raw.get(ORDER, "category=SmartLeverage", key="nobody", secret="x"))
    assert data["retCode"] == 10003
    assert raw.sim.stats.rejections[10003] == 1


async def test_a_request_without_a_key_is_refused_with_10003(raw: Raw) -> None:
    response = await raw.http.get(ORDER + "?category=SmartLeverage")
    assert envelope(response)["retCode"] == 10003


@pytest.mark.parametrize(
    ("offset_ms", "recv_window", "code"),
    [
        (-5001, 5000, 10002),  # older than the receive window
        (-5000, 5000, 0),  # exactly the window's age
        (-1001, 1000, 10002),  # the window is the request's own
        (-900, 1000, 0),
        (999, 5000, 0),  # 999 ms ahead of the server is tolerated
        (1000, 5000, 10002),  # 1 s ahead is not
        (60_000, 5000, 10002),
    ],
)
async def test_the_timestamp_window(raw: Raw, offset_ms: int, recv_window: int, code: int) -> None:
    clock_of(raw.sim).advance(100.0)
    server_ms = raw.sim.now_ms()
    data = envelope(
        await raw.get(
            ORDER,
            "category=SmartLeverage",
            timestamp=server_ms + offset_ms,
            recv_window=recv_window,
        )
    )
    assert data["retCode"] == code, data
    if code == 10002:
        assert f"req_timestamp[{server_ms + offset_ms}]" in data["retMsg"]
        assert f"server_timestamp[{server_ms}]" in data["retMsg"]


async def test_a_stale_order_is_not_placed(raw: Raw) -> None:
    data = envelope(await raw.post(PLACE, raw.stake("stale"), timestamp=raw.sim.now_ms() - 6000))
    assert data["retCode"] == 10002
    assert raw.sim.orders == {}


# --- rate limits ----------------------------------------------------------------------------


async def test_over_the_limit_is_10006_with_the_limit_headers() -> None:
    sim = make_sim(limits={"order": (2, 1.0)})
    clock = clock_of(sim)
    raw = await raw_for(sim)
    async with raw.http:
        first = await raw.get(ORDER, "category=SmartLeverage")
        assert envelope(first)["retCode"] == 0
        assert first.headers["X-Bapi-Limit"] == "2"
        assert first.headers["X-Bapi-Limit-Status"] == "1"
        clock.advance(0.5)
        second = await raw.get(ORDER, "category=SmartLeverage")
        assert envelope(second)["retCode"] == 0
        assert second.headers["X-Bapi-Limit-Status"] == "0"
        clock.advance(0.25)
        third = await raw.get(ORDER, "category=SmartLeverage")
    data = envelope(third)
    assert data["retCode"] == 10006
    assert data["result"] == {}
    assert third.headers["X-Bapi-Limit"] == "2"
    assert third.headers["X-Bapi-Limit-Status"] == "0"
    # The oldest request in the window arrived at START; it leaves the window 1 s later.
    assert third.headers["X-Bapi-Limit-Reset-Timestamp"] == str(START_MS + 1000)
    assert sim.stats.rejections[10006] == 1
    assert sim.stats.rate_limit_rejections == 1
    assert sim.stats.requests["order"] == 3


async def test_the_window_is_rolling_not_fixed() -> None:
    sim = make_sim(limits={"order": (2, 1.0)})
    clock = clock_of(sim)
    raw = await raw_for(sim)
    codes: dict[float, int] = {}
    async with raw.http:
        for at in (0.0, 0.6, 0.9, 1.01, 1.05, 1.61):
            clock.advance(at - clock.monotonic())
            codes[at] = envelope(await raw.get(ORDER, "category=SmartLeverage"))["retCode"]
    # 1.01: the request of 0.0 has left the window. 1.05: the window (0.05, 1.05] still holds
    # 0.6 and 1.01, so a fixed window that restarted at 1.0 would be wrong. 1.61: 0.6 is out.
    assert codes == {0.0: 0, 0.6: 0, 0.9: 10006, 1.01: 0, 1.05: 10006, 1.61: 0}
    assert sim.stats.rejections[10006] == 2


async def test_private_limits_are_per_uid() -> None:
    sim = make_sim(limits={"place_order": (1, 1.0)})
    sim.add_account(OTHER_KEY, OTHER_SECRET)
    raw = await raw_for(sim)
    async with raw.http:
        a1 = envelope(await raw.post(PLACE, raw.stake("a-1")))
        b1 = envelope(await raw.post(PLACE, raw.stake("b-1"), key=OTHER_KEY, secret=OTHER_SECRET))
        a2 = envelope(await raw.post(PLACE, raw.stake("a-2")))
        b2 = envelope(await raw.post(PLACE, raw.stake("b-2"), key=OTHER_KEY, secret=OTHER_SECRET))
    assert [a1["retCode"], b1["retCode"], a2["retCode"], b2["retCode"]] == [0, 0, 10006, 10006]
    assert [o.order_link_id for o in sim.orders_for(KEY)] == ["a-1"]
    assert [o.order_link_id for o in sim.orders_for(OTHER_KEY)] == ["b-1"]


async def test_private_limits_are_per_endpoint() -> None:
    sim = make_sim(limits={"order": (1, 1.0), "position": (1, 1.0)})
    raw = await raw_for(sim)
    async with raw.http:
        codes = [
            envelope(await raw.get(path, "category=SmartLeverage"))["retCode"]
            for path in (ORDER, POSITION, ORDER, POSITION)
        ]
    assert codes == [0, 0, 10006, 10006]


async def test_public_limits_are_per_ip() -> None:
    sim = make_sim(limits={"product": (2, 1.0)})
    one, two = await raw_for(sim, "10.0.0.1"), await raw_for(sim, "10.0.0.2")
    async with one.http, two.http:
        first = [await one.get(PRODUCT, "category=SmartLeverage", private=False) for _ in range(3)]
        other = await two.get(PRODUCT, "category=SmartLeverage", private=False)
    assert [envelope(r)["retCode"] for r in first] == [0, 0, 10006]
    assert [r.headers["X-Bapi-Limit-Status"] for r in first] == ["1", "0", "0"]
    assert envelope(other)["retCode"] == 0
    assert other.headers["X-Bapi-Limit-Status"] == "1"


async def test_the_ip_wide_limit_is_http_403_and_a_ban() -> None:
    sim = make_sim(ip_limit=(3, 5.0), ip_ban=10.0)
    clock = clock_of(sim)
    raw, bystander = await raw_for(sim, "10.0.0.1"), await raw_for(sim, "10.0.0.2")
    statuses: dict[float, int] = {}
    async with raw.http, bystander.http:
        for at in (0.0, 1.0, 2.0, 3.0, 6.0, 12.99, 13.0):
            clock.advance(at - clock.monotonic())
            response = await raw.get(TIME, private=False)
            statuses[at] = response.status_code
            if response.status_code == 403:
                assert "application/json" not in response.headers["content-type"]
            if at == 6.0:
                # The window alone would admit this one (0.0 and 1.0 are out of it): the ban
                # from 3.0 is what refuses it. Other IPs are not banned.
                assert envelope(await bystander.get(TIME, private=False))["retCode"] == 0
    assert statuses == {0.0: 200, 1.0: 200, 2.0: 200, 3.0: 403, 6.0: 403, 12.99: 403, 13.0: 200}
    assert sim.stats.rejections[403] == 3
    assert sim.stats.rate_limit_rejections == 3


async def test_the_ip_limit_counts_private_and_public_requests_together() -> None:
    sim = make_sim(ip_limit=(2, 5.0), ip_ban=10.0)
    raw = await raw_for(sim)
    async with raw.http:
        assert envelope(await raw.get(TIME, private=False))["retCode"] == 0
        assert envelope(await raw.get(ORDER, "category=SmartLeverage"))["retCode"] == 0
        refused = await raw.post(PLACE, raw.stake("banned"))
    assert refused.status_code == 403
    assert sim.orders == {}


async def test_a_second_breach_after_a_ban_bans_again() -> None:
    sim = make_sim(ip_limit=(3, 5.0), ip_ban=10.0)
    clock = clock_of(sim)
    raw = await raw_for(sim)
    statuses: list[int] = []
    async with raw.http:
        for at in (0.0, 0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0, 15.5):
            clock.advance(at - clock.monotonic())
            statuses.append((await raw.get(TIME, private=False)).status_code)
    # The first breach at 0 bans until 10; the second breach at 10 must ban until 20, so the
    # request at 15.5 (which the window alone would admit) is still refused.
    assert statuses == [200, 200, 200, 403, 200, 200, 200, 403, 403]


# --- orders: ids, prices, balances, amounts -------------------------------------------------


async def test_a_reused_order_link_id_is_refused_with_180025(raw: Raw) -> None:
    first = await raw.call(PLACE, raw.stake("same-id"))
    again = await raw.call(PLACE, raw.stake("same-id", amount="200"))
    assert first["retCode"] == 0
    assert again["retCode"] == 180025
    assert len(raw.sim.orders) == 1
    assert raw.sim.orders[first["result"]["orderId"]].amount == Decimal("100")
    assert raw.sim.stats.duplicates_refused == 1
    assert raw.sim.stats.rejections[180025] == 1


async def test_a_reused_order_link_id_gets_the_same_order_id_in_the_old_mode() -> None:
    sim = make_sim(idempotency="same_order_id")
    raw = await raw_for(sim)
    async with raw.http:
        first = await raw.call(PLACE, raw.stake("same-id"))
        again = await raw.call(PLACE, raw.stake("same-id"))
    assert first["retCode"] == again["retCode"] == 0
    assert again["result"] == first["result"]
    assert len(sim.orders) == 1
    assert sim.stats.duplicates_refused == 1


async def test_order_link_ids_are_unique_per_uid_not_globally(raw: Raw) -> None:
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    mine = await raw.call(PLACE, raw.stake("shared-id"))
    theirs = await raw.call(PLACE, raw.stake("shared-id"), key=OTHER_KEY, secret=OTHER_SECRET)
    assert mine["retCode"] == theirs["retCode"] == 0
    assert mine["result"]["orderId"] != theirs["result"]["orderId"]
    assert raw.sim.stats.duplicates_refused == 0


async def test_an_order_far_from_the_market_price_is_refused_with_180030(raw: Raw) -> None:
    raw.sim.set_price("BTC", Decimal("100000"))
    low = await raw.call(PLACE, raw.stake("low", initial_price=Decimal("90000")))
    high = await raw.call(PLACE, raw.stake("high", initial_price=Decimal("110000")))
    near = await raw.call(PLACE, raw.stake("near", initial_price=Decimal("101000")))
    assert [low["retCode"], high["retCode"], near["retCode"]] == [180030, 180030, 0]
    assert [o.order_link_id for o in raw.sim.orders_for(KEY)] == ["near"]
    assert raw.sim.accounts[KEY].balances["USDT"] == Decimal("10000000") - 100


@pytest.mark.parametrize(
    ("initial", "code"),
    [
        ("95100", 0),  # 4.9% below the market
        ("104900", 0),  # 4.9% above
        ("94900", 180030),  # 5.1% below
        ("105100", 180030),  # 5.1% above
    ],
)
async def test_slippage_is_measured_against_the_market_price(
    raw: Raw, initial: str, code: int
) -> None:
    raw.sim.set_price("BTC", Decimal("100000"))
    data = await raw.call(PLACE, raw.stake("edge", initial_price=Decimal(initial)))
    assert data["retCode"] == code, data


async def test_the_market_price_moves_over_time() -> None:
    sim = make_sim(price_swing=0.2, price_period=120.0)
    raw = await raw_for(sim)
    async with raw.http:
        opening = sim.price("BTC")
        assert opening == Decimal("68403.67")
        clock_of(sim).advance(30.0)  # a quarter period: the price is 20% higher
        assert sim.price("BTC") == (opening * Decimal("1.2")).quantize(Decimal("0.01"))
        quote = await raw.get(QUOTE, "category=SmartLeverage&productId=13015", private=False)
        assert Decimal(envelope(quote)["result"]["currentPrice"]) == sim.price("BTC")
        stale = await raw.call(PLACE, raw.stake("stale-price", initial_price=opening))
        fresh = await raw.call(PLACE, raw.stake("fresh-price"))
    assert stale["retCode"] == 180030
    assert fresh["retCode"] == 0


async def test_a_stake_beyond_the_balance_is_refused_with_180016() -> None:
    sim = make_sim()
    sim.add_account("poor", "poor-secret", balances={"USDT": Decimal("150")})
    raw = await raw_for(sim)
    async with raw.http:
        first = await raw.call(PLACE, raw.stake("p-1"), key="poor", secret="poor-secret")
        second = await raw.call(PLACE, raw.stake("p-2"), key="poor", secret="poor-secret")
        rest = await raw.call(
            PLACE, raw.stake("p-3", amount="50"), key="poor", secret="poor-secret"
        )
    assert [first["retCode"], second["retCode"], rest["retCode"]] == [0, 180016, 0]
    assert sim.accounts["poor"].balances["USDT"] == Decimal("0")
    assert [o.order_link_id for o in sim.orders_for("poor")] == ["p-1", "p-3"]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("9.9999", 180012),  # below the product's minimum of 10
        ("10.00001", 180012),  # five decimals; the product allows four
        ("10", 0),
        ("10.0001", 0),
    ],
)
async def test_the_amount_must_meet_the_minimum_and_precision(
    raw: Raw, amount: str, code: int
) -> None:
    data = await raw.call(PLACE, raw.stake("amount", amount=amount))
    assert data["retCode"] == code, data
    assert len(raw.sim.orders) == (1 if code == 0 else 0)


async def test_an_unknown_product_is_refused_with_180008(raw: Raw) -> None:
    data = await raw.call(PLACE, raw.stake("nope", productId="99999"))
    assert data["retCode"] == 180008
    assert raw.sim.orders == {}


async def test_a_stake_without_its_extra_is_refused_with_10001(raw: Raw) -> None:
    body = raw.stake("no-extra")
    del body["smartLeverageStakeExtra"]
    data = await raw.call(PLACE, body)
    assert data["retCode"] == 10001
    assert raw.sim.orders == {}


async def test_a_refused_order_does_not_use_up_its_order_link_id(raw: Raw) -> None:
    refused = await raw.call(PLACE, raw.stake("retry-me", amount="1"))
    placed = await raw.call(PLACE, raw.stake("retry-me"))
    assert refused["retCode"] == 180012
    assert placed["retCode"] == 0


@pytest.mark.parametrize(
    "path", [PRODUCT, QUOTE + "?productId=13015", ORDER, POSITION, ESTIMATE + "?positionIds=1"]
)
async def test_every_earn_endpoint_requires_the_category(raw: Raw, path: str) -> None:
    route, _, query = path.partition("?")
    data = envelope(await raw.get(route, query, private=route not in (PRODUCT, QUOTE)))
    assert data["retCode"] == 10001, data


# --- settlement, positions and redeems ------------------------------------------------------


async def test_a_stake_settles_after_the_delay_and_opens_a_position() -> None:
    sim = make_sim(settlement_delay=2.0)
    clock = clock_of(sim)
    raw = await raw_for(sim)
    async with raw.http:
        placed = await raw.call(PLACE, raw.stake("settle-me", amount="250"))
        order_id = placed["result"]["orderId"]
        query = f"category=SmartLeverage&orderId={order_id}"
        pending = await raw.call(ORDER, query)
        clock.advance(1.999)
        still = await raw.call(ORDER, query)
        positions_before = await raw.call(POSITION, "category=SmartLeverage")
        clock.advance(0.001)
        done = await raw.call(ORDER, query)
        positions = await raw.call(POSITION, "category=SmartLeverage")
    assert pending["result"]["list"][0]["status"] == "Pending"
    assert still["result"]["list"][0]["status"] == "Pending"
    assert positions_before["result"]["list"] == []
    assert done["result"]["list"][0]["status"] == "Success"
    [position] = positions["result"]["list"]
    assert position["orderId"] == order_id
    assert position["orderLinkId"] == "settle-me"
    assert position["amount"] == "250"
    assert position["status"] == "Active"
    assert position["redeemable"] is True
    assert sim.positions[position["positionId"]].status == "Active"


async def _active_position(raw: Raw, link: str = "stake") -> str:
    """Stake, let it settle, return the new position's id."""
    placed = await raw.call(PLACE, raw.stake(link))
    assert placed["retCode"] == 0
    clock_of(raw.sim).advance(raw.sim.settlement_delay)
    answer = await raw.call(ORDER, f"category=SmartLeverage&orderLinkId={link}")
    assert answer["result"]["list"][0]["status"] == "Success"
    order = raw.sim.orders[placed["result"]["orderId"]]
    assert order.position_id is not None
    assert raw.sim.positions[order.position_id].status == "Active"
    return order.position_id


async def _estimate(raw: Raw, *position_ids: str) -> dict[str, Any]:
    return await raw.call(ESTIMATE, "category=SmartLeverage&positionIds=" + ",".join(position_ids))


async def test_the_redeem_flow_credits_the_balance(raw: Raw) -> None:
    raw.sim.set_price("BTC", Decimal("60000"))
    position_id = await _active_position(raw)
    balance = raw.sim.accounts[KEY].balances["USDT"]
    raw.sim.set_price("BTC", Decimal("59400"))  # 1% down: the 10x Short gains 10%
    estimate = await _estimate(raw, position_id)
    [item] = estimate["result"]["list"]
    assert item["success"] is True
    assert item["positionId"] == position_id
    assert Decimal(item["estRedeemAmount"]) == Decimal("110")
    placed = await raw.call(PLACE, raw.redeem("redeem-1", position_id, item["estRedeemAmount"]))
    assert placed["retCode"] == 0, placed
    assert raw.sim.positions[position_id].status == "Redeeming"
    positions = await raw.call(POSITION, "category=SmartLeverage")
    assert positions["result"]["list"][0]["status"] == "Redeeming"
    assert positions["result"]["list"][0]["redeemable"] is False
    clock_of(raw.sim).advance(raw.sim.settlement_delay)
    order = await raw.call(ORDER, f"category=SmartLeverage&orderId={placed['result']['orderId']}")
    assert order["result"]["list"][0]["orderType"] == "Redeem"
    assert order["result"]["list"][0]["status"] == "Settled"
    assert raw.sim.positions[position_id].status == "Settled"
    assert raw.sim.accounts[KEY].balances["USDT"] == balance + Decimal("110")


async def test_redeem_estimates_take_one_to_five_ids(raw: Raw) -> None:
    ids = [await _active_position(raw, f"s-{n}") for n in range(6)]
    five = await _estimate(raw, *ids[:5])
    assert five["retCode"] == 0
    assert [item["positionId"] for item in five["result"]["list"]] == ids[:5]
    assert all(item["success"] for item in five["result"]["list"])
    assert (await _estimate(raw, *ids))["retCode"] == 10001
    assert (await raw.call(ESTIMATE, "category=SmartLeverage&positionIds="))["retCode"] == 10001


async def test_an_unknown_position_estimates_unsuccessfully(raw: Raw) -> None:
    answer = await _estimate(raw, "424242")
    assert answer["retCode"] == 0
    assert answer["result"]["list"][0]["success"] is False


async def test_an_estimate_older_than_ten_minutes_is_refused_with_180006(raw: Raw) -> None:
    raw.sim.set_price("BTC", Decimal("60000"))
    position_id = await _active_position(raw)
    amount = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
    clock_of(raw.sim).advance(600.5)
    expired = await raw.call(PLACE, raw.redeem("late", position_id, amount))
    assert expired["retCode"] == 180006
    assert raw.sim.positions[position_id].status == "Active"
    # A fresh estimate is honoured.
    amount = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
    clock_of(raw.sim).advance(599.0)
    assert (await raw.call(PLACE, raw.redeem("in-time", position_id, amount)))["retCode"] == 0


async def test_a_redeem_for_another_amount_than_estimated_is_refused(raw: Raw) -> None:
    raw.sim.set_price("BTC", Decimal("60000"))
    position_id = await _active_position(raw)
    amount = Decimal((await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"])
    wrong = await raw.call(PLACE, raw.redeem("wrong", position_id, str(amount + 1)))
    assert wrong["retCode"] == 180006
    assert raw.sim.positions[position_id].status == "Active"


async def test_a_redeem_without_an_estimate_is_refused(raw: Raw) -> None:
    position_id = await _active_position(raw)
    data = await raw.call(PLACE, raw.redeem("blind", position_id, "100"))
    assert data["retCode"] == 180006


async def test_a_position_that_is_not_active_cannot_be_redeemed(raw: Raw) -> None:
    raw.sim.set_price("BTC", Decimal("60000"))
    position_id = await _active_position(raw)
    amount = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
    assert (await raw.call(PLACE, raw.redeem("r-1", position_id, amount)))["retCode"] == 0
    redeeming = await raw.call(PLACE, raw.redeem("r-2", position_id, amount))
    assert redeeming["retCode"] == 180029
    clock_of(raw.sim).advance(raw.sim.settlement_delay)
    await raw.call(ORDER, "category=SmartLeverage")  # settles the redeem
    assert raw.sim.positions[position_id].status == "Settled"
    settled = await raw.call(PLACE, raw.redeem("r-3", position_id, amount))
    assert settled["retCode"] == 180029
    assert [o.order_type for o in raw.sim.orders_for(KEY)] == ["Stake", "Redeem"]


async def test_an_unknown_position_cannot_be_redeemed(raw: Raw) -> None:
    data = await raw.call(PLACE, raw.redeem("ghost", "424242", "100"))
    assert data["retCode"] == 180020


# --- order and position queries -------------------------------------------------------------


async def _pages(raw: Raw, path: str, limit: int) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor = ""
    while True:
        query = f"category=SmartLeverage&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        data = await raw.call(path, query)
        assert data["retCode"] == 0, data
        pages.append(data["result"])
        cursor = data["result"]["nextPageCursor"]
        if not cursor:
            return pages
        assert len(pages) < 10, "the cursor never ends"


async def test_orders_page_with_limit_and_cursor(raw: Raw) -> None:
    for n in range(7):
        clock_of(raw.sim).advance(0.01)  # distinct creation times
        assert (await raw.call(PLACE, raw.stake(f"page-{n}")))["retCode"] == 0
    pages = await _pages(raw, ORDER, 3)
    assert [len(page["list"]) for page in pages] == [3, 3, 1]
    assert pages[-1]["nextPageCursor"] == ""
    links = [item["orderLinkId"] for page in pages for item in page["list"]]
    assert links == [f"page-{n}" for n in reversed(range(7))]  # newest first, each once


async def test_positions_page_with_limit_and_cursor(raw: Raw) -> None:
    for n in range(7):
        assert (await raw.call(PLACE, raw.stake(f"pos-{n}")))["retCode"] == 0
    clock_of(raw.sim).advance(raw.sim.settlement_delay)
    pages = await _pages(raw, POSITION, 3)
    assert [len(page["list"]) for page in pages] == [3, 3, 1]
    ids = [item["positionId"] for page in pages for item in page["list"]]
    assert sorted(ids) == sorted(raw.sim.positions)
    assert len(set(ids)) == 7


@pytest.mark.parametrize("limit", ["0", "21", "x"])
async def test_a_page_size_outside_1_to_20_is_refused(raw: Raw, limit: str) -> None:
    data = await raw.call(ORDER, f"category=SmartLeverage&limit={limit}")
    assert data["retCode"] == 10001


async def test_orders_filter_by_order_link_id_and_order_id(raw: Raw) -> None:
    raw.sim.add_account(OTHER_KEY, OTHER_SECRET)
    ids = {}
    for link in ("alpha", "beta", "gamma"):
        ids[link] = (await raw.call(PLACE, raw.stake(link)))["result"]["orderId"]
    await raw.call(PLACE, raw.stake("beta"), key=OTHER_KEY, secret=OTHER_SECRET)

    by_link = await raw.call(ORDER, "category=SmartLeverage&orderLinkId=beta")
    assert [(i["orderId"], i["orderLinkId"]) for i in by_link["result"]["list"]] == [
        (ids["beta"], "beta")
    ]
    by_id = await raw.call(ORDER, f"category=SmartLeverage&orderId={ids['gamma']}")
    assert [i["orderLinkId"] for i in by_id["result"]["list"]] == ["gamma"]
    both = await raw.call(ORDER, f"category=SmartLeverage&orderId={ids['gamma']}&orderLinkId=beta")
    assert both["result"]["list"] == []
    unknown = await raw.call(ORDER, "category=SmartLeverage&orderLinkId=delta")
    assert unknown["retCode"] == 0
    assert unknown["result"]["list"] == []
    assert unknown["result"]["nextPageCursor"] == ""
    everything = await raw.call(ORDER, "category=SmartLeverage")
    assert {i["orderLinkId"] for i in everything["result"]["list"]} == {"alpha", "beta", "gamma"}


# --- "already exists" in any code ---------------------------------------------------------------


@pytest.mark.parametrize("code", [180025, 180031, 110072])
async def test_the_duplicate_code_is_configurable(code: int) -> None:
    sim = make_sim(duplicate_code=code)
    raw = await raw_for(sim)
    async with raw.http:
        assert (await raw.call(PLACE, raw.stake("dup")))["retCode"] == 0
        again = await raw.call(PLACE, raw.stake("dup"))
    assert again["retCode"] == code
    assert sim.stats.duplicates_refused == 1
    assert len(sim.orders) == 1


# --- quotes ---------------------------------------------------------------------------------


async def test_a_stake_at_a_quoted_breakeven_price_is_accepted(raw: Raw) -> None:
    quote = envelope(await raw.get(QUOTE, "category=SmartLeverage&productId=13015", private=False))
    result = quote["result"]
    assert int(result["expireAt"]) == raw.sim.now_ms() + 60_000  # quote_ttl, 60 s by default
    assert Decimal(result["maxInvestmentAmount"]) == Decimal("100000")
    body = raw.stake("quoted")
    body["smartLeverageStakeExtra"] = {
        "initialPrice": result["currentPrice"],
        "breakevenPrice": result["breakevenPrice"],
    }
    assert (await raw.call(PLACE, body))["retCode"] == 0


async def test_a_stake_at_a_price_no_quote_gave_is_refused(raw: Raw) -> None:
    body = raw.stake("invented")
    body["smartLeverageStakeExtra"]["breakevenPrice"] = "12345.67"
    data = await raw.call(PLACE, body)
    assert data["retCode"] == 180006
    assert "quote" in data["retMsg"]
    assert raw.sim.orders == {}


async def test_a_stake_at_an_expired_quote_is_refused() -> None:
    sim = make_sim(quote_ttl=5.0)
    raw = await raw_for(sim)
    async with raw.http:
        body = raw.stake("late")
        clock_of(sim).advance(5.001)
        late = await raw.call(PLACE, body)
        on_time = raw.stake("on-time")
        clock_of(sim).advance(5.0)  # valid up to and including its expiry
        accepted = await raw.call(PLACE, on_time)
    assert late["retCode"] == 180006
    assert accepted["retCode"] == 0
    assert [order.order_link_id for order in sim.orders.values()] == ["on-time"]


async def test_a_stake_above_the_quotes_maximum_is_refused(raw: Raw) -> None:
    raw.sim.products["13015"].max_investment_amount = Decimal("1000")
    over = await raw.call(PLACE, raw.stake("big", amount="1000.0001"))
    at = await raw.call(PLACE, raw.stake("max", amount="1000"))
    assert over["retCode"] == 180013
    assert at["retCode"] == 0


def test_quote_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="quote_ttl"):
        BybitSimulator(quote_ttl=0)


# --- redeems as Bybit records them, in both readings -------------------------------------------


def _redeem_body(raw: Raw, link: str, position_id: str, estimate: str, **fields: Any) -> Any:
    body = raw.redeem(link, position_id, estimate)
    body.update(fields)
    return body


async def test_a_redeem_is_recorded_with_the_staked_amount(raw: Raw) -> None:
    raw.sim.set_price("BTC", Decimal("60000"))
    position_id = await _active_position(raw)
    raw.sim.set_price("BTC", Decimal("60600"))  # 1% up: the 10x Short lost 10%
    estimate = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
    assert Decimal(estimate) == Decimal("90")
    placed = await raw.call(PLACE, raw.redeem("exit", position_id, estimate))
    listed = await raw.call(ORDER, "category=SmartLeverage&orderLinkId=exit")
    [item] = listed["result"]["list"]
    assert item["orderType"] == "Redeem"
    assert item["amount"] == "100"  # the staked amount, as in Bybit's order example
    assert item["orderId"] == placed["result"]["orderId"]


@pytest.mark.parametrize("rules", ["any", "official-tools"])
async def test_a_redeem_with_the_staked_amount_and_coin_is_accepted(rules: str) -> None:
    sim = make_sim(redeem_rules=rules)
    raw = await raw_for(sim)
    async with raw.http:
        position_id = await _active_position(raw)
        estimate = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
        body = _redeem_body(raw, "exit", position_id, estimate, amount="100", coin="USDT")
        assert (await raw.call(PLACE, body))["retCode"] == 0


@pytest.mark.parametrize(
    ("fields", "any_code", "official_code"),
    [
        ({}, 0, 10001),
        ({"coin": "USDT"}, 0, 10001),
        ({"amount": "100"}, 0, 10001),
        ({"amount": "90", "coin": "USDT"}, 180014, 180014),
        ({"amount": "100", "coin": "USDC"}, 180002, 180002),
    ],
    ids=["neither", "no-amount", "no-coin", "estimate-as-amount", "other-coin"],
)
@pytest.mark.parametrize("rules", ["any", "official-tools"])
async def test_redeem_rules_decide_what_a_redeem_must_carry(
    rules: str, fields: dict[str, str], any_code: int, official_code: int
) -> None:
    sim = make_sim(redeem_rules=rules)
    raw = await raw_for(sim)
    async with raw.http:
        position_id = await _active_position(raw)
        estimate = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
        data = await raw.call(PLACE, _redeem_body(raw, "exit", position_id, estimate, **fields))
    assert data["retCode"] == (any_code if rules == "any" else official_code), data


def test_redeem_rules_must_be_a_known_reading() -> None:
    with pytest.raises(ValueError, match="redeem_rules"):
        BybitSimulator(redeem_rules="lenient")  # type: ignore[arg-type]


async def test_a_position_settles_after_its_products_duration_and_is_not_redeemable_before() -> (
    None
):
    """Product 13016 runs 1 day: its positions settle a day after they open, and cannot be
    redeemed in the last 60 minutes."""
    sim = make_sim()
    clock = clock_of(sim)
    raw = await raw_for(sim)
    async with raw.http:
        body = raw.stake("day", productId="13016")
        quote = sim.issue_quote("13016")
        body["smartLeverageStakeExtra"] = {
            "initialPrice": str(quote.current_price),
            "breakevenPrice": str(quote.breakeven_price),
        }
        placed = await raw.call(PLACE, body)
        assert placed["retCode"] == 0, placed
        clock.advance(sim.settlement_delay)
        [position] = (await raw.call(POSITION, "category=SmartLeverage"))["result"]["list"]
        opened = int(position["createdTime"])
        assert int(position["settlementTime"]) == opened + 86_400_000
        assert position["redeemable"] is True
        clock.advance(23 * 3600 - 1)  # 60 min and 1 s before settlement
        assert (await raw.call(POSITION, "category=SmartLeverage"))["result"]["list"][0][
            "redeemable"
        ] is True
        clock.advance(1)
        [late] = (await raw.call(POSITION, "category=SmartLeverage"))["result"]["list"]
        [estimate] = (await _estimate(raw, late["positionId"]))["result"]["list"]
        refused = await raw.call(
            PLACE, _redeem_body(raw, "late", late["positionId"], "100", productId="13016")
        )
        balance = sim.accounts[KEY].balances["USDT"]
        clock.advance(3600)
        [settled] = (await raw.call(POSITION, "category=SmartLeverage"))["result"]["list"]
        stake = await raw.call(ORDER, "category=SmartLeverage&orderLinkId=day")
    assert late["redeemable"] is False
    assert estimate["success"] is False
    assert refused["retCode"] == 180029
    assert settled["status"] == "Settled"
    [matured] = stake["result"]["list"]
    assert matured["status"] == "Settled"
    # Paid out at settlement: the 5x Long is worth its value at the settlement time's price.
    price = sim.price("BTC", at=sim.settlement_delay + 86_400.0)
    value = Decimal("100") * (1 + 5 * (price - quote.current_price) / quote.current_price)
    paid = value.quantize(Decimal("0.0001"), rounding="ROUND_DOWN")
    assert sim.accounts[KEY].balances["USDT"] == balance + paid
    assert Decimal(matured["settlementPrice"]) == price
    assert Decimal(matured["pnl"]) == paid - 100


async def test_a_matured_position_pays_its_settlement_times_price_not_a_later_one() -> None:
    sim = make_sim()
    clock = clock_of(sim)
    raw = await raw_for(sim)
    async with raw.http:
        sim.set_price("BTC", Decimal("60000"))
        body = raw.stake("day", productId="13016", amount="100")
        quote = sim.issue_quote("13016")
        body["smartLeverageStakeExtra"] = {
            "initialPrice": str(quote.current_price),
            "breakevenPrice": str(quote.breakeven_price),
        }
        assert (await raw.call(PLACE, body))["retCode"] == 0
        clock.advance(sim.settlement_delay)
        await raw.call(POSITION, "category=SmartLeverage")  # opens the position
        balance = sim.accounts[KEY].balances["USDT"]
        clock.advance(6 * 86_400)  # long past its 1-day settlement, nothing asked meanwhile
        sim.set_price("BTC", Decimal("54000"))  # a crash after it matured
        await raw.call(POSITION, "category=SmartLeverage")
    assert sim.accounts[KEY].balances["USDT"] == balance + Decimal("100")  # at 60000


@pytest.mark.parametrize(("protected", "status"), [(True, "Fail"), (False, "Settled")])
async def test_a_protected_redeem_fails_when_the_payout_falls_too_far(
    protected: bool, status: str
) -> None:
    sim = make_sim()
    raw = await raw_for(sim)
    async with raw.http:
        sim.set_price("BTC", Decimal("60000"))
        position_id = await _active_position(raw)
        estimate = (await _estimate(raw, position_id))["result"]["list"][0]["estRedeemAmount"]
        body = raw.redeem("exit", position_id, estimate)
        body["smartLeverageRedeemExtra"]["isSlippageProtected"] = protected
        assert (await raw.call(PLACE, body))["retCode"] == 0
        balance = sim.accounts[KEY].balances["USDT"]
        sim.set_price("BTC", Decimal("61200"))  # 2% up before it settles: the 10x Short -20%
        clock_of(sim).advance(sim.settlement_delay)
        [order] = (await raw.call(ORDER, "category=SmartLeverage&orderLinkId=exit"))["result"][
            "list"
        ]
    assert order["status"] == status
    position = sim.positions[position_id]
    if protected:
        assert order["refundStatus"] == "Processed"
        assert position.status == "Active"  # still held: redeemable again
        assert sim.accounts[KEY].balances["USDT"] == balance
    else:
        assert position.status == "Settled"
        assert order["pnl"] == "-20.0000"
        assert sim.accounts[KEY].balances["USDT"] == balance + Decimal("80")
