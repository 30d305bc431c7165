"""Bybit's own words in the log: the orderLinkId on every line of a placement, the halt."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
import respx

from asyncexch.bybit import BybitClient
from asyncexch.errors import TrafficHalted
from tests.builders.bybit import PLACE, ok, stake_order


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asyncexch" and r.levelno == level]


async def test_a_retry_is_one_info_line_with_the_endpoint_and_the_order_link_id(
    make_client: Callable[..., BybitClient],
    bybit_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncexch")
    bybit_mock.post(PLACE).mock(
        side_effect=[
            httpx.Response(502, text="<html>bad gateway</html>"),
            ok({"orderId": "9001", "orderLinkId": "log-me-1"}),
        ]
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


async def test_a_halt_is_a_warning_naming_the_client(
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
