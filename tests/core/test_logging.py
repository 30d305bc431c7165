"""What a money-moving program sees in its logs: one INFO line for each retry, duplicate-id
lookup, venue pause and clock re-sync (a WARNING for a halt), naming the endpoint and the
orderLinkId; per-attempt lines at DEBUG; messages in plain English."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
import respx

from asyncexch import RetryPolicy
from asyncexch.bybit import BybitClient
from asyncexch.chainup import ChainupContractClient, TakeOrder
from asyncexch.errors import MalformedResponse, OrderStatusUnknown, TrafficHalted
from tests.builders.bybit import (
    ORDER,
    PLACE,
    PRODUCT_ID,
    SERVER_MS,
    TIME,
    fail,
    ok,
    page,
    stake_order,
)


def ack(link: str = "log-me-1") -> httpx.Response:
    return ok({"orderId": "9001", "orderLinkId": link})


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asyncexch" and r.levelno == level]


async def test_a_retry_is_one_info_line_with_the_endpoint_and_the_order_link_id(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncexch")
    bybit_mock.post(PLACE).mock(
        side_effect=[httpx.Response(502, text="<html>bad gateway</html>"), ack()]
    )

    await make_client().advance_earn.place_order(stake_order(order_link_id="log-me-1"))

    [retry] = lines(caplog, logging.INFO)
    assert retry.startswith(
        f"POST {PLACE} orderLinkId=log-me-1: the 1st attempt failed "
        "(bybit HTTP 502: '<html>bad gateway</html>'); retrying in "
    )
    assert retry.endswith("s (the 2nd attempt of 5)")
    debug = lines(caplog, logging.DEBUG)
    assert len(debug) == 2
    assert all(line.startswith(f"POST {PLACE} orderLinkId=log-me-1: the ") for line in debug)
    assert debug[1].endswith(": ok")


async def test_a_lookup_after_a_refusal_is_logged_at_info(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    bybit_mock.post(PLACE).mock(return_value=fail(180025, "duplicate"))
    info = {
        "orderId": "9001",
        "orderLinkId": "log-me-1",
        "productId": PRODUCT_ID,
        "category": "SmartLeverage",
        "orderType": "Stake",
        "amount": "100",
        "status": "Pending",
        "createdTime": str(SERVER_MS),
        "accountType": "FUND",
        "investCoin": "USDT",
    }
    bybit_mock.get(ORDER).mock(return_value=page(info))

    await make_client().advance_earn.place_order(stake_order(order_link_id="log-me-1"))

    said = lines(caplog, logging.INFO)
    assert any("orderLinkId log-me-1 refused" in line for line in said)
    assert any("orderLinkId log-me-1 is already placed as 9001" in line for line in said)


async def test_a_venue_pause_and_a_clock_resync_are_logged_at_info(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    reset = {"X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(SERVER_MS + 400)}
    bybit_mock.post(PLACE).mock(
        side_effect=[
            fail(10006, "Too many visits!", headers=reset),
            fail(10002, "invalid request, please check your server timestamp"),
            ack(),
        ]
    )
    bybit_mock.get(TIME).mock(
        return_value=ok({"timeSecond": "1700000000", "timeNano": "1700000000000000000"})
    )

    await make_client().advance_earn.place_order(stake_order(order_link_id="log-me-1"))

    said = lines(caplog, logging.INFO)
    assert any(
        line.startswith(f"POST {PLACE} orderLinkId=log-me-1: the venue asks for a pause of 0.")
        for line in said
    )
    assert any(
        line.startswith(f"POST {PLACE} orderLinkId=log-me-1: the venue refused our timestamp")
        and "re-learning its clock" in line
        for line in said
    )


async def test_a_halt_is_a_warning(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="asyncexch")
    bybit_mock.post(PLACE).mock(return_value=httpx.Response(403, text="access too frequent"))

    with pytest.raises(TrafficHalted):
        await make_client().advance_earn.place_order(stake_order(order_link_id="log-me-1"))

    [warning] = lines(caplog, logging.WARNING)
    assert warning.startswith("BybitClient: every request of this key stops for 600 s")


async def test_attempts_are_counted_in_english(
    make_chainup_client: Callable[..., ChainupContractClient], chainup_mock: respx.MockRouter
) -> None:
    chainup_mock.post("/api/take_order").mock(return_value=httpx.Response(502, text="bad gateway"))
    order = TakeOrder(contract_id=1, side="BUY", volume=Decimal("1"), order_type="MARKET")

    with pytest.raises(OrderStatusUnknown) as one:
        await make_chainup_client().take_order(order)

    assert "(1 attempt; the last: chainup HTTP 502: 'bad gateway')" in str(one.value)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"retCode": 0, "retMsg": "OK", "resu', "truncated JSON, not a Bybit answer"),
        (b"<html><body>Maintenance</body></html>", "an HTML page, not a Bybit answer"),
        (b"", "an empty body, not a Bybit answer"),
        (b'["a list"]', "JSON, not a Bybit answer"),
    ],
)
async def test_an_unreadable_answer_says_what_it_is(
    make_client: Callable[..., BybitClient], bybit_mock: respx.MockRouter, body: bytes, said: str
) -> None:
    bybit_mock.get("/v5/earn/advance/product").mock(return_value=httpx.Response(200, content=body))

    with pytest.raises(MalformedResponse) as caught:
        await make_client(retry=RetryPolicy(max_attempts=1)).advance_earn.products()

    assert f"/v5/earn/advance/product: {said}" in str(caught.value)
