"""The Bybit exchange's DiscountBuy rules: offers, the stake, positions, knock-out and
settlement.

Pure, like the SmartLeverage book it belongs to (:class:`~._engine.AdvanceEarnBook`, whose
accounts, prices, statistics, order ids, ``orderLinkId`` reuse rule and options it uses):
time comes in as an :class:`~asyncexch.sim._instant.Instant`, a stake as the decoded JSON
body, and a refusal goes out as :class:`~asyncexch.sim._refused.Refused`.

**Offers.** Each quote gives one offer per product (its market maker's ``instUid``): the
market price, a purchase price below it and a knock-out price above it on the product's tick,
so both move with the market, and the product's coupon. An offer is accepted until it
expires (the exchange's quote lifetime), or for ever when the product's offers carry
``expiredAt`` ``"0"``.

**The stake** (docs: "pass the returned quote values as-is"; codes not documented, the
simulator's): ``coin`` must be USDT (180002); ``discountBuyExtra`` must name a live offer
exactly, ``initialPrice`` its ``currentPrice`` (180006: no live offer of that ``instUid``, or
one whose values differ); the amount at least the minimum and on the precision (180012),
within the offer's maximum (180013), the product's quota (180015) and the balance (180016).
``instUid`` and ``knockoutCouponE8`` are read as strings (the docs) or JSON numbers (the MCP
server and skill); prices with at most 8 decimal places (10001 otherwise).

**After the stake** (the simulator's choices where the docs are silent): it confirms after the
settlement delay, unless the market has already reached the knock-out price by then: the
order then fails and is refunded (``refundStatus`` ``REFUNDING``, then ``REFUND_DONE`` and
the amount back after another settlement delay; the docs put refund statuses on failed
orders only). At ``settlementTime`` (the product's term after confirmation) the position is
``Settling``; it pays out a settlement delay later (Bybit: 15 minutes; ``expectReceiveAt``
says when), at the market price of the settlement time (Bybit: a 30-minute TWAP before it).

**The outcome** (docs: ``Base`` receives amount / purchasePrice of the underlying, ``Quote``
amount / purchasePrice x settlementPrice USDT, a knock-out USDT principal and interest; the
sources disagree on when a stake is exercised): knocked out when the settlement price is at
or above ``knockoutPrice``: the principal and the coupon, amount x coupon x term / 365 days
(Bybit's skill). Otherwise, with ``exercise="below-knockout"`` (the skill, the default):
exercised. With ``exercise="below-purchase"`` (the MCP server): exercised below the purchase
price; between the two prices the principal comes back in USDT without coupon (the
simulator's choice: the MCP server does not say). Amounts are truncated, never rounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Literal

from .._instant import Instant
from .._refused import Refused
from ._discount_records import (
    BASE,
    DISCOUNT_BUY,
    QUOTE,
    SimDiscountBuyOffer,
    SimDiscountBuyOrder,
    SimDiscountBuyPosition,
    SimDiscountBuyProduct,
)
from ._due import DueQueue
from ._params import positive_decimal, product_named, stake_account_type, whole_number
from ._placed_orders import PlacedOrders
from ._records import SimAccount, duration_ms
from ._stake_funding import fund_stake

if TYPE_CHECKING:
    from ._engine import AdvanceEarnBook

__all__ = ["DiscountBuyBook", "Exercise", "Payout"]

_YEAR_MS = Decimal(365 * 86_400_000)
_E8 = Decimal(100_000_000)
#: Prices in ``discountBuyExtra`` carry at most 8 decimal places.
_PRICE_PLACES = 8

Exercise = Literal["below-knockout", "below-purchase"]
#: What a position pays: the coin, the amount, and how it ended.
Payout = tuple[str, Decimal, str]
_OfferKey = tuple[str, Decimal, Decimal, int, Decimal]


class DiscountBuyBook:
    """DiscountBuy products, offers, orders and positions of one exchange, and the rules that
    move them. ``orders`` and ``positions`` (by id) and ``products`` are the simulator's own:
    read them freely."""

    def __init__(
        self,
        market: AdvanceEarnBook,
        products: Iterable[SimDiscountBuyProduct],
        exercise: Exercise = "below-knockout",
    ) -> None:
        if exercise not in ("below-knockout", "below-purchase"):
            raise ValueError(
                f"exercise must be 'below-knockout' or 'below-purchase', got {exercise!r}"
            )
        self._market = market
        self.exercise: Exercise = exercise
        self.products: dict[str, SimDiscountBuyProduct] = {p.product_id: p for p in products}
        self.orders: dict[str, SimDiscountBuyOrder] = {}
        self.positions: dict[str, SimDiscountBuyPosition] = {}
        #: What settling looks at: orders from their due time until confirmed and (when
        #: they failed) refunded; positions from their settlement time until paid out.
        self._unsettled: DueQueue[SimDiscountBuyOrder] = DueQueue(
            lambda order: order.status != "Pending" and order.refund_status != "REFUNDING"
        )
        self._maturing: DueQueue[SimDiscountBuyPosition] = DueQueue(
            lambda position: position.status == "Settled"
        )
        self._placed = PlacedOrders(self.orders, market.answer_reuse, self._unsettled)
        #: Every offer quoted and not expired, by product and market maker, then its values.
        self._offers: dict[tuple[str, str], dict[_OfferKey, SimDiscountBuyOffer]] = {}

    # --- offers -----------------------------------------------------------------------

    def find_product(self, product_id: object) -> SimDiscountBuyProduct:
        """The product a request names, as a string or a JSON number (180008 when none)."""
        return product_named(self.products, product_id)

    def issue_quote(self, product_id: str, at: Instant) -> SimDiscountBuyOffer:
        """Quote the product at ``at``: its market maker's offer, remembered as live until it
        expires. Expired offers of the product are forgotten."""
        product = self.products[product_id]
        current = self._market.price(product.underlying_asset, at.monotonic)
        tick = product.price_tick
        purchase = _on_tick(current * (1 - product.discount), tick, ROUND_FLOOR)
        knockout = _on_tick(current * (1 + product.knockout_gap), tick, ROUND_CEILING)
        expire_ms = at.ms + int(self._market.quote_ttl * 1000) if product.expires else None
        offer = SimDiscountBuyOffer(
            product_id,
            current,
            purchase,
            knockout,
            product.coupon_e8,
            min(product.max_investment_amount, product.remaining_amount),
            product.inst_uid,
            expire_ms,
        )
        live = self._offers.setdefault((product_id, product.inst_uid), {})
        for key in [key for key, old in live.items() if not _is_live(old, at)]:
            del live[key]
        live[_key(offer)] = offer
        return offer

    # --- the stake --------------------------------------------------------------------

    def place(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimDiscountBuyOrder:
        """Place the stake ``body`` asks for under ``link`` (already checked for its
        charset), or answer a reuse of ``link`` (per UID, in this category): the order
        placed, or the first one."""
        return self._placed.once(account, link, at, lambda: self._stake(account, link, body, at))

    def _stake(
        self, account: SimAccount, link: str, body: Mapping[str, Any], at: Instant
    ) -> SimDiscountBuyOrder:
        """A stake at a live offer (see the module's codes); the amount leaves the balance."""
        product = self.find_product(body.get("productId"))
        account_type = stake_account_type(body, DISCOUNT_BUY)
        if body.get("coin") != product.coin:
            raise Refused(180002, "Invalid coin")
        asked, settle_type = _read_extra(product.product_id, body.get("discountBuyExtra"))
        amount = _amount(product, body.get("amount"))
        offer = self._live_offer(asked, at)
        self._take(account, product, amount, offer)
        return SimDiscountBuyOrder(
            order_id=self._market.new_order_id(),
            order_link_id=link,
            uid=account.uid,
            product_id=product.product_id,
            amount=amount,
            settle_type=settle_type,
            initial_price=offer.current_price,
            purchase_price=offer.purchase_price,
            knockout_price=offer.knockout_price,
            coupon_e8=offer.coupon_e8,
            inst_uid=offer.inst_uid,
            account_type=account_type,
            created_ms=at.ms,
            placed_at=at.monotonic,
            due=at.monotonic + self._market.settlement_delay,
        )

    def _live_offer(self, asked: SimDiscountBuyOffer, at: Instant) -> SimDiscountBuyOffer:
        """The live offer the stake names, value for value (180006 otherwise)."""
        offers = self._offers.get((asked.product_id, asked.inst_uid), {})
        live = {key: offer for key, offer in offers.items() if _is_live(offer, at)}
        if not live:
            raise Refused(180006, "Validation failed: no live quote of this instUid")
        offer = live.get(_key(asked))
        if offer is None:
            raise Refused(180006, "Validation failed: discountBuyExtra does not match a live quote")
        return offer

    def _take(
        self,
        account: SimAccount,
        product: SimDiscountBuyProduct,
        amount: Decimal,
        offer: SimDiscountBuyOffer,
    ) -> None:
        """Move the stake's amount out of the account and the product's quota: within the
        offer's maximum (180013), the quota (180015) and the balance (180016)."""
        fund_stake(
            account,
            product.coin,
            amount,
            maximum=offer.max_investment_amount,
            remaining=product.remaining_amount,
        )
        product.remaining_amount -= amount

    # --- positions and settlement -----------------------------------------------------

    def settle(self, at: Instant) -> None:
        """Everything due by ``at``, each at its own time: stakes confirmed (or failed and
        refunded), positions settling at their settlement time and paid out after it."""
        for order in self._unsettled.due_by(at.monotonic):
            if order.status == "Pending" and order.due <= at.monotonic:
                self._confirm(order, at)
            if order.refund_status == "REFUNDING" and (order.refund_due or 0) <= at.monotonic:
                self._refund(order)
        for position in self._maturing.due_by(at.ms):
            if position.status == "Active" and position.settlement_ms <= at.ms:
                position.status = "Settling"
            if position.status == "Settling" and position.receive_ms <= at.ms:
                matured = at.monotonic_of(position.settlement_ms)
                self._pay_out(position, matured)

    def _confirm(self, order: SimDiscountBuyOrder, at: Instant) -> None:
        """At its due time the stake opens its position, unless the market has reached the
        knock-out price: then it fails and its refund starts."""
        product = self.products[order.product_id]
        if self._market.price(product.underlying_asset, order.due) >= order.knockout_price:
            order.status = "Fail"
            order.refund_status = "REFUNDING"
            order.refund_due = order.due + self._market.settlement_delay
            return
        confirmed_ms = at.ms_of(order.due)
        settlement_ms = confirmed_ms + duration_ms(product.duration)
        position_id = str(len(self.positions) + 11959)
        position = SimDiscountBuyPosition(
            position_id,
            order.uid,
            order.product_id,
            order.order_id,
            order.amount,
            order.purchase_price,
            order.knockout_price,
            order.coupon_e8,
            order.settle_type,
            order.account_type,
            confirmed_ms,
            settlement_ms,
            settlement_ms + round(self._market.settlement_delay * 1000),
        )
        self.positions[position_id] = position
        self._maturing.add(position, settlement_ms)
        order.status = "Success"
        order.position_id = position_id
        order.settlement_ms = settlement_ms

    def _refund(self, order: SimDiscountBuyOrder) -> None:
        product = self.products[order.product_id]
        self._market.credit(order.uid, product.coin, order.amount)
        product.remaining_amount += order.amount
        order.refund_status = "REFUND_DONE"

    def payout(self, position: SimDiscountBuyPosition, price: Decimal) -> Payout:
        """What the position pays when the market settles at ``price`` (see the module
        docstring for the rule and its readings)."""
        product = self.products[position.product_id]
        if price >= position.knockout_price:
            term = Decimal(position.settlement_ms - position.yield_start_ms)
            coupon = position.amount * Decimal(position.coupon_e8) / _E8 * term / _YEAR_MS
            return product.coin, _down(position.amount + coupon, product.precision), "KnockedOut"
        if self.exercise == "below-purchase" and price >= position.purchase_price:
            return product.coin, position.amount, "Returned"
        bought = position.amount / position.purchase_price
        if position.settle_type == BASE:
            places = product.underlying_precision
            return product.underlying_asset, _down(bought, places), "Exercised"
        return product.coin, _down(bought * price, product.precision), "Exercised"

    def _pay_out(self, position: SimDiscountBuyPosition, matured: float) -> None:
        """Settle the position at the market price of its settlement time (monotonic
        ``matured``)."""
        product = self.products[position.product_id]
        price = self._market.price(product.underlying_asset, matured)
        coin, amount, outcome = self.payout(position, price)
        self._market.credit(position.uid, coin, amount)
        position.status = "Settled"
        order = self.orders[position.order_id]
        order.status = "Settled"
        order.settlement_price = price
        order.settlement_coin = coin
        order.settlement_amount = amount
        order.outcome = outcome


def _on_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding) * tick


