"""The offline demo: a batch of SmartLeverage orders against a scripted in-process exchange.

The scripted exchange is deliberately small: it checks HMAC signatures, counts requests per
rolling second the way Bybit does (and refuses the excess with 10006), refuses a reused
``orderLinkId`` with 180025, drops one answer after committing the order, and settles orders
a moment after they are placed. It stands in until the full simulator (``asyncexch.sim``)
replaces it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections import deque
from decimal import Decimal
from typing import Any

import attrs
import httpx

from ._clock import SystemClock
from .bybit import BybitClient, OrderAck, StakeOrder

__all__ = ["DemoSummary", "run_demo"]

_KEY = "demo-key"
_SECRET = "demo-secret-never-printed"
_PLACE_LIMIT = 5
_CLOCK = SystemClock()


@attrs.define
class _ScriptedBybit:
    """Just enough of Bybit Advance Earn to show the client's promises."""

    orders: dict[str, dict[str, Any]] = attrs.Factory(dict)
    arrivals: deque[float] = attrs.Factory(deque)
    rejected_rate: int = 0
    duplicates_refused: int = 0
    bad_signatures: int = 0
    drop_after_commit: set[int] = attrs.Factory(lambda: {3})
    _ids: itertools.count[int] = attrs.Factory(itertools.count)

    def handle(self, request: httpx.Request) -> httpx.Response:
        now = _CLOCK.monotonic()
        path = request.url.path
        if path == "/v5/earn/advance/product-extra-info":
            return _ok(
                {
                    "category": "SmartLeverage",
                    "productId": "13015",
                    "currentPrice": "68403.67",
                    "breakevenPrice": "68650.62",
                    "expireAt": "",
                    "maxInvestmentAmount": "50000",
                }
            )
        if not self._signed(request):
            self.bad_signatures += 1
            return _fail(10004, "error sign")
        if path == "/v5/earn/advance/place-order":
            return self._place(request, now)
        if path == "/v5/earn/advance/order":
            link = request.url.params.get("orderLinkId")
            order_id = request.url.params.get("orderId")
            found = [
                o
                for o in self.orders.values()
                if o["orderLinkId"] == link or o["orderId"] == order_id
            ]
            for order in found:  # settle half a second after placement
                if now - order["_at"] > 0.5:
                    order["status"] = "Success"
            return _ok(
                {
                    "category": "SmartLeverage",
                    "nextPageCursor": "",
                    "list": [{k: v for k, v in o.items() if k != "_at"} for o in found],
                }
            )
        return _fail(10017, "route not found")

    def _signed(self, request: httpx.Request) -> bool:
        payload = request.content or request.url.query
        message = (
            request.headers.get("X-BAPI-TIMESTAMP", "")
            + request.headers.get("X-BAPI-API-KEY", "")
            + request.headers.get("X-BAPI-RECV-WINDOW", "")
        ).encode()
        expected = hmac.new(_SECRET.encode(), message + payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, request.headers.get("X-BAPI-SIGN", ""))

    def _place(self, request: httpx.Request, now: float) -> httpx.Response:
        while self.arrivals and self.arrivals[0] <= now - 1.0:
            self.arrivals.popleft()
        if len(self.arrivals) >= _PLACE_LIMIT:
            self.rejected_rate += 1
            return _fail(10006, "Too many visits!")
        self.arrivals.append(now)
        body = json.loads(request.content)
        link = body["orderLinkId"]
        if link in self.orders:
            self.duplicates_refused += 1
            return _fail(180025, "Order already exists")
        number = next(self._ids)
        self.orders[link] = {
            "orderId": f"demo-{number:04d}",
            "orderLinkId": link,
            "productId": body["productId"],
            "orderType": body["orderType"],
            "amount": body["amount"],
            "status": "Pending",
            "createdTime": str(int(_CLOCK.time() * 1000)),
            "_at": now,
        }
        if number in self.drop_after_commit:
            raise httpx.ReadError("connection dropped after the order was committed")
        return _ok({"orderId": self.orders[link]["orderId"], "orderLinkId": link})


def _ok(result: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "retCode": 0,
            "retMsg": "OK",
            "result": result,
            "retExtInfo": {},
            "time": int(_CLOCK.time() * 1000),
        },
    )


def _fail(code: int, message: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "retCode": code,
            "retMsg": message,
            "result": {},
            "retExtInfo": {},
            "time": int(_CLOCK.time() * 1000),
        },
    )


@attrs.frozen
class DemoSummary:
    """What the demo measured."""

    orders: int
    acknowledged: int
    settled: int
    orders_on_exchange: int
    duplicates_refused: int
    rate_limit_rejections: int
    elapsed: float
    achieved_rate: float
    limit: int


async def run_demo(orders: int = 20) -> DemoSummary:
    """Place ``orders`` stake orders concurrently, wait for them to settle, and measure."""
    exchange = _ScriptedBybit()
    transport = httpx.MockTransport(exchange.handle)
    async with BybitClient(
        _KEY, _SECRET, base_url="https://demo.invalid", transport=transport
    ) as bybit:
        quote = await bybit.advance_earn.quote("13015")
        if quote.breakeven_price is None:
            raise RuntimeError("the scripted exchange always quotes a breakeven price")
        batch = [
            StakeOrder(
                product_id="13015",
                coin="USDT",
                amount=Decimal("100") + index,
                initial_price=quote.current_price,
                breakeven_price=quote.breakeven_price,
            )
            for index in range(orders)
        ]
        started = _CLOCK.monotonic()
        results = await bybit.advance_earn.place_orders(batch)
        elapsed = _CLOCK.monotonic() - started
        acks = [r for r in results if isinstance(r, OrderAck)]
        infos = await asyncio.gather(
            *(bybit.advance_earn.wait_for_order(ack, timeout=10, poll_interval=0.5) for ack in acks)
        )
    return DemoSummary(
        orders=orders,
        acknowledged=len(acks),
        settled=sum(info.status.is_terminal for info in infos),
        orders_on_exchange=len(exchange.orders),
        duplicates_refused=exchange.duplicates_refused,
        rate_limit_rejections=exchange.rejected_rate,
        elapsed=elapsed,
        achieved_rate=(orders - _PLACE_LIMIT) / elapsed if elapsed > 0 else 0.0,
        limit=_PLACE_LIMIT,
    )
