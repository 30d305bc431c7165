"""The API secret never shows: not in a message, a repr, a pickle, or a traceback's locals; and
a session shows neither the secret nor a proxy's password. Over the fake venue (each venue
client's constructor and signer: ``tests/bybit/test_client.py``, ``test_signing.py``,
``tests/chainup/test_client.py``, ``test_wire.py``)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
import respx

from asyncexch import ConfigurationError, InvalidRequest, Secret, Session
from tests.builders.fake_venue import BASE_URL, READ, FakeVenue
from tests.secret_leaks import rendered_with_locals

#: Not encodable: a lone surrogate, as a mis-decoded environment variable gives.
BROKEN = "s3cr3t-\udcff-tail"
SECRET = "S3cr3t-never-shown-4b1d"
PROXY = "http://trader:s3cretPW@127.0.0.1:3128"


def test_a_secret_that_is_not_text_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Secret(BROKEN)

    message = str(caught.value)
    assert "cannot be encoded as UTF-8" in message
    assert "s3cr3t" not in message and "tail" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1.0},
        {"max_body": 10},
        {"max_in_flight": 0},
        {"limits": {"nope": None}},
    ],
    ids=repr,
)
def test_a_traceback_with_locals_never_shows_the_secret_or_the_proxy_password(
    options: dict[str, Any],
) -> None:
    """Another argument is wrong: every frame of the session's traceback, locals included, is
    free of the secret (the venue holds it as Secret(***)) and of the proxy's password (the
    session holds the proxy masked from its first line)."""
    with pytest.raises(ConfigurationError) as caught:
        Session(FakeVenue(api_secret=SECRET), base_url=BASE_URL, proxy=PROXY, **options)

    rendered = rendered_with_locals(caught.value)
    assert SECRET not in rendered and "s3cretPW" not in rendered
    assert "ProxyURL('http://trader:***@127.0.0.1:3128')" in rendered


async def test_a_session_shows_neither_the_secret_nor_the_proxy_password() -> None:
    async with Session(FakeVenue(api_secret=SECRET), base_url=BASE_URL, proxy=PROXY) as session:
        shown = repr(session) + str(session) + repr(session.venue)

    assert shown.startswith(f"<Session venue=fake base_url={BASE_URL!r}>")
    assert SECRET not in shown and "s3cretPW" not in shown


def test_the_secret_holder_is_masked_and_unpicklable() -> None:
    held = Secret(SECRET)
    assert SECRET not in repr(held) and SECRET not in str(held)
    with pytest.raises(TypeError):
        pickle.dumps(held)
    assert held.reveal() == SECRET


def test_repr_of_a_half_built_session_does_not_raise() -> None:
    half = Session.__new__(Session)
    assert repr(half) == "<Session venue=None base_url=None>"


async def test_a_lone_surrogate_in_a_value_is_an_invalid_request_naming_it(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    session = make_session(venue=FakeVenue(api_secret=SECRET))
    with pytest.raises(InvalidRequest) as caught:
        await session.call(READ, {"productId": "13015\udcff"})
    assert caught.value.field == "productId"
    assert fake_mock.calls.call_count == 0  # refused before anything was sent
