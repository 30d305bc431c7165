"""DualAssets results: decoding the docs' own examples (``tests.builders.dual_assets``),
and a quote's offers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from asyncexch import InvalidRequest, MalformedResponse, ServerTime, VirtualClock
from asyncexch._convert import decode
from asyncexch.bybit import (
    BybitVenue,
    DualAssetsDirection,
    DualAssetsOffer,
    DualAssetsOrderInfo,
    DualAssetsPosition,
    DualAssetsProduct,
    OrderMode,
    OrderStatus,
    OrderType,
    Page,
    PositionStatus,
    ProductStatus,
)
from asyncexch.bybit._dual_assets import QuoteBoard, quote_from_board
from tests.builders.bybit import ms, read
from tests.builders.dual_assets import (
    ORDER_RESULT,
    POSITION_RESULT,
    PRODUCT_RESULT,
    QUOTE_RESULT,
    QUOTED_MS,
)


def docs_product() -> DualAssetsProduct:
    (product,) = read(PRODUCT_RESULT, Page[DualAssetsProduct]).items
    return product


def test_product_decodes_from_the_documented_example() -> None:
    page = read(PRODUCT_RESULT, Page[DualAssetsProduct])
    assert page.category == "DualAssets"
    (product,) = page.items
    assert product == DualAssetsProduct(
        category="DualAssets",
        product_id="36340",
        base_coin="XRP",
        quote_coin="USDT",
        duration="1d",
        status=ProductStatus.AVAILABLE,
        is_vip_product=False,
        min_purchase_quote_amount=Decimal("10"),
        min_purchase_base_amount=Decimal("10"),
        remaining_amount_quote=Decimal("1000000"),
        remaining_amount_base=Decimal("10000"),
        order_precision_digital_quote=4,
        order_precision_digital_base=2,
        subscribe_start_at=ms(1773734400000),
        subscribe_end_at=ms(1773820799000),
        apply_start_at=ms(1773734400000),
        settlement_time=ms(1773907199000),
        expect_receive_at=ms(1773908399000),
    )
    assert product.status is ProductStatus.AVAILABLE
    assert type(product.order_precision_digital_base) is int


def test_a_products_rules_depend_on_the_direction() -> None:
    product = attrs.evolve(docs_product(), min_purchase_base_amount=Decimal("7"))
    buy, sell = DualAssetsDirection.BUY_LOW, "SellHigh"
    assert (product.invest_coin(buy), product.invest_coin(sell)) == ("USDT", "XRP")
    assert (product.min_purchase_amount(buy), product.min_purchase_amount(sell)) == (
        Decimal(10),
        Decimal(7),
    )
    assert (product.order_precision_digital(buy), product.order_precision_digital(sell)) == (4, 2)
    assert (product.remaining_amount(buy), product.remaining_amount(sell)) == (
        Decimal(1000000),
        Decimal(10000),
    )
    with pytest.raises(InvalidRequest) as caught:
        product.invest_coin("Sideways")
    assert caught.value.field == "direction"


def test_an_unknown_product_status_is_kept() -> None:
    body = PRODUCT_RESULT.replace('"Available"', '"Paused"')
    (product,) = read(body, Page[DualAssetsProduct]).items
    assert product.status == "Paused"
    assert not product.status.known


def board(body: str = QUOTE_RESULT) -> QuoteBoard:
    return read(body, QuoteBoard)


def test_quote_decodes_from_the_documented_example_into_offers() -> None:
    clock = VirtualClock(start=QUOTED_MS / 1000)
    venue = ServerTime(clock)
    venue.observe(QUOTED_MS, clock.time())
    product = docs_product()

    quote = quote_from_board(board(), "36340", server_time=venue, product=product)

    assert quote.category == "DualAssets"
    assert quote.product_id == "36340"
    assert quote.current_price == Decimal("1.5275")
    assert quote.product is product
    assert quote.fetched_at is not None
    assert abs(quote.fetched_at - ms(QUOTED_MS)) <= timedelta(milliseconds=1)
    assert [o.select_price for o in quote.buy_low] == [
        Decimal(p) for p in ("1.52", "1.51", "1.5", "1.4", "1.45", "1.527398")
    ]
    assert [o.select_price for o in quote.sell_high] == [
        Decimal(p) for p in ("1.54", "1.55", "1.52", "1.53")
    ]
    first = quote.buy_low[0]
    assert first == DualAssetsOffer(
        product_id="36340",
        direction=DualAssetsDirection.BUY_LOW,
        select_price=Decimal("1.52"),
        apy_e8=810810000,
        max_investment_amount=Decimal("2000"),
        expired_at=ms(1773814863140),
    )
    assert type(first.apy_e8) is int
    assert first.apy == Decimal("8.1081")
    assert first.product is product and first.server_time is venue
    assert first.fetched_at == quote.fetched_at
    assert all(o.direction is DualAssetsDirection.SELL_HIGH for o in quote.sell_high)
    assert quote.offers("SellHigh") == quote.sell_high
    assert quote.offers(DualAssetsDirection.BUY_LOW) == quote.buy_low
    # The docs' sell-high ladder offers 1.52, below the market 1.5275: read as given (the
    # venue decides what it offers; the client never judges a quote).
    assert quote.sell_high[2].select_price < quote.current_price
    # Measured on the venue's clock: 109.456 s left when the answer was written.
    assert first.expires_in() == timedelta(milliseconds=1773814863140 - QUOTED_MS)
    assert quote.buy_low[3].expires_in(ms(1773814764001)) == timedelta(milliseconds=-1)


def test_quote_apy_as_a_json_number_reads_the_same() -> None:
    """The table types ``apyE8`` as a string, the WebSocket table as int64: either reads."""
    as_numbers = QUOTE_RESULT.replace('"apyE8": "810810000"', '"apyE8": 810810000')
    assert as_numbers != QUOTE_RESULT
    numeric = quote_from_board(board(as_numbers), "36340", server_time=None, product=None)
    textual = quote_from_board(board(), "36340", server_time=None, product=None)
    assert numeric == textual
    assert numeric.buy_low[0].apy_e8 == 810810000


@pytest.mark.parametrize("apy", ['"8.1"', "8.1", '""', "true"])
def test_a_fractional_or_missing_apy_is_malformed(apy: str) -> None:
    with pytest.raises(MalformedResponse, match="apy"):
        board(QUOTE_RESULT.replace('"apyE8": "810810000"', f'"apyE8": {apy}', 1))


def test_a_product_without_quotes_has_no_offers_and_no_price() -> None:
    empty = board('{"category": "DualAssets", "list": []}')
    quote = quote_from_board(empty, "36340", server_time=None, product=None)
    assert (quote.current_price, quote.buy_low, quote.sell_high) == (None, (), ())
    assert quote.fetched_at is None


def test_a_quote_of_another_product_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="36341"):
        quote_from_board(board(), "36341", server_time=None, product=None)


def test_an_offers_expiry_needs_an_aware_now() -> None:
    offer = quote_from_board(board(), "36340", server_time=None, product=None).buy_low[0]
    assert offer.server_time is None
    assert offer.expires_in(ms(1773814863000)) == timedelta(milliseconds=140)
    with pytest.raises(InvalidRequest) as caught:
        offer.expires_in(datetime(2026, 3, 18, 6))
    assert caught.value.field == "now"


def test_order_info_decodes_from_the_documented_example() -> None:
    page = read(ORDER_RESULT, Page[DualAssetsOrderInfo])
    (info,) = page.items
    assert info == DualAssetsOrderInfo(
        order_id="ef9644c2-0c98-40e5-ae33-8aa5b6d85058",
        order_link_id="54b3589b-da55-4b17-acdd-aa75912c9eb9",
        product_id="36320",
        order_type=OrderType.STAKE,
        amount=Decimal("20"),
        status=OrderStatus.SUCCESS,
        created_time=ms(1773815357000),
        category="DualAssets",
        coin="USDT",
        base_coin="ETH",
        quote_coin="USDT",
        direction=DualAssetsDirection.BUY_LOW,
        target_price=Decimal("2325"),
        estimate_apy_e8=771808500,
        select_apy_e8=857565000,
        duration="3d",
        account_type="UNIFIED",
        to_account_type="",
        is_vip=False,
        order_mode=OrderMode.NORMAL,
        updated_time=ms(1773815357000),
        settlement_time=None,  # "0": not settled yet
        settlement_coin="ETH",
        settlement_amount=Decimal("0"),
        settlement_price=None,
        refund_status="",
        trial_bonus_amount=None,
        trial_bonus_pnl=None,
    )
    assert type(info.estimate_apy_e8) is int
    # The docs' own example: its estimated APY is below the APY chosen at order time (the
    # rule "fails if the confirmed APY is less" does not say which it compares), and its
    # orderLinkId has 36 characters where the create-order example sent 35 (…9eb).
    assert info.estimate_apy_e8 is not None and info.select_apy_e8 is not None
    assert info.estimate_apy_e8 < info.select_apy_e8
    assert len(info.order_link_id) == 36


def test_order_info_apys_as_json_numbers_or_empty() -> None:
    data = json.loads(ORDER_RESULT)
    item = data["list"][0]
    item.update(estimateApyE8=771808500, selectApyE8="", settlementTime=1774079999000)
    (info,) = decode(BybitVenue.converter, data, Page[DualAssetsOrderInfo]).items
    assert info.estimate_apy_e8 == 771808500
    assert info.select_apy_e8 is None
    assert info.settlement_time == ms(1774079999000)


def test_position_decodes_from_the_documented_example() -> None:
    (position,) = read(POSITION_RESULT, Page[DualAssetsPosition]).items
    assert position == DualAssetsPosition(
        position_id="19035",
        product_id="36320",
        amount=Decimal("20"),
        status=PositionStatus.ACTIVE,
        category="DualAssets",
        base_coin="ETH",
        quote_coin="USDT",
        invest_coin="USDT",
        apy_e8=902700000,
        direction=DualAssetsDirection.BUY_LOW,
        target_price=Decimal("2325"),
        settlement_time=ms(1774079999000),
        order_id="ef9644c2-0c98-40e5-ae33-8aa5b6d85058",
        duration="3d",
        expect_return_coin="USDT",
        expect_return_amount=Decimal("21.4838"),
        account_type="UNIFIED",
        to_account_type="FUND",
        yield_start_at=ms(1773820799000),
        yield_end_at=ms(1774079999000),
    )
    # The example's numbers agree: 20 USDT at 902.7 % for the 3 days of yield, truncated to
    # the quote coin's 4 places.
    days = Decimal((1774079999000 - 1773820799000) // 86_400_000)
    assert days == 3
    expected = position.amount * (1 + Decimal("9.027") * days / 365)
    assert expected.quantize(Decimal("0.0001"), rounding="ROUND_DOWN") == Decimal("21.4838")


def test_a_json_number_product_id_reads_as_its_digits() -> None:
    """Bybit's MCP server types ``productId`` as an integer: an answer writing it as a number
    reads as the same id."""
    (position,) = read(
        POSITION_RESULT.replace('"productId": "36320"', '"productId": 36320'),
        Page[DualAssetsPosition],
    ).items
    assert position.product_id == "36320"
