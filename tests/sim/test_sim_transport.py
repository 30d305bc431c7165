"""SimTransport calls a simulator's endpoints straight, without its app's router and
middleware; what comes back must be what the whole app answers through httpx's own ASGI
transport (the transport it used to wrap): status, headers and body byte for byte, and a
dropped connection as ``httpx.ReadError``."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from asyncexch import VirtualClock
from asyncexch.sim import BybitSimulator, ChainupSimulator, Fault, Faults, SimTransport
from asyncexch.sim._exchange import ConnectionDropped

KEY, SECRET = "transport-key", "transport-secret"
PLACE = "/v5/earn/advance/place-order"


class _WholeApp(httpx.AsyncBaseTransport):
    """The oracle: httpx's ASGI transport through the whole app, a drop as a read error."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.ReadError("the simulator dropped the connection", request=request) from None


def _sim(faults: Faults) -> BybitSimulator:
    sim = BybitSimulator(clock=VirtualClock(), faults=faults, quote_ttl=10**6)
    sim.add_account(KEY, SECRET)
    return sim


def _signed(sim: BybitSimulator, payload: bytes) -> dict[str, str]:
    stamp = str(sim.now_ms())
    message = (stamp + KEY + "5000").encode() + payload
    return {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": stamp,
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def _stake(sim: BybitSimulator, link: str, amount: str) -> bytes:
    quote = sim.issue_quote("13015")
    extra = {"initialPrice": str(quote.current_price), "breakevenPrice": str(quote.breakeven_price)}
    body = {
        "category": "SmartLeverage",
        "productId": "13015",
        "coin": "USDT",
        "orderType": "Stake",
        "amount": amount,
        "accountType": "FUND",
        "orderLinkId": link,
        "smartLeverageStakeExtra": extra,
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def _session(sim: BybitSimulator, transport: httpx.AsyncBaseTransport) -> list[Any]:
    """Public and signed reads, stakes (taken, refused for their amount, a reused link), a
    query, an unknown path, a method the route lacks, HEAD, and a body that is not JSON:
    every answer as it came, or the error raised."""
    seen: list[Any] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bybit.sim") as http:
        requests: list[tuple[str, str, bytes, dict[str, str]]] = [
            ("GET", "/v5/market/time", b"", {}),
            ("GET", "/v5/earn/advance/product?category=SmartLeverage&coin=BTC", b"", {}),
            ("HEAD", "/v5/market/time", b"", {}),
            ("GET", "/v5/no/such/path", b"", {}),
            ("DELETE", PLACE, b"", {}),
        ]
        for n, amount in enumerate(["100", "0.5", "100"]):
            body = _stake(sim, f"link-{n % 2}", amount)
            requests.append(("POST", PLACE, body, _signed(sim, body)))
        requests.append(("POST", PLACE, b"{not json", _signed(sim, b"{not json")))
        query = b"category=SmartLeverage&orderLinkId=link-0"
        requests.append(
            ("GET", "/v5/earn/advance/order?" + query.decode(), b"", _signed(sim, query))
        )
        for method, path, body, headers in requests:
            try:
                answer = await http.request(method, path, content=body, headers=headers)
            except httpx.HTTPError as error:
                seen.append((type(error).__name__, str(error)))
                continue
            seen.append((answer.status_code, answer.headers.raw, answer.content))
    return seen


@pytest.mark.parametrize("faults", [Faults(), Faults(rate=0.6, seed=7)])
async def test_the_simulator_answers_straight_what_it_answers_through_its_whole_app(
    faults: Faults,
) -> None:
    straight_sim, whole_sim = _sim(faults), _sim(faults)
    straight = SimTransport(straight_sim.app)
    assert ("POST", PLACE) in straight._endpoints  # the path under test is the straight one
    seen = await _session(straight_sim, straight)
    assert seen == await _session(whole_sim, _WholeApp(whole_sim.app))
    assert straight_sim.stats.requests == whole_sim.stats.requests
    kinds = {kind for kind, count in straight_sim.stats.faults.items() if count}
    assert faults.rate == 0 or kinds  # the faulty run met faults
    assert [o.order_link_id for o in straight_sim.orders.values()] == [
        o.order_link_id for o in whole_sim.orders.values()
    ]


async def test_a_dropped_connection_is_a_read_error_on_either_path() -> None:
    sim = _sim(Faults(rate=1.0, kinds=(Fault.DROP_BEFORE_COMMIT,)))

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        await sim.app(scope, receive, send)

    for transport in (SimTransport(sim.app), SimTransport(wrapped)):
        async with httpx.AsyncClient(transport=transport, base_url="http://bybit.sim") as http:
            with pytest.raises(httpx.ReadError):
                await http.get("/v5/market/time")
    assert sim.stats.faults[Fault.DROP_BEFORE_COMMIT.value] == 2


def test_every_plain_route_of_both_simulators_is_called_straight() -> None:
    for app in (BybitSimulator().app, ChainupSimulator().app):
        endpoints = SimTransport(app)._endpoints
        routes = [route for route in app.routes if hasattr(route, "methods")]
        assert len(endpoints) == len(routes) > 5


async def test_middleware_added_to_the_app_sees_every_request() -> None:
    sim = _sim(Faults())
    seen: list[str] = []

    class Recording:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["path"])
            await self.app(scope, receive, send)

    sim.app.add_middleware(Recording)
    async with httpx.AsyncClient(
        transport=SimTransport(sim.app), base_url="http://bybit.sim"
    ) as http:
        answer = await http.get("/v5/market/time")

    assert answer.status_code == 200
    assert seen == ["/v5/market/time"]
