"""The Bybit simulator's DualAssets: hand-built, hand-signed requests in process.

Nothing here goes through BybitClient. The market stands still (``price_swing=0``) unless a
test moves it; time is a VirtualClock moved by hand.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
import pytest

from asyncexch.sim import BybitSimulator, SimDualAssetsProduct, SimTransport
from tests.builders.raw_bybit import (
    BASE_URL,
    ESTIMATE,
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

ETH = "36320"  # ETH-USDT, 3d, tick 5, base precision 3
#: A product that settles an hour after a stake confirms.
HOURLY = SimDualAssetsProduct(
    "77001",
    "ETH",
    "USDT",
    "1h",
    Decimal("10"),
    Decimal("0.01"),
    Decimal("1000000"),
    Decimal("100"),
    precision_base=3,
    price_tick=Decimal("5"),
)


@pytest.fixture
def sim() -> BybitSimulator:
    sim = make_sim(price_swing=0.0, settlement_delay=1.0, quote_ttl=30.0)
    sim.accounts[KEY].balances["ETH"] = Decimal("10")
    return sim


def stake(
    raw: Raw,
    link: str,
    *,
    product_id: str = ETH,
    direction: str = "BuyLow",
    amount: str = "100",
    nth: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """A stake at the ``nth`` offer of a quote the simulator gives now, with ``fields``."""
    _, buy_low, sell_high = raw.sim.issue_dual_assets_quote(product_id)
    offer = (buy_low if direction == "BuyLow" else sell_high)[nth]
    product = raw.sim.dual_assets_products[product_id]
    body: dict[str, Any] = {
        "category": "DualAssets",
        "productId": product_id,
        "orderType": "Stake",
        "amount": amount,
        "accountType": "FUND",
        "coin": product.quote_coin if direction == "BuyLow" else product.base_coin,
        "orderLinkId": link,
        "dualAssetsExtra": {
            "orderDirection": direction,
            "selectPrice": str(offer.select_price),
            "apyE8": offer.apy_e8,
        },
    }
    body.update(fields)
    return body


def extra(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return with_extra(body, "dualAssetsExtra", changes)


# --- products and quotes ---------------------------------------------------------------------


async def test_products_have_the_documented_fields_and_types(raw: Raw) -> None:
    data = envelope(await raw.get(PRODUCT, "category=DualAssets&coin=XRP", private=False))
    assert data["retCode"] == 0
    assert data["result"]["category"] == "DualAssets"
    [product] = data["result"]["list"]
    assert set(product) == {
        "category",
        "productId",
        "baseCoin",
        "quoteCoin",
        "expectReceiveAt",
        "duration",
        "status",
        "isVipProduct",
        "subscribeStartAt",
        "subscribeEndAt",
        "applyStartAt",
        "settlementTime",
        "minPurchaseQuoteAmount",
        "minPurchaseBaseAmount",
        "remainingAmountQuote",
        "remainingAmountBase",
        "orderPrecisionDigitalQuote",
        "orderPrecisionDigitalBase",
    }
    assert (product["productId"], product["baseCoin"], product["status"]) == (
        "36340",
        "XRP",
        "Available",
    )
    assert product["orderPrecisionDigitalBase"] == 2 and product["isVipProduct"] is False
    assert product["settlementTime"] == str(START_MS + 86_400_000)
    everything = envelope(await raw.get(PRODUCT, "category=DualAssets", private=False))
    assert [p["productId"] for p in everything["result"]["list"]] == ["36320", "36340", "36360"]


async def test_a_quote_offers_targets_on_the_tick_each_side_of_the_market(raw: Raw) -> None:
    data = envelope(await raw.get(QUOTE, f"category=DualAssets&productId={ETH}", private=False))
    assert data["retCode"] == 0
    [entry] = data["result"]["list"]
    current = Decimal(entry["currentPrice"])
    assert current == Decimal("3512.40")
    buy = [Decimal(o["selectPrice"]) for o in entry["buyLowPrice"]]
    sell = [Decimal(o["selectPrice"]) for o in entry["sellHighPrice"]]
    assert buy == [Decimal(3475), Decimal(3440), Decimal(3405)]
    assert sell == [Decimal(3550), Decimal(3585), Decimal(3620)]
    for offer in entry["buyLowPrice"] + entry["sellHighPrice"]:
        assert isinstance(offer["apyE8"], str) and offer["apyE8"].isdigit()  # as the docs
        assert offer["expiredAt"] == str(START_MS + 30_000)
    apys = [int(o["apyE8"]) for o in entry["buyLowPrice"]]
    assert apys == sorted(apys, reverse=True)  # further from the market, less
    assert entry["buyLowPrice"][0]["maxInvestmentAmount"] == "100000"
    assert entry["sellHighPrice"][0]["maxInvestmentAmount"] == "10"


async def test_a_quote_needs_a_known_product(raw: Raw) -> None:
    unknown = envelope(await raw.get(QUOTE, "category=DualAssets&productId=1", private=False))
    assert unknown["retCode"] == 180008
    other = envelope(await raw.get(QUOTE, "category=NoSuchCategory&productId=1", private=False))
    assert other["retCode"] == 10001


# --- the stake -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product_id", "apy_as_text"),
    [("36320", False), (36320, False), ("36320", True), (36320, True)],
    ids=["docs-table", "docs-example-mcp", "apy-as-quoted", "both-numbers-and-text"],
)
async def test_a_stake_at_a_live_offer_is_taken_in_every_reading_of_the_types(
    raw: Raw, product_id: object, apy_as_text: bool
) -> None:
    body = stake(raw, "da-1")
    body["productId"] = product_id
    if apy_as_text:
        body = extra(body, apyE8=str(body["dualAssetsExtra"]["apyE8"]))

    data = await raw.call(PLACE, body)

    assert data["retCode"] == 0, data
    assert data["result"]["orderLinkId"] == "da-1"
    [order] = raw.sim.dual_assets_orders.values()
    assert (order.order_id, order.product_id, order.amount) == (
        data["result"]["orderId"],
        ETH,
        Decimal("100"),
    )
    assert order.status == "Pending" and order.apy_e8 == order.confirmed_apy_e8
    assert raw.sim.accounts[KEY].balances["USDT"] == Decimal("10000000") - 100
    assert raw.sim.dual_assets_products[ETH].remaining_quote == Decimal("1000000") - 100
    assert raw.sim.orders == {}  # not a SmartLeverage order


async def test_a_reused_link_is_refused_in_its_category_only(raw: Raw) -> None:
    assert await raw.place_code(stake(raw, "same-link")) == 0
    assert await raw.place_code(stake(raw, "same-link", amount="200")) == 180025
    assert raw.sim.stats.duplicates_refused == 1
    assert len(raw.sim.dual_assets_orders) == 1
    # The id space is per category: SmartLeverage takes the same id as a new order.
    assert await raw.place_code(raw.stake("same-link")) == 0
    assert len(raw.sim.orders) == 1
    raw.sim.idempotency = "same_order_id"
    again = await raw.call(PLACE, stake(raw, "same-link"))
    assert again["retCode"] == 0
    assert again["result"]["orderId"] == next(iter(raw.sim.dual_assets_orders))


async def test_a_stake_must_name_a_live_offer(raw: Raw, sim: BybitSimulator) -> None:
    quoted = stake(raw, "live")
    live_apy = quoted["dualAssetsExtra"]["apyE8"]
    never = extra(quoted, selectPrice="3476")  # not on any quote
    assert await raw.place_code(never) == 180021
    greedy = extra(quoted, apyE8=live_apy + 1)  # more than the offer pays
    assert await raw.place_code(greedy) == 180026
    stale_apy = extra(quoted, apyE8=live_apy - 1)  # no live offer has it
    assert await raw.place_code(stale_apy) == 180021
    other_side = extra(quoted, orderDirection="SellHigh")  # 3475 is not a sell-high target
    assert await raw.place_code({**other_side, "coin": "ETH", "amount": "1"}) == 180021
    clock_of(sim).advance(31)  # past the quote's 30 s
    assert await raw.place_code(quoted) == 180021
    assert sim.dual_assets_orders == {}


async def test_an_offer_quoted_before_the_market_moved_is_stale(
    raw: Raw, sim: BybitSimulator
) -> None:
    """The same target price, quoted again after a move, pays another APY: an APY no live
    offer pays is refused once its offer has expired; while it lives, it is taken."""
    old = stake(raw, "old")
    sim.set_price("ETH", Decimal("3511"))
    new = stake(raw, "new")
    assert new["dualAssetsExtra"]["selectPrice"] == old["dualAssetsExtra"]["selectPrice"]
    assert new["dualAssetsExtra"]["apyE8"] > old["dualAssetsExtra"]["apyE8"]  # nearer now
    assert await raw.place_code(old) == 0
    clock_of(sim).advance(20)
    sim.set_price("ETH", Decimal("3510.5"))  # nearer still: the APY rose again
    newer = stake(raw, "newer")
    assert newer["dualAssetsExtra"]["selectPrice"] == new["dualAssetsExtra"]["selectPrice"]
    assert newer["dualAssetsExtra"]["apyE8"] != new["dualAssetsExtra"]["apyE8"]
    clock_of(sim).advance(15)  # the first two quotes expired, the third lives
    stale = {**new, "orderLinkId": "stale"}
    assert await raw.place_code(stale) == 180021
    assert await raw.place_code(newer) == 0


async def test_an_apy_between_two_live_offers_at_a_price_is_no_offers(
    raw: Raw, sim: BybitSimulator
) -> None:
    """Two offers at one target price live at once (quoted before and after a move): an APY
    between theirs is no live offer's (180021); only one above every live offer's at the
    price is "Apr lowered" (180026)."""
    old = stake(raw, "old")
    sim.set_price("ETH", Decimal("3511"))
    new = stake(raw, "new")
    low, high = old["dualAssetsExtra"]["apyE8"], new["dualAssetsExtra"]["apyE8"]
    assert new["dualAssetsExtra"]["selectPrice"] == old["dualAssetsExtra"]["selectPrice"]
    assert high - low > 1
    between = {**extra(new, apyE8=low + 1), "orderLinkId": "between"}
    assert await raw.place_code(between) == 180021
    above_both = {**extra(new, apyE8=high + 1), "orderLinkId": "above-both"}
    assert await raw.place_code(above_both) == 180026
    above_old = {**extra(old, apyE8=low + 1), "orderLinkId": "above-old"}
    assert await raw.place_code(above_old) == 180021  # the newer offer pays more than that
    assert sim.dual_assets_orders == {}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"coin": "ETH"}, 180002),
        ({"amount": "9.99"}, 180012),
        ({"amount": "10.00001"}, 180012),
        ({"amount": "100000.0001"}, 180013),
        ({"amount": "20000000"}, 180013),
        ({"amount": 100}, 10001),
        ({"orderType": "Redeem"}, 10001),
        ({"accountType": "SPOT"}, 10001),
        ({"productId": "36399"}, 180008),
        ({"productId": True}, 180008),
        ({"dualAssetsExtra": None}, 10001),
        ({"extra": {"orderDirection": "Sideways"}}, 10001),
        ({"extra": {"apyE8": 8.5}}, 10001),
        ({"extra": {"apyE8": "8.5"}}, 10001),
        ({"extra": {"apyE8": True}}, 10001),
        ({"extra": {"selectPrice": 3475}}, 10001),
    ],
    ids=lambda value: repr(value)[:40],
)
async def test_a_bad_stake_is_refused_with_bybits_codes(
    raw: Raw, changes: dict[str, Any], code: int
) -> None:
    body = stake(raw, "bad")
    changes = dict(changes)
    body = extra(body, **changes.pop("extra", {}))
    body.update(changes)
    assert await raw.place_code(body) == code
    assert raw.sim.dual_assets_orders == {}
    assert raw.sim.accounts[KEY].balances["USDT"] == Decimal("10000000")


async def test_a_stake_beyond_the_balance_or_the_quota_is_refused(
    raw: Raw, sim: BybitSimulator
) -> None:
    assert await raw.place_code(stake(raw, "s1", direction="SellHigh", amount="10.001")) == 180013
    sim.accounts[KEY].balances["ETH"] = Decimal("0.5")
    assert await raw.place_code(stake(raw, "s2", direction="SellHigh", amount="1")) == 180016
    sim.dual_assets_products[ETH].remaining_base = Decimal("0.2")
    # the offer's maximum follows the quota: the quota refuses what the offer allowed before
    body = stake(raw, "s3", direction="SellHigh", amount="0.3")
    assert body["dualAssetsExtra"]["orderDirection"] == "SellHigh"
    assert await raw.place_code(body) == 180013
    sim.dual_assets_products[ETH].status = "NotAvailable"
    assert await raw.place_code(stake(raw, "s4", amount="10")) == 180007


# --- orders, positions and settlement ----------------------------------------------------------


def hourly_sim() -> BybitSimulator:
    sim = make_sim(
        price_swing=0.0, settlement_delay=2.0, quote_ttl=30.0, dual_assets_products=[HOURLY]
    )
    sim.accounts[KEY].balances["ETH"] = Decimal("10")
    return sim


async def listed(raw: Raw, path: str, query: str = "") -> list[dict[str, Any]]:
    return await raw.listed(path, "category=DualAssets" + query, category="DualAssets")


@pytest.mark.parametrize(
    ("direction", "amount", "settles_at", "coin", "converted"),
    [
        ("BuyLow", "1000", "3470", "ETH", True),  # at or below 3475: bought at the target
        ("BuyLow", "1000", "3475", "ETH", True),
        ("BuyLow", "1000", "3480", "USDT", False),
        ("SellHigh", "0.5", "3550", "USDT", True),  # at or above 3550: sold at the target
        ("SellHigh", "0.5", "3549.99", "ETH", False),
    ],
)
async def test_a_position_settles_into_the_base_or_the_quote_coin_by_the_target(
    direction: str, amount: str, settles_at: str, coin: str, converted: bool
) -> None:
    sim = hourly_sim()
    async with httpx.AsyncClient(transport=SimTransport(sim.app), base_url=BASE_URL) as http:
        raw = Raw(sim, http)
        body = stake(raw, "s", product_id=HOURLY.product_id, direction=direction, amount=amount)
        apy_e8 = body["dualAssetsExtra"]["apyE8"]
        target = Decimal(body["dualAssetsExtra"]["selectPrice"])
        assert target == (Decimal(3475) if direction == "BuyLow" else Decimal(3550))
        before = dict(sim.accounts[KEY].balances)
        assert await raw.place_code(body) == 0
        [pending] = await listed(raw, ORDER)
        assert (pending["status"], pending["settlementTime"]) == ("Pending", "0")
        assert await listed(raw, POSITION) == []

        clock_of(sim).advance(2)
        [order] = await listed(raw, ORDER)
        [position] = await listed(raw, POSITION)
        confirmed = START_MS + 2000
        assert order["status"] == "Success"
        assert order["settlementTime"] == position["settlementTime"] == str(confirmed + 3_600_000)
        assert (position["yieldStartAt"], position["apyE8"]) == (str(confirmed), str(apy_e8))
        invest = "USDT" if direction == "BuyLow" else "ETH"
        places = 4 if invest == "USDT" else 3
        total = Decimal(amount) * (1 + Decimal(apy_e8) / 10**8 * Decimal(1) / (365 * 24))
        unit = Decimal(1).scaleb(-places)
        assert position["expectReturnCoin"] == invest
        assert Decimal(position["expectReturnAmount"]) == total.quantize(unit, ROUND_DOWN)

        clock_of(sim).advance(3599)
        sim.set_price("ETH", Decimal(settles_at))  # the market at the settlement time
        clock_of(sim).advance(1)
        [settled] = await listed(raw, ORDER)
        assert await listed(raw, POSITION) == []  # Bybit lists active positions only

    if converted and coin == "ETH":
        paid = (total / target).quantize(Decimal("0.001"), ROUND_DOWN)
    elif converted:
        paid = (total * target).quantize(Decimal("0.0001"), ROUND_DOWN)
    else:
        paid = total.quantize(unit, ROUND_DOWN)
    assert (settled["status"], settled["settlementCoin"]) == ("Settled", coin)
    assert Decimal(settled["settlementAmount"]) == paid
    assert Decimal(settled["settlementPrice"]) == Decimal(settles_at)
    assert settled["toAccountType"] == "FUND"
    balances = sim.accounts[KEY].balances
    assert balances[invest] == before[invest] - Decimal(amount) + (paid if coin == invest else 0)
    other = "ETH" if invest == "USDT" else "USDT"
    assert balances[other] == before[other] + (paid if coin == other else 0)


async def test_orders_and_positions_are_paged_and_filtered(raw: Raw, sim: BybitSimulator) -> None:
    for n in range(3):
        assert await raw.place_code(stake(raw, f"p-{n}", amount=str(100 + n))) == 0
        clock_of(sim).advance(0.01)  # newest first: each a moment later
    assert await raw.place_code(stake(raw, "x", product_id="36340", amount="50")) == 0
    clock_of(sim).advance(1)
    first = await raw.call(ORDER, "category=DualAssets&limit=2&productId=36320")
    assert [o["orderLinkId"] for o in first["result"]["list"]] == ["p-2", "p-1"]
    assert first["result"]["nextPageCursor"] == "2"
    assert [o["orderLinkId"] for o in await listed(raw, ORDER, "&orderLinkId=x")] == ["x"]
    assert len(await listed(raw, POSITION, "&coin=XRP")) == 1
    assert len(await listed(raw, POSITION, "&productId=36320")) == 3
    assert await listed(raw, ORDER, "&orderLinkId=p-0") != []
    # SmartLeverage's lists do not show DualAssets orders, nor the reverse.
    smart = await raw.call(ORDER, "category=SmartLeverage")
    assert smart["result"]["list"] == []


async def test_redeem_estimates_are_smart_leverages_only(raw: Raw) -> None:
    data = await raw.call(ESTIMATE, "category=DualAssets&positionIds=19001")
    assert data["retCode"] == 10001
