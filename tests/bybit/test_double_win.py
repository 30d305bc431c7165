"""DoubleWin: the docs' own examples decoded, the reader's requests on the wire (products,
the fixed quote, the signed RFQ leverage quote, orders, positions, shared redeem estimates)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
import respx

from asyncexch import InvalidRequest, VirtualClock
from asyncexch._convert import loads_exact
from asyncexch.bybit import (
    BybitClient,
    DoubleWinLeverage,
    DoubleWinOrderInfo,
    DoubleWinPosition,
    DoubleWinProduct,
    DoubleWinQuote,
    OrderStatus,
    OrderType,
    Page,
    PositionStatus,
)
from tests.builders import double_win as docs
from tests.builders.bybit import ESTIMATE, ORDER, POSITION, PRODUCT, QUOTE, ms, ok, read

MakeClient = Callable[..., BybitClient]
LEVERAGE = "/v5/earn/advance/double-win-leverage"


def test_the_rfq_product_decodes_from_the_docs() -> None:
    (product,) = read(docs.PRODUCT_RESULT, Page[DoubleWinProduct]).items
    assert product == DoubleWinProduct(
        category="DoubleWin",
        product_id="14092",
        invest_coin="USDT",
        underlying_asset="BTC",
        duration="2d",
        min_purchase_amount=Decimal("10"),
        order_precision_digital=4,
        is_rfq_product=True,
        lower_price_buffer=None,
        upper_price_buffer=None,
        min_deviation_ratio=Decimal("0.01"),
        max_deviation_ratio=Decimal("0.15"),
        price_tick_size=Decimal("500"),
        subscribe_start_at=ms(1775088000000),
        subscribe_end_at=ms(1775174399000),
        settlement_time=ms(1775289600000),
        expect_receive_at=ms(1775290500000),
    )


def test_the_fixed_quote_decodes_exactly_from_the_docs() -> None:
    quote = read(docs.QUOTE_RESULT, DoubleWinQuote)
    assert quote == DoubleWinQuote(
        category="DoubleWin",
        product_id="14084",
        current_price=Decimal("66628.76"),
        leverage=Decimal("9.30452991038687184855947115"),
        expire_time=ms(1775102611946),
        max_investment_amount=Decimal("1000"),
    )
    assert str(quote.leverage) == "9.30452991038687184855947115"
    assert quote.expires_in(ms(1775102601946)) == ms(1775102611946) - ms(1775102601946)


def test_a_fixed_quote_without_an_offer_has_none() -> None:
    body = '{"productId":"1","leverage":"","expireTime":"","maxInvestmentAmount":"",'
    quote = read(body + '"currentPrice":"66628.76","category":"DoubleWin"}', DoubleWinQuote)
    assert (quote.leverage, quote.expire_time, quote.max_investment_amount) == (None,) * 3
    assert quote.expires_in() is None


def test_the_rfq_leverage_decodes_from_the_docs() -> None:
    assert read(docs.LEVERAGE_RESULT, DoubleWinLeverage) == DoubleWinLeverage(
        product_id="14092",
        initial_price=Decimal("66333.94"),
        lower_price=Decimal("63000"),
        upper_price=Decimal("70000"),
        leverage=Decimal("241.15"),
        expire_time=ms(1775106748000),
        max_investment_amount=Decimal("10000"),
    )


def test_order_and_position_decode_from_the_docs() -> None:
    (order,) = read(docs.ORDER_RESULT, Page[DoubleWinOrderInfo]).items
    assert order.order_type is OrderType.STAKE and order.status is OrderStatus.SUCCESS
    assert (order.leverage, order.lower_price, order.upper_price) == (
        Decimal("9.3309793178843419"),
        Decimal("66245.69"),
        Decimal("66645.69"),
    )
    assert (order.settlement_price, order.pnl, order.to_account_type) == (None, None, "")
    assert order.settlement_time == ms(1775203200000) and order.category == "DoubleWin"
    (position,) = read(docs.POSITION_RESULT, Page[DoubleWinPosition]).items
    assert position == DoubleWinPosition(
        position_id="2848",
        product_id="14084",
        amount=Decimal("150"),
        status=PositionStatus.ACTIVE,
        redeemable=True,
        invest_coin="USDT",
        underlying_asset="BTC",
        leverage=Decimal("9.3309793178843419"),
        initial_price=Decimal("66445.69"),
        lower_price=Decimal("66245.69"),
        upper_price=Decimal("66645.69"),
        duration="1d",
        settlement_time=ms(1775203200000),
        created_time=ms(1775107014000),
        account_type="FUND",
        order_id="05184c23-8a98-456c-a2af-0ef1c45116cc",
    )


# --- the reader on the wire -----------------------------------------------------------------


async def test_products_and_the_fixed_quote_ask_for_double_win(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    fixed = loads_exact(docs.PRODUCT_RESULT)
    fixed["list"][0].update(
        productId="14084", isRfqProduct=False, lowerPriceBuffer="200", upperPriceBuffer="200"
    )
    products = bybit_mock.get(PRODUCT).mock(return_value=ok(fixed))
    quote = bybit_mock.get(QUOTE).mock(return_value=ok(loads_exact(docs.QUOTE_RESULT)))
    double_win = make_client().advance_earn.double_win
    (product,) = await double_win.products(coin="BTC")
    got = await double_win.quote("14084")
    assert products.calls[0].request.url.params == httpx.QueryParams(
        {"category": "DoubleWin", "coin": "BTC"}
    )
    assert quote.calls[0].request.url.params == httpx.QueryParams(
        {"category": "DoubleWin", "productId": "14084"}
    )
    assert "X-BAPI-SIGN" not in quote.calls[0].request.headers
    assert got.product is product and got.server_time is not None
    assert product.lower_price_buffer == Decimal("200")


async def test_the_leverage_quote_is_signed_and_sends_the_docs_query(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    route = bybit_mock.get(LEVERAGE).mock(return_value=ok(loads_exact(docs.LEVERAGE_RESULT)))
    double_win = make_client().advance_earn.double_win
    quote = await double_win.leverage(
        "14092",
        initial_price=Decimal("66333.94"),
        lower_price=Decimal("63000"),
        upper_price=Decimal("70000"),
    )
    request = route.calls[0].request
    # The docs' request example's parameters (the client sorts them); no category.
    assert request.url.query == (
        b"initialPrice=66333.94&lowerPrice=63000&productId=14092&upperPrice=70000"
    )
    assert "X-BAPI-SIGN" in request.headers
    assert quote.leverage == Decimal("241.15") and quote.server_time is not None


@pytest.mark.parametrize(
    ("lower", "upper", "field"),
    [
        ("66500", "70000", "lower_price"),  # above the initial price
        ("63000", "66000", "lower_price"),  # upper below it
        ("63250", "70000", "lower_price"),  # off the 500 tick
        ("63000", "70250", "upper_price"),
        ("66000", "70000", "lower_price"),  # 0.5 % away: below the 1 % minimum
        ("55000", "70000", "lower_price"),  # 17 % away: above the 15 % maximum
    ],
)
async def test_a_bad_range_is_refused_before_sending(
    make_client: MakeClient, bybit_mock: respx.MockRouter, lower: str, upper: str, field: str
) -> None:
    bybit_mock.get(PRODUCT).mock(return_value=ok(loads_exact(docs.PRODUCT_RESULT)))
    route = bybit_mock.get(LEVERAGE).mock(return_value=ok(loads_exact(docs.LEVERAGE_RESULT)))
    double_win = make_client().advance_earn.double_win
    await double_win.products()
    with pytest.raises(InvalidRequest) as caught:
        await double_win.leverage(
            "14092",
            initial_price=Decimal("66333.94"),
            lower_price=Decimal(lower),
            upper_price=Decimal(upper),
        )
    assert caught.value.field == field
    assert route.call_count == 0


async def test_an_rfq_product_has_no_fixed_quote(
    make_client: MakeClient, bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get(PRODUCT).mock(return_value=ok(loads_exact(docs.PRODUCT_RESULT)))
    double_win = make_client().advance_earn.double_win
    await double_win.products()
    with pytest.raises(InvalidRequest, match="RFQ product"):
        await double_win.quote("14092")


async def test_orders_positions_and_estimates_ask_for_double_win(
    make_client: MakeClient, bybit_mock: respx.MockRouter, clock: VirtualClock
) -> None:
    orders = bybit_mock.get(ORDER).mock(return_value=ok(loads_exact(docs.ORDER_RESULT)))
    positions = bybit_mock.get(POSITION).mock(return_value=ok(loads_exact(docs.POSITION_RESULT)))
    estimates = bybit_mock.get(ESTIMATE).mock(return_value=ok(loads_exact(docs.ESTIMATE_RESULT)))
    double_win = make_client().advance_earn.double_win
    assert [o.order_link_id async for o in double_win.orders()] == ["usdt-earn-009"]
    assert [p.position_id async for p in double_win.positions(coin="BTC")] == ["2848"]
    (estimate,) = await double_win.redeem_estimates(["2847"])
    assert orders.calls[0].request.url.params["category"] == "DoubleWin"
    assert positions.calls[0].request.url.params["coin"] == "BTC"
    assert estimates.calls[0].request.url.params == httpx.QueryParams(
        {"category": "DoubleWin", "positionIds": "2847"}
    )
    assert (estimate.success, estimate.est_redeem_amount) == (False, Decimal("0"))
    assert estimate.slippage_rate == Decimal("0.9") and estimate.fetched_at is not None