def _is_live(offer: SimDiscountBuyOffer, at: Instant) -> bool:
    return offer.expire_ms is None or offer.expire_ms >= at.ms


def _key(offer: SimDiscountBuyOffer) -> _OfferKey:
    """What a stake must repeat of an offer: its product, prices and coupon (its market
    maker is the key of the offer's group)."""
    return (
        offer.product_id,
        offer.purchase_price,
        offer.knockout_price,
        offer.coupon_e8,
        offer.current_price,
    )


def _down(amount: Decimal, places: int) -> Decimal:
    """``amount`` truncated to ``places`` (Bybit truncates, never rounds)."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def _price(value: object, field: str) -> Decimal:
    """A price in ``discountBuyExtra``: a positive decimal string, at most 8 places."""
    price = positive_decimal(value, field)
    if price != _down(price, _PRICE_PLACES):
        raise Refused(10001, f"{field}: at most {_PRICE_PLACES} decimal places")
    return price


def _read_extra(product_id: str, extra: object) -> tuple[SimDiscountBuyOffer, str]:
    """``discountBuyExtra``: the offer it names (without its maximum and expiry) and the
    settle type (10001 when a field is missing or malformed)."""
    if not isinstance(extra, dict):
        raise Refused(10001, "discountBuyExtra is required")
    settle_type = extra.get("settleType")
    if settle_type not in (BASE, QUOTE):
        raise Refused(10001, "settleType must be Base or Quote")
    inst_uid = extra.get("instUid")
    if isinstance(inst_uid, bool) or not isinstance(inst_uid, (str, int)) or inst_uid == "":
        raise Refused(10001, "instUid is required")
    asked = SimDiscountBuyOffer(
        product_id,
        _price(extra.get("initialPrice"), "initialPrice"),
        _price(extra.get("purchasePrice"), "purchasePrice"),
        _price(extra.get("knockoutPrice"), "knockoutPrice"),
        whole_number(extra.get("knockoutCouponE8"), "knockoutCouponE8"),
        Decimal(0),
        str(inst_uid),
        None,
    )
    return asked, settle_type


def _amount(product: SimDiscountBuyProduct, value: object) -> Decimal:
    """The stake's amount: a decimal string, at least the minimum, on the precision (180012
    otherwise)."""
    amount = positive_decimal(value, "amount")
    if amount < product.min_purchase_amount or amount != _down(amount, product.precision):
        raise Refused(180012, "Purchase share is invalid")
    return amount
