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

DualAssets stakes run beside them on the same accounts (good ones, and ones refused for a
reused ``orderLinkId``, a price or an APY no live offer has, an expired offer, the wrong coin,
a short balance), and after every step:

* an ``orderLinkId`` names at most one DualAssets order per account (its own id space);
* money is conserved in every coin: each wallet is its start, less what it staked in that coin
  in either category, plus what settled orders paid in it; each DualAssets product's quota of
  each direction plus what was staked in it is its start;
* a DualAssets stake was taken at a live offer's APY; a position comes from exactly one
  stake, confirmed, and is paid out once, in the base or the quote coin by where the market
  settled against the target.

And with the price held still, staking and redeeming everything gives every wallet back to
the cent, and every DualAssets stake pays back its principal and yield in the coin it invested.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from asyncexch.sim._bybit._dual_records import (
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsProduct,
    default_dual_assets_products,
)
from asyncexch.sim._bybit._engine import AdvanceEarnBook
from asyncexch.sim._bybit._records import (
    SimAccount,
    SimOrder,
    SimStats,
    default_products,
    duration_ms,
)
from asyncexch.sim._instant import Instant
from asyncexch.sim._refused import Refused
from tests.builders.engine import PRICES, START_MS, still_book

COIN = "USDT"
WALLETS = {
    "rich": {
        COIN: Decimal("10000000"),
        "BTC": Decimal("5"),
        "ETH": Decimal("100"),
        "XRP": Decimal("50000"),
    },
    "poor": {COIN: Decimal("250"), "ETH": Decimal("0.01"), "BTC": Decimal("0.001")},
}
COINS = ("USDT", "BTC", "ETH", "XRP")
REMAINING = {p.product_id: p.remaining_amount for p in default_products()}
DUAL_QUOTAS = {
    p.product_id: (p.remaining_quote, p.remaining_base) for p in default_dual_assets_products()
}
dual_product_ids = st.sampled_from(sorted(DUAL_QUOTAS))
#: Stakes in the quote coin and in the base coin: most fit, some too small or too fine.
DUAL_AMOUNTS = {
    "BuyLow": ["100", "250", "1234.5678", "5", "10.00001", "100000"],
    "SellHigh": ["0.01", "0.5", "20", "0.0001", "0.1234567", "3"],
}
#: A DualAssets stake's flaw, if any, and the code it is refused with.
DUAL_FLAWS: dict[str | None, int] = {
    None: 0,
    "stale_price": 180021,
    "stale_apy": 180021,
    "greedy_apy": 180026,
    "expired": 180021,
    "wrong_coin": 180002,
}

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


def fits(product: SimDualAssetsProduct, direction: str, amount: Decimal) -> bool:
    """Whether ``amount`` meets the direction's minimum and precision."""
    buy = direction == "BuyLow"
    minimum = product.min_quote_amount if buy else product.min_base_amount
    places = product.precision_quote if buy else product.precision_base
    return amount >= minimum and amount % Decimal(1).scaleb(-places) == 0


