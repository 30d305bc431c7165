"""The ChainUP contract exchange's engine: the book, matching, margin, liquidation, settlement.

Pure: no HTTP and no clock. Time comes in as an :class:`~asyncexch.sim._instant.Instant`
argument, requests as checked :class:`~._params.OrderTicket` objects or plain values, so the
rules can be driven (and property-tested) directly.

Orders fill against the contract's last price, traded with a simulated market maker: market
orders at once, limit orders at once when marketable (a BUY at or above the last price, a SELL
at or below it), otherwise they rest until the price moves through them (:meth:`set_price`).
Fills open or extend an isolated position per (key, contract, side), or reduce and close the
position a closing order names; margin, fees and realised profit are booked in ``Decimal``
and settle into the account's wallet as each fill happens.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from .._instant import Instant
from .._json import java_double
from .._refused import Refused
from ._params import DIGITS, OrderTicket
from ._records import (
    CANCELLED,
    CLOSE,
    FILLED,
    LIMIT,
    MARKET,
    OPEN,
    PARTIAL,
    PARTIAL_CANCELLED,
    ChainupAccount,
    ChainupContract,
    ChainupOrder,
    ChainupPosition,
    ChainupTrade,
)

__all__ = ["ContractBook", "liquidation_price", "marketable"]

#: How far the mark (tag) price sits above the index price.
_TAG_OVER_INDEX = Decimal("1.0000123")


@attrs.frozen
class _Placement:
    """What the book decided for an order before placing it."""

    level: int
    position_id: int | None
    freeze_margin: Decimal
    freeze_fee: Decimal
    #: Where the position the order leads to would be liquidated (what the venue answers).
    liquidation: Decimal


class ContractBook:
    """Contracts and their prices, accounts, orders and positions of one exchange.

    ``prices`` are the last prices by symbol; ``fill_delay`` is seconds from placement until
    a marketable order may fill. The dictionaries are the simulator's own (``orders`` by id,
    ``positions`` by id, ``accounts`` by API key, ``contracts`` by id): read them freely.
    """

    def __init__(
        self,
        contracts: Iterable[ChainupContract],
        prices: Mapping[str, Decimal],
        *,
        fill_delay: float = 0.0,
    ) -> None:
        self.fill_delay = fill_delay
        self.accounts: dict[str, ChainupAccount] = {}
        self.contracts: dict[int, ChainupContract] = {c.id: c for c in contracts}
        self.orders: dict[int, ChainupOrder] = {}
        self.positions: dict[int, ChainupPosition] = {}
        #: Last, opening, highest and lowest prices and the volume traded, by contract id.
        self.last: dict[int, Decimal] = {}
        for symbol, price in prices.items():
            self.last[self.contract(symbol).id] = price
        self.opening: dict[int, Decimal] = dict(self.last)
        self.high: dict[int, Decimal] = dict(self.last)
        self.low: dict[int, Decimal] = dict(self.last)
        self.volume: Counter[int] = Counter()
        self._order_ids = itertools.count(100001)
        self._position_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._uids = itertools.count(10010)

    # --- accounts, contracts and prices -----------------------------------------------

    def add_account(
        self, api_key: str, secret: str, balances: Mapping[str, Decimal]
    ) -> ChainupAccount:
        """Register an API key with its secret and wallet balances; it gets the next uid."""
        account = ChainupAccount(api_key, next(self._uids), secret, dict(balances))
        self.accounts[api_key] = account
        return account

    def contract(self, symbol_or_id: str | int) -> ChainupContract:
        """A contract by symbol (``E_BTCUSD``) or id (1, or ``"1"``)."""
        for contract in self.contracts.values():
            if symbol_or_id in (contract.symbol, contract.id, str(contract.id)):
                return contract
        raise KeyError(f"no contract {symbol_or_id!r}")

    def index_price(self, contract: ChainupContract) -> Decimal:
        """The index price, as the venue prints it: the last price off by the index basis."""
        return java_double(self.last[contract.id] * (1 + contract.index_basis))

    def tag_price(self, contract: ChainupContract) -> Decimal:
        """The mark (tag) price: unrealised profit is measured at it."""
        return java_double(self.index_price(contract) * _TAG_OVER_INDEX)

    def set_price(self, contract: ChainupContract, price: Decimal, at: Instant) -> None:
        """The contract trades at ``price`` from ``at``; due orders it allows fill."""
        if not price.is_finite() or price <= 0:
            raise ValueError("a price must be positive")
        self.last[contract.id] = price
        self.high[contract.id] = max(self.high[contract.id], price)
        self.low[contract.id] = min(self.low[contract.id], price)
        self.match(at)

    # --- what an account holds --------------------------------------------------------

    def orders_for(self, api_key: str) -> list[ChainupOrder]:
        """Every order the key placed, oldest first."""
        return [order for order in self.orders.values() if order.api_key == api_key]

    def positions_for(self, api_key: str, *, open_only: bool = True) -> list[ChainupPosition]:
        """The key's positions, oldest first (closed ones too unless ``open_only``)."""
        return [
            position
            for position in self.positions.values()
            if position.api_key == api_key and (position.open or not open_only)
        ]

    def available(self, api_key: str, coin: str = "USDT") -> Decimal:
        """What the key can still use: its balance less position margin and frozen orders."""
        account = self.accounts[api_key]
        return (
            account.balances.get(coin, Decimal(0))
            - self.position_margin(api_key, coin)
            - self.order_margin(api_key, coin)[0]
        )

    def position_margin(self, api_key: str, coin: str) -> Decimal:
        """The margin of the key's open positions in ``coin``."""
        return sum(
            (
                p.margin
                for p in self.positions_for(api_key)
                if self.contracts[p.contract_id].quote_symbol == coin
            ),
            Decimal(0),
        )

    def order_margin(self, api_key: str, coin: str) -> tuple[Decimal, Decimal]:
        """What the key's active orders freeze in ``coin``: (total, of which fees)."""
        total = fees = Decimal(0)
        for order in self.orders.values():
            if (
                order.active
                and order.api_key == api_key
                and self.contracts[order.contract_id].quote_symbol == coin
            ):
                total += order.freeze_amount
                fees += order.freeze_fee
        return total, fees

    def unrealised(self, position: ChainupPosition) -> Decimal:
        """The position's profit (or loss) at the mark price."""
        contract = self.contracts[position.contract_id]
        direction = 1 if position.side == "BUY" else -1
        move = self.tag_price(contract) - position.avg_price
        return move * position.volume * contract.multiplier * direction

    def withdrawable(self, position: ChainupPosition) -> Decimal:
        """Margin above the initial margin, less any unrealised loss."""
        contract = self.contracts[position.contract_id]
        initial = position.volume * contract.multiplier * position.avg_price / position.leverage
        return max(
            position.margin - initial + min(self.unrealised(position), Decimal(0)), Decimal(0)
        )

    def liquidation(self, position: ChainupPosition) -> Decimal:
        """Where the position's margin falls to the maintenance margin."""
        return liquidation_price(
            self.contracts[position.contract_id],
            position.side,
            position.volume,
            position.avg_price,
            position.margin,
        )

    # --- orders -----------------------------------------------------------------------

    def take_order(
        self, account: ChainupAccount, ticket: OrderTicket, at: Instant
    ) -> tuple[ChainupOrder, Decimal]:
        """Place an order and match the book: the order, and the liquidation price of the
        position it leads to (what the venue answers). Refused with 102 (the side holds
        another leverage), 106 (not enough margin), 105/108/110 (a bad position to close)."""
        contract = ticket.contract
        last = self.last[contract.id]
        if ticket.close_type == CLOSE:
            placement = self._plan_close(account, ticket)
        else:
            limit = ticket.price if ticket.order_type == LIMIT else None
            placement = self._plan_open(account, ticket, last if limit is None else limit)
        price, side = ticket.price, ticket.side
        order = ChainupOrder(
            order_id=next(self._order_ids),
            api_key=account.api_key,
            uid=account.uid,
            contract_id=contract.id,
            side=side,
            order_type=ticket.order_type,
            volume=ticket.volume,
            price=price,
            level=placement.level,
            cop_type=ticket.cop_type,
            close_type=ticket.close_type,
            position_id=placement.position_id,
            params=dict(ticket.params),
            created_ms=at.ms,
            placed_at=at.monotonic,
            due=at.monotonic + self.fill_delay,
            taker=price is None or ticket.order_type == MARKET or marketable(side, price, last),
            freeze_margin=placement.freeze_margin,
            freeze_fee=placement.freeze_fee,
        )
        self.orders[order.order_id] = order
        self.match(at)
        return order, placement.liquidation

    def _plan_close(self, account: ChainupAccount, ticket: OrderTicket) -> _Placement:
        """A closing order: at the position's leverage, nothing frozen."""
        assert ticket.position_ref is not None
        position = self.position_of(account, ticket.contract, ticket.position_ref)
        if position.side == ticket.side:
            raise Refused(
                "2", f"parameter error: a {position.side} position is closed by the other side"
            )
        reserved = sum(
            o.remaining
            for o in self.orders.values()
            if o.active and o.close_type == CLOSE and o.position_id == position.position_id
        )
        if ticket.volume > position.volume - reserved:
            raise Refused(
                "108",
                f"order volume too large: the position can close {position.volume - reserved}",
            )
        left = position.volume - ticket.volume
        liquidation = liquidation_price(
            ticket.contract,
            position.side,
            left,
            position.avg_price,
            position.margin * left / position.volume,
        )
        return _Placement(
            position.leverage, position.position_id, Decimal(0), Decimal(0), liquidation
        )

    def _plan_open(
        self, account: ChainupAccount, ticket: OrderTicket, reference: Decimal
    ) -> _Placement:
        """An opening order: the side's leverage, and margin and fee frozen at ``reference``
        (the limit price, or the last price for a market order) if the account has them."""
        contract, side, volume = ticket.contract, ticket.side, ticket.volume
        current = self._open_position(account.api_key, contract.id, side)
        held = self._held_leverage(account, contract, side, current)
        level = ticket.level
        if level is None:
            level = held if held is not None else min(contract.lever_types)
        elif held is not None and level != held:
            raise Refused(
                "102",
                f"changing leverage is not allowed now: the {side} side is at {held}x; "
                "use change_level",
            )
        notional = volume * contract.multiplier * reference
        freeze_margin = notional / level
        freeze_fee = notional * max(contract.fee_rate_taker, Decimal(0))
        if freeze_margin + freeze_fee > self.available(account.api_key, contract.quote_symbol):
            raise Refused("106", "insufficient margin")
        if current is None:
            liquidation = liquidation_price(contract, side, volume, reference, freeze_margin)
            return _Placement(level, None, freeze_margin, freeze_fee, liquidation)
        size = current.volume + volume
        avg = (current.avg_price * current.volume + reference * volume) / size
        margin = current.margin + freeze_margin
        liquidation = liquidation_price(contract, side, size, avg, margin)
        return _Placement(level, current.position_id, freeze_margin, freeze_fee, liquidation)

    def _held_leverage(
        self,
        account: ChainupAccount,
        contract: ChainupContract,
        side: str,
        current: ChainupPosition | None,
    ) -> int | None:
        """The leverage the side already holds: its position's, or its first open order's."""
        if current is not None:
            return current.leverage
        for order in self.orders.values():
            if (
                order.active
                and order.api_key == account.api_key
                and order.contract_id == contract.id
                and order.side == side
                and order.close_type == OPEN
            ):
                return order.level
        return None

    def cancel(self, account: ChainupAccount, contract: ChainupContract, order_ref: str) -> None:
        """Cancel one active order of the key on the contract, by its id as sent."""
        order = self.orders.get(int(order_ref)) if DIGITS.fullmatch(order_ref) else None
        if order is None or order.api_key != account.api_key or order.contract_id != contract.id:
            raise Refused("2", f"parameter error: order {order_ref} does not exist")
        if not order.active:
            raise Refused("2", f"parameter error: order {order_ref} is already finished")
        _cancel(order)

    def cancel_all(self, account: ChainupAccount, contract: ChainupContract) -> None:
        """Cancel every active order of the key on the contract."""
        for order in list(self.orders.values()):
            if (
                order.active
                and order.api_key == account.api_key
                and order.contract_id == contract.id
            ):
                _cancel(order)

    def fill(self, order_id: int, volume: int | None, price: Decimal | None, at: Instant) -> None:
        """Fill an active order by hand, as a maker fill: ``volume`` contracts (all that
        remain by default) at ``price`` (its limit price, or the last price for a market
        order)."""
        order = self.orders[order_id]
        if not order.active:
            raise ValueError(f"order {order_id} is not active")
        volume = order.remaining if volume is None else volume
        if not 0 < volume <= order.remaining:
            raise ValueError(f"volume must be within 1..{order.remaining}")
        if price is None:
            limit = order.price if order.order_type == LIMIT else None
            price = limit if limit is not None else self.last[order.contract_id]
        self._execute(order, volume, price, at, taker=False)

    # --- positions --------------------------------------------------------------------

    def position_of(
        self, account: ChainupAccount, contract: ChainupContract, position_ref: str
    ) -> ChainupPosition:
        """The key's open position on the contract, by its id as sent (110 unknown, 105
        closed)."""
        position = self.positions.get(int(position_ref)) if DIGITS.fullmatch(position_ref) else None
        if (
            position is None
            or position.api_key != account.api_key
            or position.contract_id != contract.id
        ):
            raise Refused("110", f"position info not found: {position_ref}")
        if not position.open:
            raise Refused("105", "the user has no position: it is closed")
        return position

    def change_level(self, account: ChainupAccount, position: ChainupPosition, level: int) -> None:
        """Move the position to ``level``, its margin to the new initial margin (102 while
        the side has open orders, 106 when the account cannot pay the difference)."""
        contract = self.contracts[position.contract_id]
        if any(
            o.active
            and o.api_key == account.api_key
            and o.contract_id == contract.id
            and o.side == position.side
            and o.close_type == OPEN
            for o in self.orders.values()
        ):
            raise Refused("102", "changing leverage is not allowed now: the position has orders")
        notional = position.volume * contract.multiplier * position.avg_price
        extra = notional / level - notional / position.leverage
        if extra > self.available(account.api_key, contract.quote_symbol):
            raise Refused("106", "insufficient margin for the lower leverage")
        position.margin += extra
        position.leverage = level

    def transfer_margin(
        self, account: ChainupAccount, position: ChainupPosition, amount: Decimal
    ) -> None:
        """Add margin to the position (118 beyond what is available) or take it out (101
        beyond what is withdrawable)."""
        contract = self.contracts[position.contract_id]
        if amount == 0:
            raise Refused("2", "parameter error: amount must not be 0")
        if amount > 0 and amount > self.available(account.api_key, contract.quote_symbol):
            raise Refused("118", "insufficient available balance")
        if amount < 0 and -amount > self.withdrawable(position):
            raise Refused("101", "reducing margin is not allowed now")
        position.margin += amount

    # --- matching and settlement ------------------------------------------------------

    def match(self, at: Instant) -> None:
        """Fill every order due by ``at`` that the market allows, oldest first."""
        for order in sorted(
            (o for o in self.orders.values() if o.active), key=lambda o: o.order_id
        ):
            if not order.active or order.due > at.monotonic:
                continue
            last = self.last[order.contract_id]
            if order.price is None or order.order_type == MARKET:
                self._execute(order, order.remaining, last, at, taker=True)
            elif marketable(order.side, order.price, last):
                price = last if order.taker else order.price
                self._execute(order, order.remaining, price, at, taker=order.taker)
            else:
                order.taker = False  # it rests in the book from now on

    def _execute(
        self, order: ChainupOrder, volume: int, price: Decimal, at: Instant, *, taker: bool
    ) -> None:
        """Fill ``volume`` of the order at ``price``: book it into the position and settle
        the fee and any realised profit into the account's wallet."""
        contract = self.contracts[order.contract_id]
        account = self.accounts[order.api_key]
        notional = volume * contract.multiplier * price
        fee = notional * (contract.fee_rate_taker if taker else contract.fee_rate_maker)
        if order.close_type == OPEN:
            position = self._book_open(order, volume, price, notional, at)
            pnl = Decimal(0)
        else:
            position, pnl = self._book_close(order, volume, price)
        coin = contract.quote_symbol
        account.balances[coin] = account.balances.get(coin, Decimal(0)) + pnl - fee
        order.position_id = position.position_id
        order.deal_volume += volume
        order.deal_value += price * volume
        order.fee += fee
        order.realized_amount += pnl
        order.status = FILLED if order.remaining == 0 else PARTIAL
        if order.status == FILLED:
            order.freeze_margin = order.freeze_fee = Decimal(0)
        order.trades.append(ChainupTrade(next(self._trade_ids), price, volume, fee, taker, at.ms))
        self.volume[contract.id] += volume

    def _book_open(
        self, order: ChainupOrder, volume: int, price: Decimal, notional: Decimal, at: Instant
    ) -> ChainupPosition:
        """An opening fill: the frozen share becomes position margin; the position (a new
        one if the side has none) grows at the average price."""
        share = Decimal(volume) / order.remaining
        order.freeze_margin -= order.freeze_margin * share
        order.freeze_fee -= order.freeze_fee * share
        position = self._open_position(order.api_key, order.contract_id, order.side)
        if position is None:
            position = ChainupPosition(
                next(self._position_ids),
                order.api_key,
                order.contract_id,
                order.side,
                order.level,
                at.ms,
            )
            self.positions[position.position_id] = position
        total = position.volume + volume
        position.avg_price = (position.avg_price * position.volume + price * volume) / total
        position.volume = total
        position.margin += notional / position.leverage
        return position

    def _book_close(
        self, order: ChainupOrder, volume: int, price: Decimal
    ) -> tuple[ChainupPosition, Decimal]:
        """A closing fill: the position shrinks, releasing its share of the margin; the
        profit against the average price is realised."""
        assert order.position_id is not None
        position = self.positions[order.position_id]
        contract = self.contracts[position.contract_id]
        direction = 1 if position.side == "BUY" else -1
        pnl = (price - position.avg_price) * volume * contract.multiplier * direction
        position.margin -= position.margin * volume / position.volume
        position.volume -= volume
        position.realised += pnl
        if not position.open:
            position.margin = Decimal(0)
        return position, pnl

    def _open_position(self, api_key: str, contract_id: int, side: str) -> ChainupPosition | None:
        for position in self.positions.values():
            if (
                position.open
                and position.api_key == api_key
                and position.contract_id == contract_id
                and position.side == side
            ):
                return position
        return None


def _cancel(order: ChainupOrder) -> None:
    order.status = PARTIAL_CANCELLED if order.deal_volume else CANCELLED
    order.freeze_margin = order.freeze_fee = Decimal(0)


def marketable(side: str, price: Decimal, last: Decimal) -> bool:
    """Whether a limit order at ``price`` crosses the last price."""
    return price >= last if side == "BUY" else price <= last


def liquidation_price(
    contract: ChainupContract, side: str, volume: int, avg: Decimal, margin: Decimal
) -> Decimal:
    """Where an isolated position's margin falls to the maintenance margin."""
    if volume <= 0:
        return Decimal(0)
    size = volume * contract.multiplier
    cushion = (margin - size * avg * contract.hold_rate) / size
    return max(avg - cushion if side == "BUY" else avg + cushion, Decimal(0))
