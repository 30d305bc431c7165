"""The Bybit simulator's Earn engine (FlexibleSaving, OnChain): pure, time as an argument.

Rules, from ``docs/v5/finance/earn/easy-onchain/*.mdx`` (codes the docs do not tie to a rule
are the simulator's choice, named here):

* ``orderLinkId``: 1-36 characters (180019 when empty, 10001 otherwise); "the same
  orderLinkId can't be used in 30 mins": a reuse within 30 minutes of its latest order is
  refused with the duplicate code (180025 by default; Bybit documents none), and after that
  it is **a new order** (the order list, asked by that id alone, returns the latest).
* OnChain takes the FUND account only (10001); a stake within the product's minimum and
  maximum (180012, 180013) and precision (180012), funded (180016).
* FlexibleSaving: orders confirm after the settlement delay; interest accrues simply (not
  compounded) on the staked amount at the product's ``apr``, per millisecond, shown as
  ``claimableYield`` and never paid out. A redeem takes at most ``availableAmount`` (the
  staked amount less ``freezeDetails``; 180014) and pays out when it confirms.
* OnChain: a stake is Pending for the product's ``stake_delay`` (its position Processing),
  then Success (Active); a redeem names the position (``redeemPositionId``, 10001 without),
  is refused while it is locked (``lock`` seconds after it became Active; 180029), and pays
  out after ``redeem_delay``.
* Order list: OnChain needs ``orderId`` or ``orderLinkId`` (10001); ``startTime``/``endTime``
  at most 7 days apart (10001), the last 7 days when neither is given; ``limit`` 1-100.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from .._instant import Instant
from .._refused import Refused
from ._due import DueQueue
from ._earn_records import FLEXIBLE_SAVING, ON_CHAIN, SimEarnOrder, SimEarnPosition, SimEarnProduct
from ._engine import AdvanceEarnBook
from ._params import positive_decimal
from ._records import SimAccount

__all__ = ["ID_WINDOW", "EarnBook"]

#: How long Bybit refuses a reused Earn orderLinkId, in seconds.
ID_WINDOW = 30 * 60.0
_WEEK_MS = 7 * 24 * 3600 * 1000
_YEAR_MS = Decimal(365 * 24 * 3600 * 1000)
_LINK = re.compile(r"[A-Za-z0-9_-]{1,36}")


class EarnBook:
    """Earn's products, orders and positions, on the simulator's accounts."""

    def __init__(self, market: AdvanceEarnBook, products: Iterable[SimEarnProduct]) -> None:
        self.products: dict[str, SimEarnProduct] = {p.product_id: p for p in products}
        self.orders: dict[str, SimEarnOrder] = {}
        self.positions: dict[str, SimEarnPosition] = {}
        #: The accounts, order ids, statistics, settlement delay and duplicate code.
        self._market = market
        #: (uid, orderLinkId) -> its latest order.
        self._latest: dict[tuple[str, str], SimEarnOrder] = {}
        #: The orders settling looks at, by due time, until they are confirmed.
        self._pending: DueQueue[SimEarnOrder] = DueQueue(lambda order: order.status != "Pending")

    # --- placing ------------------------------------------------------------------------

    def place(self, account: SimAccount, body: Mapping[str, Any], at: Instant) -> SimEarnOrder:
        """Place the stake or redeem ``body`` asks for (see the module's rules)."""
        self.settle(at)
        link = body.get("orderLinkId")
        if not isinstance(link, str) or not link:
            raise Refused(180019, "empty order link id")
        if not _LINK.fullmatch(link):
            raise Refused(10001, "orderLinkId: at most 36 characters")
        latest = self._latest.get((account.uid, link))
        if latest is not None and at.monotonic - latest.placed_at < ID_WINDOW:
            self._market.stats.duplicates_refused += 1
            raise Refused(self._market.duplicate_code, "Order already exists")
        product = self._product(body)
        accounts = ("FUND",) if product.category == ON_CHAIN else ("FUND", "UNIFIED")
        if body.get("accountType") not in accounts:
            raise Refused(10001, f"accountType must be {' or '.join(accounts)}")
        if body.get("coin") != product.coin:
            raise Refused(180002, "Invalid coin")
        amount = positive_decimal(body.get("amount"), "amount")
        if amount % Decimal(1).scaleb(-product.precision) != 0:
            raise Refused(180012, "Purchase share is invalid")
        kind = body.get("orderType")
        if kind == "Stake":
            position, due = self._stake(account, product, amount, at)
        elif kind == "Redeem":
            position, due = self._redeem(account, product, amount, body, at)
        else:
            raise Refused(10001, "orderType must be Stake or Redeem")
        order = SimEarnOrder(
            order_id=self._market.new_order_id(),
            order_link_id=link,
            uid=account.uid,
            category=product.category,
            product_id=product.product_id,
            coin=product.coin,
            order_type=kind,
            amount=amount,
            created_ms=at.ms,
            placed_at=at.monotonic,
            due=due,
            position_id=position.position_id,
            updated_ms=at.ms,
        )
        if not position.order_id:
            position.order_id = order.order_id
        self.orders[order.order_id] = order
        self._pending.add(order, order.due)
        self._latest[(account.uid, link)] = order
        return order

    def _product(self, body: Mapping[str, Any]) -> SimEarnProduct:
        category = body.get("category")
        if category not in (FLEXIBLE_SAVING, ON_CHAIN):
            raise Refused(10001, "category must be FlexibleSaving or OnChain")
        product = self.products.get(str(body.get("productId")))
        if product is None or product.category != category:
            raise Refused(180008, "Invalid Product")
        if product.status != "Available":
            raise Refused(180007, "Product not available")
        return product

    def _stake(
        self, account: SimAccount, product: SimEarnProduct, amount: Decimal, at: Instant
    ) -> tuple[SimEarnPosition, float]:
        if amount < product.min_stake:
            raise Refused(180012, "Purchase share is invalid")
        if amount > product.max_stake:
            raise Refused(180013, "Stake over maximum share")
        balance = account.balances.get(product.coin, Decimal(0))
        if balance < amount:
            raise Refused(180016, "Balance not enough")
        account.balances[product.coin] = balance - amount
        if product.category == ON_CHAIN:
            # Each OnChain stake is a position of its own, Processing until it confirms.
            position = self._new_position(account, product)
            return position, at.monotonic + product.stake_delay
        return self._flexible_position(
            account, product
        ), at.monotonic + self._market.settlement_delay

    def _redeem(
        self,
        account: SimAccount,
        product: SimEarnProduct,
        amount: Decimal,
        body: Mapping[str, Any],
        at: Instant,
    ) -> tuple[SimEarnPosition, float]:
        if product.category == ON_CHAIN:
            position = self.positions.get(str(body.get("redeemPositionId", "")))
            if "redeemPositionId" not in body:
                raise Refused(10001, "redeemPositionId is required for OnChain")
            if position is None or (position.uid, position.product_id) != (
                account.uid,
                product.product_id,
            ):
                raise Refused(180020, "Position not found")
            if position.status != "Active" or at.monotonic < position.unlocks_at:
                raise Refused(180029, "Redeem not allowed")
            due = at.monotonic + product.redeem_delay
        else:
            position = self._flexible_position(account, product)
            due = at.monotonic + self._market.settlement_delay
        if amount > position.available:
            raise Refused(180014, "Redeem share invlaid")
        _accrue(position, product, at.ms)
        position.amount -= amount
        return position, due

    def _flexible_position(self, account: SimAccount, product: SimEarnProduct) -> SimEarnPosition:
        """The account's one position in a FlexibleSaving product (kept when redeemed)."""
        for position in self.positions.values():
            if position.uid == account.uid and position.product_id == product.product_id:
                return position
        return self._new_position(account, product)

    def _new_position(self, account: SimAccount, product: SimEarnProduct) -> SimEarnPosition:
        position = SimEarnPosition(
            position_id=str(len(self.positions) + 1),
            uid=account.uid,
            category=product.category,
            product_id=product.product_id,
            coin=product.coin,
        )
        self.positions[position.position_id] = position
        return position

    # --- time ---------------------------------------------------------------------------

    def settle(self, at: Instant) -> None:
        """Confirm every order due by ``at``: a stake's amount joins its position, a redeem's
        is paid to the account."""
        for order in self._pending.due_by(at.monotonic):
            if order.status != "Pending" or order.due > at.monotonic:
                continue
            product = self.products[order.product_id]
            position = self.positions[order.position_id]
            order.status = "Success"
            order.updated_ms = at.ms
            if order.order_type == "Stake":
                _accrue(position, product, at.ms)
                position.amount += order.amount
                position.status = "Active"
                position.unlocks_at = order.due + product.lock
            else:
                account = next(a for a in self._market.accounts.values() if a.uid == order.uid)
                account.balances[order.coin] = account.balances.get(order.coin, 0) + order.amount

    def freeze(self, position_id: str, amount: Decimal, description: str) -> None:
        """Lock ``amount`` of a position elsewhere (``freezeDetails``), as a loan would."""
        self.positions[position_id].frozen[description] = amount

    # --- reading ------------------------------------------------------------------------

    def select_orders(
        self, account: SimAccount, params: Mapping[str, Any], at: Instant
    ) -> list[SimEarnOrder]:
        """The account's orders the query asks for, newest first (see the module's rules)."""
        category = params.get("category")
        if category not in (FLEXIBLE_SAVING, ON_CHAIN):
            raise Refused(10001, "category must be FlexibleSaving or OnChain")
        order_id, link = params.get("orderId"), params.get("orderLinkId")
        if category == ON_CHAIN and not (order_id or link):
            raise Refused(10001, "orderId or orderLinkId is required for OnChain")
        start, end = _window(params, at)
        selected = [
            order
            for order in self.orders.values()
            if order.uid == account.uid
            and order.category == category
            and order_id in (None, order.order_id)
            and link in (None, order.order_link_id)
            and params.get("productId") in (None, order.product_id)
            and start <= order.created_ms <= end
        ]
        selected.sort(key=lambda order: (order.created_ms, order.placed_at), reverse=True)
        if link is not None and order_id is None:
            return selected[:1]  # "always return the latest one if order link id is ever reused"
        return selected

    def select_positions(
        self, account: SimAccount, params: Mapping[str, Any]
    ) -> list[SimEarnPosition]:
        """FlexibleSaving lists redeemed positions too; OnChain only those holding coins."""
        category = params.get("category")
        if category not in (FLEXIBLE_SAVING, ON_CHAIN):
            raise Refused(10001, "category must be FlexibleSaving or OnChain")
        return [
            position
            for position in self.positions.values()
            if position.uid == account.uid
            and position.category == category
            and params.get("productId") in (None, position.product_id)
            and params.get("coin") in (None, position.coin)
            and (category == FLEXIBLE_SAVING or position.amount > 0 or position.status != "Active")
        ]

    def claimable(self, position: SimEarnPosition, at_ms: int) -> Decimal:
        """Interest accrued by ``at_ms`` (FlexibleSaving; zero for OnChain)."""
        if position.category != FLEXIBLE_SAVING:
            return Decimal(0)
        product = self.products[position.product_id]
        return position.accrued + _interest(position, product, at_ms)


def _interest(position: SimEarnPosition, product: SimEarnProduct, at_ms: int) -> Decimal:
    if position.status != "Active" or at_ms <= position.accrued_ms:
        return Decimal(0)
    return position.amount * product.apr * Decimal(at_ms - position.accrued_ms) / _YEAR_MS


def _accrue(position: SimEarnPosition, product: SimEarnProduct, at_ms: int) -> None:
    """Book the interest so far before the staked amount changes."""
    position.accrued += _interest(position, product, at_ms)
    position.accrued_ms = at_ms


def _window(params: Mapping[str, Any], at: Instant) -> tuple[int, int]:
    """The query's ``startTime``-``endTime`` in ms: at most 7 days; the last 7 days when
    neither is given (one alone: the 7 days from or up to it)."""
    start, end = _ms(params, "startTime"), _ms(params, "endTime")
    if start is None and end is None:
        return at.ms - _WEEK_MS, at.ms
    if start is None:
        assert end is not None
        return end - _WEEK_MS, end
    if end is None:
        return start, start + _WEEK_MS
    if not 0 <= end - start <= _WEEK_MS:
        raise Refused(10001, "endTime - startTime must be 0 to 7 days")
    return start, end


def _ms(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not str(value).isdigit():
        raise Refused(10001, f"{name} must be milliseconds")
    return int(value)
