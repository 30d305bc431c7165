"""Client order ids: length and alphabet the venue accepts, uniqueness, time order, determinism."""

from __future__ import annotations

import re
import string
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import asyncexch._ids as ids_module
from asyncexch import is_valid_order_link_id, new_order_link_id, order_link_id_for

ID_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
PREFIX_CHARS = string.ascii_letters + string.digits + "_"
ID_RE = re.compile(r"[A-Za-z0-9_-]+")

prefixes = st.text(alphabet=PREFIX_CHARS, max_size=8)
#: Milliseconds since the epoch from 1970 to far beyond any plausible run.
millis = st.integers(min_value=0, max_value=62**9 - 2)


def is_prefix_valid(prefix: str) -> bool:
    return len(prefix) <= 8 and all(c in PREFIX_CHARS for c in prefix)


def assert_valid_id(value: str, prefix: str) -> None:
    assert 1 <= len(value) <= 36
    assert ID_RE.fullmatch(value)
    assert set(value) <= ID_CHARS
    assert value.startswith(prefix + "-")
    assert is_valid_order_link_id(value)


def fixed_time(ns: int) -> AbstractContextManager[object]:
    """Make ``asyncexch._ids`` see ``ns`` as the current time (and nothing else)."""
    return mock.patch.object(ids_module, "time", SimpleNamespace(time_ns=lambda: ns))


# ---------------------------------------------------------------------------------------------
# new_order_link_id
# ---------------------------------------------------------------------------------------------


@given(prefix=prefixes)
def test_new_id_has_valid_length_and_alphabet(prefix: str) -> None:
    value = new_order_link_id(prefix)
    assert_valid_id(value, prefix)
    # Fixed width after the prefix: "-" + 9 time + 17 random characters.
    assert len(value) == len(prefix) + 1 + 9 + 17


def test_new_id_default_prefix() -> None:
    assert_valid_id(new_order_link_id(), "ax")


def test_new_ids_are_unique_over_ten_thousand_calls() -> None:
    made = [new_order_link_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)


def test_new_ids_unique_even_within_one_millisecond() -> None:
    with fixed_time(1_700_000_000_123_456_789):
        made = [new_order_link_id("p") for _ in range(2_000)]
    assert len(set(made)) == len(made)
    assert len({value[:11] for value in made}) == 1  # same prefix and time part


@given(
    prefix=prefixes,
    earlier=millis,
    gap=st.integers(min_value=1, max_value=10**9),
    sub1=st.integers(0, 999_999),
    sub2=st.integers(0, 999_999),
)
def test_ids_made_in_later_milliseconds_sort_after(
    prefix: str, earlier: int, gap: int, sub1: int, sub2: int
) -> None:
    later = min(earlier + gap, 62**9 - 1)
    assume(later > earlier)
    with fixed_time(earlier * 1_000_000 + sub1):
        first = new_order_link_id(prefix)
    with fixed_time(later * 1_000_000 + sub2):
        second = new_order_link_id(prefix)
    assert first < second
    assert_valid_id(first, prefix)
    assert_valid_id(second, prefix)


@given(ms=millis)
def test_time_part_encodes_the_millisecond(ms: int) -> None:
    # Ids from the same millisecond share the time part; the next millisecond changes it.
    with fixed_time(ms * 1_000_000):
        a = new_order_link_id("")
    with fixed_time(ms * 1_000_000 + 999_999):
        b = new_order_link_id("")
    with fixed_time((ms + 1) * 1_000_000):
        c = new_order_link_id("")
    assert a[1:10] == b[1:10]
    assert c[1:10] > a[1:10]


def test_ids_from_consecutive_milliseconds_sort_in_creation_order() -> None:
    ns = [1_700_000_000_000_000_000 + k * 1_000_000 for k in range(50)]
    made = []
    for value in ns:
        with fixed_time(value):
            made.append(new_order_link_id())
    assert made == sorted(made)


