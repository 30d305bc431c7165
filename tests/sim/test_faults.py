"""Fault injection: validated, seeded and reproducible, and each fault does what it says.

Requests are built and signed by hand and sent in process (SimTransport) on a virtual clock;
the drop tests at the end go over a real loopback socket (SimServer).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import attrs
import httpx
import pytest

from asyncexch import VirtualClock
from asyncexch.sim import BybitSimulator, Fault, Faults, SimServer, SimTransport

START = 1_700_000_000.0
START_MS = 1_700_000_000_000
BASE_URL = "http://bybit-sim.test"
KEY, SECRET = "fault-key", "fault-secret"
TIME = "/v5/market/time"
PLACE = "/v5/earn/advance/place-order"
ORDER = "/v5/earn/advance/order"
GENEROUS = {"place_order": (10_000, 1.0), "order": (10_000, 1.0)}


def make_sim(faults: Faults, **options: Any) -> BybitSimulator:
    options.setdefault("clock", VirtualClock(start=START))
    options.setdefault("limits", GENEROUS)
    sim = BybitSimulator(faults=faults, **options)
    sim.add_account(KEY, SECRET)
    return sim


def signed(
    sim: BybitSimulator, payload: bytes, *, timestamp: int | None = None, recv: int = 5000
) -> dict[str, str]:
    stamp = str(sim.now_ms() if timestamp is None else timestamp)
    message = (stamp + KEY + str(recv)).encode() + payload
    return {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": stamp,
        "X-BAPI-RECV-WINDOW": str(recv),
        "X-BAPI-SIGN": hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def stake_body(sim: BybitSimulator, link: str) -> bytes:
    quote = sim.issue_quote("13015")
    price, breakeven = str(quote.current_price), str(quote.breakeven_price)
    body = {
        "category": "SmartLeverage",
        "productId": "13015",
        "coin": "USDT",
        "orderType": "Stake",
        "amount": "100",
        "accountType": "FUND",
        "orderLinkId": link,
        "smartLeverageStakeExtra": {"initialPrice": price, "breakevenPrice": breakeven},
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def place(sim: BybitSimulator, http: httpx.AsyncClient, link: str) -> httpx.Response:
    body = stake_body(sim, link)
    return await http.post(PLACE, content=body, headers=signed(sim, body))


def in_process(sim: BybitSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=SimTransport(sim.app), base_url=BASE_URL)


def links(sim: BybitSimulator) -> list[str]:
    return [order.order_link_id for order in sim.orders_for(KEY)]


def outcome(response: httpx.Response) -> tuple[object, ...]:
    """What a raw client sees of an answer, coarsely."""
    if response.status_code != 200:
        return (response.status_code, response.headers.get("content-type", ""))
    try:
        data = response.json()
    except ValueError:
        return ("truncated",)
    return ("envelope", data["retCode"])


# --- Faults itself --------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [-0.01, 1.01, 2.0])
def test_a_rate_outside_0_to_1_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        Faults(rate=rate)


@pytest.mark.parametrize("latency", [(-0.1, 0.2), (0.3, 0.2), (-1.0, -0.5)])
def test_a_latency_range_must_be_ordered_and_non_negative(latency: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="latency"):
        Faults(latency=latency)


def test_faults_defaults_and_conversions() -> None:
    assert Faults.none() == Faults()
    assert Faults().rate == 0.0
    assert set(Faults().kinds) == set(Fault) - {Fault.HTTP_5XX_AFTER_COMMIT}  # opt-in
    faults = Faults(rate=1.0, kinds=[Fault.BUSY], latency=(0.0, 0.0), seed=5)
    assert faults.kinds == (Fault.BUSY,)  # any sequence becomes a tuple
    assert Faults(rate=0.0) == Faults(rate=0.0)
    assert hash(faults) == hash(Faults(rate=1.0, kinds=(Fault.BUSY,), seed=5))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        faults.rate = 0.5  # type: ignore[misc]


def test_which_faults_come_after_the_commit() -> None:
    after = {fault for fault in Fault if fault.after_commit}
    assert after == {
        Fault.TIMEOUT_AFTER_COMMIT,
        Fault.DROP_AFTER_COMMIT,
        Fault.TRUNCATED,
        Fault.HTTP_5XX_AFTER_COMMIT,
    }


def test_the_simulator_refuses_unknown_options() -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        BybitSimulator(limits={"cancel_order": (1, 1.0)})
    with pytest.raises(ValueError, match="idempotency"):
        BybitSimulator(idempotency="maybe")  # type: ignore[arg-type]


async def test_no_faults_at_rate_zero_and_none_without_kinds() -> None:
    for faults in (Faults(rate=0.0, seed=1), Faults(rate=1.0, kinds=(), seed=1)):
        sim = make_sim(faults)
        async with in_process(sim) as http:
            answers = [outcome(await place(sim, http, f"calm-{n}")) for n in range(20)]
        assert answers == [("envelope", 0)] * 20
        assert sum(sim.stats.faults.values()) == 0


# --- reproducibility ------------------------------------------------------------------------


async def run_sequence(faults: Faults, count: int = 60) -> tuple[list[tuple[object, ...]], Any]:
    """Send the same ``count`` orders; what the client saw of each, and the simulator."""
    sim = make_sim(faults)
    seen: list[tuple[object, ...]] = []
    async with in_process(sim) as http:
        for n in range(count):
            try:
                seen.append(outcome(await place(sim, http, f"seq-{n}")))
            except httpx.ReadError:
                seen.append(("dropped",))
    return seen, sim


async def test_the_same_seed_gives_the_same_faults() -> None:
    faults = Faults(rate=0.5, seed=11)
    first, sim_a = await run_sequence(faults)
    second, sim_b = await run_sequence(Faults(rate=0.5, seed=11))
    assert first == second
    assert sim_a.stats.faults == sim_b.stats.faults
    assert links(sim_a) == links(sim_b)
    # The sequence is a real mix, not a trivial one.
    assert len(sim_a.stats.faults) >= 4
    assert 10 <= sum(sim_a.stats.faults.values()) <= 50
    assert first.count(("envelope", 0)) < len(first)


async def test_a_different_seed_gives_different_faults() -> None:
    first, sim_a = await run_sequence(Faults(rate=0.5, seed=11))
    second, sim_b = await run_sequence(Faults(rate=0.5, seed=12))
    assert first != second
    assert links(sim_a) != links(sim_b)


async def test_latency_delays_arrival_reproducibly() -> None:
    arrivals: list[list[float]] = []
    for _ in range(2):
        sim = make_sim(Faults(latency=(0.1, 0.3), seed=4))
        clock = sim.clock
        assert isinstance(clock, VirtualClock)
        async with in_process(sim) as http:
            sent: list[float] = []
            for n in range(10):
                sent.append(clock.monotonic())
                response = await place(sim, http, f"slow-{n}")
                assert outcome(response) == ("envelope", 0)
        arrived = sim.stats.arrivals["place_order"]
        delays = [at - start for at, start in zip(arrived, sent, strict=True)]
        assert all(0.1 <= delay <= 0.3 for delay in delays), delays
        assert len({round(delay, 9) for delay in delays}) > 1  # jitter, not a constant
        arrivals.append(arrived)
    assert arrivals[0] == arrivals[1]


async def test_concurrent_delays_do_not_change_which_faults_are_drawn() -> None:
    """Faults come from their own stream: the n-th fault drawn is the same however the
    network delays of concurrent requests interleave with it."""

    async def fault_counts(*, concurrent: bool) -> dict[str, int]:
        sim = make_sim(Faults(rate=0.5, latency=(0.1, 0.3), seed=21))
        async with in_process(sim) as http:

            async def send(n: int) -> None:
                # A dropped connection is one of the faults being counted.
                with contextlib.suppress(httpx.ReadError):
                    await place(sim, http, f"mix-{n}")

            if concurrent:
                await asyncio.gather(*(send(n) for n in range(40)))
            else:
                for n in range(40):
                    await send(n)
        assert sum(sim.stats.requests.values()) == 40
        return dict(sim.stats.faults)

    one_by_one = await fault_counts(concurrent=False)
    assert await fault_counts(concurrent=True) == one_by_one
    assert sum(one_by_one.values()) >= 10


# --- each fault, as a raw client sees it ----------------------------------------------------


def only(kind: Fault) -> Faults:
    return Faults(rate=1.0, kinds=[kind], seed=1)


async def test_http_5xx_is_an_html_502_and_nothing_is_placed() -> None:
    sim = make_sim(only(Fault.HTTP_5XX))
    async with in_process(sim) as http:
        response = await place(sim, http, "five-hundred")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text and "502" in response.text
    assert links(sim) == []
    assert sim.stats.faults == {"http_5xx": 1}


async def test_http_5xx_after_commit_is_an_html_502_but_the_order_exists() -> None:
    sim = make_sim(only(Fault.HTTP_5XX_AFTER_COMMIT))
    async with in_process(sim) as http:
        response = await place(sim, http, "lost-behind-502")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert links(sim) == ["lost-behind-502"]
    assert sim.stats.faults == {"http_5xx_after_commit": 1}


async def test_busy_is_10016_and_nothing_is_placed() -> None:
    sim = make_sim(only(Fault.BUSY))
    async with in_process(sim) as http:
        response = await place(sim, http, "busy")
    data = response.json()
    assert response.status_code == 200
    assert data["retCode"] == 10016
    assert set(data) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert links(sim) == []
    assert sim.stats.faults == {"busy": 1}


async def test_timeout_after_commit_is_10000_but_the_order_exists() -> None:
    sim = make_sim(only(Fault.TIMEOUT_AFTER_COMMIT))
    async with in_process(sim) as http:
        response = await place(sim, http, "timed-out")
    assert response.json()["retCode"] == 10000
    assert links(sim) == ["timed-out"]
    assert sim.stats.faults == {"timeout_after_commit": 1}


async def test_drop_before_commit_is_a_read_error_and_nothing_is_placed() -> None:
    sim = make_sim(only(Fault.DROP_BEFORE_COMMIT))
    async with in_process(sim) as http:
        with pytest.raises(httpx.ReadError):
            await place(sim, http, "dropped-early")
    assert links(sim) == []
    assert sim.stats.faults == {"drop_before_commit": 1}


async def test_drop_after_commit_is_a_read_error_but_the_order_exists() -> None:
    sim = make_sim(only(Fault.DROP_AFTER_COMMIT))
    async with in_process(sim) as http:
        with pytest.raises(httpx.ReadError):
            await place(sim, http, "dropped-late")
    assert links(sim) == ["dropped-late"]
    assert sim.stats.faults == {"drop_after_commit": 1}


async def test_a_truncated_answer_is_invalid_json_but_the_order_exists() -> None:
    sim = make_sim(only(Fault.TRUNCATED))
    async with in_process(sim) as http:
        response = await place(sim, http, "cut-short")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert response.text.startswith('{"retCode":0')
    assert links(sim) == ["cut-short"]
    assert sim.stats.faults == {"truncated": 1}


async def test_a_committed_fault_leaves_the_order_link_id_taken() -> None:
    sim = make_sim(Faults(rate=0.5, kinds=[Fault.DROP_AFTER_COMMIT], seed=3))
    async with in_process(sim) as http:
        dropped = None
        for n in range(50):
            try:
                await place(sim, http, f"try-{n}")
            except httpx.ReadError:
                dropped = f"try-{n}"
                break
        assert dropped is not None, "the seed never dropped a connection"
        before = len(sim.orders)
        for _ in range(50):  # resend the dropped order until an answer gets through
            try:
                again = await place(sim, http, dropped)
            except httpx.ReadError:
                continue
            break
        else:
            pytest.fail("no resend got through")
    assert again.json()["retCode"] == 180025
    assert len(sim.orders) == before
    assert links(sim).count(dropped) == 1


async def test_refused_requests_meet_no_faults() -> None:
    sim = make_sim(only(Fault.DROP_BEFORE_COMMIT))
    body = stake_body(sim, "bad-sign")
    headers = signed(sim, body)
    headers["X-BAPI-SIGN"] = "0" * 64
    async with in_process(sim) as http:
        response = await http.post(PLACE, content=body, headers=headers)
    assert response.json()["retCode"] == 10004
    assert sum(sim.stats.faults.values()) == 0


# --- clock skew -----------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [3.0, -8.0])
async def test_clock_skew_shifts_the_reported_time(skew: float) -> None:
    sim = make_sim(Faults(clock_skew=skew))
    async with in_process(sim) as http:
        response = await http.get(TIME)
    data = response.json()
    expected = START_MS + int(skew * 1000)
    assert data["time"] == expected
    assert data["result"]["timeSecond"] == str(expected // 1000)
    assert response.headers["Timenow"] == str(expected)
    assert sim.now_ms() == expected


async def check_window(sim: BybitSimulator, timestamp: int, recv: int = 5000) -> int:
    query = b"category=SmartLeverage"
    async with in_process(sim) as http:
        response = await http.get(
            ORDER + "?" + query.decode(), headers=signed(sim, query, timestamp=timestamp, recv=recv)
        )
    code: int = response.json()["retCode"]
    return code


async def test_a_server_ahead_refuses_local_timestamps_outside_recv_window() -> None:
    sim = make_sim(Faults(clock_skew=3.0))
    local_ms = int(START * 1000)  # what an unsynchronised client would send
    assert await check_window(sim, local_ms, recv=2000) == 10002
    assert await check_window(sim, local_ms, recv=5000) == 0
    assert await check_window(sim, local_ms + 3000, recv=2000) == 0


async def test_a_server_behind_refuses_local_timestamps_from_its_future() -> None:
    sim = make_sim(Faults(clock_skew=-8.0))
    local_ms = int(START * 1000)
    assert await check_window(sim, local_ms) == 10002
    assert await check_window(sim, local_ms - 8000 + 999) == 0
    assert await check_window(sim, local_ms - 8000 + 1000) == 10002
    assert await check_window(sim, local_ms - 8000) == 0


# --- over a real loopback socket ------------------------------------------------------------


def place_over_loopback(sim: BybitSimulator, url: str, link: str) -> httpx.Response:
    body = stake_body(sim, link)
    with httpx.Client(base_url=url, timeout=10.0) as http:
        return http.post(PLACE, content=body, headers=signed(sim, body))


def test_loopback_serves_a_calm_simulator() -> None:
    sim = make_sim(Faults(), clock=None)
    with SimServer(sim.app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        response = place_over_loopback(sim, server.url, "over-the-wire")
        time = httpx.get(server.url + TIME, timeout=10.0).json()
    assert response.json()["retCode"] == 0
    assert time["retCode"] == 0
    assert links(sim) == ["over-the-wire"]


@pytest.mark.parametrize(
    ("kind", "committed"),
    [(Fault.DROP_BEFORE_COMMIT, []), (Fault.DROP_AFTER_COMMIT, ["dropped"])],
)
def test_a_drop_over_loopback_really_drops_the_connection(
    kind: Fault, committed: Sequence[str]
) -> None:
    # A real clock: the server runs in its own thread and event loop.
    sim = make_sim(only(kind), clock=None)
    with SimServer(sim.app) as server:
        with pytest.raises(httpx.TransportError) as raised:
            place_over_loopback(sim, server.url, "dropped")
    assert isinstance(raised.value, (httpx.RemoteProtocolError, httpx.ReadError))
    assert links(sim) == list(committed)
    assert sim.stats.faults == {kind.value: 1}


async def test_faults_can_be_kept_to_some_endpoints() -> None:
    """Only orders meet faults; quotes and lookups never do, and draw nothing from the
    fault stream (so the orders meet the same faults however many other requests come)."""
    sim = make_sim(Faults(rate=1.0, kinds=[Fault.BUSY], endpoints=["place_order"]))
    async with in_process(sim) as http:
        quote = await http.get(
            "/v5/earn/advance/product-extra-info",
            params={"category": "SmartLeverage", "productId": "13015"},
        )
        order = await place(sim, http, "faulted")
    assert outcome(quote) == ("envelope", 0)
    assert outcome(order) == ("envelope", 10016)
    assert sim.stats.faults == {Fault.BUSY.value: 1}
    assert Faults(endpoints=("a", "b")).endpoints == frozenset({"a", "b"})
    assert Faults().endpoints is None


def test_fault_endpoints_must_be_names_the_simulator_has() -> None:
    with pytest.raises(TypeError, match="not the string"):
        Faults(endpoints="place_order")
    with pytest.raises(ValueError, match="place-order"):
        BybitSimulator(faults=Faults(rate=1.0, endpoints=["place-order"]))
    sim = BybitSimulator()
    with pytest.raises(ValueError, match="take_order"):
        sim.set_faults(Faults(endpoints=["take_order"]))  # a ChainUP name
    sim.set_faults(Faults(endpoints=["place_order", "time"]))
