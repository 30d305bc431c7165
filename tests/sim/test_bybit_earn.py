"""The simulator's Earn (FlexibleSaving, OnChain), driven by hand-signed requests: the
30-minute orderLinkId rule, OnChain FUND only and its lock, positions with
``availableAmount``/``freezeDetails``, simple interest, the order-query rules. Time is a
VirtualClock moved by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from asyncexch.sim import BybitSimulator
from tests.builders.raw_bybit import KEY, START_MS, Raw, clock_of, envelope, make_sim

PLACE = "/v5/earn/place-order"
ORDER = "/v5/earn/order"
POSITION = "/v5/earn/position"
PRODUCT = "/v5/earn/product"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def sim() -> BybitSimulator:
    sim = make_sim(settlement_delay=1.0)
    sim.accounts[KEY].balances["BTC"] = Decimal("5")
    return sim


def body(link: str, **fields: Any) -> dict[str, Any]:
    """A FlexibleSaving stake of 1 BTC in the docs' product 430."""
    return {
        "category": "FlexibleSaving",
        "orderType": "Stake",
        "accountType": "FUND",
        "amount": "1",
        "coin": "BTC",
        "productId": "430",
        "orderLinkId": link,
        **fields,
    }


def on_chain(link: str, **fields: Any) -> dict[str, Any]:
    return body(link, category="OnChain", productId="428", coin="USDT", amount="100", **fields)


async def place(raw: Raw, payload: dict[str, Any]) -> dict[str, Any]:
    return envelope(await raw.post(PLACE, payload))


async def get(raw: Raw, path: str, query: str) -> dict[str, Any]:
    return envelope(await raw.get(path, query))


async def test_products_are_public_and_in_the_documented_shape(raw: Raw) -> None:
    data = envelope(await raw.get(PRODUCT, "category=FlexibleSaving&coin=BTC", private=False))
    (product,) = data["result"]["list"]
    assert {
        k: product[k] for k in ("productId", "estimateApr", "minStakeAmount", "precision", "term")
    } == {
        "productId": "430",
        "estimateApr": "3%",
        "minStakeAmount": "0.001",
        "precision": "8",
        "term": 0,
    }


async def test_an_id_is_refused_within_30_minutes_and_a_new_order_after(
    raw: Raw, sim: BybitSimulator
) -> None:
    first = await place(raw, body("earn-1"))
    assert first["retCode"] == 0
    clock_of(sim).advance(29 * 60 + 59)
    again = await place(raw, body("earn-1"))
    assert (again["retCode"], again["retMsg"]) == (180025, "Order already exists")
    clock_of(sim).advance(1)
    later = await place(raw, body("earn-1"))
    assert later["retCode"] == 0
    assert later["result"]["orderId"] != first["result"]["orderId"]
    assert len(sim.earn_orders) == 2 and sim.accounts[KEY].balances["BTC"] == Decimal("3")
    # Asked by the id alone, Bybit lists the latest order only.
    listed = await get(raw, ORDER, "category=FlexibleSaving&orderLinkId=earn-1")
    assert [o["orderId"] for o in listed["result"]["list"]] == [later["result"]["orderId"]]


async def test_the_duplicate_code_is_the_simulators_option(raw: Raw, sim: BybitSimulator) -> None:
    sim.duplicate_code = 180031
    assert (await place(raw, body("dup")))["retCode"] == 0
    assert (await place(raw, body("dup")))["retCode"] == 180031
    assert sim.stats.duplicates_refused == 1


