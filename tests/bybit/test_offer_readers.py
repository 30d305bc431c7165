"""The stream's fast readers of compact items against the converter (the oracle): on any item,
valid or not, the same item and the same quote (equal and written alike: ``1.50`` stays
``1.50``), or the same refusal, however many items a reader has read before."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncexch import MalformedResponse
from asyncexch._convert import decode
from asyncexch.bybit import _offer_readers
from asyncexch.bybit._offer_readers import compact_reader
from asyncexch.bybit._offer_topics import OFFER_TOPICS, OfferTopic
from asyncexch.bybit._venue import BybitVenue
from tests.builders.fake_stream import (
    DISCOUNT_BUY_ITEM,
    DOUBLE_WIN_ITEM,
    DUAL_ASSETS_ITEM,
    SMART_LEVERAGE_ITEM,
)

CONVERTER = BybitVenue.converter
#: One reader per topic for the whole run: what it remembers from earlier examples is tested.
READERS = {name: compact_reader(CONVERTER, topic.item) for name, topic in OFFER_TOPICS.items()}
EXAMPLES = {
    "earn.smartleverage.offers": SMART_LEVERAGE_ITEM,
    "earn.dualassets.offers": DUAL_ASSETS_ITEM,
    "earn.doublewin.offers": DOUBLE_WIN_ITEM,
    "earn.discountbuy.offers": DISCOUNT_BUY_ITEM,
}

#: Text every field type reads (digits), text some read, and text none should.
TEXT = st.one_of(
    st.integers(0, 2**63).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["1.50", "1.5", "1E+2", "-0", "0.00000001", "0", "", "abc", "1e99999"]),
    st.sampled_from([" 1", "1_0", "\u0661", "+1", "1.", ".5", "1e-41", "0x10"]),
)
#: Values as JSON decodes them (``Decimal`` for a number with a point), and odd ones.
VALUE = st.one_of(
    TEXT,
    TEXT,
    st.integers(-(2**70), 2**70),
    # Equal values written otherwise, or of another type: one must not be taken for another.
    st.sampled_from([Decimal("1.50"), Decimal("1.5"), Decimal("1E+400000"), None, 1.5]),
    st.sampled_from([1, True, 0, False, Decimal("1"), Decimal("1.0")]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
#: Text every field type reads.
DIGITS = st.integers(0, 2**40).map(str)
OFFER = st.dictionaries(st.sampled_from(["s", "a", "m", "x", "z"]), st.one_of(DIGITS, VALUE))
FIELD = st.one_of(VALUE, st.lists(OFFER, max_size=3))


@st.composite
def raw_items(draw: st.DrawFn) -> tuple[str, Any]:
    """A topic and an item for it: its docs example with some keys changed, dropped or
    added (mostly an item of the right shape), or a value of another shape."""
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    item = copy.deepcopy(EXAMPLES[name])
    for key in draw(st.lists(st.sampled_from([*item, "y"]), max_size=2)):
        if draw(st.booleans()) and key in item:
            del item[key]
        else:
            item[key] = draw(st.one_of(DIGITS, FIELD))
    return name, draw(st.one_of(st.just(item), st.just(item), st.just(item), VALUE))


def outcome(read: Any, raw: Any) -> tuple[str, Any]:
    try:
        return "read", read(raw)
    except MalformedResponse as refusal:
        return "refused", str(refusal)


def quote_outcome(topic: OfferTopic[Any], item: Any) -> tuple[str, Any]:
    (one,) = [item] if topic.per_product is None else topic.per_product([item])
    return outcome(lambda it: topic.to_quote(it, None, None), one)


@settings(max_examples=600)
@given(raw_items())
def test_a_fast_reader_reads_and_refuses_as_the_converter(case: tuple[str, Any]) -> None:
    name, raw = case
    topic = OFFER_TOPICS[name]
    fast = outcome(READERS[name], raw)
    oracle = outcome(lambda it: decode(CONVERTER, it, topic.item), raw)
    assert fast == oracle
    assert repr(fast) == repr(oracle)  # Decimal("1.50") == Decimal("1.5"): compare the text
    if fast[0] == "read":
        assert repr(quote_outcome(topic, fast[1])) == repr(quote_outcome(topic, oracle[1]))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_docs_examples_read_fast_as_by_the_converter(name: str) -> None:
    topic = OFFER_TOPICS[name]
    read = compact_reader(CONVERTER, topic.item)
    for _ in range(2):  # the second time from what it remembers
        item = read(EXAMPLES[name])
        assert repr(item) == repr(decode(CONVERTER, EXAMPLES[name], topic.item))


def test_a_reader_forgets_when_full_and_still_reads_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_offer_readers, "REMEMBERED", 3)
    topic = OFFER_TOPICS["earn.doublewin.offers"]
    read = compact_reader(CONVERTER, topic.item)
    items = [dict(DOUBLE_WIN_ITEM, l=f"{n}.50", e=str(1775111431407 + n)) for n in range(10)]
    for item in items + items:
        assert repr(read(item)) == repr(decode(CONVERTER, item, topic.item))


def test_a_remembered_value_is_not_given_for_an_equal_one_written_otherwise() -> None:
    topic = OFFER_TOPICS["earn.doublewin.offers"]
    read = compact_reader(CONVERTER, topic.item)
    assert str(read(dict(DOUBLE_WIN_ITEM, l="1.5")).leverage) == "1.5"
    assert str(read(dict(DOUBLE_WIN_ITEM, l="1.50")).leverage) == "1.50"
    assert str(read(dict(DOUBLE_WIN_ITEM, l=Decimal("1.5"))).leverage) == "1.5"
    assert str(read(dict(DOUBLE_WIN_ITEM, l=Decimal("1.500"))).leverage) == "1.500"
    assert read(dict(DOUBLE_WIN_ITEM, l=1)).leverage == 1
    with pytest.raises(MalformedResponse, match="leverage"):
        read(dict(DOUBLE_WIN_ITEM, l=True))
