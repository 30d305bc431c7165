"""The simulator's DoubleWin engine, driven directly with Instants: quotes that expire, the
RFQ range rules, the stake's leverage check, the payoff in and out of the range, the
30-minute redeem lockout and the per-category orderLinkId space."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asyncexch.sim import SimDoubleWinPosition, SimDoubleWinProduct, SimStats
from asyncexch.sim._bybit._engine import AdvanceEarnBook
from asyncexch.sim._instant import Instant
from asyncexch.sim._refused import Refused

START_MS = 1_775_100_000_000
FIXED = SimDoubleWinProduct("14084", "BTC", "2h", is_rfq=False, leverage=Decimal("9.3045"))
RFQ = SimDoubleWinProduct("14092", "BTC", "2h", is_rfq=True)


def at(seconds: float) -> Instant:
    return Instant(seconds, START_MS + int(seconds * 1000))


def book() -> AdvanceEarnBook:
    market = AdvanceEarnBook(
        [],
        {"BTC": Decimal("66333.94")},
        started=0.0,
        stats=SimStats(),
        price_swing=0.0,
        quote_ttl=30.0,
        double_win_products=[FIXED, RFQ],
    )
    market.add_account("k", {"USDT": Decimal("1000")}, secret="s")
    return market


def stake(quote_initial: str, leverage: str, **extra: str) -> dict[str, object]:
    return {
        "category": "DoubleWin",
        "productId": "14092" if extra else "14084",
        "coin": "USDT",
        "amount": "200",
        "orderType": "Stake",
        "accountType": "FUND",
        "doubleWinStakeExtra": {"initialPrice": quote_initial, "leverage": leverage, **extra},
    }


RANGE = {
    "productId": "14092",
    "initialPrice": "66333.94",
    "lowerPrice": "63000",
    "upperPrice": "70000",
}


def test_the_rfq_quote_prices_the_docs_range_at_their_leverage() -> None:
    market = book()
    account = market.accounts["k"]
    quote = market.double_win.issue_rfq_quote(account, RANGE, at(0))
    assert (quote.leverage, quote.expire_ms) == (Decimal("241.15"), START_MS + 30_000)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"lowerPrice": "66500"}, 10001),  # lower above initial
        ({"upperPrice": "66000"}, 10001),
        ({"lowerPrice": "63250"}, 10001),  # off the tick
        ({"lowerPrice": "66000"}, 10001),  # 0.5 %: below the minimum deviation
        ({"lowerPrice": "55000"}, 10001),  # 17 %: above the maximum
        ({"productId": "14084"}, 10001),  # a fixed-range product
        ({"productId": "1"}, 180008),
        ({"initialPrice": "70500", "upperPrice": "75000", "lowerPrice": "66000"}, 180030),
    ],
)
def test_a_bad_rfq_request_is_refused(changes: dict[str, str], code: int) -> None:
    market = book()
    with pytest.raises(Refused) as caught:
        market.double_win.issue_rfq_quote(market.accounts["k"], {**RANGE, **changes}, at(0))
    assert caught.value.code == code


def test_a_stake_needs_a_live_quote_and_at_most_its_leverage() -> None:
    market = book()
    account = market.accounts["k"]
    market.double_win.issue_rfq_quote(account, RANGE, at(0))
    rfq = {"lowerPrice": "63000", "upperPrice": "70000"}
    for leverage, code in (("241.16", 180001), ("241.151", 180001)):
        with pytest.raises(Refused) as caught:
            market.double_win.place(account, "a", stake("66333.94", leverage, **rfq), at(1))
        assert caught.value.code == code
    with pytest.raises(Refused) as caught:  # another range than quoted
        market.double_win.place(
            account, "b", stake("66333.94", "200", lowerPrice="63500", upperPrice="70000"), at(1)
        )
    assert caught.value.code == 180006
    with pytest.raises(Refused) as caught:  # expired
        market.double_win.place(account, "c", stake("66333.94", "241.15", **rfq), at(31))
    assert caught.value.code == 180006
    order = market.double_win.place(account, "d", stake("66333.94", "241.15", **rfq), at(2))
    assert (order.lower_price, order.upper_price, order.leverage) == (
        Decimal(63000),
        Decimal(70000),
        Decimal("241.15"),
    )
    assert account.balances["USDT"] == Decimal(800)


def test_the_fixed_range_is_the_quote_plus_the_buffers_and_ids_are_per_category() -> None:
    market = book()
    account = market.accounts["k"]
    quote = market.double_win.issue_fixed_quote("14084", at(0))
    order = market.double_win.place(account, "same-id", stake(str(quote.initial), "9.3"), at(1))
    assert (order.lower_price, order.upper_price) == (Decimal("66133.94"), Decimal("66533.94"))
    with pytest.raises(Refused) as caught:
        market.double_win.place(account, "same-id", stake(str(quote.initial), "9.3"), at(2))
    assert caught.value.code == 180025
    assert market.orders == {}


def rfq_position() -> tuple[AdvanceEarnBook, SimDoubleWinPosition]:
    """A book whose account ``k`` holds 200 USDT at 10x in the docs' RFQ range (63000-70000
    around 66333.94), staked at 0 s and confirmed by 2 s."""
    market = book()
    account = market.accounts["k"]
    market.double_win.issue_rfq_quote(account, RANGE, at(0))
    market.double_win.place(
        account, "x", stake("66333.94", "10", lowerPrice="63000", upperPrice="70000"), at(0)
    )
    market.settle(at(2))
    (position,) = market.double_win.positions.values()
    return market, position


def test_payoff_inside_nothing_outside_amount_plus_leveraged_distance() -> None:
    market, position = rfq_position()
    assert market.double_win.payoff(position, Decimal("66000")) == 0
    # 1000 beyond the upper bound: 200 + 200 x 10 x 1000 / 66333.94
    assert market.double_win.payoff(position, Decimal("71000")) == Decimal("230.1504")
    assert market.double_win.payoff(position, Decimal("62000")) == Decimal("230.1504")


def test_redeem_against_a_fresh_estimate_not_within_30_minutes_of_settlement() -> None:
    market, position = rfq_position()
    account = market.accounts["k"]
    assert market.double_win.estimate(account, position.position_id, at(3)) is None  # in range
    market.set_price("BTC", Decimal("71000"), at(4))
    value = market.double_win.estimate(account, position.position_id, at(5))
    assert value == Decimal("230.1504")
    redeem = {
        "category": "DoubleWin",
        "productId": "14092",
        "orderType": "Redeem",
        "doubleWinRedeemExtra": {"positionId": position.position_id, "estRedeemAmount": "230.1504"},
    }
    late = 2 * 3600 - 30 * 60 + 2  # 30 minutes before settlement (confirmed at 1 s)
    with pytest.raises(Refused) as caught:
        market.double_win.place(account, "r0", redeem, at(late))
    assert caught.value.code == 180029
    order = market.double_win.place(account, "r1", redeem, at(6))
    assert position.status == "Redeeming"
    market.settle(at(8))
    assert (order.status, order.pnl) == ("Settled", Decimal("30.1504"))
    assert account.balances["USDT"] == Decimal("800") + Decimal("230.1504")
