"""An offline Bybit V5 Advance Earn (SmartLeverage) exchange, faithful where clients break.

It checks what Bybit checks, in Bybit's order and with Bybit's codes: the IP-wide limit
(HTTP 403 and a ban), the API key (10003), the timestamp window (10002), the HMAC or RSA
signature over the raw bytes received (10004), the per-UID per-endpoint rolling one-second
window (10006 with the ``X-Bapi-Limit*`` headers), then the request itself: ``orderLinkId``
reuse (180025 or another configured code, or the same ``orderId`` in the older server mode),
the stake's breakeven price from a quote still valid and within its maximum amount, ±5%
slippage against a moving price (180030), balances (180016), redeem estimates honoured for 10
minutes, no redeem within 60 minutes of settlement (180029). Orders settle asynchronously
(Pending -> Success) after a configurable delay; stakes become positions that settle after
the product's duration; a redeem pays the position's value when it settles, or fails when it
is slippage-protected and the value fell too far. Everything it did is in
:attr:`BybitSimulator.stats`, ``orders`` and ``positions``.

Where Bybit's sources disagree the simulator plays each reading: ``redeem_rules="any"``
(the API page: a redeem's ``amount`` and ``coin`` are optional) or ``"official-tools"``
(Bybit's MCP server and skill: both required, ``amount`` the staked amount). Codes Bybit does
not document are the simulator's choice: 180006 for a stake priced from an expired or unknown
quote, 180014 for a redeem whose ``amount`` is not the staked amount.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Literal

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._clock import Clock, SystemClock
from ._exchange import Arrival, Refused, RollingWindows, SimulatedExchange
from ._faults import Fault, Faults
from ._json import decimal_text, dumps

__all__ = [
    "BybitSimulator",
    "SimAccount",
    "SimOrder",
    "SimPosition",
    "SimProduct",
    "SimQuote",
    "SimStats",
]

CATEGORY = "SmartLeverage"
#: Requests per rolling window, per UID (private) or per IP (public), as documented.
DEFAULT_LIMITS: Mapping[str, tuple[int, float]] = {
    "place_order": (5, 1.0),
    "order": (10, 1.0),
    "position": (10, 1.0),
    "redeem_estimate": (10, 1.0),
    "product": (50, 1.0),
    "quote": (50, 1.0),
}
IP_LIMIT = (600, 5.0)
_LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")
_ESTIMATE_TTL = 600.0
_SLIPPAGE = Decimal("0.05")
#: How far below its estimate a slippage-protected redeem may pay (the estimate's slippageRate).
_REDEEM_SLIPPAGE = Decimal("0.05")
_OLD_DEDUPE_WINDOW = 1800.0
#: No redeem this close to a position's settlement (Bybit: "less than 60 minutes remain").
_REDEEM_CUTOFF_MS = 3_600_000
_DURATION = re.compile(r"([0-9]+)([dh])")


@attrs.define
class SimProduct:
    product_id: str
    underlying_asset: str
    direction: str
    leverage: Decimal
    duration: str
    min_purchase_amount: Decimal
    remaining_amount: Decimal
    order_precision_digital: int = 4
    invest_coin: str = "USDT"
    #: The most one order may stake at a quote (the quote's ``maxInvestmentAmount``).
    max_investment_amount: Decimal = Decimal("100000")


@attrs.frozen
class SimQuote:
    """A quote the simulator gave: a stake at its breakeven price is accepted until
    ``expire_ms`` (the exchange's clock), up to ``max_investment_amount``."""

    product_id: str
    current_price: Decimal
    breakeven_price: Decimal
    expire_ms: int
    max_investment_amount: Decimal


@attrs.define
class SimAccount:
    """One API key: its UID, its secret (HMAC) or public key (RSA), its balances."""

    api_key: str
    uid: str
    secret: str | None = attrs.field(default=None, repr=False)
    public_key_pem: str | None = attrs.field(default=None, repr=False)
    balances: dict[str, Decimal] = attrs.Factory(dict)


@attrs.define
class SimOrder:
    order_id: str
    order_link_id: str
    uid: str
    product_id: str
    order_type: str
    amount: Decimal
    account_type: str
    created_ms: int
    placed_at: float
    due: float
    status: str = "Pending"
    initial_price: Decimal | None = None
    breakeven_price: Decimal | None = None
    position_id: str | None = None
    #: A redeem's estimate and whether it is slippage-protected.
    est_redeem_amount: Decimal | None = None
    slippage_protected: bool = False
    settlement_price: Decimal | None = None
    pnl: Decimal | None = None
    refund_status: str = ""


@attrs.define
class SimPosition:
    position_id: str
    uid: str
    product_id: str
    order_id: str
    order_link_id: str
    amount: Decimal
    initial_price: Decimal
    breakeven_price: Decimal
    account_type: str
    created_ms: int
    #: When the position settles (the exchange's clock): its creation plus the duration.
    settlement_ms: int
    status: str = "Active"


@attrs.define
class SimStats:
    """What the exchange saw. ``rejections`` counts refusals by retCode (403 for the IP ban);
    ``faults`` the injected faults by kind; ``arrivals`` the arrival times (server monotonic
    seconds) of every request by endpoint."""

    requests: Counter[str] = attrs.Factory(Counter)
    rejections: Counter[int] = attrs.Factory(Counter)
    faults: Counter[str] = attrs.Factory(Counter)
    duplicates_refused: int = 0
    arrivals: dict[str, list[float]] = attrs.Factory(dict)

    @property
    def rate_limit_rejections(self) -> int:
        """Requests refused for breaking a rate limit (10006 and HTTP 403)."""
        return self.rejections[10006] + self.rejections[403]


def _default_products() -> list[SimProduct]:
    return [
        SimProduct("13015", "BTC", "Short", Decimal("10"), "7d", Decimal("10"), Decimal("5000000")),
        SimProduct("13016", "BTC", "Long", Decimal("5"), "1d", Decimal("10"), Decimal("5000000")),
        SimProduct("13020", "ETH", "Long", Decimal("3"), "3d", Decimal("5"), Decimal("2000000")),
    ]


Handler = Callable[[SimAccount | None, dict[str, Any]], dict[str, Any]]


class BybitSimulator(SimulatedExchange[SimAccount | None]):
    """An offline Bybit Advance Earn exchange; see the module docstring for what it checks.

    **Parameters:**

    * ``clock``: the exchange's time source (real time by default).
    * ``limits``: per-endpoint ``(limit, per)`` overrides of the documented limits.
    * ``ip_limit`` / ``ip_ban``: the IP-wide limit and how long an IP is banned after it.
    * ``idempotency``: ``"error"`` (today's Bybit: a reused ``orderLinkId`` gets an error) or
      ``"same_order_id"`` (older Bybit: the same ``orderId`` comes back for 30 minutes).
    * ``duplicate_code``: the retCode of that error. Bybit documents none for Advance Earn;
      180025 ("Order already exists") by default, 180031 ("Duplicate order") or any other.
    * ``redeem_rules``: ``"any"`` (a redeem's ``amount`` and ``coin`` optional, checked when
      given) or ``"official-tools"`` (both required: the staked amount and the invest coin).
    * ``quote_ttl``: seconds a quote stays valid.
    * ``settlement_delay``: seconds from placement to Success.
    * ``faults``: what goes wrong (:class:`Faults`).
    * ``price_swing``: how far prices move (fraction of the price) over ``price_period`` s.
    """

    stats: SimStats
    endpoint_names: frozenset[str] = frozenset({"time", *DEFAULT_LIMITS})

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        limits: Mapping[str, tuple[int, float]] | None = None,
        ip_limit: tuple[int, float] = IP_LIMIT,
        ip_ban: float = 600.0,
        idempotency: Literal["error", "same_order_id"] = "error",
        duplicate_code: int = 180025,
        redeem_rules: Literal["any", "official-tools"] = "any",
        quote_ttl: float = 60.0,
        settlement_delay: float = 1.0,
        faults: Faults | None = None,
        prices: Mapping[str, Decimal] | None = None,
        price_swing: float = 0.01,
        price_period: float = 120.0,
    ) -> None:
        unknown = set(limits or {}) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown endpoint limits {sorted(unknown)}")
        if idempotency not in ("error", "same_order_id"):
            raise ValueError(f"idempotency must be 'error' or 'same_order_id', got {idempotency!r}")
        if redeem_rules not in ("any", "official-tools"):
            raise ValueError(
                f"redeem_rules must be 'any' or 'official-tools', got {redeem_rules!r}"
            )
        if not quote_ttl > 0:
            raise ValueError(f"quote_ttl must be > 0 s, got {quote_ttl!r}")
        self.clock: Clock = clock or SystemClock()
        self.limits: dict[str, tuple[int, float]] = {**DEFAULT_LIMITS, **(limits or {})}
        self.ip_limit = ip_limit
        self.ip_ban = ip_ban
        self.idempotency = idempotency
        self.duplicate_code = duplicate_code
        self.redeem_rules = redeem_rules
        self.quote_ttl = quote_ttl
        self.settlement_delay = settlement_delay
        self.stats = SimStats()
        self.accounts: dict[str, SimAccount] = {}
        self.products: dict[str, SimProduct] = {p.product_id: p for p in _default_products()}
        self.orders: dict[str, SimOrder] = {}
        self.positions: dict[str, SimPosition] = {}
        self._by_link: dict[tuple[str, str], SimOrder] = {}
        self._estimates: dict[tuple[str, str], tuple[Decimal, float]] = {}
        #: Live quotes by product, then breakeven price (the latest quote at that price).
        self._quotes: dict[str, dict[Decimal, SimQuote]] = {}
        self._windows = RollingWindows()
        self._banned_until: dict[str, float] = {}
        self.set_faults(faults or Faults())
        self._ids = itertools.count(1)
        self._uids = itertools.count(100001)
        self._base_prices = {
            "BTC": Decimal("68403.67"),
            "ETH": Decimal("3512.40"),
            **(prices or {}),
        }
        self._price_swing = price_swing
        self._price_period = price_period
        self._started = self.clock.monotonic()
        self.app: Starlette = Starlette(routes=self._routes())

    # --- setup and inspection -----------------------------------------------------------

    def add_account(
        self,
        api_key: str,
        secret: str | None = None,
        *,
        public_key_pem: str | None = None,
        balances: Mapping[str, Decimal] | None = None,
    ) -> SimAccount:
        """Register an API key with an HMAC ``secret`` or an RSA ``public_key_pem``."""
        if (secret is None) == (public_key_pem is None):
            raise ValueError("give exactly one of secret and public_key_pem")
        account = SimAccount(
            api_key,
            str(next(self._uids)),
            secret=secret,
            public_key_pem=public_key_pem,
            balances=dict(balances or {"USDT": Decimal("10000000")}),
        )
        self.accounts[api_key] = account
        return account

    def price(self, asset: str, at: float | None = None) -> Decimal:
        """The market price of ``asset`` now (or at monotonic time ``at``): it swings slowly
        around its base price."""
        elapsed = (self.clock.monotonic() if at is None else at) - self._started
        swing = self._price_swing * math.sin(2 * math.pi * elapsed / self._price_period)
        return (self._base_prices[asset] * (1 + Decimal(repr(swing)))).quantize(Decimal("0.01"))

    def set_price(self, asset: str, price: Decimal) -> None:
        """Move the market: ``asset`` trades at ``price`` from now on (before the swing).
        Whatever was due to settle before now settles first, at the prices before the move."""
        self._settle(self.clock.monotonic())
        self._base_prices[asset] = price
        self._price_swing = 0.0

    def issue_quote(self, product_id: str) -> SimQuote:
        """Quote ``product_id`` now, as ``GET .../product-extra-info`` does: a stake at the
        quote's breakeven price is accepted until it expires. For tests that build orders
        without asking the exchange over HTTP."""
        product = self.products[product_id]
        current = self.price(product.underlying_asset)
        spread = Decimal("0.0036") if product.direction == "Short" else Decimal("-0.0036")
        now = self.now_ms()
        quote = SimQuote(
            product_id,
            current,
            (current * (1 + spread)).quantize(Decimal("0.01"), rounding=ROUND_DOWN),
            now + int(self.quote_ttl * 1000),
            min(product.max_investment_amount, product.remaining_amount),
        )
        live = self._quotes.setdefault(product_id, {})
        for price in [price for price, old in live.items() if old.expire_ms < now]:
            del live[price]
        live[quote.breakeven_price] = quote
        return quote

    def orders_for(self, api_key: str) -> list[SimOrder]:
        """Every order the key placed, oldest first."""
        uid = self.accounts[api_key].uid
        return [order for order in self.orders.values() if order.uid == uid]

    # --- the HTTP surface ---------------------------------------------------------------

    def _routes(self) -> list[Route]:
        self._handlers: dict[str, Handler] = {}

        def route(
            path: str, name: str, handler: Handler, *, private: bool, method: str = "GET"
        ) -> Route:
            self._handlers[name] = handler
            return self._route(path, name, private=private, method=method)

        return [
            route("/v5/market/time", "time", self._time, private=False),
            route("/v5/earn/advance/product", "product", self._product, private=False),
            route("/v5/earn/advance/product-extra-info", "quote", self._quote, private=False),
            route(
                "/v5/earn/advance/place-order",
                "place_order",
                self._place,
                private=True,
                method="POST",
            ),
            route("/v5/earn/advance/order", "order", self._order, private=True),
            route("/v5/earn/advance/position", "position", self._position, private=True),
            route(
                "/v5/earn/advance/get-redeem-est-amount-list",
                "redeem_estimate",
                self._estimate,
                private=True,
            ),
        ]

    def _turn_away(self, arrival: Arrival) -> Response | None:
        """Over the IP-wide limit, or banned for having been: HTTP 403 and a ban."""
        banned = self._banned_until.get(arrival.ip, -math.inf) > arrival.at
        if not banned and self._windows.hit(("ip", arrival.ip), *self.ip_limit, arrival.at)[0]:
            return None
        if not banned:
            self._banned_until[arrival.ip] = arrival.at + self.ip_ban
        self.stats.rejections[403] += 1
        return Response(
            "403 Forbidden: access too frequent", status_code=403, media_type="text/plain"
        )

    def _admit(self, arrival: Arrival) -> tuple[SimAccount | None, Mapping[str, str]]:
        """The API key, timestamp and signature (private endpoints), then the endpoint's
        window per UID (per IP for the public ones), whose headers go on every answer."""
        account = self._authenticate(arrival.request, arrival.body) if arrival.private else None
        scope = account.uid if account is not None else arrival.ip
        limited = arrival.endpoint in self.limits
        return account, self._limit(scope, arrival.endpoint, arrival.at) if limited else {}

    def _commit(self, arrival: Arrival, admitted: SimAccount | None) -> object:
        """The parameters are read only now: a body that is not JSON meets its fault first."""
        params = self._params(arrival.request, arrival.body)
        return self._handlers[arrival.endpoint](admitted, params)

    def _success(self, result: object, headers: Mapping[str, str]) -> Response:
        return self._envelope(0, "OK", result, headers)

    def _refusal(self, refused: Refused, headers: Mapping[str, str]) -> Response:
        return self._envelope(refused.code, refused.message, {}, headers)

    def _params(self, request: Request, body: bytes) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query_params)
        try:
            parsed = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise Refused(10001, "request parameter error: body is not JSON") from None
        if not isinstance(parsed, dict):
            raise Refused(10001, "request parameter error: body is not an object")
        return parsed

    def _authenticate(self, request: Request, body: bytes) -> SimAccount:
        headers = request.headers
        account = self.accounts.get(headers.get("X-BAPI-API-KEY", ""))
        if account is None:
            raise Refused(10003, "API key is invalid.")
        timestamp = headers.get("X-BAPI-TIMESTAMP", "")
        recv_window = headers.get("X-BAPI-RECV-WINDOW", "5000")
        if not timestamp.isdigit() or not recv_window.isdigit():
            raise Refused(10001, "openapi sign params error!")
        server_ms = self.now_ms()
        if not server_ms - int(recv_window) <= int(timestamp) < server_ms + 1000:
            raise Refused(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{timestamp}],server_timestamp[{server_ms}],recv_window[{recv_window}]",
            )
        payload = body if request.method != "GET" else request.scope["query_string"]
        message = (timestamp + account.api_key + recv_window).encode() + payload
        if not self._signature_ok(account, message, headers.get("X-BAPI-SIGN", "")):
            raise Refused(
                10004, "error sign! origin_string[" + message.decode("utf-8", "replace") + "]"
            )
        return account

    @staticmethod
    def _signature_ok(account: SimAccount, message: bytes, signature: str) -> bool:
        if account.secret is not None:
            expected = hmac.new(account.secret.encode(), message, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        assert account.public_key_pem is not None
        key = load_pem_public_key(account.public_key_pem.encode())
        if not isinstance(key, RSAPublicKey):
            return False
        try:
            key.verify(
                base64.b64decode(signature, validate=True),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def _limit(self, scope: str, name: str, now: float) -> dict[str, str]:
        limit, per = self.limits[name]
        admitted, remaining, reset = self._windows.hit((scope, name), limit, per, now)
        reset_ms = self.now_ms() + int((reset - now) * 1000)
        headers = {
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Status": str(remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
        }
        if not admitted:
            raise Refused(10006, "Too many visits!", headers)
        return headers

    def _envelope(
        self, code: int | str, message: str, result: object, headers: Mapping[str, str]
    ) -> Response:
        now = self.now_ms()
        body = dumps(
            {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": now},
            ascii_only=True,
        )
        return Response(
            body, media_type="application/json", headers={**headers, "Timenow": str(now)}
        )

    def _error_answer(self, fault: Fault) -> Response:
        if fault is Fault.BUSY:
            return self._envelope(10016, "Server error: service is restarting", {}, {})
        return self._envelope(10000, "Server Timeout", {}, {})

    # --- endpoint logic -----------------------------------------------------------------

    def _time(self, account: SimAccount | None, params: dict[str, Any]) -> dict[str, Any]:
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _product(self, account: SimAccount | None, params: dict[str, Any]) -> dict[str, Any]:
        self._category(params)
        coin, duration = params.get("coin"), params.get("duration")
        items = [
            self._product_json(product)
            for product in self.products.values()
            if (coin is None or product.underlying_asset == coin)
            and (duration is None or product.duration == duration)
        ]
        return {"category": CATEGORY, "list": items}

    def _product_json(self, product: SimProduct) -> dict[str, Any]:
        now = self.now_ms()
        return {
            "category": CATEGORY,
            "productId": product.product_id,
            "investCoin": product.invest_coin,
            "underlyingAsset": product.underlying_asset,
            "direction": product.direction,
            "leverage": decimal_text(product.leverage),
            "duration": product.duration,
            "subscribeStartAt": str(now - 86_400_000),
            "subscribeEndAt": str(now + 86_400_000),
            "settlementTime": str(now + _duration_ms(product.duration)),
            "expectReceiveAt": str(now + _duration_ms(product.duration) + 3_600_000),
            "minPurchaseAmount": decimal_text(product.min_purchase_amount),
            "remainingAmount": decimal_text(product.remaining_amount),
            "orderPrecisionDigital": product.order_precision_digital,
        }

    def _quote(self, account: SimAccount | None, params: dict[str, Any]) -> dict[str, Any]:
        self._category(params)
        quote = self.issue_quote(self._find_product(params.get("productId")).product_id)
        return {
            "category": CATEGORY,
            "productId": quote.product_id,
            "breakevenPrice": decimal_text(quote.breakeven_price),
            "currentPrice": decimal_text(quote.current_price),
            "expireAt": str(quote.expire_ms),
            "maxInvestmentAmount": decimal_text(quote.max_investment_amount),
        }

    def _place(self, account: SimAccount | None, body: dict[str, Any]) -> dict[str, Any]:
        assert account is not None
        now = self.clock.monotonic()
        self._settle(now)
        self._category(body)
        link = body.get("orderLinkId")
        if not isinstance(link, str) or not link:
            raise Refused(180019, "empty order link id")
        if not _LINK_ID.fullmatch(link):
            raise Refused(10001, "orderLinkId: at most 36 characters of [A-Za-z0-9_-]")
        previous = self._by_link.get((account.uid, link))
        if previous is not None:
            self.stats.duplicates_refused += 1
            if (
                self.idempotency == "same_order_id"
                and now - previous.placed_at < _OLD_DEDUPE_WINDOW
            ):
                return {"orderId": previous.order_id, "orderLinkId": link}
            raise Refused(self.duplicate_code, "Order already exists")
        product = self._find_product(body.get("productId"))
        account_type = body.get("accountType")
        if account_type not in ("FUND", "UNIFIED"):
            raise Refused(10001, "accountType must be FUND or UNIFIED")
        order_type = body.get("orderType")
        if order_type == "Stake":
            order = self._stake(account, product, body, link, account_type, now)
        elif order_type == "Redeem":
            order = self._redeem(account, product, body, link, account_type, now)
        else:
            raise Refused(10001, "orderType must be Stake or Redeem")
        self.orders[order.order_id] = order
        self._by_link[(account.uid, link)] = order
        return {"orderId": order.order_id, "orderLinkId": link}

    def _stake(
        self,
        account: SimAccount,
        product: SimProduct,
        body: dict[str, Any],
        link: str,
        account_type: str,
        now: float,
    ) -> SimOrder:
        if body.get("coin") != product.invest_coin:
            raise Refused(180002, "Invalid coin")
        amount = _decimal(body.get("amount"), "amount")
        step = Decimal(1).scaleb(-product.order_precision_digital)
        if amount < product.min_purchase_amount or amount % step != 0:
            raise Refused(180012, "Purchase share is invalid")
        extra = body.get("smartLeverageStakeExtra")
        if not isinstance(extra, dict):
            raise Refused(10001, "smartLeverageStakeExtra is required for Stake")
        initial = _decimal(extra.get("initialPrice"), "initialPrice")
        breakeven = _decimal(extra.get("breakevenPrice"), "breakevenPrice")
        quote = self._quotes.get(product.product_id, {}).get(breakeven)
        if quote is None or quote.expire_ms < self.now_ms():
            raise Refused(
                180006, "Validation failed: breakevenPrice is not a live quote; fetch a new one"
            )
        if amount > quote.max_investment_amount:
            raise Refused(180013, "Stake over maximum share")
        market = self.price(product.underlying_asset)
        if abs(initial - market) / market > _SLIPPAGE:
            raise Refused(180030, "Slippage fail")
        if amount > product.remaining_amount:
            raise Refused(180015, "Products share not enough")
        balance = account.balances.get(product.invest_coin, Decimal(0))
        if amount > balance:
            raise Refused(180016, "Balance not enough")
        account.balances[product.invest_coin] = balance - amount
        product.remaining_amount -= amount
        return self._new_order(
            account,
            product,
            link,
            account_type,
            now,
            "Stake",
            amount,
            initial_price=initial,
            breakeven_price=breakeven,
        )

    def _redeem(
        self,
        account: SimAccount,
        product: SimProduct,
        body: dict[str, Any],
        link: str,
        account_type: str,
        now: float,
    ) -> SimOrder:
        extra = body.get("smartLeverageRedeemExtra")
        if not isinstance(extra, dict):
            raise Refused(10001, "smartLeverageRedeemExtra is required for Redeem")
        position = self.positions.get(str(extra.get("positionId")))
        if (
            position is None
            or position.uid != account.uid
            or position.product_id != product.product_id
        ):
            raise Refused(180020, "Position not found")
        if not self._redeemable(position):
            raise Refused(180029, "Redeem not allowed")
        self._check_redeem_amount_and_coin(product, position, body)
        protected = extra.get("isSlippageProtected", False)
        if not isinstance(protected, bool):
            raise Refused(10001, "isSlippageProtected must be a bool")
        estimated = _decimal(extra.get("estRedeemAmount"), "estRedeemAmount")
        cached = self._estimates.get((account.uid, position.position_id))
        if cached is None or now - cached[1] > _ESTIMATE_TTL or cached[0] != estimated:
            raise Refused(
                180006, "Validation failed: redeem estimate expired or unknown; query it again"
            )
        position.status = "Redeeming"
        # Bybit records a redeem with the position's staked amount, not the estimate.
        return self._new_order(
            account,
            product,
            link,
            account_type,
            now,
            "Redeem",
            position.amount,
            position_id=position.position_id,
            initial_price=position.initial_price,
            breakeven_price=position.breakeven_price,
            est_redeem_amount=estimated,
            slippage_protected=protected,
        )

    def _check_redeem_amount_and_coin(
        self, product: SimProduct, position: SimPosition, body: dict[str, Any]
    ) -> None:
        """A redeem's top-level ``amount`` and ``coin``: required by the official tools'
        reading, optional by the API page's; when given, the staked amount and invest coin."""
        amount, coin = body.get("amount"), body.get("coin")
        if self.redeem_rules == "official-tools":
            if amount is None:
                raise Refused(10001, "amount is required: the position's staked amount")
            if coin is None:
                raise Refused(10001, "coin is required: the position's invest coin")
        if amount is not None and _decimal(amount, "amount") != position.amount:
            raise Refused(180014, "Redeem share invalid: amount must be the staked amount")
        if coin is not None and coin != product.invest_coin:
            raise Refused(180002, "Invalid coin")

    def _redeemable(self, position: SimPosition) -> bool:
        """Active, no redeem pending, and more than 60 minutes before settlement."""
        return (
            position.status == "Active"
            and self.now_ms() < position.settlement_ms - _REDEEM_CUTOFF_MS
        )

    def _order(self, account: SimAccount | None, params: dict[str, Any]) -> dict[str, Any]:
        assert account is not None
        self._settle(self.clock.monotonic())
        self._category(params)
        selected = [
            order
            for order in self.orders.values()
            if order.uid == account.uid
            and params.get("orderId") in (None, order.order_id)
            and params.get("orderLinkId") in (None, order.order_link_id)
            and params.get("productId") in (None, order.product_id)
        ]
        selected.sort(key=lambda order: order.created_ms, reverse=True)
        return self._page(selected, params, self._order_json)

    def _order_json(self, order: SimOrder) -> dict[str, Any]:
        product = self.products[order.product_id]
        return {
            "orderId": order.order_id,
            "orderLinkId": order.order_link_id,
            "productId": order.product_id,
            "category": CATEGORY,
            "orderType": order.order_type,
            "amount": decimal_text(order.amount),
            "createdTime": str(order.created_ms),
            "status": order.status,
            "duration": product.duration,
            "accountType": order.account_type,
            "settlementTime": "",
            "refundStatus": order.refund_status,
            "investCoin": product.invest_coin,
            "underlyingAsset": product.underlying_asset,
            "direction": product.direction,
            "leverage": decimal_text(product.leverage),
            "breakevenPrice": decimal_text(order.breakeven_price) if order.breakeven_price else "",
            "initialPrice": decimal_text(order.initial_price) if order.initial_price else "",
            "settlementPrice": decimal_text(order.settlement_price)
            if order.settlement_price
            else "",
            "pnl": decimal_text(order.pnl) if order.pnl is not None else "",
            "toAccountType": order.account_type if order.status in ("Settled", "Fail") else "",
        }

    def _position(self, account: SimAccount | None, params: dict[str, Any]) -> dict[str, Any]:
        assert account is not None
        self._settle(self.clock.monotonic())
        self._category(params)
        selected = [
            position
            for position in self.positions.values()
            if position.uid == account.uid
            and params.get("productId") in (None, position.product_id)
            and params.get("coin") in (None, self.products[position.product_id].underlying_asset)
        ]
        return self._page(selected, params, self._position_json)

    def _position_json(self, position: SimPosition) -> dict[str, Any]:
        product = self.products[position.product_id]
        return {
            "positionId": position.position_id,
            "productId": position.product_id,
            "category": CATEGORY,
            "investCoin": product.invest_coin,
            "amount": decimal_text(position.amount),
            "duration": product.duration,
            "settlementTime": str(position.settlement_ms),
            "accountType": position.account_type,
            "orderId": position.order_id,
            "underlyingAsset": product.underlying_asset,
            "direction": product.direction,
            "leverage": decimal_text(product.leverage),
            "breakevenPrice": decimal_text(position.breakeven_price),
            "initialPrice": decimal_text(position.initial_price),
            "status": position.status,
            "createdTime": str(position.created_ms),
            "redeemable": self._redeemable(position),
            "orderLinkId": position.order_link_id,
        }

    def _estimate(self, account: SimAccount | None, params: dict[str, Any]) -> dict[str, Any]:
        assert account is not None
        now = self.clock.monotonic()
        self._settle(now)
        self._category(params)
        ids = [part for part in str(params.get("positionIds", "")).split(",") if part]
        if not 1 <= len(ids) <= 5:
            raise Refused(10001, "positionIds: 1 to 5 ids")
        items = []
        for position_id in ids:
            position = self.positions.get(position_id)
            if position is None or position.uid != account.uid or not self._redeemable(position):
                items.append(
                    {
                        "success": False,
                        "positionId": position_id,
                        "estRedeemAmount": "",
                        "estRedeemTime": "",
                        "slippageRate": "",
                    }
                )
                continue
            amount = self._redeem_value(position)
            self._estimates[(account.uid, position_id)] = (amount, now)
            items.append(
                {
                    "success": True,
                    "positionId": position_id,
                    "estRedeemAmount": decimal_text(amount),
                    "estRedeemTime": str(self.now_ms()),
                    "slippageRate": "0.05",
                }
            )
        return {"list": items}

    def _redeem_value(self, position: SimPosition, at: float | None = None) -> Decimal:
        """What the position is worth at monotonic time ``at`` (default: now)."""
        product = self.products[position.product_id]
        move = (
            self.price(product.underlying_asset, at) - position.initial_price
        ) / position.initial_price
        sign = 1 if product.direction == "Long" else -1
        value = position.amount * (1 + sign * product.leverage * move)
        return max(value, Decimal(0)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)

    def _settle(self, now: float) -> None:
        """Everything due by ``now``, each at its own time: orders placed, redeems paid,
        positions matured at their settlement time's price."""
        for order in self.orders.values():
            if order.status != "Pending" or order.due > now:
                continue
            if order.order_type == "Stake":
                self._open_position(order)
            else:
                self._close_position(order)
        now_ms = self.now_ms()
        for position in self.positions.values():
            if position.status == "Active" and position.settlement_ms <= now_ms:
                matured = now - (now_ms - position.settlement_ms) / 1000
                stake = self.orders[position.order_id]
                self._pay_out(position, stake, matured)
                position.status = "Settled"

    def _open_position(self, order: SimOrder) -> None:
        order.status = "Success"
        position_id = str(len(self.positions) + 1001)
        order.position_id = position_id
        assert order.initial_price is not None and order.breakeven_price is not None
        created = self.now_ms()
        duration = _duration_ms(self.products[order.product_id].duration)
        self.positions[position_id] = SimPosition(
            position_id,
            order.uid,
            order.product_id,
            order.order_id,
            order.order_link_id,
            order.amount,
            order.initial_price,
            order.breakeven_price,
            order.account_type,
            created,
            created + duration,
        )

    def _close_position(self, order: SimOrder) -> None:
        """Settle a redeem when it is due: pay the position's value then, unless the redeem is
        protected and the value fell more than the slippage rate below the estimate (the
        redeem fails)."""
        assert order.position_id is not None and order.est_redeem_amount is not None
        position = self.positions[order.position_id]
        value = self._redeem_value(position, order.due)
        if order.slippage_protected and value < order.est_redeem_amount * (1 - _REDEEM_SLIPPAGE):
            order.status = "Fail"
            order.refund_status = "Processed"
            position.status = "Active"
            return
        self._pay_out(position, order, order.due)
        position.status = "Settled"

    def _pay_out(self, position: SimPosition, order: SimOrder, at: float) -> None:
        """Credit the position's value at ``at`` and settle ``order`` (the redeem, or the stake
        at maturity) with its price and profit."""
        value = self._redeem_value(position, at)
        account = next(a for a in self.accounts.values() if a.uid == position.uid)
        coin = self.products[position.product_id].invest_coin
        account.balances[coin] = account.balances.get(coin, Decimal(0)) + value
        order.status = "Settled"
        order.settlement_price = self.price(self.products[position.product_id].underlying_asset, at)
        order.pnl = value - position.amount

    # --- small pieces -------------------------------------------------------------------

    def _page(
        self, items: list[Any], params: dict[str, Any], render: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        limit_text, cursor = params.get("limit", "20"), params.get("cursor", "") or "0"
        if not str(limit_text).isdigit() or not 1 <= int(limit_text) <= 20:
            raise Refused(10001, "limit: 1 to 20")
        if not str(cursor).isdigit():
            raise Refused(10001, "cursor is invalid")
        start, limit = int(cursor), int(limit_text)
        page = items[start : start + limit]
        more = start + limit < len(items)
        return {
            "category": CATEGORY,
            "nextPageCursor": str(start + limit) if more else "",
            "list": [render(item) for item in page],
        }

    @staticmethod
    def _category(params: Mapping[str, Any]) -> None:
        if params.get("category") != CATEGORY:
            raise Refused(10001, "category must be SmartLeverage")

    def _find_product(self, product_id: object) -> SimProduct:
        product = self.products.get(str(product_id)) if product_id is not None else None
        if product is None:
            raise Refused(180008, "Invalid Product")
        return product

    def _new_order(
        self,
        account: SimAccount,
        product: SimProduct,
        link: str,
        account_type: str,
        now: float,
        order_type: str,
        amount: Decimal,
        **details: Any,
    ) -> SimOrder:
        """A Pending order placed now, due to settle after the settlement delay."""
        return SimOrder(
            order_id=self._new_order_id(),
            order_link_id=link,
            uid=account.uid,
            product_id=product.product_id,
            order_type=order_type,
            amount=amount,
            account_type=account_type,
            created_ms=self.now_ms(),
            placed_at=now,
            due=now + self.settlement_delay,
            **details,
        )

    def _new_order_id(self) -> str:
        number = next(self._ids)
        return f"{number:08x}-5e1a-4b1d-9a7e-{number:012x}"


def _duration_ms(duration: str) -> int:
    """A product's term (``"7d"``, ``"12h"``) in milliseconds; a day when unreadable."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        return 86_400_000
    return int(match[1]) * (86_400_000 if match[2] == "d" else 3_600_000)


def _decimal(value: object, field: str) -> Decimal:
    if not isinstance(value, str):
        raise Refused(10001, f"{field} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Refused(10001, f"{field} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise Refused(10001, f"{field} must be positive")
    return number
