"""The Bybit Advance Earn exchange's engine: products, quotes, orders, positions, redeem and
settlement rules.

Pure: no HTTP and no clock. Time comes in as an :class:`~asyncexch.sim._instant.Instant` (or
monotonic seconds where only a price is asked for), an order as the decoded JSON body Bybit
receives, so the rules can be driven (and property-tested) directly; a refusal is
:class:`~asyncexch.sim._refused.Refused` with Bybit's code, in Bybit's order of checks.

An ``orderLinkId`` places at most one order per UID: a reuse is refused with the configured
code, or (``idempotency="same_order_id"``, older Bybit) answered with the first order for 30
minutes. A stake is accepted at a live quote's breakeven price, within 5% of the market and
the quote's maximum, and becomes a position when it settles; a redeem is accepted against a
fresh estimate (10 minutes) more than 60 minutes before settlement, and pays the position's
value when it settles (or fails, when it is slippage-protected and the value fell more than
5% below the estimate). Positions left alone pay out at their settlement time's price.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal

import attrs

from .._instant import Instant
from .._refused import Refused
from ._discount_engine import DiscountBuyBook, Exercise
from ._discount_records import SimDiscountBuyProduct
from ._double_win_engine import DoubleWinBook
from ._double_win_records import SimDoubleWinProduct
from ._dual_engine import DualAssetsBook
from ._dual_records import SimDualAssetsProduct
from ._due import DueQueue, matured_positions, pending_due
from ._early_redeem import EarlyRedeems, fell_past_slippage
from ._params import positive_decimal, purchase_amount
from ._placed_orders import PlacedOrders
from ._records import (
    SimAccount,
    SimOrder,
    SimPosition,
    SimProduct,
    SimQuote,
    SimStats,
    duration_ms,
)
from ._stake_funding import debit

__all__ = ["AdvanceEarnBook", "positive_decimal"]

_SLIPPAGE = Decimal("0.05")
_OLD_DEDUPE_WINDOW = 1800.0
#: No redeem this close to a position's settlement (Bybit: "less than 60 minutes remain").
_REDEEM_CUTOFF_MS = 3_600_000
#: A quote's breakeven price sits this far from the market, against the product's direction.
_QUOTE_SPREAD = Decimal("0.0036")


@attrs.frozen
class _Slip:
    """What every new order carries whatever its type: its link id, the account type it is
    paid from and to, and when it was placed."""

    link: str
    account_type: str
    at: Instant


class AdvanceEarnBook:
    """Products, accounts, quotes, orders and positions of one exchange, and the rules that
    move them.

    ``prices`` are the assets' base prices, which swing by ``price_swing`` (a fraction) over
    ``price_period`` seconds from monotonic time ``started``; ``quote_ttl`` is how long a
    quote is good for, ``settlement_delay`` how long an order stays Pending. Refused
    duplicates are counted in ``stats``. The dictionaries are the simulator's own (``orders``
    and ``positions`` by id, ``accounts`` by API key, ``products`` by id): read them freely.
    """

    def __init__(
        self,
        products: Iterable[SimProduct],
        prices: Mapping[str, Decimal],
        *,
        started: float,
        stats: SimStats,
        price_swing: float = 0.01,
        price_period: float = 120.0,
        quote_ttl: float = 60.0,
        settlement_delay: float = 1.0,
        idempotency: Literal["error", "same_order_id"] = "error",
        duplicate_code: int = 180025,
        redeem_rules: Literal["any", "official-tools"] = "any",
        dual_assets_products: Iterable[SimDualAssetsProduct] = (),
        discount_buy_products: Iterable[SimDiscountBuyProduct] = (),
        discount_buy_exercise: Exercise = "below-knockout",
        double_win_products: Iterable[SimDoubleWinProduct] = (),
    ) -> None:
        self.quote_ttl = quote_ttl
        self.settlement_delay = settlement_delay
        self.idempotency = idempotency
        self.duplicate_code = duplicate_code
        self.redeem_rules = redeem_rules
        self.stats = stats
        self.accounts: dict[str, SimAccount] = {}
        self.products: dict[str, SimProduct] = {p.product_id: p for p in products}
        self.orders: dict[str, SimOrder] = {}
        self.positions: dict[str, SimPosition] = {}
        #: What settling looks at: orders by due time, positions by settlement time.
        self._pending: DueQueue[SimOrder] = DueQueue(lambda order: order.status != "Pending")
        self._maturing: DueQueue[SimPosition] = DueQueue(
            lambda position: position.status == "Settled"
        )
        self._placed = PlacedOrders(self.orders, self.answer_reuse, self._pending)
        self._early_redeems = EarlyRedeems(
            "smartLeverageRedeemExtra",
            self.positions,
            self.redeemable,
            self.check_redeem_amount_and_coin,
        )
        #: Live quotes by product, then breakeven price (the latest quote at that price).
        self._quotes: dict[str, dict[Decimal, SimQuote]] = {}
        self._ids = itertools.count(1)
        self._uids = itertools.count(100001)
        self._base_prices = dict(prices)
        self._price_swing = price_swing
        self._price_period = price_period
        self._started = started
        #: DualAssets: its own products, orders and positions, on this book's accounts,
        #: prices, statistics and options.
        self.dual_assets: DualAssetsBook = DualAssetsBook(self, dual_assets_products)
        #: DoubleWin, likewise.
        self.double_win: DoubleWinBook = DoubleWinBook(self, double_win_products)
        #: DiscountBuy: the same, with its own rules.
        self.discount_buy: DiscountBuyBook = DiscountBuyBook(
            self, discount_buy_products, discount_buy_exercise
        )

    # --- accounts, prices and quotes --------------------------------------------------

    def add_account(
        self,
        api_key: str,
        balances: Mapping[str, Decimal],
        *,
        secret: str | None = None,
        public_key_pem: str | None = None,
    ) -> SimAccount:
        """Register an API key with an HMAC ``secret`` or an RSA ``public_key_pem``; it gets
        the next UID."""
        account = SimAccount(
            api_key,
            str(next(self._uids)),
            secret=secret,
            public_key_pem=public_key_pem,
            balances=dict(balances),
        )
        self.accounts[api_key] = account
        return account

    def price(self, asset: str, at: float) -> Decimal:
        """The market price of ``asset`` at monotonic time ``at``: it swings slowly around
        its base price."""
        elapsed = at - self._started
        swing = self._price_swing * math.sin(2 * math.pi * elapsed / self._price_period)
        return (self._base_prices[asset] * (1 + Decimal(repr(swing)))).quantize(Decimal("0.01"))

    def set_price(self, asset: str, price: Decimal, at: Instant) -> None:
        """``asset`` trades at ``price`` from ``at`` on, without the swing. Whatever was due
        to settle by ``at`` settles first, at the prices before the move."""
        self.settle(at)
        self._base_prices[asset] = price
        self._price_swing = 0.0

    def issue_quote(self, product_id: str, at: Instant) -> SimQuote:
        """Quote the product at ``at``: a stake at the quote's breakeven price is accepted
        until it expires, up to its maximum. Expired quotes of the product are forgotten."""
        product = self.products[product_id]
        current = self.price(product.underlying_asset, at.monotonic)
        spread = _QUOTE_SPREAD if product.direction == "Short" else -_QUOTE_SPREAD
        quote = SimQuote(
            product_id,
            current,
            (current * (1 + spread)).quantize(Decimal("0.01"), rounding=ROUND_DOWN),
            at.ms + int(self.quote_ttl * 1000),
            min(product.max_investment_amount, product.remaining_amount),
        )
        live = self._quotes.setdefault(product_id, {})
        for price in [price for price, old in live.items() if old.expire_ms < at.ms]:
            del live[price]
        live[quote.breakeven_price] = quote
        return quote

    def credit(self, uid: str, coin: str, amount: Decimal) -> None:
        """Pay ``amount`` of ``coin`` into the account of ``uid``."""
        account = next(a for a in self.accounts.values() if a.uid == uid)
        account.balances[coin] = account.balances.get(coin, Decimal(0)) + amount

    def find_product(self, product_id: object) -> SimProduct:
        """The product a request names (180008 when there is none)."""
        product = self.products.get(str(product_id)) if product_id is not None else None
        if product is None:
            raise Refused(180008, "Invalid Product")
        return product

    def orders_for(self, api_key: str) -> list[SimOrder]:
        """Every order the key placed, oldest first."""
        uid = self.accounts[api_key].uid
        return [order for order in self.orders.values() if order.uid == uid]

    # --- placing orders ---------------------------------------------------------------

    def place(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimOrder:
        """Place the order ``body`` asks for under ``link`` (already checked for its
        charset), or answer a reuse of ``link``: the order placed, or the first one."""
        return self._placed.once(account, link, at, lambda: self._new(account, link, body, at))

    def _new(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimOrder:
        """The stake or redeem ``body`` asks for, placed now."""
        product = self.find_product(body.get("productId"))
        account_type = body.get("accountType")
        if account_type not in ("FUND", "UNIFIED"):
            raise Refused(10001, "accountType must be FUND or UNIFIED")
        order_type = body.get("orderType")
        if order_type == "Stake":
            return self._stake(account, product, body, _Slip(link, account_type, at))
        if order_type == "Redeem":
            return self._redeem(account, product, body, _Slip(link, account_type, at))
        raise Refused(10001, "orderType must be Stake or Redeem")

    def answer_reuse(self, placed_at: float, at: Instant) -> None:
        """A reused ``orderLinkId`` (its order placed at monotonic ``placed_at``): counted,
        then refused with the duplicate code, or, in the older mode within 30 minutes,
        allowed to answer with the first order (the caller returns it)."""
        self.stats.duplicates_refused += 1
        if self.idempotency == "same_order_id" and at.monotonic - placed_at < _OLD_DEDUPE_WINDOW:
            return
        raise Refused(self.duplicate_code, "Order already exists")

    def new_order_id(self) -> str:
        """A fresh order id, in Bybit's UUID shape; one sequence for every category."""
        number = next(self._ids)
        return f"{number:08x}-5e1a-4b1d-9a7e-{number:012x}"

    def _stake(
        self, account: SimAccount, product: SimProduct, body: Mapping[str, Any], slip: _Slip
    ) -> SimOrder:
        """A stake: the invest coin, an amount on the product's step above its minimum, priced
        at a live quote (180006), within the quote's maximum (180013), within 5% of the
        market (180030), what the product has left (180015) and the balance (180016). The
        amount leaves the balance at once."""
        if body.get("coin") != product.invest_coin:
            raise Refused(180002, "Invalid coin")
        amount = purchase_amount(
            body.get("amount"), product.min_purchase_amount, product.order_precision_digital
        )
        extra = body.get("smartLeverageStakeExtra")
        if not isinstance(extra, dict):
            raise Refused(10001, "smartLeverageStakeExtra is required for Stake")
        initial = positive_decimal(extra.get("initialPrice"), "initialPrice")
        breakeven = positive_decimal(extra.get("breakevenPrice"), "breakevenPrice")
        quote = self._quotes.get(product.product_id, {}).get(breakeven)
        if quote is None or quote.expire_ms < slip.at.ms:
            raise Refused(
                180006, "Validation failed: breakevenPrice is not a live quote; fetch a new one"
            )
        if amount > quote.max_investment_amount:
            raise Refused(180013, "Stake over maximum share")
        market = self.price(product.underlying_asset, slip.at.monotonic)
        if abs(initial - market) / market > _SLIPPAGE:
            raise Refused(180030, "Slippage fail")
        if amount > product.remaining_amount:
            raise Refused(180015, "Products share not enough")
        debit(account, product.invest_coin, amount)
        product.remaining_amount -= amount
        return self._new_order(
            account,
            product,
            slip,
            "Stake",
            amount,
            initial_price=initial,
            breakeven_price=breakeven,
        )

    def _redeem(
        self, account: SimAccount, product: SimProduct, body: Mapping[str, Any], slip: _Slip
    ) -> SimOrder:
        """A redeem of one of the account's positions of the product (180020), while it is
        redeemable (180029), against the estimate given for it in the last 10 minutes
        (180006). The position is Redeeming until the redeem settles."""
        redeem = self._early_redeems.accept(
            account, product.product_id, product.invest_coin, body, slip.at
        )
        position = redeem.position
        # Bybit records a redeem with the position's staked amount, not the estimate.
        return self._new_order(
            account,
            product,
            slip,
            "Redeem",
            position.amount,
            position_id=position.position_id,
            initial_price=position.initial_price,
            breakeven_price=position.breakeven_price,
            est_redeem_amount=redeem.estimated,
            slippage_protected=redeem.protected,
        )

    def check_redeem_amount_and_coin(
        self, invest_coin: str, staked: Decimal, body: Mapping[str, Any]
    ) -> None:
        """A redeem's top-level ``amount`` and ``coin``: required by the official tools'
        reading, optional by the API page's; when given, the staked amount and invest coin
        (SmartLeverage's and DoubleWin's alike)."""
        amount, coin = body.get("amount"), body.get("coin")
        if self.redeem_rules == "official-tools":
            if amount is None:
                raise Refused(10001, "amount is required: the position's staked amount")
            if coin is None:
                raise Refused(10001, "coin is required: the position's invest coin")
        if amount is not None and positive_decimal(amount, "amount") != staked:
            raise Refused(180014, "Redeem share invalid: amount must be the staked amount")
        if coin is not None and coin != invest_coin:
            raise Refused(180002, "Invalid coin")

    def _new_order(
        self,
        account: SimAccount,
        product: SimProduct,
        slip: _Slip,
        order_type: str,
        amount: Decimal,
        **details: Any,
    ) -> SimOrder:
        """A Pending order placed now, due to settle after the settlement delay."""
        return SimOrder(
            order_id=self.new_order_id(),
            order_link_id=slip.link,
            uid=account.uid,
            product_id=product.product_id,
            order_type=order_type,
            amount=amount,
            account_type=slip.account_type,
            created_ms=slip.at.ms,
            placed_at=slip.at.monotonic,
            due=slip.at.monotonic + self.settlement_delay,
            **details,
        )

    # --- positions, estimates and settlement ------------------------------------------

    def redeemable(self, position: SimPosition, at: Instant) -> bool:
        """Active, no redeem pending, and more than 60 minutes before settlement."""
        return position.status == "Active" and at.ms < position.settlement_ms - _REDEEM_CUTOFF_MS

    def estimate(self, account: SimAccount, position_id: str, at: Instant) -> Decimal | None:
        """What redeeming the account's position would pay at ``at`` (``None`` when it is
        not the account's, or not redeemable): a redeem may rely on it for 10 minutes."""
        return self._early_redeems.estimate(
            account,
            position_id,
            at,
            lambda position, now: self.redeem_value(position, now.monotonic),
        )

    def redeem_value(self, position: SimPosition, at: float) -> Decimal:
        """What the position is worth at monotonic time ``at``."""
        product = self.products[position.product_id]
        move = (
            self.price(product.underlying_asset, at) - position.initial_price
        ) / position.initial_price
        sign = 1 if product.direction == "Long" else -1
        value = position.amount * (1 + sign * product.leverage * move)
        return max(value, Decimal(0)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)

    def settle(self, at: Instant) -> None:
        """Everything due by ``at``, each at its own time: orders placed, redeems paid,
        positions matured at their settlement time's price; DualAssets', DoubleWin's and
        DiscountBuy's too."""
        for order in pending_due(self._pending.due_by(at.monotonic), at):
            if order.order_type == "Stake":
                self._open_position(order, at)
            else:
                self._close_position(order)
        for position in matured_positions(self._maturing.due_by(at.ms), at):
            stake = self.orders[position.order_id]
            self._pay_out(position, stake, at.monotonic_of(position.settlement_ms))
            position.status = "Settled"
        self.dual_assets.settle(at)
        self.discount_buy.settle(at)
        self.double_win.settle(at)

    def _open_position(self, order: SimOrder, at: Instant) -> None:
        """A stake succeeds: its position opens now and settles after the product's term."""
        order.status = "Success"
        position_id = str(len(self.positions) + 1001)
        order.position_id = position_id
        assert order.initial_price is not None and order.breakeven_price is not None
        duration = duration_ms(self.products[order.product_id].duration)
        position = SimPosition(
            position_id,
            order.uid,
            order.product_id,
            order.order_id,
            order.order_link_id,
            order.amount,
            order.initial_price,
            order.breakeven_price,
            order.account_type,
            at.ms,
            at.ms + duration,
        )
        self.positions[position_id] = position
        self._maturing.add(position, position.settlement_ms)

    def _close_position(self, order: SimOrder) -> None:
        """Settle a redeem when it is due: pay the position's value then, unless the redeem is
        protected and the value fell more than the slippage rate below the estimate (the
        redeem fails)."""
        assert order.position_id is not None and order.est_redeem_amount is not None
        position = self.positions[order.position_id]
        value = self.redeem_value(position, order.due)
        if order.slippage_protected and fell_past_slippage(value, order.est_redeem_amount):
            order.status = "Fail"
            order.refund_status = "Processed"
            position.status = "Active"
            return
        self._pay_out(position, order, order.due)
        position.status = "Settled"

    def _pay_out(self, position: SimPosition, order: SimOrder, at: float) -> None:
        """Credit the position's value at ``at`` and settle ``order`` (the redeem, or the stake
        at maturity) with its price and profit."""
        value = self.redeem_value(position, at)
        product = self.products[position.product_id]
        self.credit(position.uid, product.invest_coin, value)
        order.status = "Settled"
        order.settlement_price = self.price(product.underlying_asset, at)
        order.pnl = value - position.amount
