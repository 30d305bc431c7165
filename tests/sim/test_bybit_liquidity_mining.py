"""The Bybit simulator's Liquidity Mining: hand-built, hand-signed requests in process.

Nothing here goes through BybitClient. The market stands still (``price_swing=0``) unless a
test moves it; time is a VirtualClock moved by hand. ETH is 3512.40 USDT.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from asyncexch.sim import BybitSimulator, SimLiquidityProduct
from asyncexch.sim._bybit import DEFAULT_LIMITS as SIM_LIMITS
from tests.builders import liquidity_mining as docs
from tests.builders.raw_bybit import KEY, START_MS, Raw, clock_of, envelope, make_sim

ETH_PRICE = Decimal("3512.40")
#: Generous limits on the Liquidity Mining endpoints (the documented ones are pinned below).
LM_LIMITS = {name: (1000, 1.0) for name in SIM_LIMITS if name.startswith("lm_")}
#: ETH/USDT paying 100 % a year, so that a day earns a visible yield.
RICH = SimLiquidityProduct("5", "ETH", "USDT", apy_e8=100_000_000)


@pytest.fixture
def sim() -> BybitSimulator:
    sim = make_sim(
        price_swing=0.0, settlement_delay=1.0, limits=LM_LIMITS, liquidity_products=[RICH]
    )
    sim.accounts[KEY].balances["ETH"] = Decimal("10")
    return sim


async def post(raw: Raw, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return envelope(await raw.post(path, body))


async def get(raw: Raw, path: str, query: str = "") -> dict[str, Any]:
    return envelope(await raw.get(path, query))


def add(link: str, **fields: Any) -> dict[str, Any]:
    body = {"productId": "5", "quoteAmount": "1000", "quoteAccountType": "FUND"}
    return {**body, "orderLinkId": link, **fields}


async def open_position(raw: Raw, link: str = "add-1", **fields: Any) -> str:
    """Add liquidity, let it settle; the new position's id."""
    answer = await post(raw, docs.ADD_LIQUIDITY, add(link, **fields))
    assert answer["retCode"] == 0, answer
    clock_of(raw.sim).advance(1.0)
    positions = (await get(raw, docs.POSITION))["result"]["positions"]
    return str(positions[-1]["positionId"])


async def test_products_are_public_and_in_the_docs_shape(raw: Raw) -> None:
    answer = envelope(await raw.get(docs.PRODUCT, "baseCoin=ETH", private=False))

    (product,) = answer["result"]["products"]
    assert set(product) == set(docs.PRODUCTS["products"][0]) - {"slippage_levels"}
    assert product["maxLeverage"] == 3
    assert product["apyE8"] == "100000000"
    assert envelope(await raw.get(docs.PRODUCT, "baseCoin=BTC", private=False))["result"] == {
        "products": []
    }


async def test_an_addition_is_processing_then_opens_a_leveraged_position(
    raw: Raw, sim: BybitSimulator
) -> None:
    placed = await post(raw, docs.ADD_LIQUIDITY, add("add-1", leverage="2"))
    order_id = placed["result"]["orderId"]
    before = await get(raw, docs.ORDER, "orderLinkId=add-1")

    clock_of(sim).advance(1.0)
    after = await get(raw, docs.ORDER, "orderId=" + order_id)
    (position,) = (await get(raw, docs.POSITION))["result"]["positions"]

    assert placed["result"] == {"orderId": order_id, "orderLinkId": "add-1"}
    assert before["result"]["orders"][0]["status"] == "Processing"
    (order,) = after["result"]["orders"]
    assert set(order) == set(docs.ORDERS["orders"][0])
    assert (order["status"], order["quoteAmount"], order["leverage"]) == ("Success", "1000", "2")
    assert set(position) == set(docs.POSITIONS["positions"][0])
    assert position["loan"] == "1000"
    assert position["leveragedValue"] == "2000"
    assert position["quoteAmount"] == "1000"
    assert position["status"] == "Active"
    # (1.1 x 1000 / 2000)^2 x 3512.40, truncated to the quote coin's 4 places
    assert position["liquidationPrice"] == "1062.501"
    assert sim.accounts[KEY].balances["USDT"] == Decimal("9999000")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"quoteAmount": None, "quoteAccountType": None}, 10001),
        ({"quoteAccountType": "SPOT"}, 10001),
        ({"leverage": "4"}, 10001),
        ({"quoteAmount": "0.5"}, 180012),
        ({"quoteAmount": "1.00001"}, 180012),
        ({"quoteAmount": "150001"}, 180013),
        ({"productId": "99"}, 180008),
        ({"orderLinkId": "x" * 41}, 10001),
        ({"orderLinkId": ""}, 180019),
    ],
)
async def test_an_addition_is_refused_with_its_code(
    raw: Raw, changes: dict[str, Any], code: int
) -> None:
    body = {k: v for k, v in {**add("bad"), **changes}.items() if v is not None}

    assert (await post(raw, docs.ADD_LIQUIDITY, body))["retCode"] == code


