"""The API secret never shows: not in a message, a repr, a pickle, or a traceback's locals."""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from asyncexch import ConfigurationError, InvalidRequest, Secret
from asyncexch.bybit import BybitClient, HmacSigner
from asyncexch.chainup import ChainupContractClient, Md5Signer
from asyncexch.chainup._endpoints import MARKET

#: Not encodable: a lone surrogate, as a mis-decoded environment variable gives.
BROKEN = "s3cr3t-\udcff-tail"
SECRET = "S3cr3t-never-shown-4b1d"

CLIENTS: dict[str, Callable[..., Any]] = {
    "bybit": lambda **options: BybitClient("key", **options),
    "chainup": lambda **options: ChainupContractClient(
        "key", base_url="https://chainup.test", **options
    ),
}


def _rendered_with_locals(error: BaseException) -> str:
    """The library's part of the traceback as --showlocals or an error tracker renders it:
    every asyncexch frame with its locals (the test's own frames hold the secret it passed)."""
    summary = traceback.TracebackException.from_exception(error, capture_locals=True)
    frames = [frame for frame in summary.stack if "/asyncexch/" in frame.filename]
    assert frames, "the error came from inside the library"
    rendered = [f"{frame.name}: {frame.locals}" for frame in frames]
    return "\n".join(rendered) + repr(error) + str(error)


@pytest.mark.parametrize("venue", list(CLIENTS))
def test_a_secret_that_is_not_text_is_refused_without_showing_it(venue: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        CLIENTS[venue](api_secret=BROKEN)

    message = str(caught.value)
    assert "cannot be encoded as UTF-8" in message
    assert "s3cr3t" not in message and "tail" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize("signer", [HmacSigner, Md5Signer], ids=lambda cls: cls.__name__)
def test_signers_refuse_a_secret_that_is_not_text(signer: Callable[[str], object]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer(BROKEN)
    assert "s3cr3t" not in str(caught.value) and caught.value.__context__ is None


@pytest.mark.parametrize(
    ("venue", "options"),
    [
        ("bybit", {"timeout": -1.0}),
        ("bybit", {"recv_window": 0}),
        ("bybit", {"limits": {"nope": None}}),
        ("bybit", {"limit_scope": ""}),
        ("chainup", {"timeout": -1.0}),
        ("chainup", {"encoding": "xml"}),
        ("chainup", {"transfer_margin_param": "x"}),
    ],
)
def test_a_traceback_with_locals_never_shows_the_secret(
    venue: str, options: dict[str, Any]
) -> None:
    """Another argument is wrong: every frame of the traceback, locals included, is free of
    the secret (the constructors hold it as Secret(***) from their first line)."""
    with pytest.raises(ConfigurationError) as caught:
        CLIENTS[venue](api_secret=SECRET, **options)

    rendered = _rendered_with_locals(caught.value)
    assert SECRET not in rendered
    assert "Secret(***)" in rendered


def test_the_secret_holder_is_masked_and_unpicklable() -> None:
    held = Secret(SECRET)
    assert SECRET not in repr(held) and SECRET not in str(held)
    with pytest.raises(TypeError):
        pickle.dumps(held)
    assert held.reveal() == SECRET


def test_a_client_given_a_secret_holder_signs_with_it() -> None:
    one = HmacSigner(SECRET).sign(b"payload")
    assert HmacSigner(Secret(SECRET)).sign(b"payload") == one
    assert Md5Signer(Secret(SECRET)).sign([("a", "1")]) == Md5Signer(SECRET).sign([("a", "1")])


@pytest.mark.parametrize("venue", list(CLIENTS))
def test_repr_of_a_half_built_client_does_not_raise(venue: str) -> None:
    cls = BybitClient if venue == "bybit" else ChainupContractClient
    half = cls.__new__(cls)
    assert cls.__name__ in repr(half)


async def test_a_lone_surrogate_in_a_value_is_an_invalid_request_naming_it() -> None:
    async with BybitClient("key", SECRET, base_url="https://bybit.test") as bybit:
        with pytest.raises(InvalidRequest) as caught:
            await bybit.advance_earn.quote("13015\udcff")
    assert caught.value.field == "productId"
    async with ChainupContractClient("key", SECRET, base_url="https://chainup.test") as cu:
        with pytest.raises(InvalidRequest) as caught:
            await cu.session.call(MARKET, {"contractId": "1\udcff"})
    assert caught.value.field == "contractId"
