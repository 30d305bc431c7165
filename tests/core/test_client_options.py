"""Every venue client takes the session's options under the session's names and defaults.

The clients spell the options out (a reader, an IDE and ``help()`` see each one, and
DESIGN.md documents them there) rather than taking ``**options``: this test is what keeps
the copies one list. A new session option fails it until every client takes it too.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import httpx
import pytest

from asyncexch import InProcessLimiter, RateLimit, RetryPolicy, Session, VirtualClock
from asyncexch._proxy import as_proxy
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


class Watcher:
    def attempt_ended(self, event: object) -> None: ...

    def call_ended(self, event: object) -> None: ...


@pytest.mark.parametrize("client", [BybitClient, ChainupContractClient])
async def test_each_client_hands_every_session_option_to_its_session(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: dict[str, object] = {}

    class Recording(Session):
        def __init__(self, venue: Any, **options: Any) -> None:
            received.update(options)
            super().__init__(venue, **options)

    monkeypatch.setattr(sys.modules[client.__module__], "Session", Recording)
    clock = VirtualClock()
    given: dict[str, object] = {
        "limits": {"position": RateLimit(3, per=2.0)},  # a bucket both venues have
        "limiter": InProcessLimiter(clock),
        "retry": RetryPolicy(max_attempts=2),
        "clock": clock,
        "transport": "httpx",
        "timeout": 3.5,
        "max_in_flight": 7,
        "max_body": 12_345,
        "proxy": "http://proxy.test:3128",
        "on_attempt": lambda event: None,
        "telemetry": Watcher(),
    }
    assert set(given) | {"http_client"} == set(SESSION_OPTIONS)  # http_client: see below
    base_url = {"base_url": "https://venue.test"} if client is ChainupContractClient else {}
    made = client(**given, **base_url)
    try:
        for name, value in given.items():
            if name == "proxy":  # masked on the way (a traceback never shows the password)
                assert repr(received[name]) == repr(as_proxy("http://proxy.test:3128")), name
            else:
                assert received[name] is value or received[name] == value, name
    finally:
        await made.aclose()

    # http_client excludes transport and proxy; handed on all the same.
    received.clear()
    async with httpx.AsyncClient() as http:
        made = client(http_client=http, **base_url)
        assert received["http_client"] is http
        await made.aclose()
