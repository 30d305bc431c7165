"""DiscountBuy results: decoding the docs' own examples (``tests.builders.discount_buy``),
the quote's offers (``instUid`` kept as received, ``expiredAt`` ``"0"``), and reading them
through ``advance_earn.discount_buy``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import respx

from asyncexch import InvalidRequest, MalformedResponse, ServerTime, VirtualClock
from asyncexch.bybit import (
    BybitClient,
    DiscountBuyOffer,
    DiscountBuyOrderInfo,
    DiscountBuyPosition,
    DiscountBuyPositionStatus,
    DiscountBuyProduct,
    DiscountBuyRefundStatus,
    OrderStatus,
    OrderType,
    Page,
    SettleType,
)
from asyncexch.bybit._discount_buy import OfferBoard, quote_from_board
from tests.builders.bybit import ORDER, POSITION, PRODUCT, QUOTE, ms, ok, read
from tests.builders.discount_buy import (
    ORDER_RESULT,
    POSITION_RESULT,
    PRODUCT_RESULT,
    QUOTE_RESULT,
    QUOTED_MS,
)

MakeClient = Callable[..., BybitClient]


def answer(result: str) -> httpx.Response:
    return ok(json.loads(result))


def board(body: str = QUOTE_RESULT) -> OfferBoard:
    return read(body, OfferBoard)


def test_products_decode_from_the_documented_example() -> None:
    page = read(PRODUCT_RESULT, Page[DiscountBuyProduct])
    assert page.category == ""  # as the example writes it
    vip, plain = page.items
    assert plain == DiscountBuyProduct(
        category="DiscountBuy",
        product_id="7037",
        coin="USDT",
        underlying_asset="BTC",
        duration="1d",
        min_purchase_amount=Decimal("100"),
        remaining_amount=Decimal("9998547.575"),
        order_precision_digital=4,
        is_vip_product=False,
        subscribe_start_at=ms(1776124800000),
        subscribe_end_at=ms(1776211199000),
        settlement_time=ms(1776240000000),
        expect_receive_at=ms(1776240900000),
    )
    assert (vip.product_id, vip.is_vip_product, vip.remaining_amount) == (
        "7038",
        True,
        Decimal("10000000"),
    )
    assert plain.expect_receive_at is not None and plain.settlement_time is not None
    assert plain.expect_receive_at - plain.settlement_time == timedelta(minutes=15)


def test_the_quote_decodes_from_the_documented_example_into_offers() -> None:
    clock = VirtualClock(start=QUOTED_MS / 1000)
    venue = ServerTime(clock)
    venue.observe(QUOTED_MS, clock.time())
    (product,) = [
        p for p in read(PRODUCT_RESULT, Page[DiscountBuyProduct]).items if p.product_id == "7037"
    ]

    quote = quote_from_board(board(), "7037", server_time=venue, product=product)

    assert (quote.category, quote.product_id, quote.product) == ("DiscountBuy", "7037", product)
    assert quote.current_price == Decimal("74514.26")
    (offer,) = quote.offers
    assert offer == DiscountBuyOffer(
        product_id="7037",
        current_price=Decimal("74514.26"),
        purchase_price=Decimal("74014"),
        knockout_price=Decimal("76000"),
        knockout_coupon_e8=1000000,
        max_investment_amount=Decimal("100000"),
        inst_uid="100307526",
        expired_at=ms(1776153608188),
    )
    assert type(offer.inst_uid) is str and type(offer.knockout_coupon_e8) is int
    assert offer.knockout_coupon == Decimal("0.01")
    assert offer.product is product and offer.server_time is venue
    assert offer.fetched_at == quote.fetched_at
    # Measured on the venue's clock: 13.813 s left when the answer was written.
    assert offer.expires_in() == timedelta(milliseconds=1776153608188 - QUOTED_MS)


def test_the_mcp_servers_numbers_read_too_and_inst_uid_stays_a_number() -> None:
    """Bybit's MCP server and skill write ``instUid`` and ``knockoutCouponE8`` as JSON
    numbers: the coupon reads the same, the id is kept as the number it came as."""
    numbers = QUOTE_RESULT.replace('"instUid": "100307526"', '"instUid": 100307526').replace(
        '"knockoutCouponE8": "1000000"', '"knockoutCouponE8": 1000000'
    )
    (offer,) = quote_from_board(board(numbers), "7037", server_time=None, product=None).offers
    assert offer.inst_uid == 100307526 and type(offer.inst_uid) is int
    assert offer.knockout_coupon_e8 == 1000000


def test_an_offer_without_expiry_never_expires() -> None:
    body = QUOTE_RESULT.replace('"expiredAt": "1776153608188"', '"expiredAt": "0"')
    (offer,) = quote_from_board(board(body), "7037", server_time=None, product=None).offers
    assert offer.expired_at is None
    assert offer.expires_in() is None
    assert offer.expires_in(ms(4_000_000_000_000)) is None


@pytest.mark.parametrize("uid", ['""', "true", "1.5", "null", "[1]"])
def test_an_inst_uid_neither_text_nor_whole_is_malformed(uid: str) -> None:
    body = QUOTE_RESULT.replace('"instUid": "100307526"', f'"instUid": {uid}')
    with pytest.raises(MalformedResponse, match="instUid"):
        quote_from_board(board(body), "7037", server_time=None, product=None)


def test_a_product_without_offers_has_none_and_no_price() -> None:
    quote = quote_from_board(board('{"offers": []}'), "7037", server_time=None, product=None)
    assert (quote.offers, quote.current_price, quote.fetched_at) == ((), None, None)


def test_offers_of_another_product_are_malformed() -> None:
    with pytest.raises(MalformedResponse, match="7037"):
        quote_from_board(board(), "7038", server_time=None, product=None)


def test_an_offers_expiry_needs_an_aware_now() -> None:
    (offer,) = quote_from_board(board(), "7037", server_time=None, product=None).offers
    assert offer.expires_in(ms(1776153608000)) == timedelta(milliseconds=188)
    with pytest.raises(InvalidRequest) as caught:
        offer.expires_in(datetime(2026, 4, 14, 8))
    assert caught.value.field == "now"


def test_order_info_decodes_from_the_documented_example() -> None:
    (info,) = read(ORDER_RESULT, Page[DiscountBuyOrderInfo]).items
    assert info == DiscountBuyOrderInfo(
        order_id="38f6f5ce-57e2-4d69-b4d3-c39464389ccb",
        order_link_id="my-order-001",
        product_id="7037",
        category="DiscountBuy",
        order_type=OrderType.STAKE,
        amount=Decimal("200"),
        coin="USDT",
        underlying_asset="BTC",
        status=OrderStatus.SUCCESS,
        created_time=ms(1776154116000),
        purchase_price=Decimal("74019"),
        knockout_price=Decimal("76050"),
        knockout_coupon_e8=1000000,
        duration="1d",
        settlement_time=ms(1776240000000),
        account_type="FUND",
        to_account_type="",
        settlement_price=None,
        settlement_coin="",
        settlement_amount=None,
        settle_type=SettleType.BASE,
        is_vip=False,
        refund_status=None,
    )


@pytest.mark.parametrize(
    ("status", "member"),
    [
        ("REFUNDING", DiscountBuyRefundStatus.REFUNDING),
        ("REFUND_DONE", DiscountBuyRefundStatus.REFUND_DONE),
    ],
)
def test_a_failed_orders_refund_status_reads(status: str, member: DiscountBuyRefundStatus) -> None:
    body = (
        ORDER_RESULT.replace('"status": "Success"', '"status": "Fail"')
        .replace('"refundStatus": ""', f'"refundStatus": "{status}"')
        .replace('"toAccountType": ""', '"toAccountType": "FUND"')
    )
    (info,) = read(body, Page[DiscountBuyOrderInfo]).items
    assert (info.status, info.refund_status, info.to_account_type) == (
        OrderStatus.FAIL,
        member,
        "FUND",
    )
    assert info.status.is_terminal and info.refund_status is not None
    assert info.refund_status.known


def test_a_settled_order_and_unknown_values_read() -> None:
    body = (
        ORDER_RESULT.replace('"status": "Success"', '"status": "Settled"')
        .replace('"settlementPrice": ""', '"settlementPrice": "73000.5"')
        .replace('"settlementCoin": ""', '"settlementCoin": "BTC"')
        .replace('"settlementAmount": ""', '"settlementAmount": "0.00270201"')
        .replace('"settleType": "Base"', '"settleType": "Both"')
        .replace('"refundStatus": ""', '"refundStatus": "REFUND_LATER"')
    )
    (info,) = read(body, Page[DiscountBuyOrderInfo]).items
    assert (info.settlement_price, info.settlement_coin, info.settlement_amount) == (
        Decimal("73000.5"),
        "BTC",
        Decimal("0.00270201"),
    )
    assert info.settle_type == "Both" and not info.settle_type.known
    assert info.refund_status == "REFUND_LATER" and not info.refund_status.known


def test_position_decodes_from_the_documented_example() -> None:
    (position,) = read(POSITION_RESULT, Page[DiscountBuyPosition]).items
    assert position == DiscountBuyPosition(
        position_id="11959",
        product_id="7037",
        category="DiscountBuy",
        coin="USDT",
        underlying_asset="BTC",
        amount=Decimal("200"),
        purchase_price=Decimal("74019"),
        knockout_price=Decimal("76050"),
        knockout_coupon_e8=1000000,
        status=DiscountBuyPositionStatus.ACTIVE,
        order_id="38f6f5ce-57e2-4d69-b4d3-c39464389ccb",
        duration="1d",
        settlement_time=ms(1776240000000),
        account_type="FUND",
        to_account_type="FUND",
        settle_type=SettleType.BASE,
        expect_receive_at=ms(1776240900000),
    )
    settling = read(POSITION_RESULT.replace('"Active"', '"Settling"'), Page[DiscountBuyPosition])
    assert settling.items[0].status is DiscountBuyPositionStatus.SETTLING


# --- through the client -------------------------------------------------------------------


async def test_the_category_reads_products_quotes_orders_and_positions(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    products = bybit_mock.get(PRODUCT).mock(return_value=answer(PRODUCT_RESULT))
    quotes = bybit_mock.get(QUOTE).mock(return_value=answer(QUOTE_RESULT))
    orders = bybit_mock.get(ORDER).mock(return_value=answer(ORDER_RESULT))
    positions = bybit_mock.get(POSITION).mock(return_value=answer(POSITION_RESULT))
    discount = make_client().advance_earn.discount_buy
    assert discount.category == "DiscountBuy"

    listed = await discount.products(coin="BTC")
    quote = await discount.quote("7037")
    (info,) = [info async for info in discount.orders(order_link_id="my-order-001")]
    (position,) = [position async for position in discount.positions(product_id="7037")]

    assert [p.product_id for p in listed] == ["7038", "7037"]
    assert quote.product is listed[1] and quote.offers[0].product is listed[1]
    assert quote.offers[0].server_time is not None
    assert (info.order_link_id, position.position_id) == ("my-order-001", "11959")
    assert products.calls.last.request.url.query == b"category=DiscountBuy&coin=BTC"
    assert quotes.calls.last.request.url.query == b"category=DiscountBuy&productId=7037"
    assert orders.calls.last.request.url.query == (
        b"category=DiscountBuy&limit=20&orderLinkId=my-order-001"
    )
    assert positions.calls.last.request.url.query == b"category=DiscountBuy&limit=20&productId=7037"
