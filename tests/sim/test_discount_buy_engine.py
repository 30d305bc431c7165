"""The Bybit simulator's DiscountBuy rules driven directly (no HTTP, time as Instants): the
offers' lifetime, and the payout by the settlement price under both readings of when a stake
is exercised."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncexch.sim._bybit._discount_engine import DiscountBuyBook, Exercise
from asyncexch.sim._bybit._discount_records import (
    SimDiscountBuyPosition,
    default_discount_buy_products,
)
from asyncexch.sim._bybit._engine import AdvanceEarnBook
from asyncexch.sim._instant import Instant
from asyncexch.sim._refused import Refused
from tests.builders.discount_buy import db_stake_body
from tests.builders.engine import START_MS, still_book

PURCHASE, KNOCKOUT = Decimal("67945"), Decimal("69772")


def market(exercise: Exercise = "below-knockout", quote_ttl: float = 30.0) -> AdvanceEarnBook:
    """An exchange with the default DiscountBuy products, a still market and one account."""
    market = still_book(
        quote_ttl=quote_ttl,
        discount_buy_products=default_discount_buy_products(),
        discount_buy_exercise=exercise,
    )
    market.add_account("key", {"USDT": Decimal("1000000")})
    return market


def book(exercise: Exercise = "below-knockout") -> DiscountBuyBook:
    return market(exercise).discount_buy


def at(seconds: float) -> Instant:
    return Instant(seconds, START_MS + round(seconds * 1000))


def body(offer: Any, link: str = "s") -> dict[str, Any]:
    return db_stake_body(offer, link, "1000")


def test_an_offer_is_live_up_to_its_expiry_millisecond_and_a_timeless_one_for_ever() -> None:
    exchange = market()
    discount, account = exchange.discount_buy, exchange.accounts["key"]
    offer = discount.issue_quote("7037", at(0))
    assert offer.expire_ms == START_MS + 30_000
    assert discount.place(account, "edge", body(offer, "edge"), at(30)).status == "Pending"
    with pytest.raises(Refused) as caught:
        discount.place(account, "late", body(offer, "late"), at(30.001))
    assert caught.value.code == 180006
    timeless = discount.issue_quote("7038", at(0))
    assert timeless.expire_ms is None
    discount.issue_quote("7038", at(10**7))  # a later quote forgets only expired offers
    assert discount.place(account, "t", body(timeless, "t"), at(10**7)).status == "Pending"


def position(settle_type: str) -> SimDiscountBuyPosition:
    """1000 USDT in product 7037 for a day, at the offer quoted at 68403.67."""
    return SimDiscountBuyPosition(
        "1", "100001", "7037", "o", Decimal(1000), PURCHASE, KNOCKOUT, 1_000_000,
        settle_type, "FUND", START_MS, START_MS + 86_400_000, START_MS + 86_400_000,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("exercise", "price", "settle_type", "expected"),
    [
        ("below-knockout", "69772", "Base", ("USDT", Decimal("1000.0273"), "KnockedOut")),
        ("below-purchase", "69772", "Quote", ("USDT", Decimal("1000.0273"), "KnockedOut")),
        ("below-knockout", "69771", "Base", ("BTC", Decimal("0.01471778"), "Exercised")),
        ("below-knockout", "69771", "Quote", ("USDT", Decimal("1026.8746"), "Exercised")),
        ("below-purchase", "69771", "Base", ("USDT", Decimal("1000"), "Returned")),
        ("below-purchase", "67945", "Quote", ("USDT", Decimal("1000"), "Returned")),
        ("below-purchase", "67944", "Quote", ("USDT", Decimal("999.9852"), "Exercised")),
    ],
)
def test_the_payout_at_the_boundaries(
    exercise: Exercise, price: str, settle_type: str, expected: tuple[str, Decimal, str]
) -> None:
    assert book(exercise).payout(position(settle_type), Decimal(price)) == expected


@settings(max_examples=200, deadline=None)
@given(price=st.decimals(min_value=1, max_value=200_000, places=2))
def test_both_readings_agree_outside_the_band_and_base_is_worth_quote(price: Decimal) -> None:
    skill, mcp = book("below-knockout"), book("below-purchase")
    base, quote = position("Base"), position("Quote")
    if price >= KNOCKOUT or price < PURCHASE:
        assert skill.payout(base, price) == mcp.payout(base, price)
        assert skill.payout(quote, price) == mcp.payout(quote, price)
    else:
        assert mcp.payout(base, price) == ("USDT", Decimal(1000), "Returned")
    coin, amount, outcome = skill.payout(base, price)
    if outcome == "KnockedOut":
        assert (coin, skill.payout(quote, price)[1]) == ("USDT", amount)
        assert amount > 1000
        return
    # Exercised: the BTC bought, valued at the settlement price, is the Quote payout (both
    # truncated: BTC to 8 places, USDT to 4).
    _, usdt, _ = skill.payout(quote, price)
    assert coin == "BTC" and amount == (Decimal(1000) / PURCHASE).quantize(
        Decimal("1E-8"), ROUND_DOWN
    )
    assert abs(amount * price - usdt) <= price * Decimal("1E-8") + Decimal("0.0001")
