"""Property tests: decimals and millisecond times survive JSON and the converter exactly."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import cattrs
from hypothesis import given
from hypothesis import strategies as st

from asyncexch._convert import decode, loads_exact, make_converter
from asyncexch._decimals import (
    _MAX_TEXT,
    _TEXT,
    MAX_DIGITS,
    MAX_EXPONENT,
    is_sized,
    parse_decimal,
)
from asyncexch.errors import MalformedResponse

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: 9999-12-31T23:59:59.999Z, the last millisecond a datetime can hold.
MAX_MS = 253_402_300_799_999
#: 0001-01-01T00:00:00Z.
MIN_MS = -62_135_596_800_000

CONVERTER: cattrs.Converter = make_converter()


@st.composite
def finite_decimals(draw: st.DrawFn) -> Decimal:
    """Any decimal an amount or price may be: up to MAX_DIGITS digits, the leading one within
    10**±MAX_EXPONENT, any sign, any exponent in between (trailing zeros kept)."""
    first = draw(st.integers(0, 9))
    rest = [] if first == 0 else draw(st.lists(st.integers(0, 9), max_size=MAX_DIGITS - 1))
    digits = [first, *rest]
    leading = draw(st.integers(-MAX_EXPONENT, MAX_EXPONENT))
    return Decimal((draw(st.integers(0, 1)), tuple(digits), leading - len(digits) + 1))


@st.composite
def oversized_decimals(draw: st.DrawFn) -> Decimal:
    """Decimals no amount needs: too many digits, or a power of ten beyond the bounds."""
    if draw(st.booleans()):
        digits = draw(st.lists(st.integers(1, 9), min_size=MAX_DIGITS + 1, max_size=200))
        return Decimal((0, tuple(digits), draw(st.integers(-MAX_DIGITS, 0))))
    leading = draw(st.sampled_from([MAX_EXPONENT + 1, 400_000, -(MAX_EXPONENT + 1), -400_000]))
    return Decimal((draw(st.integers(0, 1)), (1,), leading))


@attrs.frozen(kw_only=True)
class Holder:
    value: Decimal
    optional_value: Decimal | None = None


@attrs.frozen(kw_only=True)
class Stamped:
    created_time: datetime
    settlement_time: datetime | None = None


def _decode_value(text: str) -> Decimal:
    """``text`` placed as a JSON value of both fields, decoded through the whole path."""
    body = f'{{"value": {text}, "optionalValue": {text}}}'
    holder = decode(CONVERTER, loads_exact(body), Holder)
    assert holder.optional_value is not None
    assert holder.optional_value.as_tuple() == holder.value.as_tuple()
    return holder.value


@given(finite_decimals())
def test_any_decimal_as_a_string_round_trips_exactly(value: Decimal) -> None:
    result = _decode_value(json.dumps(str(value)))
    assert type(result) is Decimal
    assert result == value
    # Same digits, exponent and sign: nothing was rounded or normalised.
    assert result.as_tuple() == value.as_tuple()


@given(finite_decimals())
def test_any_decimal_as_json_number_text_round_trips_exactly(value: Decimal) -> None:
    text = str(value)  # valid JSON number text for every finite Decimal ("1E+5", "-0.001")
    result = _decode_value(text)
    assert type(result) is Decimal
    assert result == value
    if "." in text or "E" in text:
        # Parsed by parse_float=Decimal: the exact digits, never a float.
        assert result.as_tuple() == value.as_tuple()


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=8, min_value=-(10**12), max_value=10**12
    )
)
def test_plain_notation_prices_round_trip_as_json_numbers(value: Decimal) -> None:
    # Venues send plain notation ("68403.67000000"), never exponents.
    text = format(value, "f")
    result = _decode_value(text)
    assert result == value
    assert result.as_tuple() == Decimal(text).as_tuple()


@given(st.integers(min_value=MIN_MS, max_value=MAX_MS))
def test_any_int_millis_round_trips_to_an_aware_utc_datetime(ms: int) -> None:
    for raw in (ms, str(ms)):
        stamped = decode(CONVERTER, {"createdTime": raw, "settlementTime": raw}, Stamped)
        moment = stamped.created_time
        assert moment.utcoffset() == timedelta(0)
        assert moment == EPOCH + timedelta(milliseconds=ms)
        assert (moment - EPOCH) // timedelta(milliseconds=1) == ms
        assert stamped.settlement_time == moment


@given(st.integers(min_value=MIN_MS, max_value=MAX_MS))
def test_millis_in_a_json_body_round_trip(ms: int) -> None:
    body = f'{{"createdTime": {ms}, "settlementTime": "{ms}"}}'
    stamped = decode(CONVERTER, loads_exact(body), Stamped)
    assert stamped.created_time == stamped.settlement_time == EPOCH + timedelta(milliseconds=ms)


@given(oversized_decimals(), st.booleans())
def test_a_decimal_no_amount_needs_is_malformed(value: Decimal, as_string: bool) -> None:
    text = json.dumps(str(value)) if as_string else str(value)
    try:
        _decode_value(text)
    except MalformedResponse:
        return
    raise AssertionError(f"{text[:40]} was accepted")


@st.composite
def decimal_texts(draw: st.DrawFn) -> str:
    """Decimal text as venues write it, around every bound: 1-60 digits, a point anywhere or
    none, a sign, an exponent or none."""
    size = draw(st.one_of(st.integers(1, 60), st.integers(MAX_DIGITS - 2, MAX_DIGITS + 3)))
    digits = draw(st.text(alphabet="0123456789", min_size=size, max_size=size))
    if draw(st.booleans()):  # zeros after the first digit: a long tail of places
        digits = digits[:1] + "0" * (size - 1)
    point = draw(st.one_of(st.none(), st.integers(0, len(digits))))
    text = digits if point is None else f"{digits[:point]}.{digits[point:]}"
    if text == ".":
        text = "0."
    sign = draw(st.sampled_from(["", "-"]))
    exponent = draw(st.one_of(st.just(""), st.integers(-60, 60).map(lambda e: f"e{e:+d}")))
    return sign + text + exponent


@given(
    st.one_of(
        decimal_texts(), st.from_regex(_TEXT, fullmatch=True).filter(lambda text: len(text) <= 90)
    )
)
def test_a_decimal_is_read_exactly_when_it_is_sized(text: str) -> None:
    # The short plain text is taken without counting its digits: the same verdict as counting.
    sized = is_sized(Decimal(text))
    try:
        value = parse_decimal(text)
    except ValueError:
        assert not sized or len(text) > _MAX_TEXT
        return
    assert sized
    assert value.as_tuple() == Decimal(text).as_tuple()
