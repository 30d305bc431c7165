"""Bybit's endpoints: whether a request of unknown outcome may be resent."""

from __future__ import annotations

import pytest

from asyncexch import Endpoint
from asyncexch.bybit import _endpoints as bybit


@pytest.mark.parametrize(
    ("endpoint", "resendable"),
    [
        (bybit.PLACE_ORDER, True),  # its orderLinkId makes a resend harmless
        (bybit.ORDER, True),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_each_venue_endpoint_says_whether_it_may_be_resent(
    endpoint: Endpoint[object], resendable: bool
) -> None:
    assert endpoint.idempotent is resendable
