"""Every venue client takes the session's options under the session's names and defaults.

The clients spell the options out (a reader, an IDE and ``help()`` see each one, and
DESIGN.md documents them there) rather than taking ``**options``: this test is what keeps
the copies one list. A new session option fails it until every client takes it too.
"""

from __future__ import annotations

import inspect

import pytest

from asyncexch import Session
from asyncexch.bybit import BybitClient
from asyncexch.chainup import ChainupContractClient

#: Session parameters a client sets itself rather than passing through.
SET_BY_THE_CLIENT = {"self", "venue", "base_url", "owner", "rng"}


def options(call: object) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(call).parameters)  # type: ignore[arg-type]


SESSION_OPTIONS = {
    name: parameter
    for name, parameter in options(Session.__init__).items()
    if name not in SET_BY_THE_CLIENT
}


def test_the_session_has_the_options_this_test_expects() -> None:
    assert set(SESSION_OPTIONS) == {
        "limits",
        "limiter",
        "retry",
        "clock",
        "http_client",
        "transport",
        "timeout",
        "max_in_flight",
        "max_body",
        "proxy",
        "on_attempt",
        "telemetry",
    }


@pytest.mark.parametrize("client", [BybitClient, ChainupContractClient])
def test_each_client_takes_every_session_option_as_the_session_does(client: object) -> None:
    taken = options(client)
    for name, session_parameter in SESSION_OPTIONS.items():
        assert name in taken, f"{client!r} lacks the session option {name}"
        parameter = taken[name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default == session_parameter.default, name
        assert parameter.annotation == session_parameter.annotation, name
