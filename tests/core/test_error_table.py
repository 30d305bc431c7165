"""The error table type: a venue's codes and bare statuses as typed errors with an Outcome."""

from __future__ import annotations

import pytest

from asyncexch import Outcome
from asyncexch._error_table import ErrorTable, StatusRule
from asyncexch.errors import (
    ApiError,
    AuthenticationError,
    BadParameter,
    RateLimited,
    ServiceUnavailable,
    TrafficHalted,
)

TABLE = ErrorTable(
    venue="fake",
    codes={7: BadParameter, 8: RateLimited, 9: AuthenticationError},
    statuses={
        400: StatusRule(BadParameter, "bad request"),
        403: StatusRule(TrafficHalted, "banned", retry_after=600.0),
        429: StatusRule(RateLimited, "slow down"),
        451: StatusRule(ApiError, ""),
    },
    refuse_other_4xx=True,
    rate_wait=2.5,
    auth_hint=lambda host: f"wrong environment for {host}",
)


def test_a_known_code_is_its_class_with_the_message_and_status() -> None:
    error = TABLE.api_error(7, "amount too small", http_status=200)
    assert type(error) is BadParameter
    assert (error.code, error.message, error.venue, error.http_status) == (
        7,
        "amount too small",
        "fake",
        200,
    )
    assert error.outcome is Outcome.FAILED
    assert str(error) == "fake error 7: amount too small"


def test_an_unknown_code_is_a_plain_api_error_that_failed() -> None:
    error = TABLE.api_error(12345, "what", http_status=200)
    assert type(error) is ApiError and error.outcome is Outcome.FAILED
    assert (TABLE.knows(7), TABLE.knows(12345)) == (True, False)


def test_a_rate_limit_code_waits_the_table_default() -> None:
    error = TABLE.api_error(8, "too many", http_status=200)
    assert type(error) is RateLimited and error.retry_after == 2.5
    assert error.outcome is Outcome.NOT_PROCESSED


def test_a_refused_key_carries_the_hint_for_the_host() -> None:
    error = TABLE.api_error(9, "bad key", http_status=401, host="api.fake")
    assert type(error) is AuthenticationError
    assert error.hint == "wrong environment for api.fake"
    assert str(error) == "fake error 9: bad key (wrong environment for api.fake)"


def test_without_a_hint_function_an_authentication_error_has_none() -> None:
    table = ErrorTable(venue="bare", codes={9: AuthenticationError})
    error = table.api_error(9, "bad key", http_status=200, host="x")
    assert type(error) is AuthenticationError and error.hint == ""


def test_a_status_rule_gives_its_class_meaning_and_excerpt() -> None:
    error = TABLE.http_error(400, "<html>nope</html>")
    assert type(error) is BadParameter
    assert error.message == "bad request: '<html>nope</html>'"
    assert (error.code, error.http_status, error.outcome) == (400, 400, Outcome.FAILED)


def test_a_status_rule_without_meaning_is_the_excerpt_alone() -> None:
    error = TABLE.http_error(451, "gone")
    assert type(error) is ApiError and error.message == "'gone'"


def test_a_halt_waits_its_own_pause_and_a_429_the_default() -> None:
    halted = TABLE.http_error(403, "")
    assert type(halted) is TrafficHalted and halted.retry_after == 600.0
    limited = TABLE.http_error(429, "")
    assert type(limited) is RateLimited and limited.retry_after == 2.5


@pytest.mark.parametrize("status", [500, 502, 504, 599])
def test_any_other_5xx_may_have_been_processed(status: int) -> None:
    error = TABLE.http_error(status, "x" * 500)
    assert type(error) is ServiceUnavailable and error.outcome is Outcome.UNKNOWN
    assert error.message == repr("x" * 120)


def test_other_4xx_are_refusals_only_where_the_table_says_so() -> None:
    refused = TABLE.http_error(418, "teapot")
    assert type(refused) is ApiError and refused.message == "refused: 'teapot'"
    assert refused.outcome is Outcome.FAILED
    silent = ErrorTable(venue="quiet", codes={})
    assert silent.http_error(418, "teapot") is None


@pytest.mark.parametrize("status", [200, 204, 302, 399])
def test_statuses_below_400_mean_nothing_on_their_own(status: int) -> None:
    assert TABLE.http_error(status, "{}") is None