def dual_body(
    book: AdvanceEarnBook,
    product_id: str,
    direction: str,
    amount: str,
    nth: int,
    flaw: str | None,
    at: Instant,
    quoted: dict[tuple[str, str, Decimal], list[SimDualAssetsOffer]] | None = None,
) -> dict[str, object]:
    """A DualAssets stake at the ``nth`` offer of a quote given at ``at``, spoilt by ``flaw``.

    ``quoted`` collects every offer quoted so far, by product, direction and price: an older
    offer at the same price may still be live and pay more, so a greedy APY is one above every
    live offer's at the price (asking between two live offers' APYs is no offer's: 180021).
    """
    quoted = {} if quoted is None else quoted
    _, buy_low, sell_high = book.dual_assets.issue_quote(product_id, at)
    for issued in (*buy_low, *sell_high):
        quoted.setdefault((product_id, issued.direction, issued.select_price), []).append(issued)
    offers = buy_low if direction == "BuyLow" else sell_high
    offer = offers[min(nth, len(offers) - 1)]
    product = book.dual_assets.products[product_id]
    coin = product.invest_coin(direction)
    price, apy = offer.select_price, offer.apy_e8
    if flaw == "stale_price":
        price += product.price_tick / 2  # between two targets: never quoted
    elif flaw == "stale_apy":
        apy -= 1
    elif flaw == "greedy_apy":
        at_price = quoted[(product_id, direction, price)]
        apy = max(other.apy_e8 for other in at_price if other.expire_ms >= at.ms) + 1
    elif flaw == "wrong_coin":
        coin = product.quote_coin if coin == product.base_coin else product.base_coin
    return {
        "productId": product_id,
        "orderType": "Stake",
        "accountType": "FUND",
        "coin": coin,
        "amount": amount,
        "dualAssetsExtra": {"orderDirection": direction, "selectPrice": str(price), "apyE8": apy},
    }


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
        self.book = still_book(
            stats=self.stats,
            price_swing=price_swing,
            price_period=3600.0,
            settlement_delay=settlement_delay,
            idempotency=idempotency,
            dual_assets_products=default_dual_assets_products(),
        )
        self.accounts = {key: self.book.add_account(key, w) for key, w in WALLETS.items()}
        self.now = 0.0
        #: Every DualAssets offer quoted, by product, direction and price.
        self.quoted: dict[tuple[str, str, Decimal], list[SimDualAssetsOffer]] = {}
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

    def dual_place(
        self, account: SimAccount, link: str, body: dict[str, object], expected: int | None
    ) -> None:
        """Place a DualAssets stake: a reused link gets the first order or a refusal; else
        ``expected`` is the code it must be refused with (``None``: taken, or refused only for
        want of money or quota)."""
        dual = self.book.dual_assets
        previous = [
            o for o in dual.orders.values() if (o.uid, o.order_link_id) == (account.uid, link)
        ]
        count = len(dual.orders)
        if previous:
            self.reuses += 1
        try:
            order = dual.place(account, link, body, self.at())
        except Refused as refused:
            self.refusals[refused.code] += 1
            assert len(dual.orders) == count
            if previous:
                assert refused.code == self.book.duplicate_code
            elif expected is not None:
                assert refused.code == expected, (expected, refused)
            else:
                assert refused.code in (180013, 180015, 180016), refused
            return
        if previous:
            assert order is previous[0] and self.book.idempotency == "same_order_id"
            return
        assert expected is None, expected
        assert len(dual.orders) == count + 1 and order.order_link_id == link

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
            self.book.settle(self.at())  # as the simulator does on every request
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
        key=keys,
        link=links,
        product_id=dual_product_ids,
        direction=st.sampled_from(["BuyLow", "SellHigh"]),
        size=st.integers(0, len(DUAL_AMOUNTS["BuyLow"]) - 1),
        nth=st.integers(0, 2),
        flaw=st.sampled_from([None, None, None, *sorted(f for f in DUAL_FLAWS if f)]),
    )
    def dual_stake(
        self,
        key: str,
        link: str,
        product_id: str,
        direction: str,
        size: int,
        nth: int,
        flaw: str | None,
    ) -> None:
        amount = DUAL_AMOUNTS[direction][size]
        body = dual_body(
            self.book, product_id, direction, amount, nth, flaw, self.at(), self.quoted
        )
        if flaw == "expired":
            self.now += self.book.quote_ttl + 1
            self.book.settle(self.at())  # as the simulator does on every request
        # Bybit's order of checks, as the simulator plays it: the coin, the amount, the offer.
        product = self.book.dual_assets.products[product_id]
        expected = DUAL_FLAWS[flaw] or None
        if flaw != "wrong_coin" and not fits(product, direction, Decimal(amount)):
            expected = 180012
        self.dual_place(self.accounts[key], f"da-{link}", body, expected)

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
        duals = list(self.book.dual_assets.orders.values())
        for key, account in self.accounts.items():
            for coin in COINS:
                mine = [o for o in orders if o.uid == account.uid] if coin == COIN else []
                staked = sum((o.amount for o in mine if o.order_type == "Stake"), Decimal(0))
                paid = sum((paid_out(o) for o in mine if o.status == "Settled"), Decimal(0))
                dual = [o for o in duals if o.uid == account.uid]
                staked += sum((o.amount for o in dual if o.coin == coin), Decimal(0))
                paid += sum((dual_paid(o) for o in dual if o.settlement_coin == coin), Decimal(0))
                start = WALLETS[key].get(coin, Decimal(0))
                assert account.balances.get(coin, Decimal(0)) == start - staked + paid, coin
                assert account.balances.get(coin, Decimal(0)) >= 0
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
        for product_id, dual_product in self.book.dual_assets.products.items():
            of_product = [o for o in duals if o.product_id == product_id]
            buy = sum((o.amount for o in of_product if o.direction == "BuyLow"), Decimal(0))
            sell = sum((o.amount for o in of_product if o.direction == "SellHigh"), Decimal(0))
            quote_quota, base_quota = DUAL_QUOTAS[product_id]
            assert dual_product.remaining_quote + buy == quote_quota
            assert dual_product.remaining_base + sell == base_quota

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

    @invariant()
    def a_dual_assets_link_names_one_order(self) -> None:
        dual = self.book.dual_assets
        named = Counter((o.uid, o.order_link_id) for o in dual.orders.values())
        assert all(count == 1 for count in named.values()), named
        assert all(o.order_link_id.startswith("da-") for o in dual.orders.values())

    @invariant()
    def a_dual_assets_position_is_one_stake_paid_out_by_its_target(self) -> None:
        dual = self.book.dual_assets
        for order in dual.orders.values():
            assert order.confirmed_apy_e8 == order.apy_e8  # the live offer's, exactly
            assert (order.position_id is None) == (order.status == "Pending")
        for position in dual.positions.values():
            order = dual.orders[position.order_id]
            assert order.position_id == position.position_id
            assert (position.amount, position.coin, position.target_price) == (
                order.amount,
                order.coin,
                order.select_price,
            )
            assert position.settlement_ms > position.yield_start_ms
            if position.status == "Active":
                assert order.status == "Success" and order.settlement_amount is None
                assert position.settlement_ms > self.at().ms
                continue
            assert position.status == "Settled" and order.status == "Settled"
            assert order.settlement_price is not None
            coin, amount = dual.payout(position, order.settlement_price)
            assert (order.settlement_coin, order.settlement_amount) == (coin, amount)
            product = dual.products[position.product_id]
            reached = (
                order.settlement_price <= position.target_price
                if position.direction == "BuyLow"
                else order.settlement_price >= position.target_price
            )
            assert (coin != position.coin) == reached
            assert coin in (product.base_coin, product.quote_coin)


