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