async def test_a_flexible_stake_confirms_accrues_simply_and_redeems_what_is_available(
    raw: Raw, sim: BybitSimulator
) -> None:
    stake = await place(raw, body("s-1", amount="2"))
    order_id = stake["result"]["orderId"]
    pending = await get(raw, ORDER, f"category=FlexibleSaving&orderId={order_id}")
    assert pending["result"]["list"][0]["status"] == "Pending"
    clock_of(sim).advance(1)
    (position,) = (await get(raw, POSITION, "category=FlexibleSaving"))["result"]["list"]
    assert (position["amount"], position["availableAmount"], position["claimableYield"]) == (
        "2",
        "2",
        "0",
    )
    clock_of(sim).advance(365 * 24 * 3600 / 100)  # a hundredth of a year at 3%
    (position,) = (await get(raw, POSITION, "category=FlexibleSaving"))["result"]["list"]
    assert Decimal(position["claimableYield"]) == Decimal("0.0006")
    sim.freeze_earn(position["id"], Decimal("0.5"), "Locked in Fixed-Rate Loan")
    (position,) = (await get(raw, POSITION, "category=FlexibleSaving"))["result"]["list"]
    assert position["availableAmount"] == "1.5"
    assert position["freezeDetails"] == [
        {"amount": "0.5", "description": "Locked in Fixed-Rate Loan"}
    ]
    over = await place(raw, body("r-1", orderType="Redeem", amount="1.6"))
    assert over["retCode"] == 180014
    redeem = await place(raw, body("r-2", orderType="Redeem", amount="1.5"))
    assert redeem["retCode"] == 0
    clock_of(sim).advance(1)
    await get(raw, ORDER, "category=FlexibleSaving")
    assert sim.accounts[KEY].balances["BTC"] == Decimal("4.5")
    (position,) = (await get(raw, POSITION, "category=FlexibleSaving"))["result"]["list"]
    assert (position["amount"], position["availableAmount"]) == ("0.5", "0")


async def test_on_chain_is_fund_only_pending_then_active_and_locked(
    raw: Raw, sim: BybitSimulator
) -> None:
    unified = await place(raw, on_chain("oc-0", accountType="UNIFIED"))
    assert unified["retCode"] == 10001
    stake = await place(raw, on_chain("oc-1"))
    assert stake["retCode"] == 0
    (position,) = (await get(raw, POSITION, "category=OnChain"))["result"]["list"]
    assert position["status"] == "Processing"
    clock_of(sim).advance(3)  # the product's stake delay
    (position,) = (await get(raw, POSITION, "category=OnChain"))["result"]["list"]
    assert (position["status"], position["amount"], position["claimableYield"]) == (
        "Active",
        "100",
        "",
    )
    no_id = await place(raw, on_chain("oc-2", orderType="Redeem"))
    assert no_id["retCode"] == 10001
    locked = await place(raw, on_chain("oc-3", orderType="Redeem", redeemPositionId=position["id"]))
    assert locked["retCode"] == 180029
    clock_of(sim).advance(5)  # the lock
    redeem = await place(raw, on_chain("oc-4", orderType="Redeem", redeemPositionId=position["id"]))
    assert redeem["retCode"] == 0
    clock_of(sim).advance(3)
    done = await get(raw, ORDER, f"category=OnChain&orderId={redeem['result']['orderId']}")
    assert done["result"]["list"][0]["status"] == "Success"
    assert (await get(raw, POSITION, "category=OnChain"))["result"]["list"] == []


@pytest.mark.parametrize(
    "query",
    [
        "category=OnChain",
        f"category=FlexibleSaving&endTime={START_MS + 7 * DAY_MS + 1}&startTime={START_MS}",
        "category=FlexibleSaving&limit=101",
        "category=FlexibleSaving&limit=0",
        "category=Savings",
    ],
)
async def test_order_queries_are_refused_as_documented(raw: Raw, query: str) -> None:
    assert (await get(raw, ORDER, query))["retCode"] == 10001


async def test_orders_default_to_the_last_7_days(raw: Raw, sim: BybitSimulator) -> None:
    await place(raw, body("old"))
    clock_of(sim).advance(7 * 24 * 3600 + 1)
    await place(raw, body("new"))
    listed = (await get(raw, ORDER, "category=FlexibleSaving"))["result"]["list"]
    assert [o["orderLinkId"] for o in listed] == ["new"]
    week = f"category=FlexibleSaving&startTime={START_MS}&endTime={START_MS + 7 * DAY_MS}"
    assert [o["orderLinkId"] for o in (await get(raw, ORDER, week))["result"]["list"]] == ["old"]


async def test_place_order_is_limited_per_uid_like_the_clients_bucket(raw: Raw) -> None:
    codes = [(await place(raw, body(f"burst-{n}", amount="0.1")))["retCode"] for n in range(6)]
    assert codes == [0, 0, 0, 0, 0, 10006]
