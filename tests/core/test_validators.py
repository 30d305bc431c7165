"""The validator factories and the id rule: one check per idea, refusals naming the field."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from asyncexch import ConfigurationError, InvalidRequest, RateLimit, RetryPolicy
from asyncexch._ids import IdRule, new_order_link_id, order_link_id_for
from asyncexch._validators import (
    flag,
    integral,
    one_of,
    optional,
    positive_decimal,
    seconds,
    text,
    whole,
)


def refusal(check: object, value: object, field: str = "field") -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        check.at(field, value)  # type: ignore[attr-defined]
    assert caught.value.field == field
    return caught.value


def test_positive_decimal_names_the_checked_field_and_says_what_to_write() -> None:
    positive_decimal().at("amount", Decimal("0.1"))
    error = refusal(positive_decimal(), 0.1, "amount")
    assert str(error) == (
        "amount: must be a decimal.Decimal, never a float (a float is not exact): "
        "write Decimal('0.1'), got 0.1"
    )
    assert refusal(positive_decimal(), Decimal(0)).message == "must be a finite amount > 0, got 0"


@pytest.mark.parametrize("value", [Decimal("2"), Decimal("2.000"), Decimal("1E+3")])
def test_integral_accepts_whole_decimals(value: Decimal) -> None:
    integral("contracts").at("volume", value)


@pytest.mark.parametrize("value", [Decimal("2.5"), Decimal("NaN"), Decimal("Infinity"), 2])
def test_integral_refuses_fractions_and_non_decimals(value: object) -> None:
    message = refusal(integral("contracts"), value, "volume").message
    assert message == f"must be a whole number of contracts, got {value}"


@pytest.mark.parametrize("value", [1, 7, 20])
def test_whole_accepts_integers_in_range(value: int) -> None:
    whole(high=20).at("page_size", value)


@pytest.mark.parametrize("value", [0, 21, -1, True, 1.0, "3", None])
def test_whole_refuses_out_of_range_bools_and_other_types(value: object) -> None:
    message = refusal(whole(high=20), value, "page_size").message
    assert message == f"must be an integer 1-20, got {value!r}"


def test_whole_without_an_upper_bound_says_so() -> None:
    whole().at("id", 10**30)
    assert refusal(whole(), 0).message == "must be an integer >= 1, got 0"
    assert refusal(whole(low=0), -1).message == "must be an integer >= 0, got -1"


@pytest.mark.parametrize("value", ["", None, 5, b"x"])
def test_text_refuses_empty_and_non_strings(value: object) -> None:
    assert refusal(text(), value).message == f"must be a non-empty string, got {value!r}"


def test_one_of_lists_the_choices() -> None:
    one_of("FUND", "UNIFIED").at("account_type", "FUND")
    two = refusal(one_of("FUND", "UNIFIED"), "SPOT").message
    assert two == "must be 'FUND' or 'UNIFIED', got 'SPOT'"
    three = refusal(one_of("A", "B", "C"), "D").message
    assert three == "must be 'A', 'B' or 'C', got 'D'"


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_flag_accepts_only_bools(value: object) -> None:
    flag().at("flag", True)
    assert refusal(flag(), value).message == f"must be a bool, got {value!r}"


def test_seconds_bounds_and_types() -> None:
    seconds().at("timeout", 0.5)
    seconds(allow_zero=True).at("timeout", 0)
    for bad in (0, -1, float("inf"), float("nan"), True, "1", 10**400):
        refusal(seconds(), bad)
    assert refusal(seconds(allow_zero=True), -1).message == (
        "must be a finite number of seconds >= 0, got -1"
    )


def test_optional_lets_none_through_and_checks_anything_else() -> None:
    optional(whole()).at("level", None)
    optional(whole()).at("level", 3)
    assert refusal(optional(whole()), 0, "level").message == "must be an integer >= 1, got 0"
    # Without optional(), None is refused like any other wrong value.
    assert refusal(whole(), None).message == "must be an integer >= 1, got None"


def test_checks_are_attrs_validators_naming_the_attribute() -> None:
    @attrs.frozen
    class Order:
        amount: Decimal = attrs.field(validator=positive_decimal())
        level: int | None = attrs.field(default=None, validator=optional(whole()))

    Order(Decimal("1"))
    with pytest.raises(InvalidRequest) as caught:
        Order(Decimal("1"), level=0)
    assert (caught.value.field, caught.value.message) == ("level", "must be an integer >= 1, got 0")
    with pytest.raises(InvalidRequest) as caught:
        Order(1)  # type: ignore[arg-type]
    assert caught.value.field == "amount"


# --- id rules -----------------------------------------------------------------------------


def test_an_id_rule_bounds_length_and_alphabet() -> None:
    rule = IdRule(40)
    assert rule.is_valid("a" * 40) and not rule.is_valid("a" * 41)
    assert not rule.is_valid("") and not rule.is_valid("has space") and not rule.is_valid(None)
    assert IdRule(36).is_valid("a" * 36) and not IdRule(36).is_valid("a" * 37)
    narrow = IdRule(10, alphabet="0-9")
    assert narrow.is_valid("0123456789") and not narrow.is_valid("abc")


def test_an_id_rule_refuses_with_what_an_id_must_be() -> None:
    error = refusal(IdRule(36).check(), "x" * 37, "order_link_id")
    assert error.message == f"must be 1-36 characters of [A-Za-z0-9_-], got {'x' * 37!r}"


def test_every_generated_id_fits_a_36_character_rule() -> None:
    rule = IdRule(36)
    assert rule.is_valid(new_order_link_id("abcdefgh"))
    assert rule.is_valid(order_link_id_for("intent", "abcdefgh"))


def test_an_id_rule_says_how_long_the_venue_remembers_an_id() -> None:
    assert IdRule(36).remembered is None
    assert IdRule(36, remembered=timedelta(minutes=30)).remembered == timedelta(minutes=30)
    assert IdRule(36) == IdRule(36) and IdRule(36) != IdRule(40)


def test_a_setting_is_refused_as_a_configuration_error_in_the_settings_words() -> None:
    with pytest.raises(ConfigurationError) as caught:
        whole().setting().at("max_attempts", 0)
    assert str(caught.value) == "max_attempts must be an integer >= 1, got 0"
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ConfigurationError, match=r"^per must be a finite number > 0, got inf$"):
        RateLimit(5, per=math.inf)
    with pytest.raises(ConfigurationError, match=r"^guard must be a finite number >= 0, got -1$"):
        RateLimit(5, guard=-1)
    with pytest.raises(ConfigurationError, match=r"^backoff must be a finite number >= 0"):
        RetryPolicy(backoff=math.nan)
    # An int too large for a float is not finite where time is computed (and no OverflowError).
    with pytest.raises(ConfigurationError, match=r"^per must be a finite number > 0"):
        RateLimit(5, per=10**400)


def test_optional_keeps_the_kind_of_refusal() -> None:
    with pytest.raises(ConfigurationError, match=r"^level must be an integer >= 1, got 0$"):
        optional(whole().setting()).at("level", 0)
