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
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qsl

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._clock import Clock, SystemClock
from ._exchange import Arrival, Refused, RollingWindows, SimulatedExchange
from ._faults import Fault, Faults
from ._json import decimal_text, dumps, java_double

__all__ = [
    "ChainupAccount",
    "ChainupContract",
    "ChainupOrder",
    "ChainupPosition",
    "ChainupSimulator",
    "ChainupStats",
    "ChainupTrade",
]

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
#: Where ChainUP's deployments run: the timezone of the dates they send as text.
VENUE_TIMEZONE = timezone(timedelta(hours=8))

LIMIT, MARKET = 1, 2
OPEN, CLOSE = 0, 1
ISOLATED = 2
#: Order statuses: initial, new, filled, partially filled, cancelled, pending cancel,
#: abnormal, partially filled then cancelled.
NEW, FILLED, PARTIAL, CANCELLED, PARTIAL_CANCELLED = 1, 2, 3, 4, 7
_ACTIVE = frozenset({0, NEW, PARTIAL, 5})
_FINISHED = frozenset({FILLED, CANCELLED, 6, PARTIAL_CANCELLED})
#: The uid and order id the simulated market maker trades under.
MAKER_UID = 10000
_DIGITS = re.compile(r"[0-9]+")
_EIGHT = Decimal("0.00000001")
_JSON = "application/json;charset=UTF-8"


@attrs.define
class ChainupContract:
    """One contract of ``contract_public_info``; ``id`` is the ``contractId`` of requests."""

    id: int
    symbol: str
    contract_name: str
    base_symbol: str
    multiplier: Decimal
    price_precision: int
    quote_symbol: str = "USDT"
    contract_type: int = 0
    fee_rate_maker: Decimal = Decimal("0.0002")
    fee_rate_taker: Decimal = Decimal("0.0006")
    hold_rate: Decimal = Decimal("0.005")
    lever_types: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50, 100)
    min_order_volume: int = 1
    max_order_volume: int = 1_000_000
    min_margin: Decimal = Decimal("0.01")
    #: 1 tradable, 2 awaiting settlement, 3 settling (orders get 111), 4 settled.
    status: int = 1
    settle_time: str = "2093-02-05 00:00:00"
    #: A small constant gap between the index and the last price.
    index_basis: Decimal = Decimal("0.0000731")

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_precision)


@attrs.define
class ChainupAccount:
    """One API key: its secret, a uid and its wallet balance per margin coin.

    A balance includes the margin of positions and the amount frozen by open orders; what is
    free to use is :meth:`ChainupSimulator.available`.
    """

    api_key: str
    uid: int
    secret: str = attrs.field(repr=False)
    balances: dict[str, Decimal] = attrs.Factory(dict)


@attrs.define
class ChainupTrade:
    """One fill of an order against the simulated market maker."""

    trade_id: int
    price: Decimal
    volume: int
    fee: Decimal
    taker: bool
    created_ms: int


@attrs.define
class ChainupOrder:
    """An order as placed: ``params`` holds the request's parameters exactly as received."""

    order_id: int
    api_key: str
    uid: int
    contract_id: int
    side: str
    order_type: int
    volume: int
    #: The price sent: a limit order's limit; a market order's is kept and shown, not used.
    price: Decimal | None
    level: int
    cop_type: int
    close_type: int
    position_id: int | None
    params: dict[str, str]
    created_ms: int
    placed_at: float
    #: When the order may fill (``placed_at`` plus the simulator's ``fill_delay``).
    due: float
    #: Whether it takes liquidity (fills at the last price, taker fee) or rests (maker).
    taker: bool
    status: int = NEW
    deal_volume: int = 0
    deal_value: Decimal = Decimal(0)
    realized_amount: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    freeze_margin: Decimal = Decimal(0)
    freeze_fee: Decimal = Decimal(0)
    trades: list[ChainupTrade] = attrs.Factory(list)

    @property
    def action(self) -> str:
        return "CLOSE" if self.close_type == CLOSE else "OPEN"

    @property
    def remaining(self) -> int:
        return self.volume - self.deal_volume

    @property
    def active(self) -> bool:
        return self.status in _ACTIVE

    @property
    def avg_price(self) -> Decimal:
        return self.deal_value / self.deal_volume if self.deal_volume else Decimal(0)

    @property
    def freeze_amount(self) -> Decimal:
        return self.freeze_margin + self.freeze_fee


