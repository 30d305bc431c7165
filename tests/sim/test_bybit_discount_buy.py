"""The Bybit simulator's DiscountBuy: hand-built, hand-signed requests in process.

Nothing here goes through BybitClient. The market stands still (``price_swing=0``) unless a
test moves it; time is a VirtualClock moved by hand. BTC is at 68403.67: product 7037's offer
buys at 67945 (0.67 % below, floored to the tick) and is knocked out at 69772 (2 % above,
ceiled).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
import pytest

from asyncexch.sim import BybitSimulator, SimDiscountBuyProduct, SimTransport
from tests.builders.discount_buy import db_stake_body
from tests.builders.raw_bybit import (
    BASE_URL,
    KEY,
    ORDER,
    PLACE,
    POSITION,
    PRODUCT,
    QUOTE,
    START_MS,
    Raw,
    clock_of,
    envelope,
    make_sim,
    with_extra,
)

BTC = "7037"
HOURLY = "66001"


def hourly() -> SimDiscountBuyProduct:
    """A product that settles an hour after a stake confirms (a fresh one: a simulator
    changes its quota)."""
    return SimDiscountBuyProduct(HOURLY, "BTC", "1h", Decimal("100"), Decimal("1000000"))


@pytest.fixture
def sim() -> BybitSimulator:
    return make_sim(price_swing=0.0, settlement_delay=1.0, quote_ttl=30.0)


def stake(
    raw: Raw, link: str, *, product_id: str = BTC, amount: str = "200", **fields: Any
) -> dict[str, Any]:
    """A stake at an offer the simulator quotes now, its values as the quote writes them."""
    body = db_stake_body(raw.sim.issue_discount_buy_quote(product_id), link, amount)
    body.update(fields)
    return body


def extra(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return with_extra(body, "discountBuyExtra", changes)


async def listed(raw: Raw, path: str, query: str = "") -> list[dict[str, Any]]:
    return await raw.listed(path, "category=DiscountBuy" + query, category="")


# --- products and offers --------------------------------------------------------------------


async def test_products_have_the_documented_fields_and_types(raw: Raw) -> None:
    data = envelope(await raw.get(PRODUCT, "category=DiscountBuy&coin=BTC", private=False))
    assert data["retCode"] == 0 and data["result"]["category"] == ""
    first, vip = data["result"]["list"]
    assert first == {
        "category": "DiscountBuy",
        "productId": "7037",
        "coin": "USDT",
        "underlyingAsset": "BTC",
        "settlementTime": str(START_MS + 86_400_000),
        "duration": "1d",
        "isVipProduct": False,
        "subscribeStartAt": str(START_MS - 86_400_000),
        "subscribeEndAt": str(START_MS + 86_400_000),
        "minPurchaseAmount": "100",
        "remainingAmount": "9998547.575",
        "orderPrecisionDigital": 4,
        "expectReceiveAt": str(START_MS + 86_400_000 + 1000),
    }
    assert (vip["productId"], vip["isVipProduct"]) == ("7038", True)
    eth = envelope(await raw.get(PRODUCT, "category=DiscountBuy&coin=ETH", private=False))
    assert [p["productId"] for p in eth["result"]["list"]] == ["7039"]


async def test_an_offer_moves_with_the_market_on_the_tick(raw: Raw, sim: BybitSimulator) -> None:
    data = envelope(await raw.get(QUOTE, "category=DiscountBuy&productId=7037", private=False))
    (offer,) = data["result"]["offers"]
    assert offer == {
        "productId": "7037",
        "currentPrice": "68403.67",
        "purchasePrice": "67945",
        "knockoutPrice": "69772",
        "knockoutCouponE8": "1000000",
        "maxInvestmentAmount": "100000",
        "instUid": "100307526",
        "expiredAt": str(START_MS + 30_000),
        "category": "DiscountBuy",
    }
    sim.set_price("BTC", Decimal("70000"))
    moved = envelope(await raw.get(QUOTE, "category=DiscountBuy&productId=7037", private=False))
    (offer,) = moved["result"]["offers"]
    assert (offer["purchasePrice"], offer["knockoutPrice"]) == ("69531", "71400")


async def test_offers_without_expiry_and_in_json_numbers_and_of_every_product(raw: Raw) -> None:
    data = envelope(await raw.get(QUOTE, "category=DiscountBuy", private=False))
    offers = {offer["productId"]: offer for offer in data["result"]["offers"]}
    assert list(offers) == ["7037", "7038", "7039"]
    assert offers["7038"]["expiredAt"] == "0"
    eth = offers["7039"]
    assert (eth["instUid"], eth["knockoutCouponE8"]) == (1001, 2000000)  # JSON numbers
    assert (eth["purchasePrice"], eth["knockoutPrice"]) == ("3488.5", "3583.0")
    unknown = envelope(await raw.get(QUOTE, "category=DiscountBuy&productId=1", private=False))
    assert unknown["retCode"] == 180008


# --- the stake ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reading",
    ["docs", "numbers", "product-number"],
)
async def test_a_stake_at_a_live_offer_is_taken_in_every_reading_of_the_types(
    raw: Raw, sim: BybitSimulator, reading: str
) -> None:
    body = stake(raw, "s-1")
    if reading == "numbers":  # the MCP server and the skill
        body = extra(body, instUid=100307526, knockoutCouponE8=1000000)
    if reading == "product-number":
        body["productId"] = 7037
    data = await raw.call(PLACE, body)
    assert data["retCode"] == 0, data
    (order,) = sim.discount_buy_orders.values()
    assert data["result"] == {"orderId": order.order_id, "orderLinkId": "s-1"}
    assert (order.amount, order.purchase_price, order.knockout_price, order.coupon_e8) == (
        Decimal("200"),
        Decimal("67945"),
        Decimal("69772"),
        1000000,
    )
    assert sim.accounts[KEY].balances["USDT"] == Decimal("10000000") - 200
    assert sim.discount_buy_products[BTC].remaining_amount == Decimal("9998347.575")


async def test_an_offer_quoted_in_numbers_is_taken_back_as_numbers(raw: Raw) -> None:
    body = stake(raw, "eth-1", product_id="7039", amount="50")
    assert await raw.place_code(extra(body, instUid=1001, knockoutCouponE8=2000000)) == 0


async def test_the_id_rule_is_40_characters_in_its_own_id_space(raw: Raw) -> None:
    assert await raw.place_code(stake(raw, "a" * 40)) == 0
    assert await raw.place_code(stake(raw, "a" * 41)) == 10001
    assert await raw.place_code(stake(raw, "my.order")) == 10001
    assert await raw.place_code(stake(raw, "a" * 40)) == 180025
    assert raw.sim.stats.duplicates_refused == 1
    assert await raw.place_code(raw.stake("a" * 36)) == 0  # SmartLeverage: its own id space


async def test_an_expired_offer_is_refused_and_one_without_expiry_never_is(
    raw: Raw, sim: BybitSimulator
) -> None:
    expiring = stake(raw, "old")
    timeless = stake(raw, "timeless", product_id="7038")
    sim.set_price("BTC", Decimal("69000"))  # newer quotes differ
    clock_of(sim).advance(31)
    assert await raw.place_code(expiring) == 180006
    clock_of(sim).advance(86_400 * 30)
    assert await raw.place_code(timeless) == 0
    assert await raw.place_code(stake(raw, "new")) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"initialPrice": "68403.66"},
        {"purchasePrice": "67946"},
        {"knockoutPrice": "69771"},
        {"knockoutCouponE8": "1000001"},
        {"instUid": "100307527"},
    ],
    ids=["initial", "purchase", "knockout", "coupon", "inst-uid"],
)
async def test_a_stake_must_repeat_a_live_offer_as_is(raw: Raw, changes: dict[str, Any]) -> None:
    assert await raw.place_code(extra(stake(raw, "x"), **changes)) == 180006
    assert raw.sim.discount_buy_orders == {}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"coin": "BTC"}, 180002),
        ({"orderType": "Redeem"}, 10001),
        ({"accountType": "SPOT"}, 10001),
        ({"productId": "9999"}, 180008),
        ({"amount": "99.9999"}, 180012),
        ({"amount": "100.00001"}, 180012),
        ({"amount": "100000.0001"}, 180013),
        ({"amount": "2e2"}, 0),
        ({"amount": 200}, 10001),
        ({"discountBuyExtra": None}, 10001),
        ({"orderLinkId": ""}, 180019),
    ],
)
async def test_a_bad_stake_is_refused_with_bybits_codes(
    raw: Raw, change: dict[str, Any], code: int
) -> None:
    assert await raw.place_code({**stake(raw, "b"), **change}) == code


@pytest.mark.parametrize(
    "changes",
    [
        {"settleType": "Both"},
        {"purchasePrice": "67945.000000001"},
        {"knockoutCouponE8": "1e6"},
        {"knockoutCouponE8": True},
        {"instUid": ""},
        {"instUid": None},
    ],
)
async def test_a_malformed_extra_is_10001(raw: Raw, changes: dict[str, Any]) -> None:
    assert await raw.place_code(extra(stake(raw, "m"), **changes)) == 10001


async def test_a_stake_beyond_the_balance_or_the_quota_is_refused(
    raw: Raw, sim: BybitSimulator
) -> None:
    sim.accounts[KEY].balances["USDT"] = Decimal("150")
    assert await raw.place_code(stake(raw, "rich")) == 180016
    sim.accounts[KEY].balances["USDT"] = Decimal("1000")
    sim.discount_buy_products[BTC].remaining_amount = Decimal("150")
    # The offer's maximum is what the product has left: over it, 180013.
    assert await raw.place_code(stake(raw, "quota")) == 180013
    assert sim.accounts[KEY].balances["USDT"] == Decimal("1000")


# --- orders, positions and settlement ---------------------------------------------------------


def hourly_sim(**options: Any) -> BybitSimulator:
    return make_sim(
        price_swing=0.0,
        settlement_delay=2.0,
        quote_ttl=30.0,
        discount_buy_products=[hourly()],
        **options,
    )


#: (rule, settlement price, settle type, outcome, coin)
OUTCOMES = [
    ("below-knockout", "69772", "Base", "KnockedOut", "USDT"),
    ("below-knockout", "80000", "Quote", "KnockedOut", "USDT"),
    ("below-knockout", "69771.99", "Base", "Exercised", "BTC"),
    ("below-knockout", "69000", "Quote", "Exercised", "USDT"),
    ("below-knockout", "60000", "Quote", "Exercised", "USDT"),
    ("below-purchase", "69000", "Base", "Returned", "USDT"),
    ("below-purchase", "67945", "Quote", "Returned", "USDT"),
    ("below-purchase", "67944.99", "Base", "Exercised", "BTC"),
    ("below-purchase", "60000", "Quote", "Exercised", "USDT"),
]


@pytest.mark.parametrize(("rule", "settles_at", "settle_type", "outcome", "coin"), OUTCOMES)
async def test_a_position_is_knocked_out_or_exercised_by_the_settlement_price(
    rule: str, settles_at: str, settle_type: str, outcome: str, coin: str
) -> None:
    sim = hourly_sim(discount_buy_exercise=rule)
    async with httpx.AsyncClient(transport=SimTransport(sim.app), base_url=BASE_URL) as http:
        raw = Raw(sim, http)
        body = extra(stake(raw, "s", product_id=HOURLY, amount="1000"), settleType=settle_type)
        before = dict(sim.accounts[KEY].balances)
        assert await raw.place_code(body) == 0
        [pending] = await listed(raw, ORDER)
        assert (pending["status"], pending["settlementTime"], pending["refundStatus"]) == (
            "Pending",
            "0",
            "",
        )
        assert await listed(raw, POSITION) == []

        clock_of(sim).advance(2)
        [order] = await listed(raw, ORDER)
        [position] = await listed(raw, POSITION)
        settlement_ms = START_MS + 2000 + 3_600_000
        assert order["status"] == "Success" and position["status"] == "Active"
        assert order["settlementTime"] == position["settlementTime"] == str(settlement_ms)
        assert position["expectReceiveAt"] == str(settlement_ms + 2000)
        assert (position["settleType"], position["toAccountType"]) == (settle_type, "FUND")

        clock_of(sim).advance(3599)
        sim.set_price("BTC", Decimal(settles_at))  # the market at the settlement time
        clock_of(sim).advance(1)
        [settling] = await listed(raw, POSITION)
        assert settling["status"] == "Settling"
        assert (await listed(raw, ORDER))[0]["status"] == "Success"
        clock_of(sim).advance(2)
        [settled] = await listed(raw, ORDER)
        assert await listed(raw, POSITION) == []  # Bybit lists no settled positions

    price, amount = Decimal(settles_at), Decimal(1000)
    if outcome == "KnockedOut":
        paid = (amount * (1 + Decimal("0.01") / (365 * 24))).quantize(Decimal("0.0001"), ROUND_DOWN)
    elif outcome == "Returned":
        paid = amount
    elif coin == "BTC":
        paid = (amount / Decimal(67945)).quantize(Decimal("1E-8"), ROUND_DOWN)
    else:
        paid = (amount / Decimal(67945) * price).quantize(Decimal("0.0001"), ROUND_DOWN)
    assert (settled["status"], settled["settlementCoin"]) == ("Settled", coin)
    assert Decimal(settled["settlementAmount"]) == paid
    assert Decimal(settled["settlementPrice"]) == price
    assert (settled["toAccountType"], settled["refundStatus"]) == ("FUND", "")
    (record,) = sim.discount_buy_orders.values()
    assert record.outcome == outcome
    balances = sim.accounts[KEY].balances
    usdt_back = paid if coin == "USDT" else 0
    assert balances["USDT"] == before["USDT"] - amount + usdt_back
    assert balances.get("BTC", Decimal(0)) == (paid if coin == "BTC" else 0)


async def test_a_stake_knocked_out_before_it_confirms_fails_and_is_refunded() -> None:
    sim = hourly_sim()
    async with httpx.AsyncClient(transport=SimTransport(sim.app), base_url=BASE_URL) as http:
        raw = Raw(sim, http)
        body = stake(raw, "late", product_id=HOURLY, amount="500", accountType="UNIFIED")
        assert await raw.place_code(body) == 0
        sim.set_price("BTC", Decimal("69772"))  # the knock-out price, before it confirms
        clock_of(sim).advance(2)
        [failed] = await listed(raw, ORDER)
        assert (failed["status"], failed["refundStatus"], failed["toAccountType"]) == (
            "Fail",
            "REFUNDING",
            "UNIFIED",
        )
        assert sim.accounts[KEY].balances["USDT"] == Decimal("10000000") - 500
        assert await listed(raw, POSITION) == []
        clock_of(sim).advance(2)
        [refunded] = await listed(raw, ORDER)
        assert (refunded["status"], refunded["refundStatus"]) == ("Fail", "REFUND_DONE")
    assert sim.accounts[KEY].balances["USDT"] == Decimal("10000000")
    assert sim.discount_buy_products[HOURLY].remaining_amount == Decimal("1000000")


async def test_orders_and_positions_are_paged_and_filtered(raw: Raw, sim: BybitSimulator) -> None:
    for n in range(3):
        assert await raw.place_code(stake(raw, f"p-{n}", amount=str(100 + n))) == 0
        clock_of(sim).advance(0.01)
    assert await raw.place_code(stake(raw, "e", product_id="7039", amount="50")) == 0
    clock_of(sim).advance(1)
    first = await raw.call(ORDER, "category=DiscountBuy&limit=2&productId=7037")
    assert [o["orderLinkId"] for o in first["result"]["list"]] == ["p-2", "p-1"]
    assert first["result"]["nextPageCursor"] == "2"
    assert [o["orderLinkId"] for o in await listed(raw, ORDER, "&orderLinkId=e")] == ["e"]
    # ``coin``: the invest coin (the docs' reading) or the underlying (the MCP server's).
    assert len(await listed(raw, POSITION, "&coin=USDT")) == 4
    assert len(await listed(raw, POSITION, "&coin=ETH")) == 1
    assert len(await listed(raw, POSITION, "&productId=7037")) == 3
    smart = await raw.call(ORDER, "category=SmartLeverage")
    assert smart["result"]["list"] == []
    dual = await raw.call(ORDER, "category=DualAssets")
    assert dual["result"]["list"] == []


def test_the_exercise_rule_is_checked() -> None:
    with pytest.raises(ValueError, match="exercise"):
        make_sim(discount_buy_exercise="never")
    sim = make_sim()
    sim.discount_buy_exercise = "below-purchase"
    assert sim.discount_buy_exercise == "below-purchase"
    with pytest.raises(ValueError, match="exercise"):
        sim.discount_buy_exercise = "sometimes"  # type: ignore[assignment]
