"""What every venue's reader shares: the answer's headers read as numbers."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncexch._venue import header_integers


def answer(*headers: tuple[str, str]) -> httpx.Response:
    return httpx.Response(200, headers=list(headers))


def one_by_one(response: httpx.Response, name: str) -> int | None:
    """The reading before issue 19, one httpx lookup per name: the oracle."""
    value = response.headers.get(name, "").strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 16):
        return None
    return int(value)


def test_each_name_is_read_in_any_case_in_the_order_asked() -> None:
    response = answer(("Timenow", "1700000000000"), ("x-bapi-limit", "50"), ("Other", "x"))

    assert header_integers(response, "X-Bapi-Limit", "TIMENOW", "Missing") == [
        50,
        1_700_000_000_000,
        None,
    ]


@pytest.mark.parametrize(
    "value",
    ["", "-1", "1.5", "12a", "²", "\u0661", "1" * 17, "0x10", "1 2"],
)
def test_what_is_not_a_number_of_at_most_16_digits_is_none(value: str) -> None:
    response = httpx.Response(200, headers=[(b"Limit", value.encode())])  # as sent: UTF-8

    assert header_integers(response, "Limit") == [None]


def test_surrounding_blanks_are_ignored_and_16_digits_are_read() -> None:
    assert header_integers(answer(("Limit", " 9999999999999999 ")), "Limit") == [
        9_999_999_999_999_999
    ]


def test_a_repeated_header_is_none_as_httpx_joins_the_values() -> None:
    response = answer(("Timenow", "1"), ("timenow", "2"))

    assert header_integers(response, "Timenow") == [None] == [one_by_one(response, "Timenow")]


NAMES = ["Timenow", "X-Bapi-Limit", "x-bapi-limit", "Other"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(NAMES),
            st.one_of(
                st.integers(min_value=0, max_value=10**18).map(str),
                st.sampled_from(["", " 7 ", "-3", "1e3", "00042", "\t5"]),
                st.text(alphabet="0123456789 ab-", max_size=20),
            ),
        ),
        max_size=6,
    )
)
def test_the_headers_read_once_agree_with_one_lookup_per_name(
    headers: list[tuple[str, str]],
) -> None:
    response = answer(*headers)
    asked = ["Timenow", "X-Bapi-Limit", "Other", "Absent"]

    assert header_integers(response, *asked) == [one_by_one(response, name) for name in asked]
