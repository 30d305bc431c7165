"""Endpoint: whether a request of unknown outcome may be resent follows the method unless the
endpoint says why not."""

from __future__ import annotations

import pytest

from asyncexch import Endpoint
from asyncexch.bybit import _endpoints as bybit
from asyncexch.chainup import _endpoints as chainup


def test_idempotent_follows_the_method_by_default() -> None:
    assert Endpoint("read", "GET", "/r", dict).idempotent is True
    assert Endpoint("write", "POST", "/w", dict).idempotent is False
    assert Endpoint("read-by-post", "POST", "/r", dict, idempotent=True).idempotent is True
    assert Endpoint("unsafe-get", "GET", "/g", dict, idempotent=False).idempotent is False


@pytest.mark.parametrize(
    ("endpoint", "resendable"),
    [
        (chainup.TAKE_ORDER, False),  # no client order id: a resend could open a second order
        (chainup.TRANSFER_MARGIN, False),  # moving margin twice moves it twice
        (chainup.CANCEL_ORDER, True),
        (chainup.CANCEL_ALL, True),
        (chainup.CHANGE_LEVEL, True),
        (chainup.ORDER_LIST, True),
        (chainup.ORDER_INFO, True),
        (chainup.POSITIONS, True),
        (chainup.HOLD_CONTRACTS, True),
        (chainup.ACCOUNT_BALANCE, True),
        (chainup.MARKET, True),
        (chainup.CONTRACTS, True),
        (bybit.PLACE_ORDER, True),  # its orderLinkId makes a resend harmless
        (bybit.ORDER, True),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_each_venue_endpoint_says_whether_it_may_be_resent(
    endpoint: Endpoint[object], resendable: bool
) -> None:
    assert endpoint.idempotent is resendable


def test_chainup_market_is_signed_and_per_key() -> None:
    assert chainup.MARKET.signed is True
    assert "market" not in chainup.IP_BUCKETS
    assert {"open_contracts", "market"} <= set(chainup.DEFAULT_LIMITS)
