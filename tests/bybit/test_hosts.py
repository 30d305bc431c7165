"""Bybit's hosts: environments and regional sites, their IP pools, and the Referer header."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
import respx

from asyncexch import ConfigurationError, RateLimit, VirtualClock
from asyncexch.bybit import DEMO, MAINNET, REGIONS, TESTNET, BybitClient, StakeOrder
from asyncexch.bybit._hosts import base_url_for, ip_pool
from tests.builders.bybit import API_KEY, API_SECRET, BASE_URL, ok


@pytest.mark.parametrize(
    ("options", "host"),
    [
        ({}, MAINNET),
        ({"testnet": True}, TESTNET),
        ({"demo": True}, DEMO),
        ({"region": "global"}, MAINNET),
        ({"region": "NL"}, "https://api.bybit.nl"),
        ({"region": "TR"}, "https://api.bybit.tr"),
        ({"region": "KZ"}, "https://api.bybit.kz"),
        ({"region": "GE"}, "https://api.bybitgeorgia.ge"),
        ({"region": "AE"}, "https://api.bybit.ae"),
        ({"region": "EU"}, "https://api.bybit.eu"),
        ({"region": "ID"}, "https://api.bybit.id"),
        ({"region": "JP"}, "https://api.manepa.jp"),
        ({"region": "JP", "testnet": True}, "https://api-testnet.manepa.jp"),
        ({"region": "HK"}, "https://api.bybit.com.hk"),
        ({"region": "bytick"}, "https://api.bytick.com"),
    ],
)
def test_each_environment_and_region_has_its_host(options: dict[str, object], host: str) -> None:
    client = BybitClient(API_KEY, API_SECRET, **options)  # type: ignore[arg-type]

    assert client.session.base_url == host


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"testnet": True, "demo": True}, "testnet=True or demo=True, not both"),
        ({"region": "NL", "demo": True}, "no demo-trading host for region 'NL'"),
        ({"region": "KZ", "testnet": True}, "no testnet host for region 'KZ'"),
        ({"region": "nl"}, "region must be one of"),
        ({"region": "NL", "base_url": "https://api.bybit.nl"}, "pass base_url, or"),
        ({"demo": True, "base_url": DEMO}, "pass base_url, or"),
    ],
)
def test_combinations_bybit_does_not_serve_are_refused(
    options: dict[str, object], says: str
) -> None:
    with pytest.raises(ConfigurationError, match=says):
        BybitClient(API_KEY, API_SECRET, **options)  # type: ignore[arg-type]


def test_every_mainnet_host_counts_against_one_ip_pool() -> None:
    mainnet = [*REGIONS.values(), DEMO, "https://api.bybit-tr.com"]

    assert {ip_pool(host) for host in mainnet} == {"mainnet"}
    assert {ip_pool(TESTNET), ip_pool(base_url_for(testnet=True, demo=False, region="JP"))} == {
        "testnet"
    }
    assert ip_pool("http://127.0.0.1:8080") == "127.0.0.1"


def test_clients_on_two_regional_hosts_share_the_ip_bucket_not_the_key_buckets() -> None:
    nl = BybitClient(API_KEY, API_SECRET, region="NL")
    kz = BybitClient("another-key", API_SECRET, region="KZ")

    assert nl.session.venue.bucket_key("ip") == kz.session.venue.bucket_key("ip")
    assert nl.session.venue.bucket_key("order") != kz.session.venue.bucket_key("order")


async def test_the_referer_goes_on_every_request() -> None:
    with respx.mock(base_url="https://api.bybit.nl") as router:
        time = router.get("/v5/market/time").mock(
            return_value=ok({"timeSecond": "1700000000", "timeNano": "1700000000000000000"})
        )
        async with BybitClient(API_KEY, API_SECRET, region="NL", referer="broker-7") as bybit:
            await bybit.sync_clock()
        async with BybitClient(API_KEY, API_SECRET, region="NL") as plain:
            await plain.sync_clock()

    with_referer, without = (call.request for call in time.calls)
    assert with_referer.headers["Referer"] == "broker-7"
    assert "Referer" not in without.headers


async def test_the_referer_goes_on_signed_posts_too(bybit_mock: respx.MockRouter) -> None:
    place = bybit_mock.post("/v5/earn/advance/place-order").mock(
        return_value=ok({"orderId": "1", "orderLinkId": "ref-1"})
    )
    async with BybitClient(API_KEY, API_SECRET, base_url=BASE_URL, referer="broker-7") as bybit:
        await bybit.advance_earn.place_order(
            StakeOrder(
                product_id="1",
                amount=Decimal("1"),
                coin="USDT",
                initial_price=Decimal("1"),
                breakeven_price=Decimal("1"),
                order_link_id="ref-1",
            )
        )

    request: httpx.Request = place.calls.last.request
    assert request.headers["Referer"] == "broker-7"
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("referer", ["", "x" * 65, "broker\r\nX-Evil: 1", "bröker"])
def test_a_referer_that_is_not_a_short_header_value_is_refused(referer: str) -> None:
    with pytest.raises(ConfigurationError, match="referer must be"):
        BybitClient(API_KEY, API_SECRET, referer=referer)


async def test_ip_pool_is_shared_across_bybit_hosts(clock: VirtualClock) -> None:
    """api.bybit.com and api.bytick.com share the 600/5 s IP limit (reference section 3):
    clients on the two hosts share one bucket and together stay within it."""
    times: list[float] = []

    def venue(request: httpx.Request) -> httpx.Response:
        times.append(clock.monotonic())
        return ok({"category": "SmartLeverage", "list": []})

    transport = httpx.MockTransport(venue)
    limits = {"ip": RateLimit(2, per=5.0)}
    clients = [
        BybitClient(
            API_KEY, API_SECRET, base_url=url, clock=clock, transport=transport, limits=limits
        )
        for url in ("https://api.bybit.com", "https://api.bytick.com")
    ]
    try:
        await asyncio.gather(*(c.advance_earn.products() for c in clients for _ in range(2)))
    finally:
        for c in clients:
            await c.aclose()
    assert times == [0.0, 0.0, 5.0, 5.0]  # two now, two when the shared window frees


def test_testnet_and_a_base_url_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="pass base_url, or testnet/demo/region, not both"):
        BybitClient(API_KEY, API_SECRET, testnet=True, base_url="https://api.bybit.com")
