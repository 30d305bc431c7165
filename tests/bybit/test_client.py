"""BybitClient itself: its name in messages, its lifecycle, and a constructor that never shows
the secret (its Advance Earn calls are in test_advance_earn.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx

from asyncexch import ConfigurationError
from asyncexch.bybit import BybitClient
from tests.builders.bybit import API_KEY, API_SECRET, BASE_URL, ok
from tests.secret_leaks import rendered_with_locals

TIME = {"timeSecond": "1700000000", "timeNano": "1700000000000000000"}
#: Not encodable: a lone surrogate, as a mis-decoded environment variable gives.
BROKEN = "s3cr3t-\udcff-tail"
SECRET = "S3cr3t-never-shown-4b1d"

CLIENTS: dict[str, Callable[..., Any]] = {
    "bybit": lambda **options: BybitClient("key", **options),
}


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


async def test_the_client_refuses_to_be_entered_again_once_closed() -> None:
    resources = [BybitClient(API_KEY, API_SECRET, base_url=BASE_URL)]
    for resource in resources:
        async with resource:
            assert not resource.closed
        assert resource.closed
        with pytest.raises(ConfigurationError, match=f"^{type(resource).__name__} is closed"):
            await resource.__aenter__()


# --- the secret never shows ----------------------------------------------------------------


@pytest.mark.parametrize("venue", list(CLIENTS))
def test_a_secret_that_is_not_text_is_refused_without_showing_it(venue: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        CLIENTS[venue](api_secret=BROKEN)

    message = str(caught.value)
    assert "cannot be encoded as UTF-8" in message
    assert "s3cr3t" not in message and "tail" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize(
    ("venue", "options"),
    [
        ("bybit", {"timeout": -1.0}),
        ("bybit", {"recv_window": 0}),
        ("bybit", {"limits": {"nope": None}}),
        ("bybit", {"limit_scope": ""}),
    ],
)
def test_a_traceback_with_locals_never_shows_the_secret(
    venue: str, options: dict[str, Any]
) -> None:
    """Another argument is wrong: every frame of the traceback, locals included, is free of
    the secret (the constructors hold it as Secret(***) from their first line)."""
    with pytest.raises(ConfigurationError) as caught:
        CLIENTS[venue](api_secret=SECRET, **options)

    rendered = rendered_with_locals(caught.value)
    assert SECRET not in rendered
    assert "Secret(***)" in rendered


@pytest.mark.parametrize("venue", list(CLIENTS))
def test_repr_of_a_half_built_client_does_not_raise(venue: str) -> None:
    cls = BybitClient
    half = cls.__new__(cls)
    assert cls.__name__ in repr(half)
