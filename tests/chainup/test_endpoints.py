"""ChainUP's endpoints: whether a request of unknown outcome may be resent, and how the market
endpoint is signed and paced."""

from __future__ import annotations

import pytest

from asyncexch import Endpoint
from asyncexch.chainup import _endpoints as chainup


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