@attrs.define
class ChainupPosition:
    """An isolated position; ``volume`` 0 means closed (it stays here, out of the answers)."""

    position_id: int
    api_key: str
    contract_id: int
    side: str
    leverage: int
    created_ms: int
    volume: int = 0
    avg_price: Decimal = Decimal(0)
    margin: Decimal = Decimal(0)
    realised: Decimal = Decimal(0)

    @property
    def open(self) -> bool:
        return self.volume > 0


@attrs.define
class ChainupStats:
    """What the exchange saw. ``rejections`` counts refusals by code (``"119"``, ``"100005"``,
    ...); ``faults`` the injected faults by kind; ``arrivals`` the arrival times (server
    monotonic seconds) of every request by endpoint."""

    requests: Counter[str] = attrs.Factory(Counter)
    rejections: Counter[str] = attrs.Factory(Counter)
    faults: Counter[str] = attrs.Factory(Counter)
    arrivals: dict[str, list[float]] = attrs.Factory(dict)

    @property
    def rate_limit_rejections(self) -> int:
        """Requests refused with 119."""
        return self.rejections["119"]


def _default_contracts() -> list[ChainupContract]:
    return [
        ChainupContract(1, "E_BTCUSD", "BitCoin", "BTC", Decimal("0.001"), 1),
        ChainupContract(
            2,
            "E_ETHUSD",
            "Ethereum",
            "ETH",
            Decimal("0.01"),
            2,
            fee_rate_maker=Decimal("-0.00025"),
            fee_rate_taker=Decimal("0.00075"),
            lever_types=(1, 2, 3, 5, 10, 20, 50),
            index_basis=Decimal("-0.0000417"),
        ),
    ]


