"""Bybit's own SDK, pybit, drives the simulator on loopback: every correctly formed request it
sends to the Advance Earn endpoints it has is accepted, and what the simulator refuses comes
back with Bybit's codes.

pybit sends what its caller passes, verbatim: a JSON body from ``json.dumps`` (with spaces),
a GET query of sorted ``k=v`` pairs, unencoded, signed only where it says ``auth=True``. Its
docstrings type ``productId`` as an integer, and Bybit's quote writes ``apyE8`` as a string:
the simulator takes both readings. pybit is a dev dependency; without it these tests skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from asyncexch.sim import BybitSimulator, SimServer
from tests.builders import liquidity_mining as liquidity_docs

unified_trading = pytest.importorskip("pybit.unified_trading")
exceptions = pytest.importorskip("pybit.exceptions")

pytestmark = [pytest.mark.integration]

KEY = "pybit-key"
SECRET = "pybit-secret"


@pytest.fixture
def sim() -> BybitSimulator:
    sim = BybitSimulator(price_swing=0.0, settlement_delay=0.0)
    sim.add_account(KEY, SECRET, balances={"USDT": Decimal("100000"), "ETH": Decimal("10")})
    return sim


@pytest.fixture
def pybit(sim: BybitSimulator) -> Iterator[Any]:
    """pybit's HTTP session pointed at the simulator (pybit has no argument for a host)."""
    with SimServer(sim.app) as server:
        session = unified_trading.HTTP(testnet=False, api_key=KEY, api_secret=SECRET)
        session.endpoint = server.url
        yield session
        session.client.close()


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["retCode"] == 0, answer
    result: dict[str, Any] = answer["result"]
    return result


def refused_with(code: int, call: Any, **kwargs: Any) -> None:
    with pytest.raises(exceptions.InvalidRequestError) as caught:
        call(**kwargs)
    assert caught.value.status_code == code


def dual_stake(quote: dict[str, Any], link: str, **changes: Any) -> dict[str, Any]:
    """A BuyLow stake of 100 USDT at the quote's nearest offer, as pybit's docstring types
    it (productId an integer, apyE8 a number)."""
    offer = quote["list"][0]["buyLowPrice"][0]
    stake: dict[str, Any] = {
        "category": "DualAssets",
        "productId": int(quote["list"][0]["productId"]),
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "coin": "USDT",
        "orderLinkId": link,
        "dualAssetsExtra": {
            "orderDirection": "BuyLow",
            "selectPrice": offer["selectPrice"],
            "apyE8": int(offer["apyE8"]),
        },
    }
    stake.update(changes)
    return stake


def test_pybit_drives_dual_assets(pybit: Any, sim: BybitSimulator) -> None:
    products = ok(pybit.get_advance_earn_product(category="DualAssets", coin="ETH"))
    assert [p["productId"] for p in products["list"]] == ["36320"]
    quote = ok(pybit.get_advance_earn_product_extra_info(category="DualAssets", productId=36320))
    assert quote["list"][0]["productId"] == "36320"

    placed = ok(pybit.place_advance_earn_order(**dual_stake(quote, "pybit-da-1")))
    assert placed["orderLinkId"] == "pybit-da-1"
    # The other reading: productId a string (the docs' table), apyE8 as the quote wrote it.
    as_quoted = dual_stake(quote, "pybit-da-2", productId="36320")
    as_quoted["dualAssetsExtra"]["apyE8"] = quote["list"][0]["buyLowPrice"][0]["apyE8"]
    assert isinstance(as_quoted["dualAssetsExtra"]["apyE8"], str)
    ok(pybit.place_advance_earn_order(**as_quoted))

    refused_with(180025, pybit.place_advance_earn_order, **dual_stake(quote, "pybit-da-1"))
    greedy = dual_stake(quote, "pybit-da-3")
    greedy["dualAssetsExtra"]["apyE8"] += 1
    refused_with(180026, pybit.place_advance_earn_order, **greedy)

    orders = ok(pybit.get_advance_earn_order(category="DualAssets", orderLinkId="pybit-da-1"))
    [order] = orders["list"]
    assert (order["orderId"], order["status"]) == (placed["orderId"], "Success")
    positions = ok(pybit.get_advance_earn_position(category="DualAssets", limit=20))
    assert len(positions["list"]) == 2
    assert {p["orderId"] for p in positions["list"]} == {
        o.order_id for o in sim.dual_assets_orders.values()
    }
    assert len(sim.dual_assets_orders) == 2


