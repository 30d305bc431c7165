"""Hand-built, hand-signed Bybit requests sent to a simulator in process: what the
simulator tests send, with nothing of the client in between."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from asyncexch import VirtualClock
from asyncexch.sim import BybitSimulator

START = 1_700_000_000.0
START_MS = 1_700_000_000_000
BASE_URL = "http://bybit-sim.test"
KEY, SECRET = "test-key", "test-secret"
OTHER_KEY, OTHER_SECRET = "other-key", "other-secret"
CATEGORY = "SmartLeverage"

TIME = "/v5/market/time"
PRODUCT = "/v5/earn/advance/product"
QUOTE = "/v5/earn/advance/product-extra-info"
PLACE = "/v5/earn/advance/place-order"
ORDER = "/v5/earn/advance/order"
POSITION = "/v5/earn/advance/position"
ESTIMATE = "/v5/earn/advance/get-redeem-est-amount-list"

#: Limits high enough that only the rate-limit tests ever meet them.
GENEROUS = {
    "place_order": (1000, 1.0),
    "order": (1000, 1.0),
    "position": (1000, 1.0),
    "redeem_estimate": (1000, 1.0),
    "product": (1000, 1.0),
    "quote": (1000, 1.0),
}


def make_sim(**options: Any) -> BybitSimulator:
    """A simulator on a virtual clock at START, with generous limits unless told otherwise."""
    options.setdefault("clock", VirtualClock(start=START))
    options["limits"] = {**GENEROUS, **options.get("limits", {})}
    sim = BybitSimulator(**options)
    sim.add_account(KEY, SECRET)
    return sim


def hmac_sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def compact(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class Raw:
    """Hand-built, hand-signed Bybit requests sent to a simulator in process."""

    def __init__(self, sim: BybitSimulator, http: httpx.AsyncClient) -> None:
        self.sim = sim
        self.http = http

    def auth(
        self,
        payload: bytes,
        *,
        key: str = KEY,
        secret: str = SECRET,
        timestamp: int | None = None,
        recv_window: int = 5000,
        signature: str | None = None,
        signer: Any = None,
    ) -> dict[str, str]:
        stamp = str(self.sim.now_ms() if timestamp is None else timestamp)
        message = (stamp + key + str(recv_window)).encode() + payload
        if signature is None:
            signature = signer(message) if signer is not None else hmac_sign(secret, message)
        return {
            "X-BAPI-API-KEY": key,
            "X-BAPI-TIMESTAMP": stamp,
            "X-BAPI-RECV-WINDOW": str(recv_window),
            "X-BAPI-SIGN": signature,
        }

    async def get(
        self,
        path: str,
        query: str = "",
        *,
        private: bool = True,
        signed_query: str | None = None,
        **auth: Any,
    ) -> httpx.Response:
        request = self.http.build_request("GET", path + ("?" + query if query else ""))
        assert request.url.query == query.encode()  # httpx sends the query as written
        if private:
            payload = request.url.query if signed_query is None else signed_query.encode()
            request.headers.update(self.auth(payload, **auth))
        return await self.http.send(request)

    async def post(
        self,
        path: str,
        body: Mapping[str, Any] | bytes,
        *,
        signed_body: bytes | None = None,
        **auth: Any,
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else compact(body)
        headers = {"Content-Type": "application/json"}
        headers.update(self.auth(content if signed_body is None else signed_body, **auth))
        return await self.http.post(path, content=content, headers=headers)

    async def call(
        self, path: str, params: Mapping[str, Any] | str = "", **auth: Any
    ) -> dict[str, Any]:
        """A signed private request; the parsed envelope."""
        if path == PLACE:
            assert not isinstance(params, str)
            return envelope(await self.post(path, params, **auth))
        query = (
            params if isinstance(params, str) else "&".join(f"{k}={v}" for k, v in params.items())
        )
        return envelope(await self.get(path, query, **auth))

    async def place_code(self, body: Mapping[str, Any]) -> int:
        """The ``retCode`` the simulator answers placing ``body`` with."""
        code = (await self.call(PLACE, body))["retCode"]
        assert isinstance(code, int)
        return code

    async def listed(self, path: str, query: str, *, category: str) -> list[dict[str, Any]]:
        """The ``list`` of a successful signed GET of ``path``, whose ``result`` names the
        ``category`` as the category's docs examples write it."""
        data = await self.call(path, query)
        assert data["retCode"] == 0, data
        assert data["result"]["category"] == category
        items: list[dict[str, Any]] = data["result"]["list"]
        return items

    def stake(self, link: str, **fields: Any) -> dict[str, Any]:
        """A valid Stake body for product 13015 (BTC, min 10, 4 decimals) at a live quote."""
        quote = self.sim.issue_quote("13015")
        price = fields.pop("initial_price", None) or quote.current_price
        body: dict[str, Any] = {
            "category": CATEGORY,
            "productId": "13015",
            "coin": "USDT",
            "orderType": "Stake",
            "amount": "100",
            "accountType": "FUND",
            "orderLinkId": link,
            "smartLeverageStakeExtra": {
                "initialPrice": str(price),
                "breakevenPrice": str(quote.breakeven_price),
            },
        }
        body.update(fields)
        return body

    def redeem(self, link: str, position_id: str, amount: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "category": CATEGORY,
            "productId": "13015",
            "orderType": "Redeem",
            "accountType": "FUND",
            "orderLinkId": link,
            "smartLeverageRedeemExtra": {"positionId": position_id, "estRedeemAmount": amount},
        }
        body.update(fields)
        return body


def with_extra(body: Mapping[str, Any], name: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with ``changes`` made in its extra object ``name``."""
    return {**body, name: {**body[name], **changes}}


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The Bybit envelope of an answer, checked for shape."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = response.json()
    assert set(data) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert isinstance(data["retCode"], int)
    assert isinstance(data["retMsg"], str)
    assert isinstance(data["time"], int)
    assert data["retExtInfo"] == {}
    return data


def clock_of(sim: BybitSimulator) -> VirtualClock:
    assert isinstance(sim.clock, VirtualClock)
    return sim.clock
