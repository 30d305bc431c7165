"""How the simulators write numbers and JSON (``asyncexch.sim._json``), checked against the
standard library's JSON and ``float`` where those are exact."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncexch.sim._json import decimal_text, dumps, java_double

#: JSON without floats: what both venues' answers are made of, apart from Decimals.
plain_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)


@given(plain_json)
def test_plain_json_is_written_as_the_standard_library_writes_it(value: Any) -> None:
    assert dumps(value, ascii_only=True) == json.dumps(value, separators=(",", ":"))
    assert dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_non_ascii_text_is_escaped_only_when_asked() -> None:
    assert dumps({"msg": "成功"}) == '{"msg":"成功"}'
    assert dumps({"msg": "成功"}, ascii_only=True) == '{"msg":"\\u6210\\u529f"}'


@given(finite_decimals)
def test_a_decimal_is_a_json_number_of_its_own_digits(value: Decimal) -> None:
    written = dumps([value])
    assert "e" not in written.lower()
    [read] = json.loads(written, parse_float=Decimal, parse_int=Decimal)
    assert read == value


def test_a_decimal_keeps_digits_a_float_would_lose() -> None:
    assert dumps({"price": Decimal("68403.60000000000001")}) == '{"price":68403.60000000000001}'


@pytest.mark.parametrize("value", [1.5, float("nan"), Decimal("NaN"), Decimal("Infinity"), {1}])
def test_what_json_cannot_hold_exactly_is_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        dumps({"x": value})


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("1E+3"), None, "1000"),
        (Decimal("0.00000001"), None, "0.00000001"),
        (Decimal("1.23456789"), 4, "1.2345"),  # cut, not rounded
        (Decimal("-1.23456789"), 4, "-1.2345"),
        (Decimal("5"), 2, "5.00"),
    ],
)
def test_decimal_text_is_plain_digits_cut_to_places(
    value: Decimal, places: int | None, text: str
) -> None:
    assert decimal_text(value, places) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_java_double_prints_as_the_shortest_text_of_the_nearest_double(number: float) -> None:
    value = Decimal(number)  # the exact binary value, often 50 digits long
    printed = java_double(value)
    assert float(printed) == number
    assert printed == (Decimal(0) if number == 0 else Decimal(repr(number)))


def test_a_java_double_of_a_long_product_keeps_17_digits() -> None:
    assert java_double(Decimal("6857.0544000047849")) == Decimal("6857.054400004785")
    assert java_double(Decimal("0.1")) == Decimal("0.1")