def test_pybit_drives_smart_leverage(pybit: Any, sim: BybitSimulator) -> None:
    products = ok(pybit.get_advance_earn_product(category="SmartLeverage", coin="BTC"))
    product_id = products["list"][0]["productId"]
    quote = ok(
        pybit.get_advance_earn_product_extra_info(category="SmartLeverage", productId=product_id)
    )
    stake = {
        "category": "SmartLeverage",
        "productId": product_id,
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "coin": "USDT",
        "orderLinkId": "pybit-sl-1",
        "smartLeverageStakeExtra": {
            "initialPrice": quote["currentPrice"],
            "breakevenPrice": quote["breakevenPrice"],
        },
    }
    ok(pybit.place_advance_earn_order(**stake))
    refused_with(180025, pybit.place_advance_earn_order, **stake)
    [position] = ok(pybit.get_advance_earn_position(category="SmartLeverage"))["list"]
    # A comma-separated string: pybit writes a list as "['1', '2']".
    estimates = ok(
        pybit.get_smart_leverage_redeem_est_amount_list(
            category="SmartLeverage", positionIds=position["positionId"]
        )
    )
    [estimate] = estimates["list"]
    assert estimate["success"] is True
    redeem = {
        "category": "SmartLeverage",
        "productId": product_id,
        "orderType": "Redeem",
        "amount": position["amount"],
        "accountType": "FUND",
        "coin": "USDT",
        "orderLinkId": "pybit-sl-2",
        "smartLeverageRedeemExtra": {
            "positionId": position["positionId"],
            "estRedeemAmount": estimate["estRedeemAmount"],
            "isSlippageProtected": True,
        },
    }
    ok(pybit.place_advance_earn_order(**redeem))
    orders = ok(pybit.get_advance_earn_order(category="SmartLeverage"))
    assert {o["orderLinkId"] for o in orders["list"]} == {"pybit-sl-1", "pybit-sl-2"}
    assert len(sim.orders) == 2


def test_pybit_drives_double_win(pybit: Any, sim: BybitSimulator) -> None:
    products = ok(pybit.get_advance_earn_product(category="DoubleWin", coin="BTC"))["list"]
    assert {p["productId"]: p["isRfqProduct"] for p in products} == {"14084": False, "14092": True}
    fixed = ok(pybit.get_advance_earn_product_extra_info(category="DoubleWin", productId=14084))
    # pybit's docstring types productId an integer; the prices are strings.
    rfq = ok(
        pybit.get_double_win_leverage(
            productId=14092, initialPrice="68403.67", lowerPrice="65000", upperPrice="72000"
        )
    )
    assert rfq["leverage"] == "248.67"
    stake = {
        "category": "DoubleWin",
        "productId": 14092,
        "coin": "USDT",
        "amount": "200",
        "orderType": "Stake",
        "accountType": "FUND",
        "orderLinkId": "pybit-dw-1",
        "doubleWinStakeExtra": {
            "initialPrice": "68403.67",
            "lowerPrice": "65000",
            "upperPrice": "72000",
            "leverage": "248.67",
        },
    }
    ok(pybit.place_advance_earn_order(**stake))
    refused_with(180025, pybit.place_advance_earn_order, **stake)
    fixed_stake = {
        **stake,
        "productId": "14084",
        "orderLinkId": "pybit-dw-2",
        "doubleWinStakeExtra": {"initialPrice": fixed["currentPrice"], "leverage": "9.3"},
    }
    ok(pybit.place_advance_earn_order(**fixed_stake))
    orders = ok(pybit.get_advance_earn_order(category="DoubleWin"))["list"]
    assert {o["orderLinkId"] for o in orders} == {"pybit-dw-1", "pybit-dw-2"}
    positions = ok(pybit.get_advance_earn_position(category="DoubleWin"))["list"]
    assert len(positions) == 2 and all(p["redeemable"] is True for p in positions)
    estimates = ok(
        pybit.get_smart_leverage_redeem_est_amount_list(
            category="DoubleWin", positionIds=",".join(p["positionId"] for p in positions)
        )
    )["list"]
    # The market sits inside both ranges: worth nothing now (the simulator's payoff).
    assert [e["success"] for e in estimates] == [False, False]


