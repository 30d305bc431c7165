"""Property tests of the ChainUP simulator's engine (``ContractBook``), driven directly: no
HTTP, no clock, time handed in as an ``Instant``.

Hypothesis runs random sequences of orders (opening and closing, market and limit, at any
offered leverage, on both contracts, by a rich and a poor account), price moves, hand fills,
cancels, margin transfers, leverage changes and the passing of time. After every step the book
must hold exactly:

* an order never fills beyond its volume; its status says how far it filled; its fills, fee
  and traded value are the sums of its trades; a finished order freezes nothing;
* nothing is ever negative that holds money back (position margin, frozen margin and fees),
  a closed position holds no margin, and closing orders never reserve more than the position;
* one open position per key, contract and side, at the leverage of every opening order
  waiting on that side;
* every position's volume, average price and realised profit, and every wallet, equal a
  replay of the trade tape: a fill is the only thing that moves them.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from asyncexch.sim._chainup._engine import ContractBook, marketable
from asyncexch.sim._chainup._params import OrderTicket
from asyncexch.sim._chainup._records import (
    ACTIVE,
    CANCELLED,
    CLOSE,
    FILLED,
    ISOLATED,
    LIMIT,
    MARKET,
    NEW,
    OPEN,
    PARTIAL,
    PARTIAL_CANCELLED,
    ChainupOrder,
    ChainupTrade,
    default_contracts,
)
from asyncexch.sim._instant import Instant
from asyncexch.sim._refused import Refused

START_MS = 1_700_000_000_000
PRICES = {"E_BTCUSD": Decimal("68403.6"), "E_ETHUSD": Decimal("3512.45")}
#: A rich account and one that runs out of margin after a few orders.
WALLETS = {"rich": Decimal("1000000"), "poor": Decimal("300")}
COIN = "USDT"

keys = st.sampled_from(sorted(WALLETS))
contract_ids = st.sampled_from([1, 2])
sides = st.sampled_from(["BUY", "SELL"])
#: How far from the last price a limit order or a price move goes.
factors = st.sampled_from(["0.9", "0.97", "0.99", "0.999", "1", "1.001", "1.01", "1.03", "1.1"])
volumes = st.integers(min_value=1, max_value=40)


class ContractBookMachine(RuleBasedStateMachine):
    """Random operations on a book; the invariants after each."""

    @initialize(fill_delay=st.sampled_from([0.0, 0.0, 1.5]))
    def start(self, fill_delay: float) -> None:
        self.book = ContractBook(default_contracts(), PRICES, fill_delay=fill_delay)
        for key, wallet in WALLETS.items():
            self.book.add_account(key, "secret", {COIN: wallet})
        self.now = 0.0
        # The replay of the trade tape: per position (volume, average price, realised profit)
        # and per account the wallet, moved only by the trades seen so far.
        self.tape_seen: set[int] = set()
        self.replayed: dict[int, tuple[int, Decimal, Decimal]] = {}
        self.wallets = {key: WALLETS[key] for key in WALLETS}
        self.refusals: Counter[str] = Counter()
        #: Trades made by ``fill`` (by hand, whenever asked), not by the market.
        self.by_hand: set[int] = set()

    def at(self) -> Instant:
        return Instant(self.now, START_MS + int(self.now * 1000))

    def last(self, contract_id: int) -> Decimal:
        return self.book.last[contract_id]

    def on_tick(self, contract_id: int, factor: str) -> Decimal:
        contract = self.book.contracts[contract_id]
        price = (self.last(contract_id) * Decimal(factor)).quantize(contract.tick)
        return max(price, contract.tick)

    # --- operations -------------------------------------------------------------------

    @rule(
        key=keys,
        contract_id=contract_ids,
        side=sides,
        volume=volumes,
        limit=st.none() | factors,
        level=st.none() | st.sampled_from([1, 2, 5, 10, 20, 50]),
    )
    def open_order(
        self,
        key: str,
        contract_id: int,
        side: str,
        volume: int,
        limit: str | None,
        level: int | None,
    ) -> None:
        contract = self.book.contracts[contract_id]
        price = None if limit is None else self.on_tick(contract_id, limit)
        ticket = OrderTicket(
            contract,
            MARKET if price is None else LIMIT,
            ISOLATED,
            OPEN,
            side,
            volume,
            price,
            level,
            None,
            {},
        )
        self.take(key, ticket)

    @rule(data=st.data(), volume=volumes, limit=st.none() | factors)
    def close_order(self, data: st.DataObject, volume: int, limit: str | None) -> None:
        positions = [p for p in self.book.positions.values() if p.open]
        if not positions:
            return
        position = data.draw(st.sampled_from(positions))
        volume = min(volume, data.draw(st.integers(1, position.volume + 1)))
        contract = self.book.contracts[position.contract_id]
        price = None if limit is None else self.on_tick(contract.id, limit)
        ticket = OrderTicket(
            contract,
            MARKET if price is None else LIMIT,
            ISOLATED,
            CLOSE,
            "SELL" if position.side == "BUY" else "BUY",
            volume,
            price,
            None,
            str(position.position_id),
            {},
        )
        self.take(position.api_key, ticket)

    def take(self, key: str, ticket: OrderTicket) -> None:
        """Place the order; an opening one only if what it freezes (margin at its leverage,
        the taker fee) fits what the account has available."""
        account = self.book.accounts[key]
        available = self.book.available(key, COIN)
        last = self.last(ticket.contract.id)
        try:
            order, liquidation = self.book.take_order(account, ticket, self.at())
        except Refused as refused:
            self.refusals[str(refused.code)] += 1
            return
        assert order.volume == ticket.volume and order.close_type == ticket.close_type
        assert liquidation >= 0
        if ticket.close_type == OPEN:
            contract = ticket.contract
            reference = ticket.price if ticket.order_type == LIMIT else last
            assert reference is not None
            notional = ticket.volume * contract.multiplier * reference
            frozen = notional / order.level + notional * max(contract.fee_rate_taker, Decimal(0))
            assert frozen <= available

    @rule(contract_id=contract_ids, factor=factors)
    def move_price(self, contract_id: int, factor: str) -> None:
        self.book.set_price(
            self.book.contracts[contract_id], self.on_tick(contract_id, factor), self.at()
        )

    @rule(data=st.data())
    def fill_by_hand(self, data: st.DataObject) -> None:
        active = [o for o in self.book.orders.values() if o.active]
        if not active:
            return
        order = data.draw(st.sampled_from(active))
        volume = data.draw(st.none() | st.integers(1, order.remaining))
        self.book.fill(order.order_id, volume, None, self.at())
        self.by_hand.add(order.trades[-1].trade_id)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.book.orders:
            return
        order = data.draw(st.sampled_from(list(self.book.orders.values())))
        account = self.book.accounts[order.api_key]
        contract = self.book.contracts[order.contract_id]
        try:
            self.book.cancel(account, contract, str(order.order_id))
        except Refused as refused:
            assert not order.active and refused.code == "2"
            return
        assert order.status in (CANCELLED, PARTIAL_CANCELLED)

    @rule(key=keys, contract_id=contract_ids)
    def cancel_all(self, key: str, contract_id: int) -> None:
        account, contract = self.book.accounts[key], self.book.contracts[contract_id]
        self.book.cancel_all(account, contract)
        assert not [
            o for o in self.book.orders_for(key) if o.active and o.contract_id == contract_id
        ]

    @rule(data=st.data(), amount=st.sampled_from(["-50", "-1", "-0.01", "0.01", "1", "50"]))
    def transfer_margin(self, data: st.DataObject, amount: str) -> None:
        positions = [p for p in self.book.positions.values() if p.open]
        if not positions:
            return
        position = data.draw(st.sampled_from(positions))
        before = position.margin
        try:
            self.book.transfer_margin(
                self.book.accounts[position.api_key], position, Decimal(amount)
            )
        except Refused as refused:
            self.refusals[str(refused.code)] += 1
            assert position.margin == before
            return
        assert position.margin == before + Decimal(amount)

    @rule(data=st.data(), level=st.sampled_from([1, 2, 5, 10, 20, 50]))
    def change_level(self, data: st.DataObject, level: int) -> None:
        positions = [p for p in self.book.positions.values() if p.open]
        if not positions:
            return
        position = data.draw(st.sampled_from(positions))
        try:
            self.book.change_level(self.book.accounts[position.api_key], position, level)
        except Refused as refused:
            self.refusals[str(refused.code)] += 1
            return
        assert position.leverage == level

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.book.match(self.at())

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def orders_fill_within_their_volume(self) -> None:
        for order in self.book.orders.values():
            trades = order.trades
            assert 0 <= order.deal_volume <= order.volume
            assert order.deal_volume == sum(t.volume for t in trades)
            assert order.deal_value == sum((t.price * t.volume for t in trades), Decimal(0))
            assert order.fee == sum((t.fee for t in trades), Decimal(0))
            expected_status = {
                NEW: order.deal_volume == 0,
                PARTIAL: 0 < order.deal_volume < order.volume,
                FILLED: order.deal_volume == order.volume,
                CANCELLED: order.deal_volume == 0,
                PARTIAL_CANCELLED: 0 < order.deal_volume < order.volume,
            }
            assert expected_status[order.status], (order.status, order.deal_volume, order.volume)
            assert order.freeze_margin >= 0 and order.freeze_fee >= 0
            if order.status not in ACTIVE:
                assert order.freeze_margin == order.freeze_fee == 0

    @invariant()
    def the_market_fills_what_is_due_and_nothing_earlier(self) -> None:
        for order in self.book.orders.values():
            due_ms = START_MS + int(order.due * 1000)
            assert all(
                t.created_ms >= due_ms for t in order.trades if t.trade_id not in self.by_hand
            )
            if order.active and order.due <= self.now:
                last = self.last(order.contract_id)
                assert order.order_type == LIMIT and order.price is not None
                assert not marketable(order.side, order.price, last), (order, last)

    @invariant()
    def margin_is_never_negative(self) -> None:
        for position in self.book.positions.values():
            assert position.volume >= 0
            assert position.margin >= 0
            if not position.open:
                assert position.margin == 0
            reserved = sum(
                o.remaining
                for o in self.book.orders.values()
                if o.active and o.close_type == CLOSE and o.position_id == position.position_id
            )
            assert reserved <= position.volume

    @invariant()
    def one_position_per_side_at_one_leverage(self) -> None:
        sides: dict[tuple[str, int, str], int] = {}
        for position in self.book.positions.values():
            if position.open:
                side = (position.api_key, position.contract_id, position.side)
                assert side not in sides, side
                sides[side] = position.leverage
        waiting: dict[tuple[str, int, str], set[int]] = {}
        for order in self.book.orders.values():
            if order.active and order.close_type == OPEN:
                side = (order.api_key, order.contract_id, order.side)
                waiting.setdefault(side, set()).add(order.level)
        for side, levels in waiting.items():
            assert len(levels) == 1, (side, levels)
            assert side not in sides or levels == {sides[side]}, (side, levels, sides[side])

    @invariant()
    def positions_and_wallets_replay_the_trade_tape(self) -> None:
        """Each order fills at most once per step, so an order's position now is the one its
        new trade went to; the trades of a step replay in the order they happened."""
        new: list[tuple[ChainupTrade, int]] = []
        for order in self.book.orders.values():
            for trade in order.trades:
                if trade.trade_id not in self.tape_seen:
                    self.tape_seen.add(trade.trade_id)
                    new.append((trade, order.order_id))
        for trade, order_id in sorted(new, key=lambda item: item[0].trade_id):
            self.replay(trade, self.book.orders[order_id])
        for position_id, (volume, avg, realised) in self.replayed.items():
            position = self.book.positions[position_id]
            assert (position.volume, position.avg_price, position.realised) == (
                volume,
                avg,
                realised,
            )
        assert set(self.replayed) == set(self.book.positions)
        for key, wallet in self.wallets.items():
            assert self.book.accounts[key].balances[COIN] == wallet

    def replay(self, trade: ChainupTrade, order: ChainupOrder) -> None:
        """Book one trade as the venue books it: into its position and its wallet."""
        assert order.position_id is not None
        contract = self.book.contracts[order.contract_id]
        volume, avg, realised = self.replayed.get(order.position_id, (0, Decimal(0), Decimal(0)))
        if order.close_type == OPEN:
            total = volume + trade.volume
            avg = (avg * volume + trade.price * trade.volume) / total
            volume, pnl = total, Decimal(0)
        else:
            direction = 1 if order.side == "SELL" else -1  # the position is the other side
            pnl = (trade.price - avg) * trade.volume * contract.multiplier * direction
            volume -= trade.volume
            realised += pnl
        self.replayed[order.position_id] = (volume, avg, realised)
        self.wallets[order.api_key] = self.wallets[order.api_key] + pnl - trade.fee


ContractBookMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestContractBook = ContractBookMachine.TestCase
