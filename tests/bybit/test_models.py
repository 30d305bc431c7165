"""Bybit Advance Earn models: decoding the documented answers and validating requests."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from asyncexch import (
    InvalidRequest,
    MalformedResponse,
    OrderStatusUnknown,
    ServerTime,
    VirtualClock,
    is_valid_order_link_id,
)
from asyncexch._convert import decode
from asyncexch.bybit import (
    BybitVenue,
    Direction,
    OrderAck,
    OrderInfo,
    OrderStatus,
    OrderType,
    Page,
    Position,
    PositionStatus,
    Product,
    Quote,
    RedeemEstimate,
    RedeemOrder,
    StakeOrder,
)
from asyncexch.bybit._models import EstimateList
from tests.builders.bybit import ms, read, redeem_order, stake_order

UTC = timezone.utc

# The "result" objects of the response examples in bybit-exchange/docs
# docs/v5/finance/advanced-earn/smart-lvg/*.mdx (see ../shared/reference/bybit-v5.md section 1).
PRODUCT_RESULT = """
{
    "category": "SmartLeverage",
    "list": [
        {
            "category": "SmartLeverage",
            "productId": "13015",
            "investCoin": "USDT",
            "underlyingAsset": "BTC",
            "direction": "Short",
            "leverage": "10",
            "duration": "7d",
            "expectReceiveAt": "1775635800000",
            "subscribeStartAt": "1775001600000",
            "subscribeEndAt": "1775087999000",
            "settlementTime": "1775635200000",
            "minPurchaseAmount": "10",
            "remainingAmount": "9994748366.907",
            "orderPrecisionDigital": 4
        }
    ]
}
"""
QUOTE_RESULT = """
{
    "productId": "12999",
    "breakevenPrice": "68650.62",
    "expireAt": "1775036984839",
    "maxInvestmentAmount": "1000",
    "currentPrice": "68403.67",
    "category": "SmartLeverage"
}
"""
QUOTE_WITHOUT_OFFER_RESULT = """
{
    "productId": "12999",
    "breakevenPrice": "",
    "expireAt": "",
    "maxInvestmentAmount": "",
    "currentPrice": "68403.67",
    "category": "SmartLeverage"
}
"""
PLACE_ORDER_RESULT = """
{"orderId": "97f198e9-b14b-4703-b4a6-a4aa06ba1499", "orderLinkId": "usdt-earn-007"}
"""
ORDER_RESULT = """
{
    "category": "SmartLeverage",
    "list": [
        {
            "orderId": "3e7d23fb-acc4-4853-9e32-ab0c0eb43985",
            "orderLinkId": "usdt-earn-008",
            "productId": "12999",
            "category": "SmartLeverage",
            "orderType": "Redeem",
            "investCoin": "USDT",
            "amount": "100",
            "underlyingAsset": "BTC",
            "direction": "Long",
            "leverage": "200",
            "breakevenPrice": "68622.69",
            "initialPrice": "68403",
            "settlementTime": "1775038327000",
            "duration": "2d",
            "createdTime": "1775038326000",
            "status": "Settled",
            "settlementPrice": "68566.72",
            "pnl": "83.6876",
            "refundStatus": "",
            "accountType": "",
            "toAccountType": "FUND"
        }
    ],
    "nextPageCursor": ""
}
"""
POSITION_RESULT = """
{
    "category": "SmartLeverage",
    "list": [
        {
            "positionId": "1252",
            "productId": "12959",
            "category": "SmartLeverage",
            "investCoin": "USDT",
            "underlyingAsset": "BTC",
            "direction": "Long",
            "leverage": "50",
            "amount": "1000",
            "breakevenPrice": "67367.16",
            "initialPrice": "67243.31",
            "duration": "1d",
            "settlementTime": "1774944000000",
            "createdTime": "1774838832000",
            "status": "Active",
            "redeemable": false,
            "accountType": "FUND",
            "orderLinkId": "",
            "orderId": "d7be0f06-af7b-4ae8-bd2f-37000d67edf2"
        }
    ],
    "nextPageCursor": ""
}
"""
ESTIMATE_RESULT = """
{
    "list": [
        {
            "success": true,
            "positionId": "1260",
            "estRedeemAmount": "975.0977",
            "estRedeemTime": "1775038305626",
            "slippageRate": "0.97"
        },
        {
            "success": true,
            "positionId": "1277",
            "estRedeemAmount": "76.8356",
            "estRedeemTime": "1775038305615",
            "slippageRate": "0.97"
        }
    ]
}
"""


def order_info(**changes: Any) -> dict[str, Any]:
    """A minimal order-info item, with ``changes``."""
    item: dict[str, Any] = {
        "orderId": "o-1",
        "orderLinkId": "l-1",
        "productId": "12999",
        "orderType": "Stake",
        "amount": "100",
        "status": "Pending",
        "createdTime": "1775038326000",
    }
    item.update(changes)
    return item


# --- decoding -------------------------------------------------------------------------------


def test_product_page_decodes_from_the_documented_example() -> None:
    page = read(PRODUCT_RESULT, Page[Product])
    assert page.category == "SmartLeverage"
    assert page.next_page_cursor == ""
    (product,) = page.items
    assert product == Product(
        category="SmartLeverage",
        product_id="13015",
        invest_coin="USDT",
        underlying_asset="BTC",
        direction=Direction.SHORT,
        leverage=Decimal("10"),
        duration="7d",
        min_purchase_amount=Decimal("10"),
        remaining_amount=Decimal("9994748366.907"),
        order_precision_digital=4,
        subscribe_start_at=ms(1775001600000),
        subscribe_end_at=ms(1775087999000),
        settlement_time=ms(1775635200000),
        expect_receive_at=ms(1775635800000),
    )
    assert product.direction is Direction.SHORT
    assert type(product.order_precision_digital) is int
    assert product.settlement_time is not None
    assert product.settlement_time.tzinfo is timezone.utc


def test_product_precision_must_be_an_integer() -> None:
    body = PRODUCT_RESULT.replace('"orderPrecisionDigital": 4', '"orderPrecisionDigital": 4.5')
    with pytest.raises(MalformedResponse, match=r"order_precision_digital|orderPrecisionDigital"):
        read(body, Page[Product])


def test_quote_decodes_from_the_documented_example() -> None:
    quote = read(QUOTE_RESULT, Quote)
    assert quote == Quote(
        category="SmartLeverage",
        product_id="12999",
        current_price=Decimal("68403.67"),
        breakeven_price=Decimal("68650.62"),
        expire_at=ms(1775036984839),
        max_investment_amount=Decimal("1000"),
    )
    assert quote.expire_at == datetime(2026, 4, 1, 9, 49, 44, 839000, tzinfo=UTC)


def test_quote_without_an_offer_has_none_for_the_empty_fields() -> None:
    quote = read(QUOTE_WITHOUT_OFFER_RESULT, Quote)
    assert quote.breakeven_price is None
    assert quote.expire_at is None
    assert quote.max_investment_amount is None
    assert quote.current_price == Decimal("68403.67")


def test_quote_needs_a_current_price() -> None:
    body = QUOTE_RESULT.replace('"currentPrice": "68403.67"', '"currentPrice": ""')
    with pytest.raises(MalformedResponse, match=r"current_price|currentPrice"):
        read(body, Quote)


def test_order_ack_decodes_from_the_documented_example() -> None:
    ack = read(PLACE_ORDER_RESULT, OrderAck)
    assert ack == OrderAck(
        order_id="97f198e9-b14b-4703-b4a6-a4aa06ba1499", order_link_id="usdt-earn-007"
    )


def test_order_info_decodes_from_the_documented_example() -> None:
    page = read(ORDER_RESULT, Page[OrderInfo])
    (info,) = page.items
    assert info == OrderInfo(
        order_id="3e7d23fb-acc4-4853-9e32-ab0c0eb43985",
        order_link_id="usdt-earn-008",
        product_id="12999",
        order_type=OrderType.REDEEM,
        amount=Decimal("100"),
        status=OrderStatus.SETTLED,
        created_time=ms(1775038326000),
        category="SmartLeverage",
        duration="2d",
        account_type="",
        invest_coin="USDT",
        underlying_asset="BTC",
        direction=Direction.LONG,
        leverage=Decimal("200"),
        breakeven_price=Decimal("68622.69"),
        initial_price=Decimal("68403"),
        settlement_time=ms(1775038327000),
        refund_status="",
        settlement_price=Decimal("68566.72"),
        pnl=Decimal("83.6876"),
        to_account_type="FUND",
    )
    assert info.status is OrderStatus.SETTLED
    assert info.order_type is OrderType.REDEEM
    assert info.direction is Direction.LONG


def test_position_decodes_from_the_documented_example() -> None:
    page = read(POSITION_RESULT, Page[Position])
    (position,) = page.items
    assert position == Position(
        position_id="1252",
        product_id="12959",
        amount=Decimal("1000"),
        status=PositionStatus.ACTIVE,
        redeemable=False,
        category="SmartLeverage",
        invest_coin="USDT",
        duration="1d",
        settlement_time=ms(1774944000000),
        account_type="FUND",
        order_id="d7be0f06-af7b-4ae8-bd2f-37000d67edf2",
        underlying_asset="BTC",
        direction=Direction.LONG,
        leverage=Decimal("50"),
        breakeven_price=Decimal("67367.16"),
        initial_price=Decimal("67243.31"),
        created_time=ms(1774838832000),
        order_link_id="",
    )
    assert position.status is PositionStatus.ACTIVE
    assert position.redeemable is False


def test_position_redeemable_true() -> None:
    page = read(
        POSITION_RESULT.replace('"redeemable": false', '"redeemable": true'), Page[Position]
    )
    assert page.items[0].redeemable is True


def test_redeem_estimates_decode_from_the_documented_example() -> None:
    estimates = read(ESTIMATE_RESULT, EstimateList).items
    assert estimates == [
        RedeemEstimate(
            success=True,
            position_id="1260",
            est_redeem_amount=Decimal("975.0977"),
            est_redeem_time=ms(1775038305626),
            slippage_rate=Decimal("0.97"),
        ),
        RedeemEstimate(
            success=True,
            position_id="1277",
            est_redeem_amount=Decimal("76.8356"),
            est_redeem_time=ms(1775038305615),
            slippage_rate=Decimal("0.97"),
        ),
    ]
    assert all(estimate.fetched_at is None for estimate in estimates)


def test_failed_redeem_estimate_with_empty_fields_decodes() -> None:
    body = (
        '{"list": [{"success": false, "positionId": "1277", "estRedeemAmount": "",'
        ' "estRedeemTime": "", "slippageRate": ""}]}'
    )
    (estimate,) = read(body, EstimateList).items
    assert estimate.success is False
    assert estimate.est_redeem_amount is None
    assert estimate.est_redeem_time is None
    assert estimate.slippage_rate is None


def test_estimate_success_string_false_is_false() -> None:
    # A "false" that became True would let from_estimate redeem on a failed estimate.
    body = '{"list": [{"success": "false", "positionId": "1277", "estRedeemAmount": "1"}]}'
    (estimate,) = read(body, EstimateList).items
    assert estimate.success is False


def test_null_position_id_is_malformed_not_the_string_none() -> None:
    body = '{"list": [{"success": true, "positionId": null, "estRedeemAmount": "1"}]}'
    with pytest.raises(MalformedResponse, match=r"position_id|positionId"):
        read(body, EstimateList)


def test_page_cursor_is_read() -> None:
    body = ORDER_RESULT.replace('"nextPageCursor": ""', '"nextPageCursor": "page2%3D"')
    assert read(body, Page[OrderInfo]).next_page_cursor == "page2%3D"


def test_json_number_amount_is_exact() -> None:
    body = '{"list": [' + _json(order_info(amount=6857.054400004785)) + "]}"
    (info,) = read(body, Page[OrderInfo]).items
    assert info.amount == Decimal("6857.054400004785")


def _json(item: dict[str, Any]) -> str:
    # Keep Python float reprs (shortest round trip) as the JSON number text.
    parts = []
    for key, value in item.items():
        text = repr(value) if isinstance(value, float) else f'"{value}"'
        parts.append(f'"{key}": {text}')
    return "{" + ", ".join(parts) + "}"


# --- statuses and directions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "member", "terminal"),
    [
        ("Pending", OrderStatus.PENDING, False),
        ("Success", OrderStatus.SUCCESS, True),
        ("Settled", OrderStatus.SETTLED, True),
        ("Fail", OrderStatus.FAIL, True),
    ],
)
def test_order_status_values(raw: str, member: OrderStatus, terminal: bool) -> None:
    info = decode(BybitVenue.converter, order_info(status=raw), OrderInfo)
    assert info.status is member
    assert info.status.known is True
    assert info.status.is_terminal is terminal


def test_unknown_order_status_decodes_as_unknown_and_not_terminal() -> None:
    info = decode(BybitVenue.converter, order_info(status="Processing"), OrderInfo)
    assert isinstance(info.status, OrderStatus)
    assert info.status.value == "Processing"
    assert str(info.status) == "Processing"
    assert info.status.known is False
    assert info.status.is_terminal is False


def test_status_spelled_like_a_member_name_is_not_known() -> None:
    # "SUCCESS" is not a value Bybit documents (it sends "Success"); the library does not know it.
    status = OrderStatus("SUCCESS")
    assert status.known is False
    assert status.is_terminal is False


def test_unknown_direction_and_order_type_decode() -> None:
    info = decode(
        BybitVenue.converter, order_info(direction="Sideways", orderType="Convert"), OrderInfo
    )
    assert isinstance(info.direction, Direction)
    assert info.direction.value == "Sideways"
    assert info.direction.known is False
    assert info.order_type.value == "Convert"
    assert info.order_type.known is False


def test_unknown_direction_on_a_product_decodes() -> None:
    product = read(PRODUCT_RESULT.replace('"Short"', '"Neutral"'), Page[Product]).items[0]
    assert product.direction.value == "Neutral"
    assert product.direction.known is False


def test_empty_direction_is_none() -> None:
    info = decode(BybitVenue.converter, order_info(direction=""), OrderInfo)
    assert info.direction is None


@pytest.mark.parametrize("status", [None, 3, True])
def test_non_string_status_is_malformed(status: object) -> None:
    with pytest.raises(MalformedResponse, match="status"):
        decode(BybitVenue.converter, order_info(status=status), OrderInfo)


# --- StakeOrder -----------------------------------------------------------------------------


def test_stake_order_params_follow_the_documented_body() -> None:
    order = stake_order(order_link_id="usdt-earn-007", amount=Decimal("1E+2"))
    assert order.to_params() == {
        "category": "SmartLeverage",
        "productId": "12999",
        "coin": "USDT",
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "orderLinkId": "usdt-earn-007",
        "smartLeverageStakeExtra": {"initialPrice": "68403", "breakevenPrice": "68650"},
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": 100.0}, "amount"),
        ({"amount": 100}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
        ({"amount": Decimal("Infinity")}, "amount"),
        ({"initial_price": Decimal("0")}, "initial_price"),
        ({"initial_price": 68403.67}, "initial_price"),
        ({"breakeven_price": None}, "breakeven_price"),
        ({"breakeven_price": Decimal("-68650")}, "breakeven_price"),
        ({"product_id": ""}, "product_id"),
        ({"product_id": 12999}, "product_id"),
        ({"coin": ""}, "coin"),
        ({"account_type": "SPOT"}, "account_type"),
        ({"account_type": "fund"}, "account_type"),
        ({"order_link_id": "a" * 37}, "order_link_id"),
        ({"order_link_id": "usdt.earn"}, "order_link_id"),
        ({"order_link_id": "usdt earn"}, "order_link_id"),
        ({"order_link_id": ""}, "order_link_id"),
    ],
)
def test_stake_order_validation(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        stake_order(**changes)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert field in str(caught.value)


def test_stake_order_accepts_the_limits() -> None:
    order = stake_order(order_link_id="a" * 36, account_type="UNIFIED")
    assert order.order_link_id == "a" * 36
    assert order.account_type == "UNIFIED"
    assert stake_order(order_link_id="A-z_0").order_link_id == "A-z_0"


def test_order_link_id_is_generated_unique_and_stable() -> None:
    orders = [stake_order() for _ in range(200)]
    ids = [order.order_link_id for order in orders]
    assert len(set(ids)) == len(ids)
    for order in orders:
        assert is_valid_order_link_id(order.order_link_id)
        assert order.order_link_id == order.order_link_id
        first = order.to_params()["orderLinkId"]
        second = order.to_params()["orderLinkId"]
        assert first == second == order.order_link_id


def test_explicit_order_link_id_is_kept() -> None:
    order = stake_order(order_link_id="my-intent_2026")
    assert order.order_link_id == "my-intent_2026"
    assert order.to_params()["orderLinkId"] == "my-intent_2026"


def test_stake_order_is_immutable() -> None:
    order = stake_order()
    with pytest.raises(AttributeError):
        order.order_link_id = "other"  # type: ignore[misc]


# --- RedeemOrder ----------------------------------------------------------------------------


def test_redeem_order_params_follow_the_documented_body() -> None:
    order = redeem_order(order_link_id="usdt-earn-008", is_slippage_protected=True)
    assert order.to_params() == {
        "category": "SmartLeverage",
        "productId": "12999",
        "orderType": "Redeem",
        "accountType": "FUND",
        "orderLinkId": "usdt-earn-008",
        "smartLeverageRedeemExtra": {
            "positionId": "1277",
            "estRedeemAmount": "77.8469",
            "isSlippageProtected": True,
        },
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"est_redeem_amount": Decimal("0")}, "est_redeem_amount"),
        ({"est_redeem_amount": Decimal("-1")}, "est_redeem_amount"),
        ({"est_redeem_amount": 77.8469}, "est_redeem_amount"),
        ({"est_redeem_amount": None}, "est_redeem_amount"),
        ({"est_redeem_amount": Decimal("NaN")}, "est_redeem_amount"),
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": 100.0}, "amount"),
        ({"position_id": ""}, "position_id"),
        ({"product_id": ""}, "product_id"),
        ({"coin": ""}, "coin"),
        ({"account_type": "SPOT"}, "account_type"),
        ({"is_slippage_protected": "true"}, "is_slippage_protected"),
        ({"is_slippage_protected": 1}, "is_slippage_protected"),
        ({"is_slippage_protected": None}, "is_slippage_protected"),
        ({"order_link_id": "x" * 37}, "order_link_id"),
        ({"order_link_id": "a.b"}, "order_link_id"),
    ],
)
def test_redeem_order_validation(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        redeem_order(**changes)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_redeem_order_optional_amount_and_coin() -> None:
    order = redeem_order(amount=Decimal("100"), coin="USDT")
    params = order.to_params()
    assert params["amount"] == "100"
    assert params["coin"] == "USDT"
    assert "amount" not in redeem_order().to_params()
    assert "coin" not in redeem_order().to_params()


FETCHED = datetime(2026, 4, 1, 10, 0, 0, tzinfo=UTC)


def estimate(**changes: Any) -> RedeemEstimate:
    fields: dict[str, Any] = {
        "success": True,
        "position_id": "1277",
        "est_redeem_amount": Decimal("76.8356"),
        "est_redeem_time": ms(1775038305615),
        "slippage_rate": Decimal("0.97"),
        "fetched_at": FETCHED,
    }
    fields.update(changes)
    return RedeemEstimate(**fields)


def test_from_estimate_copies_the_estimate() -> None:
    order = RedeemOrder.from_estimate(
        estimate(),
        product_id="12999",
        account_type="UNIFIED",
        is_slippage_protected=True,
        amount=Decimal("100"),
        coin="USDT",
        now=FETCHED + timedelta(minutes=3),
    )
    assert order.product_id == "12999"
    assert order.position_id == "1277"
    assert order.est_redeem_amount == Decimal("76.8356")
    assert order.account_type == "UNIFIED"
    assert order.is_slippage_protected is True
    assert order.amount == Decimal("100")
    assert order.coin == "USDT"
    assert is_valid_order_link_id(order.order_link_id)


def test_from_estimate_keeps_an_explicit_order_link_id() -> None:
    order = RedeemOrder.from_estimate(
        estimate(), product_id="12999", now=FETCHED, order_link_id="redeem-1277"
    )
    assert order.order_link_id == "redeem-1277"


def test_from_estimate_accepts_exactly_ten_minutes() -> None:
    order = RedeemOrder.from_estimate(
        estimate(), product_id="12999", now=FETCHED + timedelta(minutes=10)
    )
    assert order.est_redeem_amount == Decimal("76.8356")


def test_from_estimate_refuses_an_estimate_older_than_ten_minutes() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_estimate(
            estimate(), product_id="12999", now=FETCHED + timedelta(minutes=10, seconds=1)
        )
    assert caught.value.field == "estimate"


def test_from_estimate_max_age_is_configurable() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_estimate(
            estimate(),
            product_id="12999",
            now=FETCHED + timedelta(minutes=2),
            max_age=timedelta(minutes=1),
        )
    assert caught.value.field == "estimate"


@pytest.mark.parametrize(
    "changes",
    [{"success": False}, {"fetched_at": None}, {"est_redeem_amount": None}],
)
def test_from_estimate_refuses_unusable_estimates(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_estimate(estimate(**changes), product_id="12999", now=FETCHED)
    assert caught.value.field == "estimate"


def test_from_estimate_validates_the_order_it_builds() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_estimate(estimate(), product_id="", now=FETCHED)
    assert caught.value.field == "product_id"


def test_redeem_is_slippage_protected_unless_asked_not_to_be() -> None:
    assert redeem_order().is_slippage_protected is True
    assert redeem_order().to_params()["smartLeverageRedeemExtra"] == {
        "positionId": "1277",
        "estRedeemAmount": "77.8469",
        "isSlippageProtected": True,
    }
    assert RedeemOrder.from_estimate(
        estimate(), product_id="12999", now=FETCHED
    ).is_slippage_protected
    unprotected = RedeemOrder.from_estimate(
        estimate(), product_id="12999", now=FETCHED, is_slippage_protected=False
    )
    assert unprotected.to_params()["smartLeverageRedeemExtra"] == {
        "positionId": "1277",
        "estRedeemAmount": "76.8356",
        "isSlippageProtected": False,
    }


def test_a_venue_cannot_set_the_clients_own_fields() -> None:
    """fetchedAt/clock in an answer are ignored: when the client got it is the client's."""
    body = ESTIMATE_RESULT.replace(
        '"success": true,', '"success": true, "fetchedAt": "1", "clock": {"x": 1},', 1
    )
    first = read(body, EstimateList).items[0]
    assert first.fetched_at is None and first.clock is None
    quote = read(QUOTE_RESULT.replace("{", '{"serverTime": 5, "product": "x",', 1), Quote)
    assert quote.server_time is None and quote.product is None