@given(prefix=st.text(max_size=20).filter(lambda p: not is_prefix_valid(p)))
def test_invalid_prefix_is_rejected(prefix: str) -> None:
    says = re.escape(f"prefix must be at most 8 characters of [A-Za-z0-9_], got {prefix!r}")
    with pytest.raises(ValueError, match=f"^{says}$"):
        new_order_link_id(prefix)
    with pytest.raises(ValueError, match=f"^{says}$"):
        order_link_id_for("intent", prefix)


@pytest.mark.parametrize("prefix", ["abcdefghi", "a-b", "a b", "é", "ab\n", "ab.", "-", "ß"])
def test_invalid_prefix_examples(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        new_order_link_id(prefix)
    with pytest.raises(ValueError, match="prefix"):
        order_link_id_for("intent", prefix)


# ---------------------------------------------------------------------------------------------
# order_link_id_for
# ---------------------------------------------------------------------------------------------


@given(key=st.text(min_size=1), prefix=prefixes)
def test_derived_id_is_deterministic_and_valid(key: str, prefix: str) -> None:
    value = order_link_id_for(key, prefix)
    assert value == order_link_id_for(key, prefix)
    assert_valid_id(value, prefix)
    assert len(value) == len(prefix) + 1 + 22


@given(first=st.text(min_size=1), second=st.text(min_size=1))
def test_derived_ids_differ_for_different_keys(first: str, second: str) -> None:
    assume(first != second)
    assert order_link_id_for(first) != order_link_id_for(second)


def test_derived_id_known_value_is_stable_across_runs() -> None:
    # Pinned: a bot that restarts must derive the very same id for the same intent.
    value = order_link_id_for("rebalance-2026-11-21-BTC")
    assert value == order_link_id_for("rebalance-2026-11-21-BTC")
    assert value.startswith("ax-")
    assert order_link_id_for("rebalance-2026-11-21-BTC", "bot1")[5:] == value[3:]


def test_derived_ids_for_near_identical_keys_differ() -> None:
    keys = ["a", "A", "a ", " a", "a\n", "á", "a\u0301", "rebalance-1", "rebalance-2"]
    made = {order_link_id_for(key) for key in keys}
    assert len(made) == len(keys)


@given(key=st.text(min_size=1), first=st.datetimes(timezones=st.just(timezone.utc)))
def test_an_issued_id_is_the_key_and_the_moment(key: str, first: datetime) -> None:
    """For a venue that forgets ids (Bybit Earn: 30 minutes), the intent's moment makes the
    id: the same key and moment give the same id, another millisecond another id."""
    value = order_link_id_for(key, issued=first)
    assert value == order_link_id_for(key, issued=first)
    assert_valid_id(value, "ax")
    assert value != order_link_id_for(key)
    later = (
        first + timedelta(milliseconds=1)
        if first.year < 9999
        else first - timedelta(milliseconds=1)
    )
    assert value != order_link_id_for(key, issued=later)


def test_an_issued_moment_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        order_link_id_for("intent", issued=datetime(2026, 11, 21))


def test_empty_key_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"^key must not be empty$"):
        order_link_id_for("")
    with pytest.raises(ValueError, match=r"^key must not be empty$"):
        order_link_id_for("", "p")


# ---------------------------------------------------------------------------------------------
# is_valid_order_link_id
# ---------------------------------------------------------------------------------------------


def test_is_valid_order_link_id_examples() -> None:
    assert is_valid_order_link_id("a")
    assert is_valid_order_link_id("A" * 36)
    assert is_valid_order_link_id("ax-0123_abc-XYZ")
    assert not is_valid_order_link_id("A" * 37)
    assert not is_valid_order_link_id("")
    for bad in ("a b", "a.b", "a/b", "é", "ab\n", "\nab", "a+b", "a:b", "ab\x00", "\uff41"):
        assert not is_valid_order_link_id(bad), bad


@given(value=st.text(max_size=40))
def test_is_valid_order_link_id_matches_the_rule(value: str) -> None:
    expected = 1 <= len(value) <= 36 and set(value) <= ID_CHARS
    assert is_valid_order_link_id(value) is expected


@given(value=st.text(alphabet="".join(sorted(ID_CHARS)), min_size=1, max_size=36))
def test_every_short_string_of_allowed_characters_is_valid(value: str) -> None:
    assert is_valid_order_link_id(value)
