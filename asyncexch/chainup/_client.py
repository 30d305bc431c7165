"""The ChainUP contract (futures) open-API v1 client."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

import attrs
import httpx

from .._clock import Clock
from .._limits import RateLimit, RateLimiter
from .._resource import AsyncResource
from .._retry import RetryPolicy
from .._session import Session, TransportChoice
from ..errors import InvalidRequest, OrderStatusUnknown
from ._endpoints import (
    ACCOUNT_BALANCE,
    CANCEL_ALL,
    CANCEL_ORDER,
    CHANGE_LEVEL,
    CONTRACTS,
    MARKET,
    ORDER_INFO,
    ORDER_LIST,
    POSITIONS,
    TAKE_ORDER,
    TRANSFER_MARGIN,
)
from ._models import (
    Balance,
    CloseType,
    Contract,
    ContractOrder,
    OrderCreated,
    OrderDetail,
    OrderType,
    Position,
    TakeOrder,
    Ticker,
)
from ._venue import ChainupVenue, Encoding

__all__ = ["ChainupContractClient", "OrderQuery", "ReconcileStatus", "Reconciliation"]

OrderQuery = Literal["active", "filled", "history"]
_ORDER_QUERY = {"active": "1", "filled": "2", "history": "3"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ReconcileStatus(enum.Enum):
    """What :meth:`ChainupContractClient.reconcile` found."""

    #: Exactly one order matches: it was placed.
    PLACED = "placed"
    #: No order matches: it was not placed.
    NOT_PLACED = "not_placed"
    #: Several orders match (identical orders in the window): which one is unknown.
    AMBIGUOUS = "ambiguous"


@attrs.frozen(kw_only=True)
class Reconciliation:
    """The truth about an order whose outcome was unknown."""

    status: ReconcileStatus
    #: The order, when exactly one matched.
    order: ContractOrder | None
    #: Every order that matched.
    candidates: tuple[ContractOrder, ...]

    @property
    def placed(self) -> bool | None:
        """True or False when known, None when ambiguous."""
        if self.status is ReconcileStatus.AMBIGUOUS:
            return None
        return self.status is ReconcileStatus.PLACED


class ChainupContractClient(AsyncResource):
    """An async client for a ChainUP white-label exchange's contract open-API v1.

    ``base_url`` is the exchange's host (every ChainUP exchange has its own). The body is a
    JSON object of strings by default; ``encoding="form"`` sends it form-encoded. The venue
    documents no rate limits: every endpoint is paced at 5/s by default (``limits=`` to
    change, ``False`` to switch off) and backs off on code 119. See :class:`asyncexch.Session`
    for the other arguments.

    ``take_order`` is never sent twice: the venue has no client order id, so an attempt whose
    outcome is unknown raises :class:`~asyncexch.OrderStatusUnknown`, and :meth:`reconcile`
    looks the order up.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str,
        encoding: Encoding = "json",
        limits: Mapping[str, RateLimit] | Literal[False] | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportChoice = None,
        timeout: float = 10.0,
        max_in_flight: int | None = None,
    ) -> None:
        self._venue = ChainupVenue(api_key, api_secret, base_url=base_url, encoding=encoding)
        self.session = Session(
            self._venue,
            base_url=base_url,
            limits=limits,
            limiter=limiter,
            retry=retry,
            clock=clock,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            max_in_flight=max_in_flight,
        )
        self._contracts: dict[int, Contract] | None = None

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened."""
        await self.session.aclose()

    # --- market data --------------------------------------------------------------------

    async def contracts(self, *, refresh: bool = False) -> list[Contract]:
        """Every contract's configuration; fetched once, then cached (``refresh`` re-reads)."""
        if self._contracts is None or refresh:
            info = await self.session.call(CONTRACTS, {})
            self._contracts = {contract.id: contract for contract in info.market.values()}
        return list(self._contracts.values())

    async def ticker(self, contract_id: int) -> Ticker:
        """The contract's ticker: last, bid, ask, index and mark prices."""
        return await self.session.call(MARKET, {"contractId": _whole("contract_id", contract_id)})

    # --- orders -------------------------------------------------------------------------

    async def take_order(self, order: TakeOrder) -> OrderCreated:
        """Place ``order`` once; the venue's order id and the liquidation price.

        Checked before sending: when the contracts are known (after :meth:`contracts`), the
        contract must exist and ``level`` must be one of its leverage levels. A request the
        venue refused before processing it (119, 100005, 2) follows the retry rules; one whose
        outcome is unknown (timeout after sending, dropped connection, 5xx, code 1) is not sent
        again: :class:`~asyncexch.OrderStatusUnknown` carries the order and the send time for
        :meth:`reconcile`.
        """
        if not isinstance(order, TakeOrder):
            raise InvalidRequest("order", f"must be a TakeOrder, got {order!r}")
        self._check_leverage(order.contract_id, order.level, "level")
        return await self.session.call(TAKE_ORDER, order.to_params(), request=order)

    def _check_leverage(self, contract_id: int, level: int | None, field: str) -> None:
        """Refuse an unknown contract or a leverage it does not offer, once contracts are known."""
        if self._contracts is None:
            return
        contract = self._contracts.get(contract_id)
        if contract is None:
            raise InvalidRequest("contract_id", f"no contract {contract_id}")
        levels = contract.leverage_levels
        if level is not None and levels and level not in levels:
            raise InvalidRequest(field, f"must be one of {levels}, got {level}")

    async def cancel_order(self, order_id: int, contract_id: int) -> None:
        """Cancel one order."""
        await self.session.call(
            CANCEL_ORDER,
            {
                "orderId": _whole("order_id", order_id),
                "contractId": _whole("contract_id", contract_id),
            },
        )

    async def cancel_all(self, contract_id: int) -> None:
        """Cancel every open order on the contract."""
        await self.session.call(CANCEL_ALL, {"contractId": _whole("contract_id", contract_id)})

    async def order_info(self, contract_id: int, order_ids: Sequence[int]) -> list[OrderDetail]:
        """The orders' details with their trades."""
        if not order_ids:
            raise InvalidRequest("order_ids", "must not be empty")
        ids = ",".join(str(_whole("order_ids", order_id)) for order_id in order_ids)
        return await self.session.call(
            ORDER_INFO, {"contract_id": _whole("contract_id", contract_id), "ids": ids}
        )

    def orders(
        self, contract_id: int, *, which: OrderQuery = "active", page_size: int = 100
    ) -> AsyncIterator[ContractOrder]:
        """The contract's orders (``active``, ``filled`` or finished ``history``), newest
        first, fetched a page at a time (``order_list_v2``) as you iterate."""
        _whole("contract_id", contract_id)
        if which not in _ORDER_QUERY:
            raise InvalidRequest("which", f"must be one of {sorted(_ORDER_QUERY)}, got {which!r}")
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= 200
        ):
            raise InvalidRequest("page_size", f"must be an integer 1-200, got {page_size!r}")
        return self._orders(contract_id, _ORDER_QUERY[which], page_size)

    async def _orders(
        self, contract_id: int, which: str, page_size: int
    ) -> AsyncIterator[ContractOrder]:
        page = 1
        seen = 0
        while True:
            answer = await self.session.call(
                ORDER_LIST,
                {
                    "contractId": contract_id,
                    "order_type": which,
                    "pageNo": page,
                    "pageSize": page_size,
                },
            )
            for order in answer.order_list:
                yield order
            seen += len(answer.order_list)
            if not answer.order_list or seen >= answer.count:
                return
            page += 1

    async def positions(self, contract_id: int | None = None) -> list[Position]:
        """Open positions, on one contract or all."""
        params = {} if contract_id is None else {"contractId": _whole("contract_id", contract_id)}
        return (await self.session.call(POSITIONS, params)).positions

    async def account_balance(self) -> list[Balance]:
        """The contract account's balance per margin coin."""
        return await self.session.call(ACCOUNT_BALANCE, {})

    async def change_leverage(self, contract_id: int, leverage: int, position_id: int) -> None:
        """Set a position's leverage (checked against the contract's levels once known)."""
        contract, level = _whole("contract_id", contract_id), _whole("leverage", leverage)
        self._check_leverage(contract, level, "leverage")
        await self.session.call(
            CHANGE_LEVEL,
            {
                "contractId": contract,
                "leverageLevel": level,
                "positionId": _whole("position_id", position_id),
            },
        )

    async def transfer_margin(self, contract_id: int, position_id: int, amount: Decimal) -> None:
        """Add margin to an isolated position (a negative ``amount`` takes it out)."""
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
            raise InvalidRequest("amount", f"must be a non-zero decimal.Decimal, got {amount!r}")
        await self.session.call(
            TRANSFER_MARGIN,
            {
                "contractId": _whole("contract_id", contract_id),
                "positionId": _whole("position_id", position_id),
                "amount": format(amount, "f"),
            },
        )

    async def reconcile(
        self,
        unknown: OrderStatusUnknown | TakeOrder,
        *,
        sent_at: datetime | None = None,
        window: timedelta = timedelta(minutes=2),
        tolerance: timedelta = timedelta(seconds=5),
    ) -> Reconciliation:
        """Whether an order whose outcome was unknown was placed.

        Looks through the contract's orders (active, then finished) for ones that match the
        order's side, type, volume, price and open/close, created between ``sent_at`` (from the
        error, or given) minus ``tolerance`` for clock differences, and ``window`` after it.
        Call it once the request can no longer arrive (after its timeout). Identical orders
        placed in the same window, or matches the venue gives no creation time for, make the
        answer :attr:`ReconcileStatus.AMBIGUOUS`.
        """
        if isinstance(unknown, OrderStatusUnknown):
            order = unknown.request
            if sent_at is None and unknown.sent_at is not None:
                sent_at = datetime.fromtimestamp(unknown.sent_at, timezone.utc)
        else:
            order = unknown
        if not isinstance(order, TakeOrder):
            raise InvalidRequest("unknown", f"does not carry a TakeOrder: {order!r}")
        if sent_at is None:
            raise InvalidRequest("sent_at", "give the time the order was sent")
        start, end = sent_at - tolerance, sent_at + window
        matches: dict[int, ContractOrder] = {}
        for which in ("1", "3"):
            async for candidate in self._orders(order.contract_id, which, 200):
                if candidate.ctime is not None and candidate.ctime < start:
                    break  # newest first: everything further is older still
                if _matches(candidate, order) and (
                    candidate.ctime is None or candidate.ctime <= end
                ):
                    matches[candidate.order_id] = candidate
        found = tuple(matches.values())
        if any(candidate.ctime is None for candidate in found):
            # Without a creation time an older identical order cannot be told from this one.
            return Reconciliation(status=ReconcileStatus.AMBIGUOUS, order=None, candidates=found)
        if len(found) == 1:
            return Reconciliation(status=ReconcileStatus.PLACED, order=found[0], candidates=found)
        if not found:
            return Reconciliation(status=ReconcileStatus.NOT_PLACED, order=None, candidates=())
        return Reconciliation(status=ReconcileStatus.AMBIGUOUS, order=None, candidates=found)

    def __repr__(self) -> str:
        return f"<ChainupContractClient {self._venue!r} base_url={self.session.base_url!r}>"


def _matches(candidate: ContractOrder, order: TakeOrder) -> bool:
    if (
        candidate.contract_id != order.contract_id
        or candidate.side != order.side
        or candidate.type != order.order_type
        or candidate.volume != order.volume
    ):
        return False
    # A market order's price on the venue may be the one sent, zero or the fill: not compared.
    limit = order.order_type is OrderType.LIMIT
    if limit and candidate.price is not None and candidate.price != order.price:
        return False
    action = "CLOSE" if order.close_type is CloseType.CLOSE else "OPEN"
    if candidate.action and candidate.action.upper() != action:
        return False
    return order.position_id is None or candidate.position_id in (None, order.position_id)


def _whole(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(field, f"must be an integer >= 1, got {value!r}")
    return value