# --- RedeemOrder.from_position ------------------------------------------------------------------


def position(**changes: Any) -> Position:
    fields: dict[str, Any] = {
        "position_id": "1277",
        "product_id": "12999",
        "amount": Decimal("100"),
        "status": PositionStatus.ACTIVE,
        "redeemable": True,
        "invest_coin": "USDT",
        "account_type": "UNIFIED",
    }
    fields.update(changes)
    return Position(**fields)


def test_from_position_takes_the_staked_amount_coin_and_account_from_the_position() -> None:
    order = RedeemOrder.from_position(position(), estimate(), now=FETCHED)

    assert order.to_params() == {
        "category": "SmartLeverage",
        "productId": "12999",
        "orderType": "Redeem",
        "amount": "100",  # staked, not the estimate
        "coin": "USDT",
        "accountType": "UNIFIED",
        "orderLinkId": order.order_link_id,
        "smartLeverageRedeemExtra": {
            "positionId": "1277",
            "estRedeemAmount": "76.8356",
            "isSlippageProtected": True,
        },
    }


def test_from_position_options() -> None:
    order = RedeemOrder.from_position(
        position(account_type=""),
        estimate(),
        slippage_protected=False,
        now=FETCHED,
        order_link_id="exit-1277",
    )
    assert order.account_type == "FUND"  # the position does not say: the funding account
    assert order.is_slippage_protected is False
    assert order.order_link_id == "exit-1277"
    assert (
        RedeemOrder.from_position(
            position(), estimate(), account_type="FUND", now=FETCHED
        ).account_type
        == "FUND"
    )


