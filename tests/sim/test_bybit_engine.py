"""Property tests of the Bybit simulator's engine (``AdvanceEarnBook``), driven directly: no
HTTP, no clock, time handed in as an ``Instant``.

Hypothesis runs random sequences of stakes and redeems (good ones, and ones refused for a
reused ``orderLinkId``, a stale quote, a wrong estimate, slippage, a short balance), quotes,
estimates, price moves and the passing of time up to settlement, under both idempotency
modes. After every step the book must hold exactly:

* an ``orderLinkId`` names at most one order per account; a reuse is refused (counted) or,
  in the older mode within 30 minutes, answered with the first order;
* money is conserved: each wallet is its start, less what it staked, plus what settled orders
  paid out (amount + profit); each product's remaining amount plus what was staked in it is
  its start;
* a position comes from exactly one stake and is paid out at most once; a position being
  redeemed has exactly one pending redeem.

And with the price held still, staking and redeeming everything gives every wallet back to
the cent.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from asyncexch.sim._bybit._engine import AdvanceEarnBook
from asyncexch.sim._bybit._records import SimAccount, SimOrder, SimStats, default_products
from asyncexch.sim._instant import Instant
from asyncexch.sim._refused import Refused

START_MS = 1_700_000_000_000
PRICES = {"BTC": Decimal("68403.67"), "ETH": Decimal("3512.40")}
WALLETS = {"rich": Decimal("10000000"), "poor": Decimal("250")}
COIN = "USDT"
REMAINING = {p.product_id: p.remaining_amount for p in default_products()}

keys = st.sampled_from(sorted(WALLETS))
product_ids = st.sampled_from(sorted(REMAINING))
#: A few link ids, so that reuse is common.
links = st.sampled_from([f"link-{n}" for n in range(10)])
amounts = st.sampled_from(["5", "10", "100", "123.4567", "250", "100000", "100000.5"])


def stake_body(
    product_id: str, amount: str, initial: Decimal, breakeven: Decimal
) -> dict[str, object]:
    return {
        "productId": product_id,
        "orderType": "Stake",
        "accountType": "FUND",
        "coin": COIN,
        "amount": amount,
        "smartLeverageStakeExtra": {"initialPrice": str(initial), "breakevenPrice": str(breakeven)},
    }


def redeem_body(
    product_id: str, position_id: str, estimate: Decimal, protected: bool
) -> dict[str, object]:
    return {
        "productId": product_id,
        "orderType": "Redeem",
        "accountType": "FUND",
        "smartLeverageRedeemExtra": {
            "positionId": position_id,
            "estRedeemAmount": str(estimate),
            "isSlippageProtected": protected,
        },
    }


def paid_out(order: SimOrder) -> Decimal:
    """What a settled order credited: the position's value, its amount plus the profit."""
    assert order.pnl is not None
    return order.amount + order.pnl


