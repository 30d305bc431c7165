"""An offline Bybit V5 Advance Earn exchange (SmartLeverage, DualAssets and DiscountBuy),
faithful where clients break.

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

DualAssets (``category=DualAssets`` on the same paths; rules in ``_dual_engine``): quotes of
target prices with an APY and an expiry, moving with the market; a stake must name a live
offer (price and APY), within its maximum, the direction's minimum, precision and quota and
the balance; it confirms after the settlement delay and, at the end of its term, pays out in
the base or the quote coin by where the market stands against the target. Its ``orderLinkId``
rule is SmartLeverage's, in an id space of its own.

DoubleWin (``category=DoubleWin``, and ``GET /v5/earn/advance/double-win-leverage`` for RFQ
products; rules, codes and the payoff, which is the simulator's own, in
``_double_win_engine``): fixed-range quotes and per-range RFQ quotes that expire; a stake
must name a live quote's prices, a leverage at most the quote's with 2 decimals; positions
settle by where the market ends against the range; redeems as SmartLeverage's with a
30-minute lockout; an id space of its own.

DiscountBuy (``category=DiscountBuy``; rules in ``_discount_engine``): one market maker's
offer per product (purchase and knock-out prices moving with the market, a coupon, an
``instUid``, an expiry or ``"0"``); a stake must repeat a live offer's values as-is, within
its maximum, the product's minimum, precision and quota and the balance; its ``orderLinkId``
is up to 40 characters of ``[A-Za-z0-9_-]``, in an id space of its own. It confirms (or, the
market already at the knock-out price, fails and is refunded: ``REFUNDING`` then
``REFUND_DONE``), settles after its term, and pays out knocked out (USDT and the coupon) or
exercised (the underlying, or its USDT value, at the purchase price) by the settlement price;
``discount_buy_exercise`` plays either reading of when a stake is exercised.

Liquidity Mining (``/v5/earn/liquidity-mining/*``; rules and the simulator's own choices in
``_liquidity_engine``): pools, positions with a loan, margin and a liquidation price, four
orders with an ``orderLinkId`` of up to 40 characters (reuse: the same duplicate rule, in an id
space of their own) that settle after the settlement delay, one pending order per position
(180006), claims, yield accrual and liquidation records.

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
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ..._clock import Clock, SystemClock
from .._engine_option import EngineOption
from .._exchange import Arrival, Refused, RollingWindows, SimulatedExchange
from .._faults import Fault, Faults
from .._instant import Instant
from .._json import dumps
from .._serve import simulator_app
from . import _discount_render as discount_render
from . import _double_win_render as double_win_render
from . import _dual_render as dual_render
from . import _render as render
from ._discount_engine import DiscountBuyBook, Exercise
from ._discount_records import (
    DISCOUNT_BUY,
    SimDiscountBuyOffer,
    SimDiscountBuyOrder,
    SimDiscountBuyPosition,
    SimDiscountBuyProduct,
    default_discount_buy_products,
)
from ._double_win_engine import DoubleWinBook
from ._double_win_records import (
    DOUBLE_WIN,
    SimDoubleWinOrder,
    SimDoubleWinPosition,
    SimDoubleWinProduct,
    default_double_win_products,
)
from ._dual_engine import DualAssetsBook
from ._dual_records import (
    DUAL_ASSETS,
    SimDualAssetsOffer,
    SimDualAssetsOrder,
    SimDualAssetsPosition,
    SimDualAssetsProduct,
    default_dual_assets_products,
)
from ._earn_engine import EarnBook
from ._earn_records import SimEarnOrder, SimEarnPosition, SimEarnProduct, default_earn_products
from ._earn_render import earn_order_json, earn_position_json, earn_product_json
from ._engine import AdvanceEarnBook
from ._liquidity_engine import LiquidityMiningBook
from ._liquidity_records import SimLiquidityProduct, default_liquidity_products
from ._liquidity_routes import LiquidityMiningRoutes
from ._offer_render import (
    DISCOUNT_BUY_TOPIC,
    DOUBLE_WIN_TOPIC,
    DUAL_ASSETS_TOPIC,
    SMART_LEVERAGE_TOPIC,
    discount_buy_item,
    double_win_item,
    dual_assets_item,
    smart_leverage_item,
)
from ._offer_stream import OfferStreamHub
from ._records import (
    CATEGORY,
    SimAccount,
    SimOrder,
    SimPosition,
    SimProduct,
    SimQuote,
    SimStats,
    default_products,
)

__all__ = ["DEFAULT_LIMITS", "IP_LIMIT", "BybitSimulator"]

#: Requests per rolling window, per UID (private) or per IP (public), as documented.
DEFAULT_LIMITS: Mapping[str, tuple[int, float]] = {
    "place_order": (5, 1.0),
    "order": (10, 1.0),
    "position": (10, 1.0),
    "redeem_estimate": (10, 1.0),
    "product": (50, 1.0),
    "quote": (50, 1.0),
    # DoubleWin's RFQ quote: 1/s per UID (Bybit's MCP server and skill; the docs state none).
    "double_win_leverage": (1, 1.0),
    # Earn (/v5/earn/*): Bybit documents no limit; the client's buckets take these figures.
    "earn_product": (50, 1.0),
    "earn_place_order": (5, 1.0),
    "earn_order": (10, 1.0),
    "earn_position": (10, 1.0),
    # Liquidity Mining (/v5/earn/liquidity-mining/*): one bucket per endpoint, as documented.
    "lm_product": (50, 1.0),
    "lm_add_liquidity": (5, 1.0),
    "lm_remove_liquidity": (5, 1.0),
    "lm_reinvest": (5, 1.0),
    "lm_add_margin": (5, 1.0),
    "lm_claim_interest": (5, 1.0),
    "lm_order": (10, 1.0),
    "lm_position": (10, 1.0),
    "lm_yield_records": (10, 1.0),
    "lm_liquidation_records": (10, 1.0),
}
IP_LIMIT = (600, 5.0)
_LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")
T = TypeVar("T")
P = TypeVar("P")
_PRICES = {"BTC": Decimal("68403.67"), "ETH": Decimal("3512.40"), "XRP": Decimal("1.5275")}

#: An endpoint's handler: the account (``None`` on public endpoints), the parameters (a GET's
#: query or a POST's JSON body) and the moment; what goes into the envelope's ``result``.
Handler = Callable[[SimAccount | None, dict[str, Any], Instant], dict[str, Any]]


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
    * ``dual_assets_products``: the DualAssets products (by default the docs' ETH and XRP
      examples and a BTC one; a test that cannot wait days gives one a term like ``"3s"``).
    * ``double_win_products``: the DoubleWin products (by default the docs' fixed 14084 and
      RFQ 14092).
    * ``double_win_link_length``: DoubleWin's orderLinkId length, 36 (the docs) or 64
      (Bybit's MCP server, the docs before 2026-04-24).
    * ``discount_buy_products``: the DiscountBuy products (by default the docs' 7037 and
      7038, the latter quoted without expiry, and an ETH one quoted with JSON numbers).
    * ``discount_buy_exercise``: when a DiscountBuy stake not knocked out is exercised:
      ``"below-knockout"`` (Bybit's skill) or ``"below-purchase"`` (its MCP server; between
      the two prices the principal comes back).
    * ``earn_products``: the Earn (FlexibleSaving, OnChain) products; rules in
      ``_earn_engine`` (the 30-minute ``orderLinkId`` window, OnChain FUND only, lock and
      processing delays, simple interest). A reuse within the window gets ``duplicate_code``.
    * ``liquidity_products``: the Liquidity Mining pools (by default the docs' ETH/USDT,
      product 5, and a BTC/USDT one, 36).
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
        dual_assets_products: Iterable[SimDualAssetsProduct] | None = None,
        double_win_products: Iterable[SimDoubleWinProduct] | None = None,
        double_win_link_length: Literal[36, 64] = 36,
        discount_buy_products: Iterable[SimDiscountBuyProduct] | None = None,
        discount_buy_exercise: Exercise = "below-knockout",
        earn_products: Iterable[SimEarnProduct] | None = None,
        liquidity_products: Iterable[SimLiquidityProduct] | None = None,
    ) -> None:
        """Check the options and build the books that keep them.

        Long because it takes the options one per line, a product family's beside the
        others, and hands each to the book that keeps it: an option table, which a split
        would only move.
        """
        _check_options(limits, idempotency, redeem_rules, quote_ttl)
        self.clock: Clock = clock or SystemClock()
        self.limits: dict[str, tuple[int, float]] = {**DEFAULT_LIMITS, **(limits or {})}
        self.ip_limit = ip_limit
        self.ip_ban = ip_ban
        self.stats = SimStats()
        self._windows = RollingWindows()
        self._banned_until: dict[str, float] = {}
        self.set_faults(faults or Faults())
        #: The exchange's engine: its products, accounts, quotes, orders and positions.
        self._book: AdvanceEarnBook = AdvanceEarnBook(
            default_products(),
            {**_PRICES, **(prices or {})},
            started=self.clock.monotonic(),
            stats=self.stats,
            price_swing=price_swing,
            price_period=price_period,
            quote_ttl=quote_ttl,
            settlement_delay=settlement_delay,
            idempotency=idempotency,
            duplicate_code=duplicate_code,
            redeem_rules=redeem_rules,
            dual_assets_products=_or_default(dual_assets_products, default_dual_assets_products),
            double_win_products=_or_default(double_win_products, default_double_win_products),
            discount_buy_products=_or_default(discount_buy_products, default_discount_buy_products),
            discount_buy_exercise=discount_buy_exercise,
        )
        #: DoubleWin's orderLinkId length: the docs' 36, or the MCP server's 64.
        self.double_win_link_length = double_win_link_length
        #: Earn (FlexibleSaving, OnChain), on the same accounts and order ids.
        self._earn: EarnBook = EarnBook(
            self._book, _or_default(earn_products, default_earn_products)
        )
        #: Liquidity Mining: its pools, orders, positions and records, on the same accounts.
        self.liquidity_mining: LiquidityMiningBook = LiquidityMiningBook(
            self._book, _or_default(liquidity_products, default_liquidity_products)
        )
        #: ``/v5/public/fp``: the offer topics pushed over WebSocket, and their faults.
        self.offer_stream: OfferStreamHub = OfferStreamHub(self._offer_items, clock=self.clock)
        self.app: Starlette = simulator_app([*self._routes(), *self._stream_routes()])

    # --- setup and inspection -----------------------------------------------------------

    @property
    def accounts(self) -> dict[str, SimAccount]:
        """The accounts by API key."""
        return self._book.accounts

    @property
    def products(self) -> dict[str, SimProduct]:
        """The products by id."""
        return self._book.products

    @property
    def orders(self) -> dict[str, SimOrder]:
        """Every order placed, by id, oldest first."""
        return self._book.orders

    @property
    def positions(self) -> dict[str, SimPosition]:
        """Every position, by id, settled ones included."""
        return self._book.positions

    @property
    def dual_assets_products(self) -> dict[str, SimDualAssetsProduct]:
        """The DualAssets products by id."""
        return self._dual.products

    @property
    def dual_assets_orders(self) -> dict[str, SimDualAssetsOrder]:
        """Every DualAssets stake placed, by id, oldest first."""
        return self._dual.orders

    @property
    def dual_assets_positions(self) -> dict[str, SimDualAssetsPosition]:
        """Every DualAssets position, by id, settled ones included."""
        return self._dual.positions

    @property
    def earn_products(self) -> dict[str, SimEarnProduct]:
        """The Earn (FlexibleSaving, OnChain) products by id."""
        return self._earn.products

    @property
    def earn_orders(self) -> dict[str, SimEarnOrder]:
        """Every Earn order placed, by id, oldest first."""
        return self._earn.orders

    @property
    def earn_positions(self) -> dict[str, SimEarnPosition]:
        """Every Earn position, by id, redeemed ones included."""
        return self._earn.positions

    def freeze_earn(self, position_id: str, amount: Decimal, description: str) -> None:
        """Lock ``amount`` of an Earn position elsewhere (shown in ``freezeDetails``, taken
        off ``availableAmount``), as a fixed-rate loan would."""
        self._earn.freeze(position_id, amount, description)

    @property
    def _dual(self) -> DualAssetsBook:
        return self._book.dual_assets

    @property
    def double_win_products(self) -> dict[str, SimDoubleWinProduct]:
        """The DoubleWin products by id."""
        return self._double_win.products

    @property
    def double_win_orders(self) -> dict[str, SimDoubleWinOrder]:
        """Every DoubleWin stake and redeem placed, by id, oldest first."""
        return self._double_win.orders

    @property
    def double_win_positions(self) -> dict[str, SimDoubleWinPosition]:
        """Every DoubleWin position, by id, settled ones included."""
        return self._double_win.positions

    @property
    def _double_win(self) -> DoubleWinBook:
        return self._book.double_win

    @property
    def discount_buy_products(self) -> dict[str, SimDiscountBuyProduct]:
        """The DiscountBuy products by id."""
        return self._discount.products

    @property
    def discount_buy_orders(self) -> dict[str, SimDiscountBuyOrder]:
        """Every DiscountBuy stake placed, by id, oldest first."""
        return self._discount.orders

    @property
    def discount_buy_positions(self) -> dict[str, SimDiscountBuyPosition]:
        """Every DiscountBuy position, by id, settled ones included."""
        return self._discount.positions

    @property
    def discount_buy_exercise(self) -> Exercise:
        """When a DiscountBuy stake not knocked out is exercised (settable)."""
        return self._discount.exercise

    @discount_buy_exercise.setter
    def discount_buy_exercise(self, value: Exercise) -> None:
        if value not in ("below-knockout", "below-purchase"):
            raise ValueError(
                f"exercise must be 'below-knockout' or 'below-purchase', got {value!r}"
            )
        self._discount.exercise = value

    @property
    def _discount(self) -> DiscountBuyBook:
        return self._book.discount_buy

    idempotency: EngineOption[Literal["error", "same_order_id"]] = EngineOption(
        "What a reused ``orderLinkId`` gets: an error, or the first order's id."
    )
    duplicate_code: EngineOption[int] = EngineOption("The retCode a reused ``orderLinkId`` gets.")
    redeem_rules: EngineOption[Literal["any", "official-tools"]] = EngineOption(
        "Whether a redeem's ``amount`` and ``coin`` are optional or required."
    )
    quote_ttl: EngineOption[float] = EngineOption("Seconds a quote stays valid.")
    settlement_delay: EngineOption[float] = EngineOption("Seconds from placement to Success.")

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
        return self._book.add_account(
            api_key,
            balances or {"USDT": Decimal("10000000")},
            secret=secret,
            public_key_pem=public_key_pem,
        )

    def price(self, asset: str, at: float | None = None) -> Decimal:
        """The market price of ``asset`` now (or at monotonic time ``at``): it swings slowly
        around its base price."""
        return self._book.price(asset, self.clock.monotonic() if at is None else at)

    def set_price(self, asset: str, price: Decimal) -> None:
        """Move the market: ``asset`` trades at ``price`` from now on (before the swing).
        Whatever was due to settle before now settles first, at the prices before the move."""
        self._book.set_price(asset, price, self._instant())
        self.offer_stream.moved()

    def issue_quote(self, product_id: str) -> SimQuote:
        """Quote ``product_id`` now, as ``GET .../product-extra-info`` does: a stake at the
        quote's breakeven price is accepted until it expires. For tests that build orders
        without asking the exchange over HTTP."""
        return self._book.issue_quote(product_id, self._instant())

    def issue_dual_assets_quote(
        self, product_id: str
    ) -> tuple[Decimal, list[SimDualAssetsOffer], list[SimDualAssetsOffer]]:
        """Quote DualAssets ``product_id`` now, as ``GET .../product-extra-info`` does: the
        market price, and the BuyLow and SellHigh offers a stake may name until they
        expire."""
        return self._dual.issue_quote(product_id, self._instant())

    def issue_discount_buy_quote(self, product_id: str) -> SimDiscountBuyOffer:
        """Quote DiscountBuy ``product_id`` now, as ``GET .../product-extra-info`` does: its
        market maker's offer, which a stake may name until it expires."""
        return self._discount.issue_quote(product_id, self._instant())

    def orders_for(self, api_key: str) -> list[SimOrder]:
        """Every order the key placed, oldest first."""
        return self._book.orders_for(api_key)

    # --- the HTTP surface ---------------------------------------------------------------

    def _routes(self) -> list[Route]:
        self._handlers: dict[str, Handler] = {}

        def route(
            path: str, name: str, handler: Handler, *, private: bool = True, method: str = "GET"
        ) -> Route:
            self._handlers[name] = handler
            return self._route("/v5/" + path, name, private=private, method=method)

        return [
            route("market/time", "time", self._time, private=False),
            route("earn/advance/product", "product", self._product, private=False),
            route("earn/advance/product-extra-info", "quote", self._quote, private=False),
            route("earn/advance/place-order", "place_order", self._place, method="POST"),
            route("earn/advance/order", "order", self._order),
            route("earn/advance/position", "position", self._position),
            route("earn/advance/get-redeem-est-amount-list", "redeem_estimate", self._estimate),
            route("earn/advance/double-win-leverage", "double_win_leverage", self._leverage),
            route("earn/product", "earn_product", self._earn_product, private=False),
            route("earn/place-order", "earn_place_order", self._earn_place, method="POST"),
            route("earn/order", "earn_order", self._earn_order),
            route("earn/position", "earn_position", self._earn_position),
            *[
                route("earn/liquidity-mining/" + path, name, handler, private=private, method=verb)
                for name, (path, handler, verb, private) in LiquidityMiningRoutes(
                    self.liquidity_mining
                )
                .handlers()
                .items()
            ],
        ]

    def _stream_routes(self) -> list[BaseRoute]:
        return [WebSocketRoute("/v5/public/fp", self.offer_stream.serve)]

    def _offer_items(self, topic: str) -> list[dict[str, Any]] | None:
        """A push of ``topic``: every product's quote now, each one issued (a stake may name
        it until it expires); ``None`` for a topic not served."""
        at = self._instant()
        if topic == SMART_LEVERAGE_TOPIC:
            return [
                smart_leverage_item(self._book.issue_quote(product_id, at))
                for product_id in self._book.products
            ]
        if topic == DUAL_ASSETS_TOPIC:
            return [
                dual_assets_item(product_id, *self._dual.issue_quote(product_id, at))
                for product_id in self._dual.products
            ]
        if topic == DOUBLE_WIN_TOPIC:  # fixed-range products only, as Bybit's
            return [
                double_win_item(self._double_win.issue_fixed_quote(product.product_id, at))
                for product in self.double_win_products.values()
                if not product.is_rfq
            ]
        if topic == DISCOUNT_BUY_TOPIC:
            return [
                discount_buy_item(product, self._discount.issue_quote(product.product_id, at))
                for product in self.discount_buy_products.values()
            ]
        return None

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
        return self._handlers[arrival.endpoint](admitted, params, self._instant(arrival.at))

    def _success(self, result: object, headers: Mapping[str, str]) -> Response:
        return self._envelope(0, "OK", result, headers)

    def _refusal(self, refused: Refused, headers: Mapping[str, str]) -> Response:
        return self._envelope(refused.code, refused.message, {}, headers)

    @staticmethod
    def _params(request: Request, body: bytes) -> dict[str, Any]:
        """A GET's query, or a POST's JSON object (numbers as Decimal)."""
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

    # --- the endpoints: read the parameters, ask the book, render -----------------------

    def _time(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        return {"timeSecond": str(at.ms // 1000), "timeNano": str(at.ms * 1_000_000)}

    def _product(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        coin, duration = params.get("coin"), params.get("duration")
        if _category(params) == DOUBLE_WIN:
            return {
                "category": DOUBLE_WIN,
                "list": [
                    double_win_render.double_win_product_json(product, at.ms)
                    for product in self.double_win_products.values()
                    if coin in (None, product.underlying_asset)
                    and duration in (None, product.duration)
                ],
            }
        if _category(params) == DISCOUNT_BUY:
            return self._discount_products(coin, at)
        if _category(params) == DUAL_ASSETS:
            return {
                "category": DUAL_ASSETS,
                "list": [
                    dual_render.dual_product_json(product, at.ms)
                    for product in self.dual_assets_products.values()
                    if coin in (None, product.base_coin, product.quote_coin)
                    and duration in (None, product.duration)
                ],
            }
        items = [
            render.product_json(product, at.ms)
            for product in self.products.values()
            if (coin is None or product.underlying_asset == coin)
            and (duration is None or product.duration == duration)
        ]
        return {"category": CATEGORY, "list": items}

    def _quote(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        if _category(params) == DOUBLE_WIN:
            quote = self._double_win.issue_fixed_quote(params.get("productId"), at)
            return double_win_render.double_win_quote_json(quote)
        if _category(params) == DISCOUNT_BUY:
            return self._discount_quote(params.get("productId"), at)
        if _category(params) == DUAL_ASSETS:
            dual = self._dual.find_product(params.get("productId"))
            current, buy_low, sell_high = self._dual.issue_quote(dual.product_id, at)
            return dual_render.dual_quote_json(dual.product_id, current, buy_low, sell_high)
        product = self._book.find_product(params.get("productId"))
        return render.quote_json(self._book.issue_quote(product.product_id, at))

    def _place(
        self, account: SimAccount | None, body: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        category = _category(body)
        link = body.get("orderLinkId")
        if not isinstance(link, str) or not link:
            raise Refused(180019, "empty order link id")
        if category == DOUBLE_WIN:
            if not _link_fits(link, self.double_win_link_length):
                raise Refused(
                    10001,
                    f"orderLinkId: at most {self.double_win_link_length} characters of "
                    "[A-Za-z0-9_-]",
                )
            placed = self._double_win.place(account, link, body, at)
            return {"orderId": placed.order_id, "orderLinkId": link}
        if category == DISCOUNT_BUY:
            # DiscountBuy's orderLinkId: up to 40 (discount-buy/create-order.mdx).
            if not _link_fits(link, 40):
                raise Refused(10001, "orderLinkId: at most 40 characters of [A-Za-z0-9_-]")
            bought = self._discount.place(account, link, body, at)
            return {"orderId": bought.order_id, "orderLinkId": link}
        if not _LINK_ID.fullmatch(link):
            raise Refused(10001, "orderLinkId: at most 36 characters of [A-Za-z0-9_-]")
        if category == DUAL_ASSETS:
            stake = self._dual.place(account, link, body, at)
            return {"orderId": stake.order_id, "orderLinkId": link}
        order = self._book.place(account, link, body, at)
        return {"orderId": order.order_id, "orderLinkId": link}

    def _order(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        if _category(params) == DOUBLE_WIN:
            return self._double_win_orders(account, params)
        if _category(params) == DISCOUNT_BUY:
            return self._discount_orders(account, params)
        if _category(params) == DUAL_ASSETS:
            return self._dual_orders(account, params)
        selected = [
            order
            for order in self.orders.values()
            if order.uid == account.uid
            and params.get("orderId") in (None, order.order_id)
            and params.get("orderLinkId") in (None, order.order_link_id)
            and params.get("productId") in (None, order.product_id)
        ]
        selected.sort(key=lambda order: order.created_ms, reverse=True)
        return _page(
            selected,
            params,
            lambda order: render.order_json(self.products[order.product_id], order),
        )

    def _position(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        if _category(params) == DOUBLE_WIN:
            return self._double_win_positions(account, params, at)
        if _category(params) == DISCOUNT_BUY:
            return self._discount_positions(account, params)
        if _category(params) == DUAL_ASSETS:
            return self._dual_positions(account, params)
        selected = [
            position
            for position in self.positions.values()
            if position.uid == account.uid
            and params.get("productId") in (None, position.product_id)
            and params.get("coin") in (None, self.products[position.product_id].underlying_asset)
        ]

        def position_json(position: SimPosition) -> dict[str, Any]:
            product = self.products[position.product_id]
            return render.position_json(product, position, self._book.redeemable(position, at))

        return _page(selected, params, position_json)

    def _estimate(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        category = _category(params)
        if category not in (CATEGORY, DOUBLE_WIN):
            raise Refused(10001, "category must be SmartLeverage or DoubleWin")
        ids = [part for part in str(params.get("positionIds", "")).split(",") if part]
        if not 1 <= len(ids) <= 5:
            raise Refused(10001, "positionIds: 1 to 5 ids")
        book = self._double_win if category == DOUBLE_WIN else self._book
        items = [
            render.estimate_json(position_id, book.estimate(account, position_id, at), at.ms)
            for position_id in ids
        ]
        return {"list": items}

    def _leverage(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        """DoubleWin's RFQ quote (no ``category``)."""
        assert account is not None
        quote = self._double_win.issue_rfq_quote(account, params, at)
        return double_win_render.double_win_leverage_json(quote)

    def _double_win_orders(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        selected = [
            order
            for order in self.double_win_orders.values()
            if order.uid == account.uid
            and params.get("orderId") in (None, order.order_id)
            and params.get("orderLinkId") in (None, order.order_link_id)
            and params.get("productId") in (None, order.product_id)
        ]
        selected.sort(key=lambda order: order.created_ms, reverse=True)
        products = self.double_win_products

        def order_json(order: SimDoubleWinOrder) -> dict[str, Any]:
            return double_win_render.double_win_order_json(products[order.product_id], order)

        return _page(selected, params, order_json, DOUBLE_WIN)

    def _double_win_positions(
        self, account: SimAccount, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        """The account's active positions (Bybit lists no settled ones)."""
        products = self.double_win_products
        selected = [
            position
            for position in self.double_win_positions.values()
            if position.uid == account.uid
            and position.status in ("Active", "Redeeming")
            and params.get("productId") in (None, position.product_id)
            and params.get("coin") in (None, products[position.product_id].underlying_asset)
        ]

        def position_json(position: SimDoubleWinPosition) -> dict[str, Any]:
            redeemable = self._double_win.redeemable(position, at)
            product = products[position.product_id]
            return double_win_render.double_win_position_json(product, position, redeemable)

        return _page(selected, params, position_json, DOUBLE_WIN)

    def _dual_orders(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        selected = [
            order
            for order in self.dual_assets_orders.values()
            if order.uid == account.uid
            and params.get("orderId") in (None, order.order_id)
            and params.get("orderLinkId") in (None, order.order_link_id)
            and params.get("productId") in (None, order.product_id)
        ]
        selected.sort(key=lambda order: order.created_ms, reverse=True)

        def order_json(order: SimDualAssetsOrder) -> dict[str, Any]:
            return dual_render.dual_order_json(self.dual_assets_products[order.product_id], order)

        return _page(selected, params, order_json, DUAL_ASSETS)

    def _dual_positions(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        """The account's active positions (Bybit lists no settled ones)."""
        products = self.dual_assets_products
        selected = [
            position
            for position in self.dual_assets_positions.values()
            if position.uid == account.uid
            and position.status == "Active"
            and params.get("productId") in (None, position.product_id)
            and params.get("coin")
            in (
                None,
                products[position.product_id].base_coin,
                products[position.product_id].quote_coin,
            )
        ]

        def position_json(position: SimDualAssetsPosition) -> dict[str, Any]:
            expected = self._dual.expected_return(position)
            return dual_render.dual_position_json(products[position.product_id], position, expected)

        return _page(selected, params, position_json, DUAL_ASSETS)

    def _discount_products(self, coin: object, at: Instant) -> dict[str, Any]:
        """The products, by underlying (Bybit takes no ``duration`` here: its skill says it
        is ignored); the top-level ``category`` empty, as the docs' example writes it."""
        delay_ms = round(self.settlement_delay * 1000)
        items = [
            discount_render.discount_product_json(product, at.ms, delay_ms)
            for product in self.discount_buy_products.values()
            if coin in (None, product.underlying_asset)
        ]
        return {"category": "", "list": items}

    def _discount_quote(self, product_id: object, at: Instant) -> dict[str, Any]:
        """The offers of one product, or of every product when none is named (the docs:
        ``productId`` optional)."""
        if product_id is None:
            products = list(self.discount_buy_products.values())
        else:
            products = [self._discount.find_product(product_id)]
        offers = [
            discount_render.discount_offer_json(
                product, self._discount.issue_quote(product.product_id, at)
            )
            for product in products
        ]
        return {"offers": offers}

    def _discount_orders(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        selected = [
            order
            for order in self.discount_buy_orders.values()
            if order.uid == account.uid
            and params.get("orderId") in (None, order.order_id)
            and params.get("orderLinkId") in (None, order.order_link_id)
            and params.get("productId") in (None, order.product_id)
        ]
        selected.sort(key=lambda order: order.created_ms, reverse=True)

        def order_json(order: SimDiscountBuyOrder) -> dict[str, Any]:
            product = self.discount_buy_products[order.product_id]
            return discount_render.discount_order_json(product, order)

        return _page(selected, params, order_json, "")

    def _discount_positions(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        """The account's active and settling positions (Bybit lists no settled ones);
        ``coin`` filters by the invest coin (the docs: "e.g. USDT") or the underlying (the
        MCP server: "coin=BTC")."""
        products = self.discount_buy_products
        selected = [
            position
            for position in self.discount_buy_positions.values()
            if position.uid == account.uid
            and position.status != "Settled"
            and params.get("productId") in (None, position.product_id)
            and params.get("coin")
            in (
                None,
                products[position.product_id].coin,
                products[position.product_id].underlying_asset,
            )
        ]

        def position_json(position: SimDiscountBuyPosition) -> dict[str, Any]:
            product = products[position.product_id]
            return discount_render.discount_position_json(product, position)

        return _page(selected, params, position_json, "")

    def _earn_product(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        category, coin = params.get("category"), params.get("coin")
        if category not in ("FlexibleSaving", "OnChain"):
            raise Refused(10001, "category must be FlexibleSaving or OnChain")
        items = [
            earn_product_json(product)
            for product in self.earn_products.values()
            if product.category == category and coin in (None, product.coin)
        ]
        return {"list": items}

    def _earn_place(
        self, account: SimAccount | None, body: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        order = self._earn.place(account, body, at)
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def _earn_order(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._earn.settle(at)
        limit_text, cursor = params.get("limit", "50"), params.get("cursor", "") or "0"
        if not str(limit_text).isdigit() or not 1 <= int(limit_text) <= 100:
            raise Refused(10001, "limit: 1 to 100")
        if not str(cursor).isdigit():
            raise Refused(10001, "cursor is invalid")
        selected = self._earn.select_orders(account, params, at)
        start, limit = int(cursor), int(limit_text)
        more = start + limit < len(selected)
        return {
            "list": [
                earn_order_json(order, self.earn_products[order.product_id])
                for order in selected[start : start + limit]
            ],
            "nextPageCursor": str(start + limit) if more else "",
        }

    def _earn_position(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._earn.settle(at)
        return {
            "list": [
                earn_position_json(position, self._earn.claimable(position, at.ms))
                for position in self._earn.select_positions(account, params)
            ]
        }


def _or_default(given: Iterable[P] | None, default: Callable[[], list[P]]) -> Iterable[P]:
    """The products given, or the simulator's default ones when none are (``None``)."""
    return default() if given is None else given


def _check_options(
    limits: Mapping[str, tuple[int, float]] | None,
    idempotency: str,
    redeem_rules: str,
    quote_ttl: float,
) -> None:
    unknown = set(limits or {}) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"unknown endpoint limits {sorted(unknown)}")
    if idempotency not in ("error", "same_order_id"):
        raise ValueError(f"idempotency must be 'error' or 'same_order_id', got {idempotency!r}")
    if redeem_rules not in ("any", "official-tools"):
        raise ValueError(f"redeem_rules must be 'any' or 'official-tools', got {redeem_rules!r}")
    if not quote_ttl > 0:
        raise ValueError(f"quote_ttl must be > 0 s, got {quote_ttl!r}")


def _category(params: Mapping[str, Any]) -> str:
    """The request's category: one of those the simulator serves (10001 otherwise)."""
    category = params.get("category")
    if category not in (CATEGORY, DUAL_ASSETS, DOUBLE_WIN, DISCOUNT_BUY):
        raise Refused(10001, "category must be SmartLeverage, DualAssets, DoubleWin or DiscountBuy")
    return str(category)


def _link_fits(link: str, length: int) -> bool:
    """``link`` is 1 to ``length`` characters of ``[A-Za-z0-9_-]``."""
    return re.fullmatch(rf"[A-Za-z0-9_-]{{1,{length}}}", link) is not None


def _page(
    items: list[T],
    params: Mapping[str, Any],
    render_item: Callable[[T], dict[str, Any]],
    category: str = CATEGORY,
) -> dict[str, Any]:
    """One page of ``items`` by the request's ``limit`` (1 to 20) and ``cursor``."""
    limit_text, cursor = params.get("limit", "20"), params.get("cursor", "") or "0"
    if not str(limit_text).isdigit() or not 1 <= int(limit_text) <= 20:
        raise Refused(10001, "limit: 1 to 20")
    if not str(cursor).isdigit():
        raise Refused(10001, "cursor is invalid")
    start, limit = int(cursor), int(limit_text)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "category": category,
        "nextPageCursor": str(start + limit) if more else "",
        "list": [render_item(item) for item in page],
    }
