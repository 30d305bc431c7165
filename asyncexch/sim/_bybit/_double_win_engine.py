"""The Bybit exchange's DoubleWin rules: leverage quotes, the stake, positions, the early
redeem and settlement.

Pure, like the SmartLeverage book it belongs to (:class:`~._engine.AdvanceEarnBook`, whose
accounts, prices, statistics, order ids, ``orderLinkId`` reuse rule, redeem amount rule and
options it uses): time comes in as an :class:`~asyncexch.sim._instant.Instant`, a request as
its decoded parameters, a refusal goes out as :class:`~asyncexch.sim._refused.Refused`.

Bybit documents the rules (double-win/*.mdx) but no codes and no payoff; the simulator's
choices:

* RFQ quote (``double-win-leverage``): 10001 for a fixed-range product, bounds not
  ``lower < initial < upper``, off the tick, or deviating from the initial price
  (``|bound - initial| / initial``) outside the product's ratios; 180030 for an initial price
  more than 5 % from the market. The leverage is ``rfq_scale / ((upper - lower) / initial)``,
  truncated to 2 places (the docs' example range gets their 241.15).
* Stake: 180006 when no live quote matches (fixed: one at ``initialPrice``; RFQ: one of this
  UID's for the same ``initialPrice``, ``lowerPrice`` and ``upperPrice``; expired ones count as
  none); 180001 for a leverage above that quote's or with more than 2 decimals; 10001 for
  an RFQ stake without its range or a fixed one with one; 180013 above the quote's maximum.
* Payoff at settlement price ``S`` (the simulator's own): outside the range, the amount plus
  ``amount x leverage x distance beyond the nearer bound / initial``; inside it, nothing.
  Amounts truncated to 4 places. An early redeem pays that at the redeem's price.
* Redeem: as SmartLeverage's (estimate honoured 10 minutes, 180006; 180020; 180029), with a
  30-minute lockout before settlement (the docs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from .._instant import Instant
from .._refused import Refused
from ._double_win_records import (
    SimDoubleWinOrder,
    SimDoubleWinPosition,
    SimDoubleWinProduct,
    SimDoubleWinQuote,
)
from ._due import DueQueue, matured_positions, pending_due
from ._early_redeem import EarlyRedeems, fell_past_slippage
from ._params import positive_decimal, product_named, purchase_amount
from ._placed_orders import PlacedOrders
from ._records import SimAccount, duration_ms
from ._stake_funding import fund_stake

if TYPE_CHECKING:
    from ._engine import AdvanceEarnBook

__all__ = ["DoubleWinBook"]

_CENT = Decimal("0.01")
_SLIPPAGE = Decimal("0.05")
#: No redeem this close to settlement (the docs: "less than 30 minutes").
_REDEEM_CUTOFF_MS = 1_800_000


class DoubleWinBook:
    """DoubleWin products, quotes, orders and positions of one exchange. ``products``,
    ``orders`` and ``positions`` (by id) are the simulator's own: read them freely."""

    def __init__(self, market: AdvanceEarnBook, products: Iterable[SimDoubleWinProduct]) -> None:
        self._market = market
        self.products: dict[str, SimDoubleWinProduct] = {p.product_id: p for p in products}
        self.orders: dict[str, SimDoubleWinOrder] = {}
        self.positions: dict[str, SimDoubleWinPosition] = {}
        #: What settling looks at: orders by due time, positions by settlement time.
        self._pending: DueQueue[SimDoubleWinOrder] = DueQueue(
            lambda order: order.status != "Pending"
        )
        self._maturing: DueQueue[SimDoubleWinPosition] = DueQueue(
            lambda position: position.status == "Settled"
        )
        self._placed = PlacedOrders(self.orders, market.answer_reuse, self._pending)
        self._quotes: list[SimDoubleWinQuote] = []
        self._early_redeems = EarlyRedeems(
            "doubleWinRedeemExtra",
            self.positions,
            self.redeemable,
            market.check_redeem_amount_and_coin,
        )

    # --- quotes ---------------------------------------------------------------------

    def find_product(self, product_id: object) -> SimDoubleWinProduct:
        """The product a request names, as a string or a JSON number (180008 when none)."""
        return product_named(self.products, product_id)

    def market_price(self, product: SimDoubleWinProduct, at: float) -> Decimal:
        return self._market.price(product.underlying_asset, at)

    def issue_fixed_quote(self, product_id: object, at: Instant) -> SimDoubleWinQuote:
        """A fixed-range product's quote at the market price (10001 for an RFQ product)."""
        product = self.find_product(product_id)
        if product.is_rfq:
            raise Refused(10001, "RFQ product: quote it with double-win-leverage")
        current = self.market_price(product, at.monotonic)
        return self._remember(product, current, None, None, product.leverage, at, None)

    def issue_rfq_quote(
        self, account: SimAccount, params: Mapping[str, Any], at: Instant
    ) -> SimDoubleWinQuote:
        """An RFQ product's quote for the range ``params`` names (see the module's codes)."""
        product = self.find_product(params.get("productId"))
        if not product.is_rfq:
            raise Refused(10001, "not an RFQ product: use product-extra-info")
        initial = positive_decimal(params.get("initialPrice"), "initialPrice")
        lower = positive_decimal(params.get("lowerPrice"), "lowerPrice")
        upper = positive_decimal(params.get("upperPrice"), "upperPrice")
        if not lower < initial < upper:
            raise Refused(10001, "lowerPrice < initialPrice < upperPrice is required")
        for bound in (lower, upper):
            if bound % product.price_tick != 0:
                raise Refused(10001, f"prices must be multiples of {product.price_tick}")
            deviation = abs(bound - initial) / initial
            if not product.min_deviation <= deviation <= product.max_deviation:
                raise Refused(10001, "price outside the allowed deviation range")
        market = self.market_price(product, at.monotonic)
        if abs(initial - market) / market > _SLIPPAGE:
            raise Refused(180030, "Slippage fail")
        leverage = (product.rfq_scale * initial / (upper - lower)).quantize(_CENT, ROUND_DOWN)
        return self._remember(product, initial, lower, upper, leverage, at, account.uid)

    def _remember(
        self,
        product: SimDoubleWinProduct,
        initial: Decimal,
        lower: Decimal | None,
        upper: Decimal | None,
        leverage: Decimal,
        at: Instant,
        uid: str | None,
    ) -> SimDoubleWinQuote:
        quote = SimDoubleWinQuote(
            product.product_id,
            initial,
            lower,
            upper,
            leverage,
            product.max_investment_amount,
            at.ms + int(self._market.quote_ttl * 1000),
            uid,
        )
        self._quotes = [old for old in self._quotes if old.expire_ms >= at.ms] + [quote]
        return quote

    # --- orders ---------------------------------------------------------------------

    def place(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimDoubleWinOrder:
        """Place the stake or redeem ``body`` asks for under ``link``, or answer a reuse of
        ``link`` (per UID, in this category)."""
        return self._placed.once(account, link, at, lambda: self._new(account, link, body, at))

    def _new(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimDoubleWinOrder:
        """The stake or redeem ``body`` asks for, placed now."""
        product = self.find_product(body.get("productId"))
        order_type = body.get("orderType")
        if order_type == "Stake":
            return self._stake(account, product, link, body, at)
        if order_type == "Redeem":
            return self._redeem(account, product, link, body, at)
        raise Refused(10001, "orderType must be Stake or Redeem")

    def _stake(
        self,
        account: SimAccount,
        product: SimDoubleWinProduct,
        link: str,
        body: Mapping[str, Any],
        at: Instant,
    ) -> SimDoubleWinOrder:
        """A stake at a live quote (see the module's codes); the amount leaves the balance."""
        account_type = body.get("accountType")
        if account_type not in ("FUND", "UNIFIED"):
            raise Refused(10001, "accountType must be FUND or UNIFIED")
        if body.get("coin") != product.invest_coin:
            raise Refused(180002, "Invalid coin")
        amount = purchase_amount(body.get("amount"), product.min_purchase_amount, product.precision)
        extra = body.get("doubleWinStakeExtra")
        if not isinstance(extra, dict):
            raise Refused(10001, "doubleWinStakeExtra is required for Stake")
        quote = self._live_quote(account, product, extra, at)
        leverage = positive_decimal(extra.get("leverage"), "leverage")
        if leverage > quote.leverage or leverage != leverage.quantize(_CENT, ROUND_DOWN):
            raise Refused(180001, "Invalid parameter: leverage above the quote or > 2 decimals")
        fund_stake(
            account,
            product.invest_coin,
            amount,
            maximum=quote.max_investment_amount,
            remaining=None,
        )
        lower = quote.lower if quote.lower is not None else quote.initial - product.lower_buffer
        upper = quote.upper if quote.upper is not None else quote.initial + product.upper_buffer
        return self._new_order(
            account,
            product,
            link,
            "Stake",
            amount,
            account_type,
            at,
            leverage,
            quote.initial,
            lower,
            upper,
        )

    def _live_quote(
        self,
        account: SimAccount,
        product: SimDoubleWinProduct,
        extra: Mapping[str, Any],
        at: Instant,
    ) -> SimDoubleWinQuote:
        """The live quote the stake's prices name (180006 when none; 10001 for a range on
        the wrong kind of product)."""
        initial = positive_decimal(extra.get("initialPrice"), "initialPrice")
        lower, upper = extra.get("lowerPrice"), extra.get("upperPrice")
        if product.is_rfq != (lower is not None or upper is not None):
            raise Refused(10001, "lowerPrice and upperPrice: RFQ products only, and both")
        low = None if lower is None else positive_decimal(lower, "lowerPrice")
        high = None if upper is None else positive_decimal(upper, "upperPrice")
        for quote in reversed(self._quotes):
            if (
                quote.product_id == product.product_id
                and quote.expire_ms >= at.ms
                and quote.uid in (None, account.uid)
                and (quote.initial, quote.lower, quote.upper) == (initial, low, high)
            ):
                return quote
        raise Refused(180006, "Validation failed: no live quote for these prices; fetch a new one")

    def _redeem(
        self,
        account: SimAccount,
        product: SimDoubleWinProduct,
        link: str,
        body: Mapping[str, Any],
        at: Instant,
    ) -> SimDoubleWinOrder:
        """A redeem of the account's position against its estimate of the last 10 minutes."""
        redeem = self._early_redeems.accept(
            account, product.product_id, product.invest_coin, body, at
        )
        position = redeem.position
        account_type = body.get("accountType") or position.account_type
        order = self._new_order(
            account,
            product,
            link,
            "Redeem",
            position.amount,
            str(account_type),
            at,
            position.leverage,
            position.initial_price,
            position.lower_price,
            position.upper_price,
        )
        order.position_id = position.position_id
        order.est_redeem_amount = redeem.estimated
        order.slippage_protected = redeem.protected
        return order

    def _new_order(
        self,
        account: SimAccount,
        product: SimDoubleWinProduct,
        link: str,
        order_type: str,
        amount: Decimal,
        account_type: str,
        at: Instant,
        *prices: Decimal,
    ) -> SimDoubleWinOrder:
        leverage, initial, lower, upper = prices
        return SimDoubleWinOrder(
            self._market.new_order_id(),
            link,
            account.uid,
            product.product_id,
            order_type,
            amount,
            account_type,
            at.ms,
            at.monotonic,
            at.monotonic + self._market.settlement_delay,
            leverage,
            initial,
            lower,
            upper,
            updated_ms=at.ms,
        )

    # --- positions, estimates, settlement -------------------------------------------

    def redeemable(self, position: SimDoubleWinPosition, at: Instant) -> bool:
        """Active, no redeem pending, and more than 30 minutes before settlement."""
        return position.status == "Active" and at.ms < position.settlement_ms - _REDEEM_CUTOFF_MS

    def payoff(self, position: SimDoubleWinPosition, price: Decimal) -> Decimal:
        """What the position pays at ``price`` (the simulator's formula: see the module)."""
        if position.lower_price <= price <= position.upper_price:
            return Decimal(0)
        beyond = (
            position.lower_price - price
            if price < position.lower_price
            else price - position.upper_price
        )
        gain = position.amount * position.leverage * beyond / position.initial_price
        return (position.amount + gain).quantize(Decimal("0.0001"), ROUND_DOWN)

    def estimate(self, account: SimAccount, position_id: str, at: Instant) -> Decimal | None:
        """What redeeming the account's position would pay now (``None`` when it is not the
        account's, not redeemable, or worth nothing); a redeem may rely on it 10 minutes."""
        return self._early_redeems.estimate(account, position_id, at, self._worth)

    def _worth(self, position: SimDoubleWinPosition, at: Instant) -> Decimal | None:
        """What the position pays at the market price at ``at``; ``None`` when nothing."""
        product = self.products[position.product_id]
        value = self.payoff(position, self.market_price(product, at.monotonic))
        return value if value > 0 else None

    def settle(self, at: Instant) -> None:
        """Everything due by ``at``: stakes confirmed, redeems paid, positions settled at
        their settlement time's price."""
        for order in pending_due(self._pending.due_by(at.monotonic), at):
            if order.order_type == "Stake":
                self._open_position(order, at)
            else:
                self._close_by_redeem(order)
        for position in matured_positions(self._maturing.due_by(at.ms), at):
            stake = self.orders[position.order_id]
            self._pay_out(position, stake, at.monotonic_of(position.settlement_ms))

    def _open_position(self, order: SimDoubleWinOrder, at: Instant) -> None:
        confirmed_ms = at.ms_of(order.due)
        settles = confirmed_ms + duration_ms(self.products[order.product_id].duration)
        position_id = str(len(self.positions) + 2801)
        position = SimDoubleWinPosition(
            position_id,
            order.uid,
            order.product_id,
            order.order_id,
            order.amount,
            order.leverage,
            order.initial_price,
            order.lower_price,
            order.upper_price,
            order.account_type,
            confirmed_ms,
            settles,
        )
        self.positions[position_id] = position
        self._maturing.add(position, position.settlement_ms)
        order.status = "Success"
        order.position_id = position_id
        order.settlement_ms = settles
        order.updated_ms = confirmed_ms

    def _close_by_redeem(self, order: SimDoubleWinOrder) -> None:
        """Pay the redeem at its due time's price, unless protected and the value fell more
        than 5 % below the estimate (the redeem fails, the position stays)."""
        assert order.position_id is not None and order.est_redeem_amount is not None
        position = self.positions[order.position_id]
        product = self.products[position.product_id]
        value = self.payoff(position, self.market_price(product, order.due))
        if order.slippage_protected and fell_past_slippage(value, order.est_redeem_amount):
            order.status, order.refund_status, position.status = "Fail", "Processed", "Active"
            return
        self._pay_out(position, order, order.due)

    def _pay_out(self, position: SimDoubleWinPosition, order: SimDoubleWinOrder, at: float) -> None:
        product = self.products[position.product_id]
        price = self.market_price(product, at)
        value = self.payoff(position, price)
        self._market.credit(position.uid, product.invest_coin, value)
        position.status = "Settled"
        order.status = "Settled"
        order.settlement_price = price
        order.pnl = value - position.amount