def discount_stake(offer: dict[str, Any], link: str, **extra: Any) -> dict[str, Any]:
    """A 200 USDT stake at ``offer``, its values passed back as the quote wrote them (the
    docs: "as-is"), productId an integer as pybit's docstring types it."""
    return {
        "category": "DiscountBuy",
        "productId": int(offer["productId"]),
        "orderType": "Stake",
        "amount": "200",
        "coin": "USDT",
        "accountType": "FUND",
        "orderLinkId": link,
        "discountBuyExtra": {
            "initialPrice": offer["currentPrice"],
            "purchasePrice": offer["purchasePrice"],
            "knockoutPrice": offer["knockoutPrice"],
            "knockoutCouponE8": offer["knockoutCouponE8"],
            "settleType": "Base",
            "instUid": offer["instUid"],
            **extra,
        },
    }


def test_pybit_drives_discount_buy(pybit: Any, sim: BybitSimulator) -> None:
    products = ok(pybit.get_advance_earn_product(category="DiscountBuy", coin="BTC"))
    assert [p["productId"] for p in products["list"]] == ["7037", "7038"]
    # productId is optional here (the docs): every product's offers.
    every = ok(pybit.get_advance_earn_product_extra_info(category="DiscountBuy"))
    offers = {offer["productId"]: offer for offer in every["offers"]}
    assert list(offers) == ["7037", "7038", "7039"]
    assert isinstance(offers["7037"]["instUid"], str)
    assert isinstance(offers["7039"]["instUid"], int)  # the MCP server's reading
    [offer] = ok(pybit.get_advance_earn_product_extra_info(category="DiscountBuy", productId=7037))[
        "offers"
    ]

    placed = ok(pybit.place_advance_earn_order(**discount_stake(offer, "pybit-db-1")))
    assert placed["orderLinkId"] == "pybit-db-1"
    # The other readings: JSON numbers (the MCP server, the skill), a 40-character id.
    numbers = discount_stake(
        offer, "p" * 40, instUid=int(offer["instUid"]), knockoutCouponE8=1000000
    )
    ok(pybit.place_advance_earn_order(**numbers))
    ok(pybit.place_advance_earn_order(**discount_stake(offers["7039"], "pybit-db-eth")))

    refused_with(180025, pybit.place_advance_earn_order, **discount_stake(offer, "pybit-db-1"))
    cheaper = discount_stake(offer, "pybit-db-2", purchasePrice="1")
    refused_with(180006, pybit.place_advance_earn_order, **cheaper)
    refused_with(10001, pybit.place_advance_earn_order, **discount_stake(offer, "p" * 41))

    orders = ok(pybit.get_advance_earn_order(category="DiscountBuy", orderLinkId="pybit-db-1"))
    [order] = orders["list"]
    assert (order["orderId"], order["status"], order["refundStatus"]) == (
        placed["orderId"],
        "Success",
        "",
    )
    positions = ok(pybit.get_advance_earn_position(category="DiscountBuy", limit=20))
    assert {p["orderId"] for p in positions["list"]} == {
        o.order_id for o in sim.discount_buy_orders.values()
    }
    assert len(sim.discount_buy_orders) == 3