Handler = Callable[[ChainupAccount | None, dict[str, str]], Any]
#: What admission hands the commit step: the account (``None`` on the public endpoint) and
#: the parameters as received.
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
        self.list_shape = list_shape
        self.list_order = list_order
        self.transfer_margin_param = transfer_margin_param
        if time_window is not None and time_window < 0:
            raise ValueError("time_window must be non-negative or None")
        if fill_delay < 0:
            raise ValueError("fill_delay must be non-negative")
        self.clock: Clock = clock or SystemClock()
        self.limits: dict[str, tuple[int, float]] = {**DEFAULT_LIMITS, **(limits or {})}
        self.time_window = time_window
        self.fill_delay = fill_delay
        self.stats = ChainupStats()
        self.accounts: dict[str, ChainupAccount] = {}
        self.contracts: dict[int, ChainupContract] = {
            contract.id: contract for contract in _default_contracts()
        }
        self.orders: dict[int, ChainupOrder] = {}
        self.positions: dict[int, ChainupPosition] = {}
        base = {"E_BTCUSD": Decimal("68403.6"), "E_ETHUSD": Decimal("3512.45"), **(prices or {})}
        self._last: dict[int, Decimal] = {}
        for symbol, price in base.items():
            self._last[self.contract(symbol).id] = price
        self._open = dict(self._last)
        self._high = dict(self._last)
        self._low = dict(self._last)
        self._volume: Counter[int] = Counter()
        self._windows = RollingWindows()
        self.set_faults(faults or Faults())
        self._order_ids = itertools.count(100001)
        self._position_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._uids = itertools.count(10010)
        self.app: Starlette = Starlette(routes=self._routes())

    # --- setup and inspection -----------------------------------------------------------

    def add_account(
        self, api_key: str, secret: str, *, balances: Mapping[str, Decimal] | None = None
    ) -> ChainupAccount:
        """Register an API key and its secret; ``balances`` default to 1 000 000 USDT."""
        account = ChainupAccount(
            api_key,
            next(self._uids),
            secret,
            dict(balances or {"USDT": Decimal("1000000")}),
        )
        self.accounts[api_key] = account
        return account

    def contract(self, symbol_or_id: str | int) -> ChainupContract:
        """A contract by symbol (``E_BTCUSD``) or id (1, or ``"1"``)."""
        for contract in self.contracts.values():
            if symbol_or_id in (contract.symbol, contract.id, str(contract.id)):
                return contract
        raise KeyError(f"no contract {symbol_or_id!r}")

    def price(self, symbol_or_id: str | int) -> Decimal:
        """The contract's last price."""
        return self._last[self.contract(symbol_or_id).id]

    def index_price(self, symbol_or_id: str | int) -> Decimal:
        """The index price, as the venue prints it: the last price off by the index basis."""
        contract = self.contract(symbol_or_id)
        return java_double(self._last[contract.id] * (1 + contract.index_basis))

    def tag_price(self, symbol_or_id: str | int) -> Decimal:
        """The mark (tag) price: unrealised profit is measured at it."""
        return java_double(self.index_price(symbol_or_id) * Decimal("1.0000123"))

    def set_price(self, symbol_or_id: str | int, price: Decimal) -> None:
        """Move the market: the contract trades at ``price``; resting orders it crosses fill."""
        if not price.is_finite() or price <= 0:
            raise ValueError("a price must be positive")
        contract = self.contract(symbol_or_id)
        self._last[contract.id] = price
        self._high[contract.id] = max(self._high[contract.id], price)
        self._low[contract.id] = min(self._low[contract.id], price)
        self._match(self.clock.monotonic())

    def fill(self, order_id: int, volume: int | None = None, price: Decimal | None = None) -> None:
        """Fill an active order by hand: ``volume`` contracts (all that remain by default) at
        ``price`` (its limit price, or the last price for a market order), as a maker fill."""
        order = self.orders[order_id]
        if not order.active:
            raise ValueError(f"order {order_id} is not active")
        volume = order.remaining if volume is None else volume
        if not 0 < volume <= order.remaining:
            raise ValueError(f"volume must be within 1..{order.remaining}")
        if price is None:
            limit = order.price if order.order_type == LIMIT else None
            price = limit if limit is not None else self._last[order.contract_id]
        self._execute(order, volume, price, taker=False)

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
            - self._position_margin(api_key, coin)
            - self._order_margin(api_key, coin)[0]
        )

    # --- the HTTP surface ---------------------------------------------------------------

    def _routes(self) -> list[Route]:
        self._handlers: dict[str, Handler] = {}

        def route(
            path: str, name: str, handler: Handler, *, private: bool, method: str = "POST"
        ) -> Route:
            self._handlers[name] = handler
            return self._route("/api/" + path, name, private=private, method=method)

        return [
            route(
                "contract_public_info", "contracts", self._public_info, private=False, method="GET"
            ),
            route("market", "market", self._market, private=True),
            route("take_order", "take_order", self._take_order, private=True),
            route("cancel_order", "cancel_order", self._cancel_order, private=True),
            route("cancel_order_all", "cancel_all", self._cancel_all, private=True),
            route("order_info", "order_info", self._order_info, private=True),
            route("order_list_v2", "order_list", self._order_list, private=True),
            route("user_position", "position", self._user_position, private=True),
            route("hold_contract_list", "open_contracts", self._hold_contracts, private=True),
            route("account_balance", "balance", self._account_balance, private=True),
            route("change_level", "change_level", self._change_level, private=True),
            route("transfer_margin", "transfer_margin", self._transfer_margin, private=True),
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
        self._match(arrival.at)
        account, params = admitted
        return self._handlers[arrival.endpoint](account, params)

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
        if not _DIGITS.fullmatch(stamp):
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

    # --- public endpoints ---------------------------------------------------------------

    def _public_info(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        coins = sorted({c.quote_symbol for c in self.contracts.values()})
        return {
            "market": {c.symbol: self._contract_json(c) for c in self.contracts.values()},
            "marketSymbol": next(iter(self.contracts.values())).symbol,
            "wsUrl": "wss://chainup-sim.invalid/contract-kline-api/ws",
            "coinList": [{"symbol": coin, "showPrecision": 8} for coin in coins],
        }

    @staticmethod
    def _contract_json(contract: ChainupContract) -> dict[str, Any]:
        return {
            "id": contract.id,
            "symbol": contract.symbol,
            "contractName": contract.contract_name,
            "contractType": contract.contract_type,
            "baseSymbol": contract.base_symbol,
            "quoteSymbol": contract.quote_symbol,
            "feeRateMaker": contract.fee_rate_maker,
            "feeRateTaker": contract.fee_rate_taker,
            "holdRate": contract.hold_rate,
            "leverTypes": ",".join(str(level) for level in contract.lever_types),
            "maxLeverageLevel": max(contract.lever_types),
            "minOrderVolume": str(contract.min_order_volume),
            "maxOrderVolume": str(contract.max_order_volume),
            "minMargin": contract.min_margin,
            "pricePrecision": contract.price_precision,
            "multiplier": decimal_text(contract.multiplier),
            "settleTime": contract.settle_time,
            "status": contract.status,
        }

    def _market(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        contract = self._find_contract(params, "contractId")
        last = self._last[contract.id]
        opening = self._open[contract.id]
        spread = contract.tick
        return {
            "high": self._high[contract.id],
            "low": self._low[contract.id],
            "vol": self._volume[contract.id],
            "last": last,
            "buy": decimal_text(last - spread, contract.price_precision + 1),
            "sell": decimal_text(last + spread, contract.price_precision + 1),
            "rose": ((last - opening) / opening).quantize(_EIGHT),
            "indexPrice": self.index_price(contract.id),
            "tagPrice": self.tag_price(contract.id),
            "time": self.now_ms(),
        }

    # --- orders -------------------------------------------------------------------------

    def _take_order(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        _require(params, "contractId", "volume", "orderType", "copType", "closeType", "side")
        contract = self._find_contract(params, "contractId")
        if contract.status in (2, 3):
            raise Refused("111", "the contract is settling")
        order_type = _choice(params, "orderType", {"1": LIMIT, "2": MARKET})
        cop_type = _choice(params, "copType", {"1": 1, "2": ISOLATED})
        if cop_type != ISOLATED:
            raise Refused("2", "parameter error: only isolated margin (copType=2) is supported")
        close_type = _choice(params, "closeType", {"0": OPEN, "1": CLOSE})
        side = _choice(params, "side", {"BUY": "BUY", "SELL": "SELL"})
        volume = self._volume_of(contract, params["volume"])
        price: Decimal | None = None
        if order_type == LIMIT:
            if "price" not in params:
                raise Refused("2", "parameter error: price is required for a limit order")
            price = _positive(params["price"], "price")
            if price != price.quantize(contract.tick, rounding=ROUND_DOWN):
                raise Refused(
                    "112",
                    f"price precision error: {contract.symbol} takes "
                    f"{contract.price_precision} decimals",
                )
        elif "price" in params:  # a market order's price is kept (and shown) but not used
            price = _positive(params["price"], "price")
        level = self._level_of(contract, params) if "level" in params else None
        last = self._last[contract.id]
        reference = price if price is not None and order_type == LIMIT else last
        if close_type == CLOSE:
            position = self._closable(account, contract, params, side, volume)
            level = position.leverage
            position_id: int | None = position.position_id
            liquidation = self._liquidation(
                contract,
                position.side,
                position.volume - volume,
                position.avg_price,
                position.margin * (position.volume - volume) / position.volume,
            )
            freeze_margin = freeze_fee = Decimal(0)
        else:
            current = self._open_position(account.api_key, contract.id, side)
            pending = [
                o.level
                for o in self.orders.values()
                if o.active
                and o.api_key == account.api_key
                and o.contract_id == contract.id
                and o.side == side
                and o.close_type == OPEN
            ]
            held = current.leverage if current is not None else (pending[0] if pending else None)
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
            position_id = current.position_id if current is not None else None
            size = (current.volume if current else 0) + volume
            avg = (
                (current.avg_price * current.volume + reference * volume) / size
                if current is not None
                else reference
            )
            margin = (current.margin if current is not None else Decimal(0)) + freeze_margin
            liquidation = self._liquidation(contract, side, size, avg, margin)
        now = self.clock.monotonic()
        order = ChainupOrder(
            order_id=next(self._order_ids),
            api_key=account.api_key,
            uid=account.uid,
            contract_id=contract.id,
            side=side,
            order_type=order_type,
            volume=volume,
            price=price,
            level=level,
            cop_type=cop_type,
            close_type=close_type,
            position_id=position_id,
            params=dict(params),
            created_ms=self.now_ms(),
            placed_at=now,
            due=now + self.fill_delay,
            taker=price is None or order_type == MARKET or _marketable(side, price, last),
            freeze_margin=freeze_margin,
            freeze_fee=freeze_fee,
        )
        self.orders[order.order_id] = order
        self._match(now)
        return {"orderId": order.order_id, "liquidationPrice": java_double(liquidation)}

    @staticmethod
    def _volume_of(contract: ChainupContract, text: str) -> int:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise Refused("2", "parameter error: volume is not a number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise Refused("2", "parameter error: volume must be a whole number of contracts")
        if number < contract.min_order_volume:
            raise Refused(
                "109", f"order volume too small: the minimum is {contract.min_order_volume}"
            )
        if number > contract.max_order_volume:
            raise Refused(
                "108", f"order volume too large: the maximum is {contract.max_order_volume}"
            )
        return int(number)

    @staticmethod
    def _level_of(contract: ChainupContract, params: dict[str, str], name: str = "level") -> int:
        text = params[name]
        if not _DIGITS.fullmatch(text) or int(text) not in contract.lever_types:
            raise Refused(
                "2",
                f"parameter error: {name} must be one of "
                + ",".join(str(level) for level in contract.lever_types),
            )
        return int(text)

    def _closable(
        self,
        account: ChainupAccount,
        contract: ChainupContract,
        params: dict[str, str],
        side: str,
        volume: int,
    ) -> ChainupPosition:
        if "positionId" not in params:
            raise Refused("2", "parameter error: positionId is required to close (closeType=1)")
        position = self._find_position(account, contract, params)
        if position.side == side:
            raise Refused(
                "2", f"parameter error: a {position.side} position is closed by the other side"
            )
        reserved = sum(
            o.remaining
            for o in self.orders.values()
            if o.active and o.close_type == CLOSE and o.position_id == position.position_id
        )
        if volume > position.volume - reserved:
            raise Refused(
                "108",
                f"order volume too large: the position can close {position.volume - reserved}",
            )
        return position

    def _find_position(
        self, account: ChainupAccount, contract: ChainupContract, params: dict[str, str]
    ) -> ChainupPosition:
        text = params["positionId"]
        position = self.positions.get(int(text)) if _DIGITS.fullmatch(text) else None
        if (
            position is None
            or position.api_key != account.api_key
            or position.contract_id != contract.id
        ):
            raise Refused("110", f"position info not found: {text}")
        if not position.open:
            raise Refused("105", "the user has no position: it is closed")
        return position

    def _cancel_order(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        _require(params, "orderId", "contractId")
        contract = self._find_contract(params, "contractId")
        text = params["orderId"]
        order = self.orders.get(int(text)) if _DIGITS.fullmatch(text) else None
        if order is None or order.api_key != account.api_key or order.contract_id != contract.id:
            raise Refused("2", f"parameter error: order {text} does not exist")
        if not order.active:
            raise Refused("2", f"parameter error: order {text} is already finished")
        self._cancel(order)
        return None

    def _cancel_all(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        _require(params, "contractId")
        contract = self._find_contract(params, "contractId")
        for order in list(self.orders.values()):
            if (
                order.active
                and order.api_key == account.api_key
                and order.contract_id == contract.id
            ):
                self._cancel(order)
        return None

    @staticmethod
    def _cancel(order: ChainupOrder) -> None:
        order.status = PARTIAL_CANCELLED if order.deal_volume else CANCELLED
        order.freeze_margin = order.freeze_fee = Decimal(0)

    def _order_info(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        _require(params, "contract_id", "ids")
        contract = self._find_contract(params, "contract_id")
        parts = params["ids"].split(",")
        if not all(_DIGITS.fullmatch(part) for part in parts):
            raise Refused("2", "parameter error: ids are order ids separated by commas")
        found = []
        for part in parts:
            order = self.orders.get(int(part))
            if order is not None and order.api_key == account.api_key:
                if order.contract_id == contract.id:
                    found.append(self._order_info_json(order))
        return found

    def _order_info_json(self, order: ChainupOrder) -> dict[str, Any]:
        return {
            "id": order.order_id,
            "side": order.side,
            "type": order.order_type,
            "volume": order.volume,
            "dealVolume": order.deal_volume,
            "price": java_double(order.price or Decimal(0)),
            "avgPrice": java_double(order.avg_price),
            "realizedAmount": java_double(order.realized_amount),
            "freezeAmount": java_double(order.freeze_amount),
            "status": order.status,
            "tradeList": [self._trade_json(order, trade) for trade in order.trades],
        }

    @staticmethod
    def _trade_json(order: ChainupOrder, trade: ChainupTrade) -> dict[str, Any]:
        mine = {"Id": order.order_id, "Uid": order.uid, "Fee": java_double(trade.fee)}
        maker = {"Id": 0, "Uid": MAKER_UID, "Fee": Decimal(0)}
        bid, ask = (mine, maker) if order.side == "BUY" else (maker, mine)
        other = "SELL" if order.side == "BUY" else "BUY"
        return {
            "id": trade.trade_id,
            "price": java_double(trade.price),
            "volume": trade.volume,
            "askId": ask["Id"],
            "bidId": bid["Id"],
            "askUid": ask["Uid"],
            "bidUid": bid["Uid"],
            "askFee": ask["Fee"],
            "bidFee": bid["Fee"],
            "trendSide": order.side if trade.taker else other,
        }

    def _order_list(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        _require(params, "contractId", "order_type", "pageNo", "pageSize")
        contract = self._find_contract(params, "contractId")
        wanted = {"1": _ACTIVE, "2": frozenset({FILLED}), "3": _FINISHED}.get(params["order_type"])
        if wanted is None:
            raise Refused("2", "parameter error: order_type is 1, 2 or 3")
        page_no, page_size = params["pageNo"], params["pageSize"]
        if not _DIGITS.fullmatch(page_no) or int(page_no) < 1:
            raise Refused("2", "parameter error: pageNo starts at 1")
        if not _DIGITS.fullmatch(page_size) or not 1 <= int(page_size) <= 200:
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
        return {"count": len(selected), "orderList": [self._order_list_json(o) for o in page]}

    def _order_list_json(self, order: ChainupOrder) -> dict[str, Any]:
        item: dict[str, Any] = {
            "orderId": order.order_id,
            "contractId": order.contract_id,
            "side": order.side,
            "type": order.order_type,
            "volume": order.volume,
            "dealVolume": order.deal_volume,
            "price": java_double(order.price or Decimal(0)),
            "status": order.status,
            "positionId": order.position_id,
            "level": order.level,
        }
        if self.list_shape == "app":
            local = datetime.fromtimestamp(order.created_ms / 1000, VENUE_TIMEZONE)
            item["action"] = order.action
            item["ctime"] = local.strftime("%Y-%m-%d %H:%M:%S")
            item["ctimeStr"] = str(order.created_ms)
        return item

    # --- positions and balances ---------------------------------------------------------

    def _user_position(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        contract_id = (
            self._find_contract(params, "contractId").id if "contractId" in params else None
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
            "positions": [self._position_json(account, p) for p in positions],
        }

    def _position_json(self, account: ChainupAccount, position: ChainupPosition) -> dict[str, Any]:
        contract = self.contracts[position.contract_id]
        mark = self.tag_price(contract.id)
        return {
            "id": position.position_id,
            "contractId": contract.id,
            "symbol": contract.symbol,
            "contractName": contract.contract_name,
            "baseSymbol": contract.base_symbol,
            "quoteSymbol": contract.quote_symbol,
            "side": position.side,
            "volume": position.volume,
            "avgPrice": java_double(position.avg_price),
            "liquidationPrice": java_double(self._position_liquidation(position)),
            "indexPrice": mark,
            "leverageLevel": position.leverage,
            "usedMargin": decimal_text(position.margin, 8),
            "holdAmount": java_double(position.margin),
            "priceValue": java_double(position.volume * contract.multiplier * mark),
            "canUseMargin": java_double(self.available(account.api_key, contract.quote_symbol)),
            "realisedAmountCurr": decimal_text(position.realised, 8),
            "unrealisedAmountIndex": decimal_text(self._unrealised(position), 8),
            "copType": ISOLATED,
            "ctime": position.created_ms,
        }

    def _hold_contracts(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        items = []
        for position in self.positions_for(account.api_key):
            contract = self.contracts[position.contract_id]
            items.append(
                {
                    "volume": position.volume,
                    "symbol": contract.symbol,
                    "side": position.side,
                    "avgPrice": java_double(position.avg_price),
                    "contractId": contract.id,
                    "contractName": contract.contract_name,
                    "unrealisedAmount": decimal_text(self._unrealised(position), 14),
                    "realisedAmount": java_double(position.realised),
                    "quoteSymbol": contract.quote_symbol,
                }
            )
        return items

    def _account_balance(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        items = []
        for coin in sorted(account.balances):
            wallet = account.balances[coin]
            order_margin, order_fee = self._order_margin(account.api_key, coin)
            position_margin = self._position_margin(account.api_key, coin)
            unrealised = sum(
                (
                    self._unrealised(p)
                    for p in self.positions_for(account.api_key)
                    if self.contracts[p.contract_id].quote_symbol == coin
                ),
                Decimal(0),
            )
            items.append(
                {
                    "quoteSymbol": coin,
                    "margin": java_double(wallet),
                    "accountRight": decimal_text(wallet + unrealised, 8),
                    "canUseBalance": java_double(wallet - position_margin - order_margin),
                    "positionMargin": decimal_text(position_margin, 8),
                    "orderMargin": decimal_text(order_margin, 8),
                    "unrealisedAmount": decimal_text(unrealised, 8),
                    "openPositionFee": java_double(order_fee),
                }
            )
        return items

    def _change_level(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        _require(params, "contractId", "leverageLevel", "positionId")
        contract = self._find_contract(params, "contractId")
        level = self._level_of(contract, params, "leverageLevel")
        position = self._find_position(account, contract, params)
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
        return None

    def _transfer_margin(self, account: ChainupAccount | None, params: dict[str, str]) -> Any:
        assert account is not None
        name = self.transfer_margin_param  # the one spelling this exchange reads
        _require(params, name, "positionId", "amount")
        contract = self._find_contract(params, name)
        position = self._find_position(account, contract, params)
        amount = _decimal(params["amount"], "amount")
        if amount == 0:
            raise Refused("2", "parameter error: amount must not be 0")
        if amount > 0 and amount > self.available(account.api_key, contract.quote_symbol):
            raise Refused("118", "insufficient available balance")
        if amount < 0 and -amount > self._withdrawable(position):
            raise Refused("101", "reducing margin is not allowed now")
        position.margin += amount
        return None

    # --- matching and bookkeeping -------------------------------------------------------

    def _match(self, now: float) -> None:
        """Fill every due order the market allows, oldest first."""
        for order in sorted(
            (o for o in self.orders.values() if o.active), key=lambda o: o.order_id
        ):
            if not order.active or order.due > now:
                continue
            last = self._last[order.contract_id]
            if order.price is None or order.order_type == MARKET:
                self._execute(order, order.remaining, last, taker=True)
            elif _marketable(order.side, order.price, last):
                self._execute(
                    order, order.remaining, last if order.taker else order.price, taker=order.taker
                )
            else:
                order.taker = False  # it rests in the book from now on

    def _execute(self, order: ChainupOrder, volume: int, price: Decimal, *, taker: bool) -> None:
        contract = self.contracts[order.contract_id]
        account = self.accounts[order.api_key]
        notional = volume * contract.multiplier * price
        fee = notional * (contract.fee_rate_taker if taker else contract.fee_rate_maker)
        if order.close_type == OPEN:
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
                    self.now_ms(),
                )
                self.positions[position.position_id] = position
            total = position.volume + volume
            position.avg_price = (position.avg_price * position.volume + price * volume) / total
            position.volume = total
            position.margin += notional / position.leverage
            pnl = Decimal(0)
        else:
            assert order.position_id is not None
            position = self.positions[order.position_id]
            direction = 1 if position.side == "BUY" else -1
            pnl = (price - position.avg_price) * volume * contract.multiplier * direction
            position.margin -= position.margin * volume / position.volume
            position.volume -= volume
            position.realised += pnl
            if not position.open:
                position.margin = Decimal(0)
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
        order.trades.append(
            ChainupTrade(next(self._trade_ids), price, volume, fee, taker, self.now_ms())
        )
        self._volume[contract.id] += volume

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

    def _position_margin(self, api_key: str, coin: str) -> Decimal:
        return sum(
            (
                p.margin
                for p in self.positions_for(api_key)
                if self.contracts[p.contract_id].quote_symbol == coin
            ),
            Decimal(0),
        )

    def _order_margin(self, api_key: str, coin: str) -> tuple[Decimal, Decimal]:
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

    def _unrealised(self, position: ChainupPosition) -> Decimal:
        contract = self.contracts[position.contract_id]
        direction = 1 if position.side == "BUY" else -1
        move = self.tag_price(contract.id) - position.avg_price
        return move * position.volume * contract.multiplier * direction

    def _withdrawable(self, position: ChainupPosition) -> Decimal:
        """Margin above the initial margin, less any unrealised loss."""
        contract = self.contracts[position.contract_id]
        initial = position.volume * contract.multiplier * position.avg_price / position.leverage
        return max(
            position.margin - initial + min(self._unrealised(position), Decimal(0)), Decimal(0)
        )

    def _position_liquidation(self, position: ChainupPosition) -> Decimal:
        return self._liquidation(
            self.contracts[position.contract_id],
            position.side,
            position.volume,
            position.avg_price,
            position.margin,
        )

    @staticmethod
    def _liquidation(
        contract: ChainupContract, side: str, volume: int, avg: Decimal, margin: Decimal
    ) -> Decimal:
        """Where an isolated position's margin falls to the maintenance margin."""
        if volume <= 0:
            return Decimal(0)
        size = volume * contract.multiplier
        cushion = (margin - size * avg * contract.hold_rate) / size
        return max(avg - cushion if side == "BUY" else avg + cushion, Decimal(0))

    def _find_contract(self, params: Mapping[str, str], name: str) -> ChainupContract:
        if name not in params:
            raise Refused("2", f"parameter error: {name} is required")
        text = params[name]
        contract = self.contracts.get(int(text)) if _DIGITS.fullmatch(text) else None
        if contract is None:
            raise Refused("107", f"the contract {text} does not exist")
        return contract


# --- small pieces -------------------------------------------------------------------------


def _sign(params: Mapping[str, str], secret: str) -> str:
    """MD5 of the sorted ``key+value`` pairs (all but ``sign``, empty ones out) and the secret."""
    text = "".join(key + value for key, value in sorted(params.items()) if key != "sign" and value)
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


def _require(params: Mapping[str, str], *names: str) -> None:
    for name in names:
        if name not in params:
            raise Refused("2", f"parameter error: {name} is required")


def _choice(params: Mapping[str, str], name: str, options: Mapping[str, Any]) -> Any:
    value = params[name]
    if value not in options:
        raise Refused("2", f"parameter error: {name} must be one of {', '.join(options)}")
    return options[value]


def _decimal(text: str, name: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refused("2", f"parameter error: {name} is not a number") from None
    if not number.is_finite():
        raise Refused("2", f"parameter error: {name} is not a number")
    return number


def _positive(text: str, name: str) -> Decimal:
    number = _decimal(text, name)
    if number <= 0:
        raise Refused("2", f"parameter error: {name} must be positive")
    return number


def _marketable(side: str, price: Decimal, last: Decimal) -> bool:
    return price >= last if side == "BUY" else price <= last
