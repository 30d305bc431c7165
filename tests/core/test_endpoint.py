"""Endpoint: whether a request of unknown outcome may be resent follows the method unless the
endpoint says why not (each venue's own endpoints: ``tests/<venue>/test_endpoints.py``)."""

from __future__ import annotations

import pytest

from asyncexch import Endpoint
from tests.builders import fake_venue


def test_idempotent_follows_the_method_by_default() -> None:
    assert Endpoint("read", "GET", "/r", dict).idempotent is True
    assert Endpoint("write", "POST", "/w", dict).idempotent is False
    assert Endpoint("read-by-post", "POST", "/r", dict, idempotent=True).idempotent is True
    assert Endpoint("unsafe-get", "GET", "/g", dict, idempotent=False).idempotent is False


@pytest.mark.parametrize(
    ("endpoint", "resendable", "changes_state"),
    [
        (fake_venue.TIME, True, False),
        (fake_venue.READ, True, False),
        (fake_venue.ITEMS, True, False),
        (fake_venue.ORDER, False, True),  # no client order id: a resend could place it twice
        (fake_venue.KEYED_ORDER, True, True),  # its client order id makes a resend harmless
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_the_fake_venues_endpoints_are_what_the_core_tests_assume(
    endpoint: Endpoint[object], resendable: bool, changes_state: bool
) -> None:
    assert (endpoint.idempotent, endpoint.changes_state) == (resendable, changes_state)