@pytest.mark.parametrize(
    ("pos", "est", "field"),
    [
        ({}, {"position_id": "1278"}, "estimate"),
        ({}, {"success": False}, "estimate"),
        ({}, {"fetched_at": FETCHED - timedelta(minutes=11)}, "estimate"),
        ({}, {"fetched_at": None}, "estimate"),
        ({"redeemable": False}, {}, "position"),
        ({"invest_coin": ""}, {}, "position"),
    ],
    ids=["other-position", "failed", "stale", "unstamped", "not-redeemable", "no-coin"],
)
def test_from_position_refuses_before_sending(
    pos: dict[str, Any], est: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_position(position(**pos), estimate(**est), now=FETCHED)
    assert caught.value.field == field


def test_from_position_refuses_arguments_of_the_wrong_kind() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_position(estimate(), estimate(), now=FETCHED)  # type: ignore[arg-type]
    assert caught.value.field == "position"
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_position(position(), position(), now=FETCHED)  # type: ignore[arg-type]
    assert caught.value.field == "estimate"


def test_naive_now_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_position(position(), estimate(), now=datetime(2026, 4, 1, 10))
    assert caught.value.field == "now"


# --- StakeOrder.from_quote ----------------------------------------------------------------------

EXPIRES = ms(1775036984839)


def quote(**changes: Any) -> Quote:
    fields: dict[str, Any] = {
        "category": "SmartLeverage",
        "product_id": "12999",
        "current_price": Decimal("68403.67"),
        "breakeven_price": Decimal("68650.62"),
        "expire_at": EXPIRES,
        "max_investment_amount": Decimal("1000"),
    }
    fields.update(changes)
    return Quote(**fields)


def product(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "category": "SmartLeverage",
        "product_id": "12999",
        "invest_coin": "USDC",
        "underlying_asset": "BTC",
        "direction": "Long",
        "leverage": Decimal("10"),
        "duration": "7d",
        "min_purchase_amount": Decimal("10"),
        "remaining_amount": Decimal("5000"),
        "order_precision_digital": 2,
    }
    fields.update(changes)
    return Product(**fields)


def test_from_quote_takes_the_offer() -> None:
    order = StakeOrder.from_quote(
        quote(), amount=Decimal("100"), now=EXPIRES - timedelta(seconds=30)
    )
    assert order.to_params() == {
        "category": "SmartLeverage",
        "productId": "12999",
        "coin": "USDT",  # SmartLeverage's invest coin when the product is not known
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "orderLinkId": order.order_link_id,
        "smartLeverageStakeExtra": {"initialPrice": "68403.67", "breakevenPrice": "68650.62"},
    }


def test_from_quote_uses_the_known_product_and_checks_the_amount_against_it() -> None:
    now = EXPIRES - timedelta(seconds=30)
    listed = quote(product=product())
    order = StakeOrder.from_quote(listed, amount=Decimal("10.50"), account_type="UNIFIED", now=now)
    assert (order.coin, order.account_type, order.amount) == ("USDC", "UNIFIED", Decimal("10.50"))
    assert StakeOrder.from_quote(listed, amount=Decimal("20"), coin="BTC", now=now).coin == "BTC"
    for amount in (Decimal("9.99"), Decimal("10.001"), Decimal("1E-3")):
        with pytest.raises(InvalidRequest) as caught:
            StakeOrder.from_quote(listed, amount=amount, now=now)
        assert caught.value.field == "amount"
    # the product can also be given, and must be the quoted one
    explicit = StakeOrder.from_quote(quote(), amount=Decimal("12"), product=product(), now=now)
    assert explicit.coin == "USDC"
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(quote(), amount=Decimal("12"), product=product(product_id="1"))
    assert caught.value.field == "product"


@pytest.mark.parametrize(
    ("changes", "now", "field"),
    [
        ({"breakeven_price": None}, EXPIRES - timedelta(minutes=1), "quote"),
        ({"expire_at": None}, EXPIRES - timedelta(minutes=1), "quote"),
        ({}, EXPIRES + timedelta(milliseconds=1), "quote"),
        ({}, EXPIRES - timedelta(seconds=1), "quote"),  # inside the 2 s margin
        ({"max_investment_amount": Decimal("99.99")}, EXPIRES - timedelta(minutes=1), "amount"),
    ],
    ids=["no-offer", "no-expiry", "expired", "about-to-expire", "above-max"],
)
def test_from_quote_refuses_before_sending(
    changes: dict[str, Any], now: datetime, field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(quote(**changes), amount=Decimal("100"), now=now)
    assert caught.value.field == field


@pytest.mark.parametrize("amount", [100.0, 100, "100", Decimal("0"), Decimal("NaN")], ids=repr)
def test_from_quote_refuses_an_amount_that_is_not_a_positive_decimal(amount: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(quote(), amount=amount, now=EXPIRES - timedelta(minutes=1))
    assert caught.value.field == "amount"


def test_from_quote_margin_is_configurable() -> None:
    now = EXPIRES - timedelta(seconds=10)
    assert StakeOrder.from_quote(quote(), amount=Decimal("100"), now=now).amount == 100
    with pytest.raises(InvalidRequest):
        StakeOrder.from_quote(quote(), amount=Decimal("100"), now=now, margin=timedelta(seconds=11))


def test_quote_expiry_is_measured_on_the_venues_clock() -> None:
    """The client's clock is an hour slow: the venue's time (learned from its answers), not
    this machine's, says the quote expired."""
    clock = VirtualClock(start=EXPIRES.timestamp() - 3600)
    venue = ServerTime(clock)
    venue.observe(int(EXPIRES.timestamp() * 1000) + 5, clock.time())
    stale = quote(server_time=venue)

    remaining = stale.expires_in()
    assert remaining is not None and remaining < timedelta(0)
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(stale, amount=Decimal("100"))
    assert caught.value.field == "quote"
    assert quote(breakeven_price=None).expires_in() is None


# --- hand-built inputs get typed errors, never an internal one --------------------------------


@pytest.mark.parametrize(
    ("quote_changes", "kwargs", "field"),
    [
        ({"expire_at": datetime(2026, 4, 1, 10)}, {}, "quote.expire_at"),
        ({"max_investment_amount": Decimal("NaN")}, {}, "quote.max_investment_amount"),
        ({"product": product(min_purchase_amount=Decimal("NaN"))}, {}, "product"),
        ({"product": product(order_precision_digital=-1)}, {}, "product"),
        ({}, {"margin": 2}, "margin"),
        ({}, {"product": "12999"}, "product"),
    ],
    ids=[
        "naive-expiry",
        "nan-max",
        "nan-minimum",
        "negative-precision",
        "margin-int",
        "product-str",
    ],
)
def test_from_quote_refuses_broken_hand_built_inputs(
    quote_changes: dict[str, Any], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        StakeOrder.from_quote(
            quote(**quote_changes),
            amount=Decimal("100"),
            now=EXPIRES - timedelta(minutes=1),
            **kwargs,
        )
    assert caught.value.field == field


def test_from_estimate_refuses_a_naive_fetch_time_and_a_bad_max_age() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_estimate(
            estimate(fetched_at=datetime(2026, 4, 1, 10)), product_id="12999", now=FETCHED
        )
    assert caught.value.field == "estimate.fetched_at"
    with pytest.raises(InvalidRequest) as caught:
        RedeemOrder.from_estimate(estimate(), product_id="12999", now=FETCHED, max_age=600)  # type: ignore[arg-type]
    assert caught.value.field == "max_age"


# --- a request of the wrong type, a request carried by an error ----------------------------


def stake(amount: object) -> StakeOrder:
    return stake_order(amount=amount)


@pytest.mark.parametrize(("build", "field"), [(stake, "amount")], ids=["bybit"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (100, "must be a decimal.Decimal: write Decimal('100'), got 100"),
        ("100", "must be a decimal.Decimal: write Decimal('100'), got '100'"),
        (0.1, "never a float (a float is not exact): write Decimal('0.1'), got 0.1"),
        (True, "must be a decimal.Decimal, got True"),
        ("a lot", "must be a decimal.Decimal, got 'a lot'"),
    ],
)
def test_an_amount_of_the_wrong_type_says_what_to_write(
    build: Callable[[object], object], field: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build(value)

    assert caught.value.field == field
    assert says in str(caught.value)


def test_an_unknown_order_carrying_its_stake_order_pickles_and_copies_whole() -> None:
    """place_orders returns errors carrying the orders: a result list from a process pool
    must come back whole."""
    order = stake_order(order_link_id="pickled-1")
    error = OrderStatusUnknown("lost", request=order, sent_at=1_700_000_000.5)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(error, protocol))
        assert type(back) is OrderStatusUnknown
        assert (str(back), back.args, vars(back)) == (str(error), error.args, vars(error))
        assert back.request == order and back.request is not order
    assert vars(copy.deepcopy(error)) == vars(error)
