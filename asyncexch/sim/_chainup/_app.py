"""An offline ChainUP contract exchange (open-API v1, ``/api/take_order`` and its family).

It checks what the venue checks, in this order and with the venue's codes: the API key
(100005), the ``time`` parameter (100008: missing, or more than ``time_window`` seconds from
the exchange's clock; 2: not digits), the MD5 signature over the parameters exactly as
received (100005), the per-key per-endpoint rolling window (119), then the request itself (2
and the 1xx codes). Every answer is HTTP 200 with
``{"code": "<string>", "msg": ..., "data": ...}``.

It answers as the published pages document (``trade-api/futures`` of the bib-exchange doc
repository), and plays the other readings as options: ``list_shape="docs"`` gives exactly the
documented ``order_list_v2`` item (no creation time, no open/close) and ``"app"`` adds what
ChainUP's own apps receive (``action``, ``ctime`` as a UTC+8 date string, ``ctimeStr`` in
milliseconds); ``list_order`` sorts the lists newest or oldest first (undocumented);
``transfer_margin_param`` is the published ``contactId`` or the apps' ``contractId``.

Orders fill against the contract's last price: market orders at once, limit orders at once
when marketable (a BUY at or above the last price, a SELL at or below it), otherwise they
rest until :meth:`ChainupSimulator.set_price` moves the market through them. Fills open or
extend an isolated position per (key, contract, side), or reduce and close the position a
close order names, with margin, fees and realised profit booked in ``Decimal``. There is no
idempotency key: the same request twice places two orders.

Numbers go out as JSON numbers or strings, mixed the way the venue mixes them; JSON numbers
are written from ``Decimal`` text (never through ``float``). Values the venue computes in
``double`` (average and liquidation prices, index prices, margins) are given as a Java double
would print them, so they often carry many digits (``6857.054400004785``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._clock import Clock, SystemClock
from .._engine_option import EngineOption
from .._exchange import Arrival, Refused, RollingWindows, SimulatedExchange
from .._faults import Fault, Faults
from .._instant import Instant
from .._json import dumps, java_double
from .._serve import simulator_app
from . import _render as render
from ._engine import ContractBook
from ._params import DIGITS, decimal, find_contract, leverage, order_ticket, require
from ._records import (
    ACTIVE,
    FILLED,
    FINISHED,
    ChainupAccount,
    ChainupContract,
    ChainupOrder,
    ChainupPosition,
    ChainupStats,
    default_contracts,
)

__all__ = ["DEFAULT_LIMITS", "ChainupSimulator"]

#: Requests per rolling window, by the client's bucket names: per API key for the private
#: endpoints, per IP for the public one. The venue documents none; 119 shows a throttle exists.
DEFAULT_LIMITS: Mapping[str, tuple[int, float]] = {
    "contracts": (5, 1.0),
    "market": (5, 1.0),
    "take_order": (5, 1.0),
    "cancel_order": (5, 1.0),
    "cancel_all": (5, 1.0),
    "order_info": (5, 1.0),
    "order_list": (5, 1.0),
    "position": (5, 1.0),
    "open_contracts": (5, 1.0),
    "balance": (5, 1.0),
    "change_level": (5, 1.0),
    "transfer_margin": (5, 1.0),
}
SUCCESS_MSG = "成功"
_JSON = "application/json;charset=UTF-8"
_PRICES = {"E_BTCUSD": Decimal("68403.6"), "E_ETHUSD": Decimal("3512.45")}

#: An endpoint's handler: the account (``None`` on the public endpoint), the parameters as
#: received and the moment; what goes into the envelope's ``data``.
Handler = Callable[[ChainupAccount | None, dict[str, str], Instant], Any]
#: What admission hands the commit step: the account and the parameters as received.
Admitted = tuple[ChainupAccount | None, dict[str, str]]


class ChainupSimulator(SimulatedExchange[Admitted]):
    """An offline ChainUP contract exchange; see the module docstring for what it checks.

    **Parameters:**

    * ``clock``: the exchange's time source (real time by default).
    * ``limits``: ``(limit, per)`` overrides by the client's bucket names (``take_order``,
      ``order_list``, ``position``, ...); each defaults to 5 per rolling second, per API key
      (``contracts``, the public endpoint: per IP).
    * ``time_window``: how far (seconds) ``time`` may be from the exchange's clock; ``None``
      turns the check off.
    * ``list_shape``: ``"docs"`` (the documented order-list item) or ``"app"`` (with
      ``action``, ``ctime`` and ``ctimeStr``); ``list_order``: ``"desc"`` or ``"asc"``.
    * ``transfer_margin_param``: the one spelling of ``transfer_margin``'s contract parameter
      the exchange accepts: ``"contactId"`` (published) or ``"contractId"`` (the apps').
    * ``fill_delay``: seconds from placement until a marketable order fills (0: at once).
    * ``faults``: what goes wrong (:class:`Faults`).
    * ``prices``: last prices by symbol (``E_BTCUSD``, ``E_ETHUSD``).
    """

    stats: ChainupStats
    endpoint_names: frozenset[str] = frozenset(DEFAULT_LIMITS)

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        limits: Mapping[str, tuple[int, float]] | None = None,
        time_window: float | None = 60.0,
        fill_delay: float = 0.0,
        faults: Faults | None = None,
        prices: Mapping[str, Decimal] | None = None,
        list_shape: Literal["docs", "app"] = "docs",
        list_order: Literal["desc", "asc"] = "desc",
        transfer_margin_param: Literal["contactId", "contractId"] = "contactId",
    ) -> None:
        _check_options(limits, list_shape, list_order, transfer_margin_param)
        if time_window is not None and time_window < 0:
            raise ValueError("time_window must be non-negative or None")
        if fill_delay < 0:
            raise ValueError("fill_delay must be non-negative")
        self.list_shape = list_shape
        self.list_order = list_order
        self.transfer_margin_param = transfer_margin_param
        self.clock: Clock = clock or SystemClock()
        self.limits: dict[str, tuple[int, float]] = {**DEFAULT_LIMITS, **(limits or {})}
        self.time_window = time_window
        self.stats = ChainupStats()
        #: The exchange's engine: its contracts, accounts, orders and positions.
        self._book: ContractBook = ContractBook(
            default_contracts(), {**_PRICES, **(prices or {})}, fill_delay=fill_delay
        )
        self._windows = RollingWindows()
        self.set_faults(faults or Faults())
        self.app: Starlette = simulator_app(self._routes())

    # --- setup and inspection -----------------------------------------------------------

    @property
    def accounts(self) -> dict[str, ChainupAccount]:
        """The accounts by API key."""
        return self._book.accounts

    @property
    def contracts(self) -> dict[int, ChainupContract]:
        """The contracts by id."""
        return self._book.contracts

    @property
    def orders(self) -> dict[int, ChainupOrder]:
        """Every order placed, by id, oldest first."""
        return self._book.orders

    @property
    def positions(self) -> dict[int, ChainupPosition]:
        """Every position, by id, closed ones included."""
        return self._book.positions

    fill_delay: EngineOption[float] = EngineOption(
        "Seconds from placement until a marketable order fills (0: at once)."
    )

    def add_account(
        self, api_key: str, secret: str, *, balances: Mapping[str, Decimal] | None = None
    ) -> ChainupAccount:
        """Register an API key and its secret; ``balances`` default to 1 000 000 USDT."""
        return self._book.add_account(api_key, secret, balances or {"USDT": Decimal("1000000")})

    def contract(self, symbol_or_id: str | int) -> ChainupContract:
        """A contract by symbol (``E_BTCUSD``) or id (1, or ``"1"``)."""
        return self._book.contract(symbol_or_id)

    def price(self, symbol_or_id: str | int) -> Decimal:
        """The contract's last price."""
        return self._book.last[self.contract(symbol_or_id).id]

    def index_price(self, symbol_or_id: str | int) -> Decimal:
        """The index price, as the venue prints it: the last price off by the index basis."""
        return self._book.index_price(self.contract(symbol_or_id))

    def tag_price(self, symbol_or_id: str | int) -> Decimal:
        """The mark (tag) price: unrealised profit is measured at it."""
        return self._book.tag_price(self.contract(symbol_or_id))

    def set_price(self, symbol_or_id: str | int, price: Decimal) -> None:
        """Move the market: the contract trades at ``price``; resting orders it crosses fill."""
        if not price.is_finite() or price <= 0:
            raise ValueError("a price must be positive")
        self._book.set_price(self.contract(symbol_or_id), price, self._instant())

    def fill(self, order_id: int, volume: int | None = None, price: Decimal | None = None) -> None:
        """Fill an active order by hand: ``volume`` contracts (all that remain by default) at
        ``price`` (its limit price, or the last price for a market order), as a maker fill."""
        self._book.fill(order_id, volume, price, self._instant())

    def orders_for(self, api_key: str) -> list[ChainupOrder]:
        """Every order the key placed, oldest first."""
        return self._book.orders_for(api_key)

    def positions_for(self, api_key: str, *, open_only: bool = True) -> list[ChainupPosition]:
        """The key's positions, oldest first (closed ones too unless ``open_only``)."""
        return self._book.positions_for(api_key, open_only=open_only)

    def available(self, api_key: str, coin: str = "USDT") -> Decimal:
        """What the key can still use: its balance less position margin and frozen orders."""
        return self._book.available(api_key, coin)

    # --- the HTTP surface ---------------------------------------------------------------

    def _routes(self) -> list[Route]:
        self._handlers: dict[str, Handler] = {}

        def route(
            path: str, name: str, handler: Handler, *, private: bool = True, method: str = "POST"
        ) -> Route:
            self._handlers[name] = handler
            return self._route("/api/" + path, name, private=private, method=method)

        return [
            route(
                "contract_public_info", "contracts", self._public_info, private=False, method="GET"
            ),
            route("market", "market", self._market),
            route("take_order", "take_order", self._take_order),
            route("cancel_order", "cancel_order", self._cancel_order),
            route("cancel_order_all", "cancel_all", self._cancel_all),
            route("order_info", "order_info", self._order_info),
            route("order_list_v2", "order_list", self._order_list),
            route("user_position", "position", self._user_position),
            route("hold_contract_list", "open_contracts", self._hold_contracts),
            route("account_balance", "balance", self._account_balance),
            route("change_level", "change_level", self._change_level),
            route("transfer_margin", "transfer_margin", self._transfer_margin),
        ]

    def _admit(self, arrival: Arrival) -> tuple[Admitted, Mapping[str, str]]:
        """The parameters as received, the API key and signature over them (private
        endpoints), then the endpoint's window: per key, or per IP for the public one."""
        params = self._params(arrival.request, arrival.body)
        account = self._authenticate(params) if arrival.private else None
        scope = account.api_key if account is not None else arrival.ip
        self._limit(scope, arrival.endpoint, arrival.at)
        return (account, params), {}

    def _commit(self, arrival: Arrival, admitted: Admitted) -> object:
        """Orders due by now fill first, so every answer sees the market as it is."""
        at = self._instant(arrival.at)
        self._book.match(at)
        account, params = admitted
        return self._handlers[arrival.endpoint](account, params, at)

    def _success(self, result: object, headers: Mapping[str, str]) -> Response:
        return self._envelope("0", SUCCESS_MSG, result)

    def _refusal(self, refused: Refused, headers: Mapping[str, str]) -> Response:
        return self._envelope(str(refused.code), refused.message, None)

    @staticmethod
    def _params(request: Request, body: bytes) -> dict[str, str]:
        """The parameters as received; empty and null values are left out (as in signing)."""
        if request.method == "GET":
            return {}
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("2", "parameter error: the body is not UTF-8") from None
        content_type = request.headers.get("content-type", "")
        raw: dict[str, object] = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            for key, value in parse_qsl(text, keep_blank_values=True):
                if key in raw:
                    raise Refused("2", f"parameter error: {key} is given twice")
                raw[key] = value
        elif text.strip():
            try:
                parsed = json.loads(text)
            except ValueError:
                raise Refused("2", "parameter error: the body is not JSON") from None
            if not isinstance(parsed, dict):
                raise Refused("2", "parameter error: the body is not a JSON object")
            raw = parsed
        params: dict[str, str] = {}
        for key, item in raw.items():
            if item is None or item == "":
                continue
            if not isinstance(item, str):
                raise Refused("2", f"parameter error: {key} must be a string")
            params[key] = item
        return params

    def _authenticate(self, params: dict[str, str]) -> ChainupAccount:
        key = params.get("api_key")
        account = self.accounts.get(key) if key is not None else None
        if account is None:
            raise Refused(
                "100005",
                "parameter signature error: api_key is missing"
                if key is None
                else f"parameter signature error: api_key {key} does not exist",
            )
        stamp = params.get("time")
        if stamp is None:
            raise Refused("100008", "request expired: time is missing")
        if not DIGITS.fullmatch(stamp):
            raise Refused("2", "parameter error: time must be a timestamp in milliseconds")
        server_ms = self.now_ms()
        if self.time_window is not None and abs(int(stamp) - server_ms) > self.time_window * 1000:
            raise Refused(
                "100008",
                f"request expired: time={stamp} is more than {self.time_window:g} s "
                f"from the server time {server_ms}",
            )
        sign = params.get("sign", "")
        if not hmac.compare_digest(_sign(params, account.secret), sign):
            raise Refused("100005", "parameter signature error: sign does not match")
        return account

    def _limit(self, scope: str, name: str, now: float) -> None:
        """Count an arrival in the endpoint's rolling window (refused ones are not counted)."""
        limit, per = self.limits[name]
        if not self._windows.hit((scope, name), limit, per, now)[0]:
            raise Refused("119", "ordering too frequently (下单频繁)")

    @staticmethod
    def _envelope(code: str, message: str, data: object) -> Response:
        return Response(dumps({"code": code, "msg": message, "data": data}), media_type=_JSON)

    def _error_answer(self, fault: Fault) -> Response:
        return self._envelope("1", "system error", None)  # busy or timed out alike

    # --- the endpoints: read the parameters, ask the book, render -----------------------

    def _public_info(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        return render.public_info_json(self._book)

    def _market(self, account: ChainupAccount | None, params: dict[str, str], at: Instant) -> Any:
        contract = find_contract(self.contracts, params, "contractId")
        return render.market_json(self._book, contract, at.ms)

    def _take_order(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        ticket = order_ticket(self.contracts, params)
        order, liquidation = self._book.take_order(account, ticket, at)
        return {"orderId": order.order_id, "liquidationPrice": java_double(liquidation)}

    def _cancel_order(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        require(params, "orderId", "contractId")
        contract = find_contract(self.contracts, params, "contractId")
        self._book.cancel(account, contract, params["orderId"])
        return None

    def _cancel_all(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        require(params, "contractId")
        self._book.cancel_all(account, find_contract(self.contracts, params, "contractId"))
        return None

    def _order_info(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        require(params, "contract_id", "ids")
        contract = find_contract(self.contracts, params, "contract_id")
        parts = params["ids"].split(",")
        if not all(DIGITS.fullmatch(part) for part in parts):
            raise Refused("2", "parameter error: ids are order ids separated by commas")
        found = []
        for part in parts:
            order = self.orders.get(int(part))
            if order is not None and order.api_key == account.api_key:
                if order.contract_id == contract.id:
                    found.append(render.order_info_json(order))
        return found

    def _order_list(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        require(params, "contractId", "order_type", "pageNo", "pageSize")
        contract = find_contract(self.contracts, params, "contractId")
        wanted = {"1": ACTIVE, "2": frozenset({FILLED}), "3": FINISHED}.get(params["order_type"])
        if wanted is None:
            raise Refused("2", "parameter error: order_type is 1, 2 or 3")
        page_no, page_size = params["pageNo"], params["pageSize"]
        if not DIGITS.fullmatch(page_no) or int(page_no) < 1:
            raise Refused("2", "parameter error: pageNo starts at 1")
        if not DIGITS.fullmatch(page_size) or not 1 <= int(page_size) <= 200:
            raise Refused("2", "parameter error: pageSize is 1 to 200")
        selected = [
            order
            for order in self.orders.values()
            if order.api_key == account.api_key
            and order.contract_id == contract.id
            and order.status in wanted
        ]
        selected.sort(key=lambda order: order.order_id, reverse=self.list_order == "desc")
        start = (int(page_no) - 1) * int(page_size)
        page = selected[start : start + int(page_size)]
        items = [render.order_list_json(order, self.list_shape) for order in page]
        return {"count": len(selected), "orderList": items}

    def _user_position(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        contract_id = (
            find_contract(self.contracts, params, "contractId").id
            if "contractId" in params
            else None
        )
        positions = [
            p for p in self.positions_for(account.api_key) if contract_id in (None, p.contract_id)
        ]
        orders = [
            o
            for o in self.orders_for(account.api_key)
            if o.active and contract_id in (None, o.contract_id)
        ]
        return {
            "positionCount": len(positions),
            "orderCount": len(orders),
            "positions": [render.position_json(self._book, account, p) for p in positions],
        }

    def _hold_contracts(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        return [
            render.hold_contract_json(self._book, position)
            for position in self.positions_for(account.api_key)
        ]

    def _account_balance(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        return [render.balance_json(self._book, account, coin) for coin in sorted(account.balances)]

    def _change_level(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        require(params, "contractId", "leverageLevel", "positionId")
        contract = find_contract(self.contracts, params, "contractId")
        level = leverage(contract, params, "leverageLevel")
        position = self._book.position_of(account, contract, params["positionId"])
        self._book.change_level(account, position, level)
        return None

    def _transfer_margin(
        self, account: ChainupAccount | None, params: dict[str, str], at: Instant
    ) -> Any:
        assert account is not None
        name = self.transfer_margin_param  # the one spelling this exchange reads
        require(params, name, "positionId", "amount")
        contract = find_contract(self.contracts, params, name)
        position = self._book.position_of(account, contract, params["positionId"])
        self._book.transfer_margin(account, position, decimal(params["amount"], "amount"))
        return None


def _check_options(
    limits: Mapping[str, tuple[int, float]] | None,
    list_shape: str,
    list_order: str,
    transfer_margin_param: str,
) -> None:
    unknown = set(limits or {}) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"unknown endpoint limits {sorted(unknown)}")
    if list_shape not in ("docs", "app"):
        raise ValueError(f"list_shape must be 'docs' or 'app', got {list_shape!r}")
    if list_order not in ("desc", "asc"):
        raise ValueError(f"list_order must be 'desc' or 'asc', got {list_order!r}")
    if transfer_margin_param not in ("contactId", "contractId"):
        raise ValueError(
            "transfer_margin_param must be 'contactId' or 'contractId', "
            f"got {transfer_margin_param!r}"
        )


def _sign(params: Mapping[str, str], secret: str) -> str:
    """MD5 of the sorted ``key+value`` pairs (all but ``sign``, empty ones out) and the secret."""
    text = "".join(key + value for key, value in sorted(params.items()) if key != "sign" and value)
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()
