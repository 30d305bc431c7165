"""A user's mistakes get errors that say what to do: amounts of the wrong type, a closed or
re-entered client, one left unclosed, one shared across event loops, testnet with a base_url,
and a key of another environment."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import httpx
import pytest
import respx

from asyncexch import (
    ConfigurationError,
    InvalidRequest,
    RedisIdRegistry,
    RedisLimiter,
    RetryPolicy,
)
from asyncexch.bybit import BybitClient, StakeOrder
from asyncexch.chainup import ChainupContractClient, TakeOrder
from asyncexch.errors import AuthenticationError, ServiceUnavailable, TrafficHalted
from tests.builders import chainup
from tests.builders.bybit import API_KEY, API_SECRET, BASE_URL, fail, ok, stake_order

TIME = {"timeSecond": "1700000000", "timeNano": "1700000000000000000"}


def stake(amount: object) -> StakeOrder:
    return stake_order(amount=amount)


def take(volume: object) -> TakeOrder:
    return TakeOrder(contract_id=1, side="BUY", volume=volume, order_type="MARKET")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "field"), [(stake, "amount"), (take, "volume")], ids=["bybit", "chainup"]
)
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (100, "must be a decimal.Decimal: write Decimal('100'), got 100"),
        ("100", "must be a decimal.Decimal: write Decimal('100'), got '100'"),
        (0.1, "never a float (a float is not exact): write Decimal('0.1'), got 0.1"),
        (True, "must be a decimal.Decimal, got True"),
        ("a lot", "must be a decimal.Decimal, got 'a lot'"),
    ],
)
def test_an_amount_of_the_wrong_type_says_what_to_write(
    build: Callable[[object], object], field: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build(value)

    assert caught.value.field == field
    assert says in str(caught.value)


async def test_a_closed_client_says_so_by_name(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get("/v5/market/time").mock(return_value=ok(TIME))
    client = make_client()
    async with client:
        await client.sync_clock()

    assert client.closed
    with pytest.raises(ConfigurationError, match=r"^BybitClient is closed: make a new one$"):
        await client.sync_clock()
    with pytest.raises(ConfigurationError, match=r"^BybitClient is closed"):
        async with client:
            pass


async def test_every_resource_refuses_to_be_entered_again_once_closed() -> None:
    resources = [
        BybitClient(API_KEY, API_SECRET, base_url=BASE_URL),
        ChainupContractClient(API_KEY, API_SECRET, base_url=chainup.BASE_URL),
        RedisLimiter("redis://127.0.0.1:1/0"),
        RedisIdRegistry("redis://127.0.0.1:1/0"),
    ]
    for resource in resources:
        async with resource:
            assert not resource.closed
        assert resource.closed
        with pytest.raises(ConfigurationError, match=f"^{type(resource).__name__} is closed"):
            await resource.__aenter__()


async def test_a_client_used_and_never_closed_warns_when_collected(
    bybit_mock: respx.MockRouter,
) -> None:
    bybit_mock.get("/v5/market/time").mock(return_value=ok(TIME))
    client = BybitClient(API_KEY, API_SECRET, base_url=BASE_URL)
    await client.sync_clock()
    http = client.session._http

    with pytest.warns(ResourceWarning, match="BybitClient was used and never closed"):
        del client
        gc.collect()
    await http.aclose()  # what the warning is about, closed here so the test leaks nothing


async def test_a_client_closed_or_never_used_is_collected_silently(
    bybit_mock: respx.MockRouter, recwarn: pytest.WarningsRecorder
) -> None:
    bybit_mock.get("/v5/market/time").mock(return_value=ok(TIME))
    unused = BybitClient(API_KEY, API_SECRET, base_url=BASE_URL)
    async with BybitClient(API_KEY, API_SECRET, base_url=BASE_URL) as closed:
        await closed.sync_clock()

    del unused, closed
    gc.collect()

    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


def test_a_client_is_bound_to_the_event_loop_it_was_first_used_on() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/v5/market/time").mock(return_value=ok(TIME))
        client = BybitClient(API_KEY, API_SECRET, base_url=BASE_URL)
        asyncio.run(client.sync_clock())

        with pytest.raises(ConfigurationError, match="bound to the event loop it was first used"):
            asyncio.run(client.sync_clock())
        client.session._closed = True  # its connections died with the first loop


def test_testnet_and_a_base_url_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="pass base_url, or testnet/demo/region, not both"):
        BybitClient(API_KEY, API_SECRET, testnet=True, base_url="https://api.bybit.com")


@pytest.mark.parametrize(
    "answer",
    [fail(10003, "API key is invalid."), httpx.Response(401, text="Unauthorized")],
    ids=["10003", "http-401"],
)
async def test_a_refused_key_hints_at_the_environment(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, answer: httpx.Response
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(return_value=answer)
    client = make_client()

    with pytest.raises(AuthenticationError) as caught:
        await client.advance_earn.products()

    text = str(caught.value)
    assert "keys of Bybit's mainnet, testnet and demo trading are separate" in text
    assert "this client talks to api.bybit.test" in text
    assert "separate" not in caught.value.message  # the venue's own words stay apart


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (httpx.Response(502, text="<html>bad gateway</html>"), "bybit HTTP 502: '<html>bad"),
        (fail(10016, "service restarting"), "bybit error 10016: service restarting"),
    ],
)
async def test_messages_never_mix_http_statuses_and_venue_codes(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    answer: httpx.Response,
    text: str,
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(return_value=answer)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(ServiceUnavailable) as caught:
        await client.advance_earn.products()

    assert str(caught.value).startswith(text)
    assert str(caught.value).count("502") <= 1


async def test_a_halt_met_in_the_limiter_reads_as_the_http_status_that_started_it(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(
        return_value=httpx.Response(403, text="access too frequent")
    )
    client = make_client()
    with pytest.raises(TrafficHalted):
        await client.advance_earn.products()  # the venue's 403

    with pytest.raises(TrafficHalted) as caught:
        await client.advance_earn.products()  # refused by the halted limiter, never sent

    assert str(caught.value).startswith("bybit HTTP 403: IP rate limit exceeded")
