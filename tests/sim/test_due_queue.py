"""The books settle from a due queue (:class:`~asyncexch.sim._bybit._due.DueQueue`) instead of
scanning every order and position on every request; what settles, when and in which order
must stay exactly what the scan settled.

The oracle is the scan itself: the queue on its own against a list filtered in full, and whole
books driven through the same random steps twice, once as they are and once with every queue
handing out everything it ever held (which is what the books did before the queue), holding
the same orders, positions and balances after every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncexch.sim._bybit._discount_records import default_discount_buy_products
from asyncexch.sim._bybit._due import DueQueue
from asyncexch.sim._bybit._engine import AdvanceEarnBook
from asyncexch.sim._instant import Instant
from asyncexch.sim._refused import Refused
from tests.builders.discount_buy import db_stake_body
from tests.builders.engine import START_MS, still_book

# --- the queue against a filtered list ---------------------------------------------------


@attrs.define(eq=False)
class _Item:
    due: float
    #: "waiting" (the settle step's test selects it once due), "held" (due but not now, like
    #: a position being redeemed), "done" (final).
    status: str = "waiting"


_times = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0])
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _times),
        st.tuples(st.just("mark"), st.integers(0, 30), st.sampled_from(["waiting", "held"])),
        st.tuples(st.just("finish"), st.integers(0, 30)),
        st.tuples(st.just("settle"), _times),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps=_steps)
def test_the_queue_selects_what_a_scan_of_everything_selects_in_the_same_order(
    steps: list[tuple[Any, ...]],
) -> None:
    """At any instant (time may even go back), the items the test selects among the queue's
    candidates are the ones it selects among every item, in the order they were added."""
    queue: DueQueue[_Item] = DueQueue(lambda item: item.status == "done")
    everything: list[_Item] = []

    def due(item: _Item, now: float) -> bool:
        return item.status == "waiting" and item.due <= now

    for step in steps:
        if step[0] == "add":
            everything.append(_Item(step[1]))
            queue.add(everything[-1], step[1])
        elif step[0] in ("mark", "finish") and step[1] < len(everything):
            item = everything[step[1]]
            if item.status != "done":  # done is final: the queue's contract
                item.status = "done" if step[0] == "finish" else step[2]
        elif step[0] == "settle":
            selected = [item for item in queue.due_by(step[1]) if due(item, step[1])]
            assert selected == [item for item in everything if due(item, step[1])]
            for item in selected[::2]:  # a settle step settles some of what it selects
                item.status = "done"


# --- whole books, queued against scanned ---------------------------------------------------


@contextmanager
def _scanning() -> Iterator[None]:
    """Every queue hands out everything it ever held, in the order added: the old scan."""

    def add(self: DueQueue[Any], item: Any, due: float) -> None:
        self.__dict__.setdefault("everything", []).append(item)

    def due_by(self: DueQueue[Any], now: float) -> list[Any]:
        return list(self.__dict__.get("everything", []))

    with mock.patch.object(DueQueue, "add", add), mock.patch.object(DueQueue, "due_by", due_by):
        yield


#: Waits between steps: none, a settlement delay, past the redeem cutoff, to maturity.
_waits = st.sampled_from([0.0, 0.5, 1.0, 60.0, 3_000.0, 3_700.0, 86_400.0, 3 * 86_400.0])
_book_steps = st.lists(
    st.one_of(
        st.tuples(st.just("stake"), st.sampled_from(["13015", "13016", "13020"])),
        st.tuples(st.just("redeem"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("discount"), st.sampled_from(["7037", "7039"])),
        st.tuples(
            st.just("price"),
            st.sampled_from(["BTC", "ETH"]),
            st.sampled_from(["0.5", "0.97", "1", "1.03", "1.5"]),
        ),
        st.tuples(st.just("wait"), _waits),
    ),
    max_size=40,
)


def _play(steps: list[tuple[Any, ...]], settlement_delay: float) -> list[str]:
    """Drive a fresh book through ``steps``, settling after each as the simulator does on
    every request; what it holds after each step."""
    book = still_book(
        settlement_delay=settlement_delay,
        quote_ttl=10**9,
        discount_buy_products=default_discount_buy_products(),
    )
    account = book.add_account("key", {"USDT": Decimal(10**9)})
    base = {"BTC": Decimal("68403.67"), "ETH": Decimal("3512.40")}
    now = 0.0
    seen: list[str] = []
    for n, step in enumerate(steps):
        at = Instant(now, START_MS + round(now * 1000))
        try:
            if step[0] == "stake":
                quote = book.issue_quote(step[1], at)
                extra = {
                    "initialPrice": str(quote.current_price),
                    "breakevenPrice": str(quote.breakeven_price),
                }
                body = _body(step[1], "Stake", smartLeverageStakeExtra=extra, coin="USDT")
                body["amount"] = "100"
                book.place(account, f"s{n}", body, at)
            elif step[0] == "redeem" and book.positions:
                position = list(book.positions.values())[step[1] % len(book.positions)]
                estimate = book.estimate(account, position.position_id, at)
                extra = {
                    "positionId": position.position_id,
                    "estRedeemAmount": str(estimate or position.amount),
                    "isSlippageProtected": step[2],
                }
                body = _body(position.product_id, "Redeem", smartLeverageRedeemExtra=extra)
                book.place(account, f"r{n}", body, at)
            elif step[0] == "discount":
                offer = book.discount_buy.issue_quote(step[1], at)
                book.discount_buy.place(account, f"d{n}", db_stake_body(offer, f"d{n}", "100"), at)
            elif step[0] == "price":
                book.set_price(step[1], base[step[1]] * Decimal(step[2]), at)
            elif step[0] == "wait":
                now += step[1]
        except Refused as refused:
            seen.append(f"refused {refused.code}")
        book.settle(Instant(now, START_MS + round(now * 1000)))
        seen.append(_holdings(book))
    return seen


def _body(product_id: str, order_type: str, **fields: Any) -> dict[str, Any]:
    return {"productId": product_id, "orderType": order_type, "accountType": "FUND", **fields}


def _holdings(book: AdvanceEarnBook) -> str:
    """Every order and position of the book (SmartLeverage and DiscountBuy), field by field,
    in the book's order, and the balances."""
    return repr(
        (
            list(book.orders.values()),
            list(book.positions.values()),
            list(book.discount_buy.orders.values()),
            list(book.discount_buy.positions.values()),
            [account.balances for account in book.accounts.values()],
        )
    )


@settings(max_examples=150, deadline=None)
@given(steps=_book_steps, settlement_delay=st.sampled_from([0.0, 1.0, 3_700.0]))
def test_a_book_settles_exactly_what_scanning_every_order_and_position_settled(
    steps: list[tuple[Any, ...]], settlement_delay: float
) -> None:
    """Stakes, redeems (some slippage-protected, failing when the price moves, some still
    Redeeming at their position's maturity when the settlement delay is long), DiscountBuy
    stakes (refunded when knocked out) and waits: the same holdings after every step."""
    queued = _play(steps, settlement_delay)
    with _scanning():
        scanned = _play(steps, settlement_delay)
    assert queued == scanned
