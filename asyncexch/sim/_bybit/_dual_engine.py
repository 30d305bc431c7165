"""The Bybit exchange's DualAssets rules: quotes, the stake, positions and settlement.

Pure, like the SmartLeverage book it belongs to (:class:`~._engine.AdvanceEarnBook`, whose
accounts, prices, statistics, order ids, ``orderLinkId`` rule and options it uses): time
comes in as an :class:`~asyncexch.sim._instant.Instant`, a stake as the decoded JSON body,
and a refusal goes out as :class:`~asyncexch.sim._refused.Refused`.

A quote offers target prices on the product's tick, below the market (BuyLow) and above it
(SellHigh), each with an APY that falls with the distance from the market and so moves with
it. A stake must name a live offer exactly: its direction, ``selectPrice`` and ``apyE8``.
Bybit documents the rule ("Stale quotes will be rejected"; "fails if the confirmed APY is
less than this value") but no codes; the simulator's choices: 180021 ("Invalid select
price") for a price or APY that no live offer has (never quoted, superseded or expired),
180026 ("Apr lowered") when the live offers at the price pay less than the stake's
``apyE8``. Both are refusals on arrival (Bybit may also fail such an order later: not
documented). The stake confirms after the settlement delay and earns
``amount x APY x term / 365 days`` to its settlement, ``duration`` after it confirmed. Then
it pays out by the market at that moment: BuyLow in the base coin, bought at the target
price, if the market is at or below it, else in the quote coin; SellHigh in the quote coin,
sold at the target price, if the market is at or above it, else in the base coin (Bybit's
skill and FAQ; the API pages only show ``settlementCoin``/``settlementAmount``). Amounts are
truncated to the coin's precision.

The stake's wire types are read in both of Bybit's readings: ``productId`` a string (the
docs' tables) or a JSON number (their example, the MCP server), ``apyE8`` a JSON number (the
request table) or a string of digits (as the quote writes it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from .._instant import Instant
from .._refused import Refused
from ._dual_records import (
    BUY_LOW,
    DUAL_ASSETS,
    SELL_HIGH,
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsPosition,
    SimDualAssetsProduct,
)
from ._due import DueQueue, matured_positions, pending_due
from ._params import (
    positive_decimal,
    product_named,
    purchase_amount,
    stake_account_type,
    whole_number,
)
from ._placed_orders import PlacedOrders
from ._records import SimAccount, duration_ms
from ._stake_funding import fund_stake

if TYPE_CHECKING:
    from ._engine import AdvanceEarnBook

__all__ = ["DualAssetsBook", "Payout"]

_YEAR_MS = Decimal(365 * 86_400_000)
_E8 = Decimal(100_000_000)
#: How much an offer's APY falls per unit of relative distance from the market.
_APY_DECAY = Decimal(20)

Payout = tuple[str, Decimal]


class DualAssetsBook:
    """DualAssets products, offers, orders and positions of one exchange, and the rules that
    move them. ``orders`` and ``positions`` (by id) and ``products`` are the simulator's own:
    read them freely."""

    def __init__(self, market: AdvanceEarnBook, products: Iterable[SimDualAssetsProduct]) -> None:
        self._market = market
        self.products: dict[str, SimDualAssetsProduct] = {p.product_id: p for p in products}
        self.orders: dict[str, SimDualAssetsOrder] = {}
        self.positions: dict[str, SimDualAssetsPosition] = {}
        #: What settling looks at: orders by due time, positions by settlement time.
        self._pending: DueQueue[SimDualAssetsOrder] = DueQueue(
            lambda order: order.status != "Pending"
        )
        self._maturing: DueQueue[SimDualAssetsPosition] = DueQueue(
            lambda position: position.status == "Settled"
        )
        self._placed = PlacedOrders(self.orders, market.answer_reuse, self._pending)
        #: Every offer quoted and not yet expired, by product, direction and target price.
        self._offers: dict[tuple[str, str, Decimal], list[SimDualAssetsOffer]] = {}

    # --- quotes -----------------------------------------------------------------------

    def find_product(self, product_id: object) -> SimDualAssetsProduct:
        """The product a request names, as a string or a JSON number (180008 when none)."""
        return product_named(self.products, product_id)

    def market_price(self, product: SimDualAssetsProduct, at: float) -> Decimal:
        """The product's market price (its base coin's) at monotonic time ``at``."""
        return self._market.price(product.base_coin, at)

    def issue_quote(
        self, product_id: str, at: Instant
    ) -> tuple[Decimal, list[SimDualAssetsOffer], list[SimDualAssetsOffer]]:
        """Quote the product at ``at``: the market price, and the BuyLow and SellHigh
        offers, nearest the market first, each accepted until it expires. Expired offers of
        the product are forgotten."""
        product = self.products[product_id]
        current = self.market_price(product, at.monotonic)
        for key in [key for key in self._offers if key[0] == product_id]:
            live = [offer for offer in self._offers[key] if offer.expire_ms >= at.ms]
            if live:
                self._offers[key] = live
            else:
                del self._offers[key]
        buy_low = self._offer_side(product, BUY_LOW, current, at)
        sell_high = self._offer_side(product, SELL_HIGH, current, at)
        return current, buy_low, sell_high

    def _offer_side(
        self, product: SimDualAssetsProduct, direction: str, current: Decimal, at: Instant
    ) -> list[SimDualAssetsOffer]:
        """The offers of one direction at market price ``current``, remembered as live."""
        rounding, sign = (ROUND_FLOOR, -1) if direction == BUY_LOW else (ROUND_CEILING, 1)
        offers = []
        for target in _targets(product, current, rounding, sign):
            offer = SimDualAssetsOffer(
                product.product_id,
                direction,
                target,
                _apy_e8(product, current, target),
                _offer_maximum(product, direction),
                at.ms + int(self._market.quote_ttl * 1000),
            )
            self._offers.setdefault((product.product_id, direction, target), []).append(offer)
            offers.append(offer)
        return offers

    # --- the stake --------------------------------------------------------------------

    def place(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimDualAssetsOrder:
        """Place the stake ``body`` asks for under ``link`` (already checked for its
        charset), or answer a reuse of ``link`` (per UID, in this category): the order
        placed, or the first one."""
        return self._placed.once(account, link, at, lambda: self._stake(account, link, body, at))

    def _stake(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimDualAssetsOrder:
        """A stake at a live offer (see the module's codes); the amount leaves the balance."""
        product = self.find_product(body.get("productId"))
        if product.status != "Available":
            raise Refused(180007, "Product not available")
        account_type = stake_account_type(body, DUAL_ASSETS)
        direction, select_price, apy_e8 = _read_extra(body.get("dualAssetsExtra"))
        coin = product.invest_coin(direction)
        if body.get("coin") != coin:
            raise Refused(180002, "Invalid coin")
        amount = _amount(product, coin, body.get("amount"), direction)
        offer = self._live_offer(product, direction, select_price, apy_e8, at)
        self._take(account, product, direction, coin, amount, offer)
        return SimDualAssetsOrder(
            order_id=self._market.new_order_id(),
            order_link_id=link,
            uid=account.uid,
            product_id=product.product_id,
            direction=direction,
            coin=coin,
            amount=amount,
            select_price=select_price,
            apy_e8=apy_e8,
            confirmed_apy_e8=offer.apy_e8,
            account_type=account_type,
            created_ms=at.ms,
            placed_at=at.monotonic,
            due=at.monotonic + self._market.settlement_delay,
            updated_ms=at.ms,
        )

    def _live_offer(
        self,
        product: SimDualAssetsProduct,
        direction: str,
        select_price: Decimal,
        apy_e8: int,
        at: Instant,
    ) -> SimDualAssetsOffer:
        """The live offer the stake names: one at its price with its APY (180021 when the
        price or the APY is no live offer's; 180026 when the live offers pay less)."""
        offers = self._offers.get((product.product_id, direction, select_price), [])
        live = [offer for offer in offers if offer.expire_ms >= at.ms]
        if not live:
            raise Refused(180021, "Invalid select price: no live quote at this price")
        matching = [offer for offer in live if offer.apy_e8 == apy_e8]
        if matching:
            return matching[-1]
        if max(offer.apy_e8 for offer in live) < apy_e8:
            raise Refused(180026, "Apr lowered")
        raise Refused(180021, "Invalid select price: apyE8 is no live quote's")

    def _take(
        self,
        account: SimAccount,
        product: SimDualAssetsProduct,
        direction: str,
        coin: str,
        amount: Decimal,
        offer: SimDualAssetsOffer,
    ) -> None:
        """Move the stake's amount out of the account and the product's quota: within the
        offer's maximum (180013), the quota (180015) and the balance (180016)."""
        remaining = product.remaining_quote if direction == BUY_LOW else product.remaining_base
        fund_stake(account, coin, amount, maximum=offer.max_investment_amount, remaining=remaining)
        if direction == BUY_LOW:
            product.remaining_quote -= amount
        else:
            product.remaining_base -= amount

    # --- positions and settlement -----------------------------------------------------

    def settle(self, at: Instant) -> None:
        """Everything due by ``at``: stakes confirmed into positions (at their due time),
        positions paid out at their settlement time's price."""
        for order in pending_due(self._pending.due_by(at.monotonic), at):
            self._open_position(order, at)
        for position in matured_positions(self._maturing.due_by(at.ms), at):
            self._pay_out(position, at.monotonic_of(position.settlement_ms))

    def _open_position(self, order: SimDualAssetsOrder, at: Instant) -> None:
        """The stake is confirmed at its due time: its position earns from then for the
        product's term."""
        confirmed_ms = at.ms_of(order.due)
        product = self.products[order.product_id]
        position_id = str(len(self.positions) + 19001)
        position = SimDualAssetsPosition(
            position_id,
            order.uid,
            order.product_id,
            order.order_id,
            order.direction,
            order.coin,
            order.amount,
            order.select_price,
            order.confirmed_apy_e8,
            order.account_type,
            confirmed_ms,
            confirmed_ms + duration_ms(product.duration),
        )
        self.positions[position_id] = position
        self._maturing.add(position, position.settlement_ms)
        order.status = "Success"
        order.position_id = position_id
        order.settlement_ms = confirmed_ms + duration_ms(product.duration)
        order.updated_ms = confirmed_ms

    def expected_return(self, position: SimDualAssetsPosition) -> Payout:
        """What the position pays if the market does not reach its target: the invest coin,
        principal and yield."""
        product = self.products[position.product_id]
        return position.coin, _down(position.amount + _yield(position), product, position.coin)

    def payout(self, position: SimDualAssetsPosition, price: Decimal) -> Payout:
        """What the position pays when the market settles at ``price``: converted at the
        target price into the pair's other coin when the market reached the target."""
        product = self.products[position.product_id]
        total = position.amount + _yield(position)
        if position.direction == BUY_LOW and price <= position.target_price:
            coin = product.base_coin
            return coin, _down(total / position.target_price, product, coin)
        if position.direction == SELL_HIGH and price >= position.target_price:
            coin = product.quote_coin
            return coin, _down(total * position.target_price, product, coin)
        return self.expected_return(position)

    def _pay_out(self, position: SimDualAssetsPosition, matured: float) -> None:
        """Settle the position at the market price of its settlement time (monotonic
        ``matured``)."""
        product = self.products[position.product_id]
        price = self.market_price(product, matured)
        coin, amount = self.payout(position, price)
        self._market.credit(position.uid, coin, amount)
        position.status = "Settled"
        order = self.orders[position.order_id]
        order.status = "Settled"
        order.settlement_coin = coin
        order.settlement_amount = amount
        order.settlement_price = price
        order.updated_ms = position.settlement_ms


def _targets(
    product: SimDualAssetsProduct, current: Decimal, rounding: str, sign: int
) -> list[Decimal]:
    """The target prices on one side of ``current``: on the tick, strictly beyond the market,
    nearest first, without repeats."""
    targets: list[Decimal] = []
    for n in range(1, product.steps + 1):
        raw = current * (1 + sign * product.step * n)
        target = (raw / product.price_tick).to_integral_value(rounding) * product.price_tick
        beyond = target < current if sign < 0 else target > current
        if target > 0 and beyond and target not in targets:
            targets.append(target)
    return targets


def _apy_e8(product: SimDualAssetsProduct, current: Decimal, target: Decimal) -> int:
    """The APY of a target price: the product's near the market, less further away."""
    distance = abs(target - current) / current
    return int(Decimal(product.apy_e8) / (1 + _APY_DECAY * distance))


def _offer_maximum(product: SimDualAssetsProduct, direction: str) -> Decimal:
    if direction == BUY_LOW:
        return min(product.max_quote_investment, product.remaining_quote)
    return min(product.max_base_investment, product.remaining_base)


def _yield(position: SimDualAssetsPosition) -> Decimal:
    term = Decimal(position.settlement_ms - position.yield_start_ms)
    return position.amount * Decimal(position.apy_e8) / _E8 * term / _YEAR_MS


def _down(amount: Decimal, product: SimDualAssetsProduct, coin: str) -> Decimal:
    """``amount`` truncated to ``coin``'s precision (Bybit truncates, never rounds)."""
    return amount.quantize(Decimal(1).scaleb(-product.precision(coin)), rounding=ROUND_DOWN)


def _read_extra(extra: object) -> tuple[str, Decimal, int]:
    """``dualAssetsExtra``: the direction, the target price and the APY (10001 otherwise)."""
    if not isinstance(extra, dict):
        raise Refused(10001, "dualAssetsExtra is required")
    direction = extra.get("orderDirection")
    if direction not in (BUY_LOW, SELL_HIGH):
        raise Refused(10001, "orderDirection must be BuyLow or SellHigh")
    select_price = positive_decimal(extra.get("selectPrice"), "selectPrice")
    return direction, select_price, whole_number(extra.get("apyE8"), "apyE8")


def _amount(product: SimDualAssetsProduct, coin: str, value: object, direction: str) -> Decimal:
    """The stake's amount: a decimal string, at least the direction's minimum, on its
    precision (180012 otherwise)."""
    minimum = product.min_quote_amount if direction == BUY_LOW else product.min_base_amount
    return purchase_amount(value, minimum, product.precision(coin))