def dual_paid(order: SimDualAssetsOrder) -> Decimal:
    """What a settled DualAssets order credited, in its settlement coin."""
    assert order.settlement_amount is not None
    return order.settlement_amount


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
    book = still_book(settlement_delay=settlement_delay)
    account = book.add_account("key", {COIN: WALLETS["rich"][COIN]})
    now = 0.0

    def at() -> Instant:
        return Instant(now, START_MS + int(now * 1000))

    total = Decimal(0)
    for n, (product_id, amount) in enumerate(stakes):
        quote = book.issue_quote(product_id, at())
        body = stake_body(product_id, amount, quote.current_price, quote.breakeven_price)
        book.place(account, f"stake-{n}", body, at())
        total += Decimal(amount)
    assert account.balances[COIN] == WALLETS["rich"][COIN] - total
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
    assert account.balances[COIN] == WALLETS["rich"][COIN]


@settings(max_examples=100, deadline=None)
@given(
    stakes=st.lists(
        st.tuples(
            dual_product_ids,
            st.sampled_from(["BuyLow", "SellHigh"]),
            st.integers(0, 2),  # the offer: nearest the market first
        ),
        min_size=1,
        max_size=8,
    ),
    settlement_delay=st.sampled_from([0.0, 1.0, 30.0]),
)
def test_at_a_still_price_every_dual_assets_stake_pays_back_principal_and_yield(
    stakes: list[tuple[str, str, int]], settlement_delay: float
) -> None:
    """No target is at the market, so none is reached: each stake pays its own coin back
    with the yield of its term, truncated to the coin's precision, and nothing else moves."""
    book = still_book(
        settlement_delay=settlement_delay, dual_assets_products=default_dual_assets_products()
    )
    wallet = WALLETS["rich"]
    account = book.add_account("key", wallet)
    dual = book.dual_assets
    for n, (product_id, direction, nth) in enumerate(stakes):
        product = dual.products[product_id]
        amount = "100" if direction == "BuyLow" else str(product.min_base_amount * 100)
        body = dual_body(book, product_id, direction, amount, nth, None, Instant(0.0, START_MS))
        dual.place(account, f"da-{n}", body, Instant(0.0, START_MS))
    later = 3 * 86_400 + settlement_delay  # past the longest term (3d) after confirmation
    book.settle(Instant(later, START_MS + int(later * 1000)))

    expected = dict(wallet)
    for order in dual.orders.values():
        assert order.status == "Settled" and order.settlement_coin == order.coin
        position = dual.positions[order.position_id or ""]
        assert position.settlement_ms - position.yield_start_ms == duration_ms(
            dual.products[order.product_id].duration
        )
        term_years = Decimal(position.settlement_ms - position.yield_start_ms) / (365 * 86_400_000)
        grown = order.amount * (1 + Decimal(order.apy_e8) / 10**8 * term_years)
        places = dual.products[order.product_id].precision(order.coin)
        assert order.settlement_amount == grown.quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_DOWN
        )
        assert order.settlement_amount is not None and order.settlement_amount >= order.amount
        expected[order.coin] += order.settlement_amount - order.amount
    assert len(dual.orders) == len(stakes)
    assert account.balances == expected