async def test_an_id_of_40_characters_is_accepted_and_its_reuse_refused(
    raw: Raw, sim: BybitSimulator
) -> None:
    link = "L" * 40
    first = await post(raw, docs.ADD_LIQUIDITY, add(link))
    again = await post(raw, docs.ADD_LIQUIDITY, add(link, quoteAmount="2000"))

    assert first["retCode"] == 0
    assert again["retCode"] == 180025
    assert len(sim.liquidity_mining.orders) == 1
    assert sim.stats.duplicates_refused == 1


async def test_one_pending_order_per_position(raw: Raw, sim: BybitSimulator) -> None:
    position = await open_position(raw)
    margin = {"productId": "5", "positionId": position, "quoteAccountType": "FUND"}

    first = await post(raw, docs.ADD_MARGIN, {**margin, "amount": "100", "orderLinkId": "m-1"})
    second = await post(raw, docs.REMOVE_LIQUIDITY, {**margin, "orderLinkId": "r-1"})
    clock_of(sim).advance(1.0)
    third = await post(raw, docs.ADD_MARGIN, {**margin, "amount": "50", "orderLinkId": "m-2"})

    assert first["retCode"] == 0
    assert (second["retCode"], second["retMsg"]) == (
        180006,
        "Only one pending order is allowed per position",
    )
    assert third["retCode"] == 0
    clock_of(sim).advance(1.0)
    (shown,) = (await get(raw, docs.POSITION))["result"]["positions"]
    assert shown["margin"] == "150"
    # (1.1 x 0 loan - 150 margin) <= 0: an unleveraged position is never liquidated
    assert shown["liquidationPrice"] == "0"


async def test_yield_accrues_and_a_claim_pays_it_with_a_record(
    raw: Raw, sim: BybitSimulator
) -> None:
    await open_position(raw)
    clock_of(sim).advance(365 * 86_400 / 100)  # 1 % of a year at 100 % on 1000 USDT

    (position,) = (await get(raw, docs.POSITION))["result"]["positions"]
    claim = await post(raw, docs.CLAIM_INTEREST, {"productId": "-1"})
    (after,) = (await get(raw, docs.POSITION))["result"]["positions"]
    records = (await get(raw, docs.YIELD_RECORDS, "baseCoin=ETH"))["result"]

    assert position["claimableYield"] == "10"
    assert claim == {**claim, "retCode": 0, "result": {}}
    assert after["claimableYield"] == "0"
    assert records["records"] == [
        {
            "coin": "USDT",
            "amount": "10",
            "baseCoin": "ETH",
            "quoteCoin": "USDT",
            "type": "Manual",
            "status": "Complete",
            "createdTime": str(START_MS + 1000 + 315_360_000),
        }
    ]
    assert sim.accounts[KEY].balances["USDT"] == Decimal("9999010")


async def test_a_reinvestment_needs_the_minimum_then_joins_the_principal(
    raw: Raw, sim: BybitSimulator
) -> None:
    position = await open_position(raw)
    body = {"productId": "5", "positionId": position}
    early = await post(raw, docs.REINVEST, {**body, "orderLinkId": "re-0"})
    clock_of(sim).advance(365 * 86_400 / 50)  # 20 USDT of yield
    placed = await post(raw, docs.REINVEST, {**body, "orderLinkId": "re-1"})
    clock_of(sim).advance(1.0)

    (shown,) = (await get(raw, docs.POSITION))["result"]["positions"]
    assert early["retCode"] == 180028
    assert placed["retCode"] == 0
    assert shown["principalLiquidityValue"] == "1020"
    assert shown["principalQuoteAmount"] == "1020"


