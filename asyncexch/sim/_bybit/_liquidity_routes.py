"""The Liquidity Mining endpoints of the Bybit simulator: each reads its parameters, asks the
:class:`~._liquidity_engine.LiquidityMiningBook` and renders Bybit's JSON (``result`` only;
the app wraps it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .._instant import Instant
from .._refused import Refused
from . import _liquidity_render as render
from ._liquidity_engine import LiquidityMiningBook
from ._records import SimAccount

__all__ = ["LiquidityMiningRoutes"]

T = TypeVar("T")
#: Liquidity Mining's orderLinkId: at most 40 characters (the charset is Bybit's MCP server's).
_LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
Handler = Callable[[SimAccount | None, dict[str, Any], Instant], dict[str, Any]]


class LiquidityMiningRoutes:
    """One handler per endpoint, by the simulator's endpoint name (``lm_*``)."""

    def __init__(self, book: LiquidityMiningBook) -> None:
        self._book = book

    def handlers(self) -> dict[str, tuple[str, Handler, str, bool]]:
        """Endpoint name -> (path under ``/v5/earn/liquidity-mining/``, handler, method,
        private)."""
        return {
            "lm_product": ("product", self._product, "GET", False),
            "lm_add_liquidity": ("add-liquidity", self._placing("AddLiquidity"), "POST", True),
            "lm_remove_liquidity": (
                "remove-liquidity",
                self._placing("RemoveLiquidity"),
                "POST",
                True,
            ),
            "lm_reinvest": ("reinvest", self._placing("Reinvest"), "POST", True),
            "lm_add_margin": ("add-margin", self._placing("AddMargin"), "POST", True),
            "lm_claim_interest": ("claim-interest", self._claim, "POST", True),
            "lm_order": ("order", self._orders, "GET", True),
            "lm_position": ("position", self._positions, "GET", True),
            "lm_yield_records": ("yield-records", self._yields, "GET", True),
            "lm_liquidation_records": ("liquidation-records", self._liquidations, "GET", True),
        }

    def _product(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        products = [
            render.liquidity_product_json(product)
            for product in self._book.products.values()
            if params.get("baseCoin") in (None, product.base_coin)
            and params.get("quoteCoin") in (None, product.quote_coin)
        ]
        return {"products": products}

    def _placing(self, kind: str) -> Handler:
        def place(account: SimAccount | None, body: dict[str, Any], at: Instant) -> dict[str, Any]:
            assert account is not None
            link = body.get("orderLinkId")
            if not isinstance(link, str) or not link:
                raise Refused(180019, "empty order link id")
            if not _LINK_ID.fullmatch(link):
                raise Refused(10001, "orderLinkId: at most 40 characters of [A-Za-z0-9_-]")
            order = self._book.place(account, kind, link, body, at)
            return {"orderId": order.order_id, "orderLinkId": link}

        return place

    def _claim(
        self, account: SimAccount | None, body: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        if not isinstance(body.get("productId"), str):
            raise Refused(10001, "productId is required")
        self._book.claim(account, body["productId"], at)
        return {}

    def _orders(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        status = params.get("status")
        if status == "Fail":
            raise Refused(180001, "Invalid parameter: status")
        if status not in (None, "Success", "Processing"):
            raise Refused(10001, "status must be Success or Processing")
        single = params.get("orderId") is not None or params.get("orderLinkId") is not None
        selected = [
            order
            for order in self._book.orders.values()
            if order.uid == account.uid
            and params.get("orderId") in (None, order.order_id)
            and params.get("orderLinkId") in (None, order.order_link_id)
            and (
                single
                or (
                    params.get("productId") in (None, order.product_id)
                    and params.get("orderType") in (None, order.order_type)
                    and status in (None, order.status)
                    and _within(params, order.created_ms)
                )
            )
        ]
        selected.sort(key=lambda order: order.created_ms, reverse=True)
        products = self._book.products
        return _page(
            selected,
            params,
            "orders",
            lambda order: render.liquidity_order_json(order, products[order.product_id]),
        )

    def _positions(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        """Active and liquidating positions (no pages)."""
        assert account is not None
        self._book.settle(at)
        items = []
        for position in self._book.positions.values():
            product = self._book.products[position.product_id]
            if (
                position.uid == account.uid
                and not position.closed
                and params.get("productId") in (None, position.product_id)
                and params.get("baseCoin") in (None, product.base_coin)
            ):
                price = self._book.price(product, at)
                items.append(render.liquidity_position_json(self._book, position, price))
        return {"positions": items}

    def _yields(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        return _page(
            _records_of(self._book.yields, account, params, lambda record: record.created_ms),
            params,
            "records",
            render.yield_json,
        )

    def _liquidations(
        self, account: SimAccount | None, params: dict[str, Any], at: Instant
    ) -> dict[str, Any]:
        assert account is not None
        self._book.settle(at)
        return _page(
            _records_of(
                self._book.liquidations, account, params, lambda record: record.liquidation_ms
            ),
            params,
            "records",
            render.liquidation_json,
        )


def _records_of(
    records: Sequence[Any], account: SimAccount, params: Mapping[str, Any], ms: Callable[[Any], int]
) -> list[Any]:
    """The account's records by the request's coins and window, newest first."""
    return [
        record
        for record in reversed(records)
        if record.uid == account.uid
        and params.get("baseCoin") in (None, record.base_coin)
        and params.get("quoteCoin") in (None, record.quote_coin)
        and _within(params, ms(record))
    ]


def _within(params: Mapping[str, Any], ms: int) -> bool:
    """Whether ``ms`` is in the request's ``startTime``..``endTime`` (either optional)."""
    start, end = params.get("startTime"), params.get("endTime")
    for bound in (start, end):
        if bound is not None and not str(bound).isdigit():
            raise Refused(10001, "startTime and endTime are epoch milliseconds")
    return (start is None or int(start) <= ms) and (end is None or ms <= int(end))


def _page(
    items: list[T], params: Mapping[str, Any], key: str, render_item: Callable[[T], Any]
) -> dict[str, Any]:
    """One page by the request's ``limit`` (1 to 50, default 20) and ``cursor`` (an
    offset), under ``key``."""
    limit = str(params.get("limit", "20"))
    cursor = str(params.get("cursor", "") or "0")
    if not limit.isdigit() or not 1 <= int(limit) <= 50:
        raise Refused(10001, "limit: 1 to 50")
    if not cursor.isdigit():
        raise Refused(10001, "cursor is invalid")
    start, size = int(cursor), int(limit)
    more = start + size < len(items)
    return {
        key: [render_item(item) for item in items[start : start + size]],
        "nextPageCursor": str(start + size) if more else "",
    }
