"""The Bybit exchange's Liquidity Mining rules: pools, orders, positions, yield, liquidation.

Pure, on the Advance Earn book's accounts, prices, statistics, order ids and options
(:class:`~._engine.AdvanceEarnBook`): time comes in as an
:class:`~asyncexch.sim._instant.Instant`, a request as its decoded parameters, a refusal
goes out as :class:`~asyncexch.sim._refused.Refused`.

What Bybit documents, the simulator does: the four orders take an ``orderLinkId`` (at most 40
characters) that is refused when reused, with the book's duplicate code, in an id space of
Liquidity Mining's own; they are Processing on arrival and Success (or Fail) after the
settlement delay; remove, reinvest and add margin refuse a second pending order on one
position; ``removeRate`` is 1-100, and 0 or missing is 100; claiming interest pays every
claimable yield of the product (``"-1"``: of every product) at once. Orders list newest
first, filtered by ``Success`` or ``Processing`` (``Fail`` is refused with 180001, as Bybit's
skill says), up to 50 a page.

The model and the codes are the simulator's, where Bybit documents none:

* An addition opens a new position. Its principal (both coins, valued at the market price)
  times the leverage goes into the pool; the rest is a ``loan`` in the quote coin. The pool's
  value moves with the square root of the price (a constant-product pool), half in each
  coin. Yield accrues on the pooled value at the product's APY, continuously.
* A position is liquidated when its pooled value plus its margin falls to 110 % of its loan:
  ``liquidationPrice = entry x ((1.1 x loan - margin) / pooled)^2``. Seen whenever the
  simulator serves a Liquidity Mining request, it turns Liquidating and closes after the
  settlement delay, with a liquidation record.
* A removal pays the removed share of the equity (pooled value - loan + margin): half in each
  coin (Normal) or all in one, and the share of the claimable yield as a yield record of type
  RemoveLiquidity. A reinvestment moves the claimable yield into the principal. Margin moves
  the liquidation price away.
* Codes: 180006 a second pending order on a position (Bybit's rule has no code), 180020 a
  position not the caller's, closed or of another product, 180029 a liquidating one, 180012
  an amount below the minimum or beyond the coin's precision, 180013 above the maximum, 180014
  a partial removal worth less than ``minWithdrawalAmount``, 180028 a reinvestment of less
  than ``minReinvestAmount``, 180016 the balance, 10001 a malformed parameter.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from .._instant import Instant
from .._refused import Refused
from ._due import DueQueue
from ._liquidity_records import (
    SimLiquidationRecord,
    SimLiquidityOrder,
    SimLiquidityPosition,
    SimLiquidityProduct,
    SimYieldRecord,
)
from ._params import positive_decimal
from ._records import SimAccount

if TYPE_CHECKING:
    from ._engine import AdvanceEarnBook

__all__ = ["PENDING_CODE", "LiquidityMiningBook"]

#: The code refusing a second pending order on a position (the simulator's choice).
PENDING_CODE = 180006
_YEAR_SECONDS = Decimal(365 * 86_400)
_E8 = Decimal(100_000_000)
_MAINTENANCE = Decimal("1.1")
_ACCOUNTS = ("FUND", "UNIFIED")
_REMOVE_TYPES = ("Normal", "SingleQuoteCoin", "SingleBaseCoin")
ADD, REMOVE, REINVEST, MARGIN = "AddLiquidity", "RemoveLiquidity", "Reinvest", "AddMargin"


class LiquidityMiningBook:
    """Pools, orders, positions and records of one exchange. ``products``, ``orders`` and
    ``positions`` (by id), ``yields`` and ``liquidations`` are the simulator's own: read them
    freely."""

    def __init__(self, market: AdvanceEarnBook, products: Iterable[SimLiquidityProduct]) -> None:
        self._market = market
        self.products: dict[str, SimLiquidityProduct] = {p.product_id: p for p in products}
        self.orders: dict[str, SimLiquidityOrder] = {}
        self.positions: dict[str, SimLiquidityPosition] = {}
        self.yields: list[SimYieldRecord] = []
        self.liquidations: list[SimLiquidationRecord] = []
        self._by_link: dict[tuple[str, str], SimLiquidityOrder] = {}
        #: The orders settling looks at, by due time, until they finish.
        self._processing: DueQueue[SimLiquidityOrder] = DueQueue(
            lambda order: order.status != "Processing"
        )
        self._position_ids = itertools.count(1498)

    # --- reading --------------------------------------------------------------------

    def find_product(self, product_id: object) -> SimLiquidityProduct:
        """The pool a request names (180008 when none)."""
        product = self.products.get(str(product_id)) if isinstance(product_id, str) else None
        if product is None:
            raise Refused(180008, "Invalid Product")
        return product

    def price(self, product: SimLiquidityProduct, at: Instant) -> Decimal:
        """The pool's base coin price in its quote coin."""
        return self._market.price(product.base_coin, at.monotonic)

    def pooled_now(self, position: SimLiquidityPosition, price: Decimal) -> Decimal:
        """What the position's share of the pool is worth at ``price``, in the quote coin."""
        return position.pooled_value * (price / position.entry_price).sqrt()

    def liquidation_price(self, position: SimLiquidityPosition) -> Decimal:
        """The price at which the position is liquidated (0: never)."""
        owed = _MAINTENANCE * position.loan - position.margin
        if owed <= 0:
            return Decimal(0)
        return position.entry_price * (owed / position.pooled_value) ** 2

    # --- orders ---------------------------------------------------------------------

    def place(
        self, account: SimAccount, kind: str, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimLiquidityOrder:
        """Place the order of ``kind`` that ``body`` asks for under ``link`` (already checked
        for its shape), or answer a reuse of ``link`` (per UID): the first order, or the
        duplicate code."""
        self.settle(at)
        previous = self._by_link.get((account.uid, link))
        if previous is not None:
            self._market.answer_reuse(previous.placed_at, at)
            return previous
        product = self.find_product(body.get("productId"))
        order = SimLiquidityOrder(
            order_id=self._market.new_order_id(),
            order_link_id=link,
            uid=account.uid,
            product_id=product.product_id,
            order_type=kind,
            created_ms=at.ms,
            placed_at=at.monotonic,
            due=at.monotonic + self._market.settlement_delay,
        )
        if kind == ADD:
            self._add(account, product, body, order, at)
        else:
            position = self._position_for(account, product, body)
            order.position_id = position.position_id
            if kind == REMOVE:
                self._remove(product, position, body, order, at)
            elif kind == REINVEST:
                self._reinvest(product, position, order)
            else:
                self._margin(account, product, body, order)
        self.orders[order.order_id] = order
        self._processing.add(order, order.due)
        self._by_link[(account.uid, link)] = order
        return order

    def _add(
        self,
        account: SimAccount,
        product: SimLiquidityProduct,
        body: Mapping[str, Any],
        order: SimLiquidityOrder,
        at: Instant,
    ) -> None:
        """An addition: one amount at least, each from a named account, within the pool's
        limits and the balance; leverage 1 to the pool's maximum."""
        if product.status != "Available":
            raise Refused(180007, "Product not available")
        quote = _optional_amount(body, "quoteAmount", "quoteAccountType")
        base = _optional_amount(body, "baseAmount", "baseAccountType")
        if quote is None and base is None:
            raise Refused(10001, "quoteAmount or baseAmount is required")
        leverage = Decimal(1)
        if body.get("leverage") is not None:
            leverage = positive_decimal(body.get("leverage"), "leverage")
        if not 1 <= leverage <= product.max_leverage:
            raise Refused(10001, f"leverage must be 1 to {product.max_leverage}")
        wanted = {product.quote_coin: quote or Decimal(0), product.base_coin: base or Decimal(0)}
        limits = {
            product.quote_coin: (product.min_investment_quote, product.max_investment_quote),
            product.base_coin: (product.min_investment_base, product.max_investment_base),
        }
        for coin, amount in wanted.items():
            if amount:
                _check_amount(product, coin, amount, *limits[coin])
        _debit(account, wanted)
        order.quote_amount, order.base_amount = quote or Decimal(0), base or Decimal(0)
        order.leverage = leverage

    def _position_for(
        self, account: SimAccount, product: SimLiquidityProduct, body: Mapping[str, Any]
    ) -> SimLiquidityPosition:
        """The caller's active position of ``product`` that ``body`` names, with no pending
        order on it."""
        position = self.positions.get(str(body.get("positionId", "")))
        if (
            position is None
            or position.closed
            or position.uid != account.uid
            or position.product_id != product.product_id
        ):
            raise Refused(180020, "Position not found")
        if position.status != "Active":
            raise Refused(180029, "Redeem not allowed: the position is liquidating")
        if any(
            order.position_id == position.position_id and order.status == "Processing"
            for order in self.orders.values()
        ):
            raise Refused(PENDING_CODE, "Only one pending order is allowed per position")
        return position

    def _remove(
        self,
        product: SimLiquidityProduct,
        position: SimLiquidityPosition,
        body: Mapping[str, Any],
        order: SimLiquidityOrder,
        at: Instant,
    ) -> None:
        rate = _remove_rate(body.get("removeRate"))
        remove_type = body.get("removeType", "Normal") or "Normal"
        if remove_type not in _REMOVE_TYPES:
            raise Refused(10001, f"removeType must be one of {', '.join(_REMOVE_TYPES)}")
        removed = self.pooled_now(position, self.price(product, at)) * rate / 100
        if rate < 100 and removed < product.min_withdrawal_amount:
            raise Refused(180014, "Redeem share invlaid")
        order.remove_rate, order.remove_type = rate, remove_type

    def _reinvest(
        self,
        product: SimLiquidityProduct,
        position: SimLiquidityPosition,
        order: SimLiquidityOrder,
    ) -> None:
        """The claimable yield leaves the position now, and joins its principal when the
        order succeeds."""
        amount = _truncate(position.claimable_yield, product.quote_precision)
        if amount < product.min_reinvest_amount:
            raise Refused(180028, "Reinvest validation failed")
        position.claimable_yield -= amount
        order.quote_amount = amount

    def _margin(
        self,
        account: SimAccount,
        product: SimLiquidityProduct,
        body: Mapping[str, Any],
        order: SimLiquidityOrder,
    ) -> None:
        amount = _optional_amount(body, "amount", "quoteAccountType")
        if amount is None:
            raise Refused(10001, "amount is required")
        if _places(amount) > product.quote_precision:
            raise Refused(180012, "Purchase share is invalid")
        _debit(account, {product.quote_coin: amount})
        order.quote_amount = amount

    # --- claims ---------------------------------------------------------------------

    def claim(self, account: SimAccount, product_id: object, at: Instant) -> None:
        """Pay the claimable yield of the caller's positions of ``product_id`` (``"-1"``:
        all), truncated to the quote coin's precision, each as a Manual yield record."""
        self.settle(at)
        if product_id != "-1":
            self.find_product(product_id)
        for position in self.positions.values():
            if position.uid != account.uid or position.closed:
                continue
            if product_id not in ("-1", position.product_id):
                continue
            product = self.products[position.product_id]
            amount = _truncate(position.claimable_yield, product.quote_precision)
            if amount > 0:
                position.claimable_yield -= amount
                self._pay_yield(account.uid, product, amount, "Manual", at.ms)

    def _pay_yield(
        self, uid: str, product: SimLiquidityProduct, amount: Decimal, kind: str, ms: int
    ) -> None:
        self._market.credit(uid, product.quote_coin, amount)
        coins = (product.base_coin, product.quote_coin)
        self.yields.append(SimYieldRecord(uid, product.quote_coin, amount, *coins, kind, ms))

    # --- time -----------------------------------------------------------------------

    def settle(self, at: Instant) -> None:
        """Accrue yield, liquidate what the price reached, and finish the orders due, in
        the order they were placed."""
        for position in list(self.positions.values()):
            if not position.closed:
                self._accrue(position, at)
                self._watch_liquidation(position, at)
        for order in self._processing.due_by(at.monotonic):
            if order.status == "Processing" and order.due <= at.monotonic:
                self._finish(order, at)

    def _accrue(self, position: SimLiquidityPosition, at: Instant) -> None:
        product = self.products[position.product_id]
        elapsed = Decimal(str(max(0.0, at.monotonic - position.accrued_to)))
        rate = Decimal(product.apy_e8) / _E8
        position.claimable_yield += position.pooled_value * rate * elapsed / _YEAR_SECONDS
        position.accrued_to = at.monotonic

    def _watch_liquidation(self, position: SimLiquidityPosition, at: Instant) -> None:
        product = self.products[position.product_id]
        price = self.price(product, at)
        if position.status == "Active" and price <= self.liquidation_price(position):
            position.status = "Liquidating"
            position.liquidation_due = at.monotonic + self._market.settlement_delay
            return
        due = position.liquidation_due
        if position.status == "Liquidating" and due is not None and due <= at.monotonic:
            pooled = self.pooled_now(position, price)
            self.liquidations.append(
                SimLiquidationRecord(
                    position.uid,
                    product.base_coin,
                    product.quote_coin,
                    _truncate(pooled / 2 / price, product.base_precision),
                    _truncate(pooled / 2, product.quote_precision),
                    _truncate(price, product.quote_precision),
                    at.ms,
                )
            )
            position.closed = True

    def _finish(self, order: SimLiquidityOrder, at: Instant) -> None:
        """An order due: Success and its effect, or Fail (its position gone meanwhile) with
        what it took given back."""
        product = self.products[order.product_id]
        if order.order_type == ADD:
            self._open(order, product, at)
            order.status, order.slippage_value = "Success", Decimal(0)
            return
        position = self.positions[order.position_id]
        if position.closed or position.status != "Active":
            order.status = "Fail"
            if order.order_type == MARGIN:
                self._market.credit(order.uid, product.quote_coin, order.quote_amount)
            return
        order.status = "Success"
        if order.order_type == REMOVE:
            self._pay_removal(order, product, position, at)
        elif order.order_type == REINVEST:
            position.principal_quote += order.quote_amount
            position.principal_value += order.quote_amount
        else:
            position.margin += order.quote_amount

    def _open(self, order: SimLiquidityOrder, product: SimLiquidityProduct, at: Instant) -> None:
        price = self.price(product, at)
        principal = order.quote_amount + order.base_amount * price
        position = SimLiquidityPosition(
            position_id=str(next(self._position_ids)),
            uid=order.uid,
            product_id=product.product_id,
            principal_quote=order.quote_amount,
            principal_base=order.base_amount,
            principal_value=principal,
            leverage=order.leverage,
            loan=principal * (order.leverage - 1),
            entry_price=price,
            created_ms=at.ms,
            accrued_to=at.monotonic,
        )
        self.positions[position.position_id] = position
        order.position_id = position.position_id

    def _pay_removal(
        self,
        order: SimLiquidityOrder,
        product: SimLiquidityProduct,
        position: SimLiquidityPosition,
        at: Instant,
    ) -> None:
        """Pay the removed share of the equity by the removal's type, and its share of the
        claimable yield; what stays is the rest."""
        share = Decimal(order.remove_rate) / 100
        price = self.price(product, at)
        equity = max(
            Decimal(0),
            (self.pooled_now(position, price) - position.loan + position.margin) * share,
        )
        quote_part = {"Normal": equity / 2, "SingleQuoteCoin": equity}.get(order.remove_type)
        quote_out = _truncate(quote_part or Decimal(0), product.quote_precision)
        base_out = _truncate((equity - (quote_part or Decimal(0))) / price, product.base_precision)
        self._market.credit(order.uid, product.quote_coin, quote_out)
        self._market.credit(order.uid, product.base_coin, base_out)
        order.quote_amount, order.base_amount = quote_out, base_out
        earned = _truncate(position.claimable_yield * share, product.quote_precision)
        if earned > 0:
            position.claimable_yield -= earned
            self._pay_yield(order.uid, product, earned, "RemoveLiquidity", at.ms)
        keep = 1 - share
        position.principal_quote *= keep
        position.principal_base *= keep
        position.principal_value *= keep
        position.loan *= keep
        position.margin *= keep
        position.closed = share == 1


def _optional_amount(body: Mapping[str, Any], field: str, account_field: str) -> Decimal | None:
    """``field``, a positive decimal string, and its account type (required with it)."""
    if body.get(field) in (None, ""):
        return None
    amount = positive_decimal(body.get(field), field)
    if body.get(account_field) not in _ACCOUNTS:
        raise Refused(10001, f"{account_field} must be FUND or UNIFIED")
    return amount


def _remove_rate(value: object) -> int:
    """An integer 1-100 (a JSON number or its digits); missing or 0 is 100."""
    if value is None or value == "":
        return 100
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise Refused(10001, "removeRate must be an integer 1-100")
    return value or 100


def _check_amount(
    product: SimLiquidityProduct, coin: str, amount: Decimal, low: Decimal, high: Decimal
) -> None:
    if amount < low or _places(amount) > product.precision(coin):
        raise Refused(180012, "Purchase share is invalid")
    if amount > high:
        raise Refused(180013, "Stake over maximum share")


def _debit(account: SimAccount, amounts: Mapping[str, Decimal]) -> None:
    """Take every amount, or none when one balance is short (180016)."""
    for coin, amount in amounts.items():
        if amount > account.balances.get(coin, Decimal(0)):
            raise Refused(180016, "Balance not enough")
    for coin, amount in amounts.items():
        account.balances[coin] = account.balances.get(coin, Decimal(0)) - amount


def _places(amount: Decimal) -> int:
    """How many decimal places ``amount`` has (trailing zeros aside)."""
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _truncate(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
