"""``from_offer`` of the stake-only categories, the checks it makes the same way for
DualAssets and DiscountBuy: the offer's expiry (on the venue's clock, with the margin), the
product named, the amount's type, the offer's own values; each category's docs example,
parametrized. Each category's own checks stay in its module
(``test_{dual_assets,discount_buy}_order.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from asyncexch import InvalidRequest, ServerTime, VirtualClock
from asyncexch.bybit import DiscountBuyOrder, DualAssetsOrder
from tests.builders import discount_buy, dual_assets


@attrs.frozen
class Offered:
    """One stake-only category's docs offer and product, what ``from_offer`` is given for a
    stake at it, when the offer expires, a moment before that, and another product's id."""

    name: str
    offer: Callable[..., Any]
    product: Callable[..., Any]
    from_offer: Callable[..., Any]
    stake: dict[str, Any]
    expires: datetime
    now: datetime
    other_product_id: str


DUAL_ASSETS = Offered(
    "DualAssets",
    dual_assets.da_offer,
    dual_assets.da_product,
    DualAssetsOrder.from_offer,
    {"amount": Decimal("20")},
    dual_assets.OFFER_EXPIRES,
    dual_assets.OFFER_EXPIRES - timedelta(seconds=30),
    "36321",
)
DISCOUNT_BUY = Offered(
    "DiscountBuy",
    discount_buy.db_offer,
    discount_buy.db_product,
    DiscountBuyOrder.from_offer,
    {"amount": Decimal("200"), "settle_type": "Base"},
    discount_buy.OFFER_EXPIRES,
    discount_buy.OFFER_EXPIRES - timedelta(seconds=10),
    "7038",
)
CATEGORIES = pytest.mark.parametrize(
    "category", [DUAL_ASSETS, DISCOUNT_BUY], ids=lambda category: category.name
)

#: A refusal each category makes: (changes to the offer, arguments, the field refused).
REFUSALS: dict[str, Callable[[Offered], tuple[dict[str, Any], dict[str, Any], str]]] = {
    "at-expiry": lambda c: ({}, {"now": c.expires}, "offer"),
    "expired": lambda c: ({}, {"now": c.expires + timedelta(milliseconds=1)}, "offer"),
    # Inside the default 2 s margin.
    "about-to-expire": lambda c: ({}, {"now": c.expires - timedelta(seconds=1)}, "offer"),
    "margin": lambda c: (
        {},
        {"now": c.now, "margin": c.expires - c.now + timedelta(seconds=1)},
        "offer",
    ),
    "margin-int": lambda c: ({}, {"now": c.now, "margin": 2}, "margin"),
    "naive-now": lambda c: ({}, {"now": c.now.replace(tzinfo=None)}, "now"),
    "int-amount": lambda c: ({}, {"now": c.now, "amount": int(c.stake["amount"])}, "amount"),
    "other-product": lambda c: (
        {},
        {"now": c.now, "product": c.product(product_id=c.other_product_id)},
        "product",
    ),
    "product-str": lambda c: ({}, {"now": c.now, "product": c.offer().product_id}, "product"),
    "nan-max": lambda c: (
        {"max_investment_amount": Decimal("NaN")},
        {"now": c.now},
        "offer.max_investment_amount",
    ),
}


@CATEGORIES
def test_the_docs_offer_builds_a_stake_before_it_expires(category: Offered) -> None:
    """The control for the refusals below: only what each of them changes is refused."""
    order = category.from_offer(
        category.offer(), **category.stake, product=category.product(), now=category.now
    )
    assert (order.product_id, order.amount, order.coin) == (
        category.offer().product_id,
        category.stake["amount"],
        "USDT",
    )


@CATEGORIES
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_from_offer_refuses_before_sending(category: Offered, refusal: str) -> None:
    offer_changes, kwargs, field = REFUSALS[refusal](category)
    arguments = {**category.stake, "product": category.product(), **kwargs}
    with pytest.raises(InvalidRequest) as caught:
        category.from_offer(category.offer(**offer_changes), **arguments)
    assert caught.value.field == field


@CATEGORIES
def test_from_offer_takes_only_an_offer(category: Offered) -> None:
    with pytest.raises(InvalidRequest) as caught:
        category.from_offer("offer", **category.stake)
    assert caught.value.field == "offer"


@CATEGORIES
def test_an_offers_expiry_is_measured_on_the_venues_clock(category: Offered) -> None:
    """This machine's clock is an hour slow; the venue's time (learned from its answers)
    says the offer has expired."""
    clock = VirtualClock(start=category.expires.timestamp() - 3600)
    venue = ServerTime(clock)
    venue.observe(int(category.expires.timestamp() * 1000) + 5, clock.time())
    stale = category.offer(server_time=venue, product=category.product())
    left = stale.expires_in()
    assert left is not None and left < timedelta(0)
    with pytest.raises(InvalidRequest) as caught:
        category.from_offer(stale, **category.stake)
    assert caught.value.field == "offer"
    venue.observe(int(category.now.timestamp() * 1000), clock.time())  # the venue's clock, later
    built = category.from_offer(stale, **category.stake)
    assert (built.amount, built.coin) == (category.stake["amount"], "USDT")