@pytest.mark.parametrize(
    ("remove_type", "usdt", "eth"),
    [
        ("Normal", "250", "0.0711764"),
        ("SingleQuoteCoin", "500", "0"),
        ("SingleBaseCoin", "0", "0.14235280"),
    ],
)
async def test_a_removal_pays_its_share_by_its_type(
    raw: Raw, sim: BybitSimulator, remove_type: str, usdt: str, eth: str
) -> None:
    position = await open_position(raw)
    account = sim.accounts[KEY]
    before = dict(account.balances)
    body = {"productId": "5", "positionId": position, "orderLinkId": "r-1"}

    placed = await post(
        raw, docs.REMOVE_LIQUIDITY, {**body, "removeRate": 50, "removeType": remove_type}
    )
    clock_of(sim).advance(1.0)
    (order,) = (await get(raw, docs.ORDER, "orderLinkId=r-1"))["result"]["orders"]
    (shown,) = (await get(raw, docs.POSITION))["result"]["positions"]

    assert placed["retCode"] == 0
    assert (order["status"], order["removeRate"], order["removeType"]) == (
        "Success",
        50,
        remove_type,
    )
    assert account.balances["USDT"] - before["USDT"] == Decimal(usdt)
    assert account.balances["ETH"] - before["ETH"] == Decimal(eth)
    assert shown["principalLiquidityValue"] == "500"


async def test_a_full_removal_closes_the_position_and_a_rate_of_0_is_100(
    raw: Raw, sim: BybitSimulator
) -> None:
    position = await open_position(raw)
    body = {"productId": "5", "positionId": position, "orderLinkId": "r-all", "removeRate": 0}

    assert (await post(raw, docs.REMOVE_LIQUIDITY, body))["retCode"] == 0
    clock_of(sim).advance(1.0)

    assert (await get(raw, docs.POSITION))["result"] == {"positions": []}
    (order,) = (await get(raw, docs.ORDER, "orderLinkId=r-all"))["result"]["orders"]
    assert order["removeRate"] == 100


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"removeRate": 101}, 10001),
        ({"removeType": "Half"}, 10001),
        ({"positionId": "1"}, 180020),
        ({"removeRate": 1}, 180014),
    ],
)
async def test_a_removal_is_refused_with_its_code(
    raw: Raw, changes: dict[str, Any], code: int
) -> None:
    position = await open_position(raw)
    body = {"productId": "5", "positionId": position, "orderLinkId": "r-bad", **changes}

    assert (await post(raw, docs.REMOVE_LIQUIDITY, body))["retCode"] == code


async def test_a_fall_to_the_liquidation_price_liquidates_with_a_record(
    raw: Raw, sim: BybitSimulator
) -> None:
    position = await open_position(raw, leverage="3")  # loan 2000 on 3000 pooled
    sim.set_price("ETH", Decimal("1800"))

    (liquidating,) = (await get(raw, docs.POSITION))["result"]["positions"]
    refused = await post(
        raw, docs.REINVEST, {"productId": "5", "positionId": position, "orderLinkId": "re-x"}
    )
    clock_of(sim).advance(1.0)
    positions = (await get(raw, docs.POSITION))["result"]["positions"]
    records = (await get(raw, docs.LIQUIDATION_RECORDS, "baseCoin=ETH&limit=50"))["result"]

    # (1.1 x 2000 / 3000)^2 x 3512.40
    assert liquidating["liquidationPrice"] == "1888.8906"
    assert liquidating["status"] == "Liquidating"
    assert refused["retCode"] == 180029
    assert positions == []
    (record,) = records["records"]
    assert record["liquidationPrice"] == "1800"
    assert record["quoteAmount"] == "1073.8052"  # 3000 x sqrt(1800 / 3512.40) / 2
    assert records["nextPageCursor"] == ""


async def test_orders_page_by_up_to_50_newest_first_and_refuse_a_fail_filter(
    raw: Raw,
) -> None:
    for n in range(3):
        assert (await post(raw, docs.ADD_LIQUIDITY, add(f"a-{n}")))["retCode"] == 0
        clock_of(raw.sim).advance(0.5)

    first = await get(raw, docs.ORDER, "limit=2")
    second = await get(raw, docs.ORDER, "cursor=" + first["result"]["nextPageCursor"] + "&limit=2")
    success = await get(raw, docs.ORDER, "status=Success")

    assert [o["orderLinkId"] for o in first["result"]["orders"]] == ["a-2", "a-1"]
    assert [o["orderLinkId"] for o in second["result"]["orders"]] == ["a-0"]
    assert second["result"]["nextPageCursor"] == ""
    assert [o["orderLinkId"] for o in success["result"]["orders"]] == ["a-1", "a-0"]
    assert (await get(raw, docs.ORDER, "status=Fail"))["retCode"] == 180001
    assert (await get(raw, docs.ORDER, "limit=51"))["retCode"] == 10001
    assert (await get(raw, docs.ORDER, "limit=50"))["retCode"] == 0


async def test_each_endpoint_has_its_documented_limit(raw: Raw) -> None:
    assert {k: v for k, v in SIM_LIMITS.items() if k.startswith("lm_")} == docs.DOCUMENTED_LIMITS