class AdvanceEarnMachine(RuleBasedStateMachine):
    """Random operations on a book; the invariants after each."""

    @initialize(
        idempotency=st.sampled_from(["error", "same_order_id"]),
        settlement_delay=st.sampled_from([0.0, 1.0, 30.0]),
        price_swing=st.sampled_from([0.0, 0.01, 0.2]),
    )
    def start(
        self,
        idempotency: Literal["error", "same_order_id"],
        settlement_delay: float,
        price_swing: float,
    ) -> None:
        self.stats = SimStats()
        self.book = AdvanceEarnBook(
            default_products(),
            PRICES,
            started=0.0,
            stats=self.stats,
            price_swing=price_swing,
            price_period=3600.0,
            settlement_delay=settlement_delay,
            idempotency=idempotency,
        )
        self.accounts = {key: self.book.add_account(key, {COIN: w}) for key, w in WALLETS.items()}
        self.now = 0.0
        self.reuses = 0
        self.refusals: Counter[int | str] = Counter()

    def at(self) -> Instant:
        return Instant(self.now, START_MS + int(self.now * 1000))

    def place(self, account: SimAccount, link: str, body: dict[str, object]) -> None:
        """Place ``body``; a reused link gets the first order or a refusal, never a second."""
        previous = [
            o for o in self.book.orders.values() if (o.uid, o.order_link_id) == (account.uid, link)
        ]
        count = len(self.book.orders)
        if previous:
            self.reuses += 1
        try:
            order = self.book.place(account, link, body, self.at())
        except Refused as refused:
            self.refusals[refused.code] += 1
            assert len(self.book.orders) == count
            if previous:
                first = previous[0]
                assert refused.code == self.book.duplicate_code
                assert self.book.idempotency == "error" or self.now - first.placed_at >= 1800.0
            return
        if previous:
            assert order is previous[0] and self.book.idempotency == "same_order_id"
            assert self.now - order.placed_at < 1800.0
            assert len(self.book.orders) == count
        else:
            assert len(self.book.orders) == count + 1 and order.order_link_id == link

    # --- operations -------------------------------------------------------------------

    @rule(
        key=keys,
        link=links,
        product_id=product_ids,
        amount=amounts,
        slippage=st.sampled_from(["1", "1", "1", "1.04", "1.06"]),
        stale=st.sampled_from([False, False, False, False, True]),
    )
    def stake(
        self, key: str, link: str, product_id: str, amount: str, slippage: str, stale: bool
    ) -> None:
        quote = self.book.issue_quote(product_id, self.at())
        if stale:  # priced from a quote that has expired by now
            self.now += self.book.quote_ttl + 1
        initial = quote.current_price * Decimal(slippage)
        body = stake_body(product_id, amount, initial, quote.breakeven_price)
        self.place(self.accounts[key], link, body)

    @rule(
        data=st.data(),
        link=links,
        protected=st.booleans(),
        honest=st.sampled_from([True, True, True, False]),
        then=st.sampled_from([None, None, "0.8", "1.25"]),
    )
    def redeem(
        self, data: st.DataObject, link: str, protected: bool, honest: bool, then: str | None
    ) -> None:
        """Redeem a position at its estimate (or not quite), and maybe move its market
        before the redeem settles (a protected one then fails)."""
        if not self.book.positions:
            return
        position = data.draw(st.sampled_from(list(self.book.positions.values())))
        account = next(a for a in self.accounts.values() if a.uid == position.uid)
        estimate = self.book.estimate(account, position.position_id, self.at())
        if estimate is None:
            assert not self.book.redeemable(position, self.at())
            estimate = position.amount
        if not honest:
            estimate += Decimal("0.0001")
        body = redeem_body(position.product_id, position.position_id, estimate, protected)
        self.place(account, link, body)
        if then is not None:
            self.move_price(self.book.products[position.product_id].underlying_asset, then)

    @rule(
        asset=st.sampled_from(sorted(PRICES)),
        factor=st.sampled_from(["0.8", "0.97", "1.03", "1.2"]),
    )
    def move_price(self, asset: str, factor: str) -> None:
        price = (self.book.price(asset, self.now) * Decimal(factor)).quantize(Decimal("0.01"))
        self.book.set_price(asset, price, self.at())

    @rule(seconds=st.sampled_from([0.5, 2.0, 60.0, 700.0, 3600.0, 86_400.0, 7 * 86_400.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.book.settle(self.at())

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def a_link_names_one_order(self) -> None:
        named = Counter((o.uid, o.order_link_id) for o in self.book.orders.values())
        assert all(count == 1 for count in named.values()), named
        assert self.stats.duplicates_refused == self.reuses

    @invariant()
    def money_is_conserved(self) -> None:
        orders = list(self.book.orders.values())
        for key, account in self.accounts.items():
            mine = [o for o in orders if o.uid == account.uid]
            staked = sum((o.amount for o in mine if o.order_type == "Stake"), Decimal(0))
            paid = sum((paid_out(o) for o in mine if o.status == "Settled"), Decimal(0))
            assert account.balances[COIN] == WALLETS[key] - staked + paid
            assert account.balances[COIN] >= 0
        for product_id, product in self.book.products.items():
            staked = sum(
                (
                    o.amount
                    for o in orders
                    if o.order_type == "Stake" and o.product_id == product_id
                ),
                Decimal(0),
            )
            assert product.remaining_amount + staked == REMAINING[product_id]

    @invariant()
    def a_position_is_one_stake_paid_out_at_most_once(self) -> None:
        orders = list(self.book.orders.values())
        for position in self.book.positions.values():
            [stake] = [
                o
                for o in orders
                if o.order_type == "Stake" and o.position_id == position.position_id
            ]
            assert stake.order_id == position.order_id
            assert (stake.amount, stake.order_link_id) == (position.amount, position.order_link_id)
            assert stake.status in ("Success", "Settled")
            about = [o for o in orders if o.position_id == position.position_id]
            settled = [o for o in about if o.status == "Settled"]
            pending = [o for o in about if o.order_type == "Redeem" and o.status == "Pending"]
            assert len(settled) == (1 if position.status == "Settled" else 0)
            assert len(pending) == (1 if position.status == "Redeeming" else 0)
        stakes_done = [o for o in orders if o.order_type == "Stake" and o.status != "Pending"]
        assert len(stakes_done) == len(self.book.positions)


AdvanceEarnMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAdvanceEarnBook = AdvanceEarnMachine.TestCase


@settings(max_examples=100, deadline=None)
@given(
    stakes=st.lists(
        st.tuples(product_ids, st.sampled_from(["10", "100", "2500.1234", "33333.3333"])),
        min_size=1,
        max_size=8,
    ),
    settlement_delay=st.sampled_from([0.0, 1.0, 30.0]),
)
def test_a_stake_then_redeem_at_a_still_price_gives_the_wallet_back(
    stakes: list[tuple[str, str]], settlement_delay: float
) -> None:
    book = AdvanceEarnBook(
        default_products(),
        PRICES,
        started=0.0,
        stats=SimStats(),
        price_swing=0.0,
        settlement_delay=settlement_delay,
    )
    account = book.add_account("key", {COIN: WALLETS["rich"]})
    now = 0.0

    def at() -> Instant:
        return Instant(now, START_MS + int(now * 1000))

    total = Decimal(0)
    for n, (product_id, amount) in enumerate(stakes):
        quote = book.issue_quote(product_id, at())
        body = stake_body(product_id, amount, quote.current_price, quote.breakeven_price)
        book.place(account, f"stake-{n}", body, at())
        total += Decimal(amount)
    assert account.balances[COIN] == WALLETS["rich"] - total
    now += settlement_delay
    book.settle(at())
    for n, position in enumerate(list(book.positions.values())):
        estimate = book.estimate(account, position.position_id, at())
        assert estimate == position.amount
        redeem = redeem_body(position.product_id, position.position_id, estimate, True)
        book.place(account, f"redeem-{n}", redeem, at())
    now += settlement_delay
    book.settle(at())
    assert len(book.positions) == len(stakes)
    assert all(p.status == "Settled" for p in book.positions.values())
    assert all(o.pnl == 0 for o in book.orders.values() if o.order_type == "Redeem")
    assert account.balances[COIN] == WALLETS["rich"]
