"""The DoubleWin stake and redeem: their bodies against the docs' examples, their checks,
``from_leverage``/``from_position``, and placing them exactly once (the lookup in DoubleWin)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import respx

from asyncexch import InvalidRequest, OrderAlreadyExists
from asyncexch.bybit import (
    BybitClient,
    DoubleWinAck,
    DoubleWinLeverage,
    DoubleWinOrder,
    DoubleWinOrderInfo,
    DoubleWinPosition,
    DoubleWinProduct,
    DoubleWinQuote,
    DoubleWinRedeemOrder,
    OrderAck,
    OrderType,
    PositionStatus,
    RedeemEstimate,
    RedeemOrder,
)
from tests.builders import double_win as docs
from tests.builders.bybit import ORDER, PLACE, fail, ok

UTC = timezone.utc
MakeClient = Callable[..., BybitClient]
EXPIRES = datetime(2026, 4, 2, 5, 12, 28, tzinfo=UTC)
NOW = EXPIRES - timedelta(seconds=20)


def fixed_quote(**changes: Any) -> DoubleWinQuote:
    fields: dict[str, Any] = {
        "category": "DoubleWin",
        "product_id": "14084",
        "current_price": Decimal("66445.69"),
        "leverage": Decimal("9.30452991038687184855947115"),
        "expire_time": EXPIRES,
        "max_investment_amount": Decimal("1000"),
    }
    return DoubleWinQuote(**{**fields, **changes})


def rfq_quote(**changes: Any) -> DoubleWinLeverage:
    fields: dict[str, Any] = {
        "product_id": "14092",
        "initial_price": Decimal("66333.94"),
        "lower_price": Decimal("63000"),
        "upper_price": Decimal("70000"),
        "leverage": Decimal("241.15"),
        "expire_time": EXPIRES,
        "max_investment_amount": Decimal("10000"),
    }
    return DoubleWinLeverage(**{**fields, **changes})


def product(**changes: Any) -> DoubleWinProduct:
    fields: dict[str, Any] = {
        "category": "DoubleWin",
        "product_id": "14084",
        "invest_coin": "USDT",
        "underlying_asset": "BTC",
        "duration": "1d",
        "min_purchase_amount": Decimal("10"),
        "order_precision_digital": 4,
    }
    return DoubleWinProduct(**{**fields, **changes})


def test_the_fixed_stake_body_is_the_docs_example() -> None:
    order = DoubleWinOrder(
        product_id="14084",
        coin="USDT",
        amount=Decimal("150"),
        leverage=Decimal("9"),
        initial_price=Decimal("66445.69"),
        order_link_id="usdt-earn-009",
    )
    expected = json.loads(docs.FIXED_STAKE_BODY)
    assert order.to_params() == expected
    assert list(order.to_params()) == list(expected)
    assert order.order_type is OrderType.STAKE and order.category == "DoubleWin"


def test_the_rfq_stake_body_is_the_docs_example() -> None:
    # The docs' leverage 245.18 is above their own quote (241.15): built by hand it goes out
    # as written; from_leverage would refuse it.
    order = DoubleWinOrder(
        product_id="14092",
        coin="USDT",
        amount=Decimal("200"),
        leverage=Decimal("245.18"),
        initial_price=Decimal("66333.94"),
        lower_price=Decimal("63000"),
        upper_price=Decimal("70000"),
        order_link_id="usdt-earn-010",
    )
    expected = json.loads(docs.RFQ_STAKE_BODY)
    assert order.to_params() == expected
    extra = order.to_params()["doubleWinStakeExtra"]
    assert isinstance(extra, dict) and list(extra) == list(expected["doubleWinStakeExtra"])
    with pytest.raises(InvalidRequest, match=r"above the quoted maximum 241\.15"):
        DoubleWinOrder.from_leverage(
            rfq_quote(), amount=Decimal("200"), leverage=Decimal("245.18"), now=NOW
        )


def test_the_redeem_body_is_the_docs_example_plus_what_the_official_tools_send() -> None:
    redeem = DoubleWinRedeemOrder(
        product_id="14084",
        position_id="2848",
        est_redeem_amount=Decimal("148.50"),
        order_link_id="usdt-redeem-001",
    )
    params = redeem.to_params()
    # The zh-TW example sends no accountType; the English table marks it required.
    assert params == {**json.loads(docs.REDEEM_BODY), "accountType": "FUND"}
    assert params["doubleWinRedeemExtra"] == {
        "positionId": "2848",
        "estRedeemAmount": "148.50",
        "isSlippageProtected": True,
    }
    assert redeem.order_type is OrderType.REDEEM and not isinstance(redeem, RedeemOrder)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"leverage": Decimal("9.301")}, "leverage"),
        ({"leverage": Decimal("0")}, "leverage"),
        ({"leverage": 9.3}, "leverage"),
        ({"lower_price": Decimal("63000")}, "lower_price"),
        ({"lower_price": Decimal("66500"), "upper_price": Decimal("70000")}, "lower_price"),
        ({"lower_price": Decimal("63000"), "upper_price": Decimal("66000")}, "lower_price"),
        ({"order_link_id": "x" * 37}, "order_link_id"),
        ({"order_link_id": "bad id"}, "order_link_id"),
        ({"account_type": "SPOT"}, "account_type"),
    ],
)
def test_a_bad_stake_is_refused_at_construction(changes: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {
        "product_id": "14092",
        "coin": "USDT",
        "amount": Decimal("200"),
        "leverage": Decimal("9.3"),
        "initial_price": Decimal("66333.94"),
    }
    with pytest.raises(InvalidRequest) as caught:
        DoubleWinOrder(**{**fields, **changes})
    assert caught.value.field == field


def test_an_id_of_36_characters_is_taken() -> None:
    order = DoubleWinOrder(
        product_id="1",
        coin="USDT",
        amount=Decimal(10),
        leverage=Decimal(2),
        initial_price=Decimal(1),
        order_link_id="a" * 36,
    )
    assert len(order.order_link_id) == 36


def test_from_a_fixed_quote_the_leverage_is_truncated_to_two_places() -> None:
    order = DoubleWinOrder.from_leverage(fixed_quote(), amount=Decimal("150"), now=NOW)
    assert (order.leverage, order.initial_price) == (Decimal("9.30"), Decimal("66445.69"))
    assert (order.lower_price, order.upper_price, order.coin) == (None, None, "USDT")
    assert "lowerPrice" not in order.to_params()["doubleWinStakeExtra"]  # type: ignore[operator]
    lower = DoubleWinOrder.from_leverage(
        fixed_quote(), amount=Decimal("150"), leverage=Decimal("8.5"), now=NOW
    )
    assert lower.leverage == Decimal("8.5")


def test_from_an_rfq_quote_the_range_goes_with_the_stake() -> None:
    order = DoubleWinOrder.from_leverage(rfq_quote(), amount=Decimal("200"), now=NOW)
    assert order.to_params()["doubleWinStakeExtra"] == {
        "initialPrice": "66333.94",
        "lowerPrice": "63000",
        "upperPrice": "70000",
        "leverage": "241.15",
    }


@pytest.mark.parametrize(
    ("quote", "kwargs", "field", "why"),
    [
        (fixed_quote(leverage=None), {}, "quote", "no active quote"),
        (fixed_quote(), {"now": EXPIRES}, "quote", "expired"),
        (fixed_quote(), {"now": EXPIRES - timedelta(seconds=1)}, "quote", "expires"),
        (fixed_quote(), {"amount": Decimal("1000.01")}, "amount", "above the quote's maximum"),
        (fixed_quote(), {"leverage": Decimal("9.31")}, "leverage", "above the quoted"),
        (fixed_quote(), {"leverage": Decimal("9.295")}, "leverage", "2 decimal places"),
        (fixed_quote(), {"product": product(), "amount": Decimal("9")}, "amount", "minimum"),
        (
            fixed_quote(),
            {"product": product(), "amount": Decimal("10.00001")},
            "amount",
            "decimal places",
        ),
        (fixed_quote(), {"product": product(product_id="9")}, "product", "quote is for"),
    ],
)
def test_from_leverage_refuses_before_sending(
    quote: DoubleWinQuote, kwargs: dict[str, Any], field: str, why: str
) -> None:
    arguments: dict[str, Any] = {"amount": Decimal("150"), "now": NOW, **kwargs}
    with pytest.raises(InvalidRequest, match=why) as caught:
        DoubleWinOrder.from_leverage(quote, **arguments)
    assert caught.value.field == field


def position(**changes: Any) -> DoubleWinPosition:
    fields: dict[str, Any] = {
        "position_id": "2848",
        "product_id": "14084",
        "amount": Decimal("150"),
        "status": PositionStatus.ACTIVE,
        "redeemable": True,
        "invest_coin": "USDT",
        "account_type": "FUND",
    }
    return DoubleWinPosition(**{**fields, **changes})


def estimate(**changes: Any) -> RedeemEstimate:
    fields: dict[str, Any] = {
        "success": True,
        "position_id": "2848",
        "est_redeem_amount": Decimal("148.50"),
        "fetched_at": NOW,
    }
    return RedeemEstimate(**{**fields, **changes})


def test_a_redeem_from_a_position_and_an_estimate() -> None:
    redeem = DoubleWinRedeemOrder.from_position(position(), estimate(), now=NOW)
    assert redeem.to_params() == {
        "category": "DoubleWin",
        "productId": "14084",
        "orderType": "Redeem",
        "amount": "150",
        "coin": "USDT",
        "accountType": "FUND",
        "orderLinkId": redeem.order_link_id,
        "doubleWinRedeemExtra": {
            "positionId": "2848",
            "estRedeemAmount": "148.50",
            "isSlippageProtected": True,
        },
    }


def test_a_redeem_within_30_minutes_of_settlement_or_of_another_kind_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="within 30 minutes of settlement"):
        DoubleWinRedeemOrder.from_position(position(redeemable=False), estimate(), now=NOW)
    with pytest.raises(InvalidRequest, match="must be a DoubleWinPosition"):
        DoubleWinRedeemOrder.from_position(object(), estimate(), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="fetch a new one"):
        DoubleWinRedeemOrder.from_position(position(), estimate(), now=NOW + timedelta(minutes=11))


# --- placing -----------------------------------------------------------------------------


def stake() -> DoubleWinOrder:
    return DoubleWinOrder.from_leverage(
        fixed_quote(), amount=Decimal("150"), now=NOW, order_link_id="usdt-earn-009"
    )


def listed(order: DoubleWinOrder, **changes: Any) -> httpx.Response:
    (item,) = json.loads(docs.ORDER_RESULT)["list"]
    item.update(changes)
    return ok({"category": "DoubleWin", "list": [item], "nextPageCursor": ""})


async def test_a_stake_is_acknowledged_as_double_win(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.post(PLACE).mock(
        return_value=ok({"orderId": "05184c23", "orderLinkId": "usdt-earn-009"})
    )
    ack = await make_client().advance_earn.place_order(stake())
    assert ack == DoubleWinAck(order_id="05184c23", order_link_id="usdt-earn-009")
    assert type(ack) is DoubleWinAck and ack.category == "DoubleWin"
    body = json.loads(route.calls[0].request.content)
    assert body["category"] == "DoubleWin" and body["doubleWinStakeExtra"]["leverage"] == "9.30"


async def test_already_exists_is_looked_up_in_double_win(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    order = stake()
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    lookup = bybit_mock.get(ORDER).mock(return_value=listed(order))
    ack = await make_client().advance_earn.place_order(order)
    assert ack == DoubleWinAck(
        order_id="05184c23-8a98-456c-a2af-0ef1c45116cc", order_link_id="usdt-earn-009"
    )
    assert lookup.calls[0].request.url.params["category"] == "DoubleWin"


async def test_already_exists_as_another_order_is_refused(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "Order already exists"))
    bybit_mock.get(ORDER).mock(return_value=listed(stake(), amount="151"))
    with pytest.raises(OrderAlreadyExists, match="different order"):
        await make_client().advance_earn.place_order(stake())


async def test_wait_for_order_waits_in_double_win(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(ORDER).mock(return_value=listed(stake()))
    ack = DoubleWinAck(order_id="05184c23-8a98-456c-a2af-0ef1c45116cc", order_link_id="x")
    info = await make_client().advance_earn.wait_for_order(ack)
    assert type(info) is DoubleWinOrderInfo and info.leverage == Decimal("9.3309793178843419")
    assert route.calls[0].request.url.params["category"] == "DoubleWin"
    with pytest.raises(InvalidRequest):
        await make_client().advance_earn.double_win.wait_for_order(
            OrderAck(order_id="1", order_link_id="x")  # type: ignore[arg-type]
        )


def test_a_redeem_is_frozen_and_evolves_as_its_own_kind() -> None:
    redeem = DoubleWinRedeemOrder.from_position(position(), estimate(), now=NOW)
    assert type(attrs.evolve(redeem, is_slippage_protected=False)) is DoubleWinRedeemOrder