def test_pybit_drives_earn(pybit: Any, sim: BybitSimulator) -> None:
    """Earn (FlexibleSaving, OnChain) with pybit's ``get_earn_product_info``,
    ``stake_or_redeem``, ``get_stake_or_redemption_history`` and ``get_staked_position``, the
    docs' examples as pybit's own docs page writes them; the 30-minute id rule refuses a reuse."""
    (product,) = ok(pybit.get_earn_product_info(category="FlexibleSaving", coin="USDT"))["list"]
    assert product["productId"] == "431"
    stake = {
        "category": "FlexibleSaving",
        "orderType": "Stake",
        "accountType": "FUND",
        "amount": "100",
        "coin": "USDT",
        "productId": "431",
        "orderLinkId": "usdt-earn-001",
    }
    placed = ok(pybit.stake_or_redeem(**stake))
    assert placed["orderLinkId"] == "usdt-earn-001"
    refused_with(180025, pybit.stake_or_redeem, **stake)
    chain = ok(
        pybit.stake_or_redeem(
            **{**stake, "category": "OnChain", "productId": "428", "orderLinkId": "oc-001"}
        )
    )
    (order,) = ok(
        pybit.get_stake_or_redemption_history(category="OnChain", orderId=chain["orderId"])
    )["list"]
    assert (order["orderValue"], order["orderType"]) == ("100", "Stake")
    refused_with(10001, pybit.get_stake_or_redemption_history, category="OnChain")
    (position,) = ok(pybit.get_staked_position(category="FlexibleSaving", coin="USDT"))["list"]
    assert (position["amount"], position["availableAmount"], position["freezeDetails"]) == (
        "100",
        "100",
        [],
    )
    redeem = {**stake, "orderType": "Redeem", "amount": "40", "orderLinkId": "usdt-earn-002"}
    assert ok(pybit.stake_or_redeem(**redeem))["orderLinkId"] == "usdt-earn-002"


def test_pybit_drives_liquidity_mining(pybit: Any, sim: BybitSimulator) -> None:
    """Every Liquidity Mining method pybit 5.17 has, with the docs' own example bodies."""
    (product,) = ok(pybit.get_liquidity_mining_products(baseCoin="ETH"))["products"]
    assert product["productId"] == "5"
    # The docs' add-liquidity example as written, with its untabled "coin".
    example = {**liquidity_docs.ADD_BODY, "productId": "5"}
    placed = ok(pybit.add_liquidity(**example))
    assert placed["orderLinkId"] == "lm-001"
    refused_with(180025, pybit.add_liquidity, **example)
    (position,) = ok(pybit.get_liquidity_mining_positions(productId="5"))["positions"]
    at_position = {"productId": "5", "positionId": position["positionId"]}

    # Too little yield yet to reinvest (the minimum is 10 USDT).
    refused_with(180028, pybit.reinvest_liquidity, orderLinkId="lm-re-1", **at_position)
    margin = {**liquidity_docs.MARGIN_BODY, **at_position, "amount": "100"}
    ok(pybit.add_margin(**margin))
    removal = {**liquidity_docs.REMOVE_BODY, **at_position, "orderLinkId": "lm-rm-1"}
    assert removal["removeRate"] == 50  # a JSON number, as the docs' example sends it
    ok(pybit.remove_liquidity(**removal))
    assert ok(pybit.claim_liquidity_interest(productId="-1")) == {}

    (order,) = ok(pybit.get_liquidity_mining_orders(orderLinkId="lm-001"))["orders"]
    assert (order["orderId"], order["status"]) == (placed["orderId"], "Success")
    listed = ok(pybit.get_liquidity_mining_orders(productId="5", limit=50))["orders"]
    assert [o["orderType"] for o in listed] == ["RemoveLiquidity", "AddMargin", "AddLiquidity"]
    assert ok(pybit.get_liquidity_mining_yield_records(baseCoin="ETH"))["nextPageCursor"] == ""
    assert ok(pybit.get_liquidity_mining_liquidation_records(baseCoin="ETH", limit=20)) == {
        "records": [],
        "nextPageCursor": "",
    }
    assert len(sim.liquidity_mining.orders) == 3
