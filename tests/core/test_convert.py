"""Decoding answers: exact JSON numbers and the strict cattrs converter (asyncexch._convert)."""

from __future__ import annotations

import enum
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import cattrs
import pytest

from asyncexch import MalformedResponse
from asyncexch._convert import decode, loads_exact, make_converter, to_camel

UTC = timezone.utc


@attrs.frozen(kw_only=True)
class Amounts:
    amount: Decimal
    maybe: Decimal | None = None


@attrs.frozen(kw_only=True)
class Times:
    created_time: datetime
    expire_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Scalars:
    order_id: str
    count: int
    flag: bool


@attrs.frozen(kw_only=True)
class Renamed:
    items: list[int] = attrs.field(metadata={"key": "list"})
    next_page_cursor: str = ""


class Colour(str, enum.Enum):
    RED = "Red"
    BLUE = "Blue"


@attrs.frozen(kw_only=True)
class Painted:
    colour: Colour
    label: str


@pytest.fixture
def converter() -> cattrs.Converter:
    return make_converter()


# --- loads_exact ----------------------------------------------------------------------------


def test_loads_exact_parses_fractional_numbers_as_exact_decimals() -> None:
    data = loads_exact('{"pnl": 6857.054400004785, "tiny": 0.1, "exp": 1.5e-7}')
    assert type(data["pnl"]) is Decimal
    assert data["pnl"] == Decimal("6857.054400004785")
    assert str(data["pnl"]) == "6857.054400004785"
    assert data["tiny"] == Decimal("0.1")  # a float 0.1 would be 0.1000000000000000055...
    assert data["exp"] == Decimal("1.5E-7")


def test_loads_exact_keeps_integers_as_ints_and_accepts_bytes() -> None:
    data = loads_exact(b'{"n": 12345678901234567890123, "s": "6857.054400004785"}')
    assert data["n"] == 12345678901234567890123
    assert type(data["n"]) is int
    assert data["s"] == "6857.054400004785"


@pytest.mark.parametrize(
    "body",
    [
        '{"a": [1, 2.5, "x", null, true]}'.encode("utf-16"),  # encodings json.loads detects
        '{"a": 1.25}'.encode("utf-32-le"),
        b"\xef\xbb\xbf{}",  # UTF-8 BOM: json.loads refuses bytes with it, str with it too
        "\ufeff{}",
        b'{"a": "\xff"}',  # not UTF-8
        b"",
        b"[1, 2",
        b'{"a": NaN, "b": -Infinity}',
    ],
)
def test_loads_exact_accepts_and_refuses_what_json_loads_does(body: bytes | str) -> None:
    try:
        expected: object = json.loads(body, parse_float=Decimal)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        with pytest.raises(type(error)):
            loads_exact(body)
    else:
        assert repr(loads_exact(body)) == repr(expected)


# --- Decimal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"6857.054400004785"', Decimal("6857.054400004785")),
        ("6857.054400004785", Decimal("6857.054400004785")),
        ('"0.1"', Decimal("0.1")),
        ("0.1", Decimal("0.1")),
        ("100", Decimal("100")),
        ('"100"', Decimal("100")),
        ("12345678901234567890123", Decimal("12345678901234567890123")),
        ('"-0.00000001"', Decimal("-0.00000001")),
        ("1E-8", Decimal("1E-8")),
    ],
)
def test_decimal_from_strings_ints_and_json_numbers_is_exact(
    converter: cattrs.Converter, raw: str, expected: Decimal
) -> None:
    result = decode(converter, loads_exact(f'{{"amount": {raw}}}'), Amounts)
    assert type(result.amount) is Decimal
    assert result.amount == expected
    assert result.amount.as_tuple() == expected.as_tuple()


def test_decimal_keeps_trailing_zeros_of_strings(converter: cattrs.Converter) -> None:
    result = decode(converter, {"amount": "100.2500"}, Amounts)
    assert str(result.amount) == "100.2500"


@pytest.mark.parametrize(
    "value",
    [0.1, 100.0, True, False, "abc", "NaN", "nan", "Infinity", "-Infinity", "sNaN", "", None, [1]],
)
def test_decimal_refuses_floats_bools_and_non_numbers(
    converter: cattrs.Converter, value: object
) -> None:
    with pytest.raises(MalformedResponse) as caught:
        decode(converter, {"amount": value}, Amounts)
    assert "amount" in str(caught.value)


def test_json_nan_literal_is_refused(converter: cattrs.Converter) -> None:
    # json.loads turns the non-standard NaN literal into a float; the converter must refuse it.
    with pytest.raises(MalformedResponse, match="amount"):
        decode(converter, loads_exact('{"amount": NaN}'), Amounts)


@pytest.mark.parametrize("value", ["", None])
def test_optional_decimal_takes_empty_string_and_null_as_none(
    converter: cattrs.Converter, value: object
) -> None:
    result = decode(converter, {"amount": "1", "maybe": value}, Amounts)
    assert result.maybe is None


def test_optional_decimal_still_reads_values_and_refuses_floats(
    converter: cattrs.Converter,
) -> None:
    assert decode(converter, {"amount": "1", "maybe": "2.50"}, Amounts).maybe == Decimal("2.50")
    with pytest.raises(MalformedResponse, match="maybe"):
        decode(converter, {"amount": "1", "maybe": 2.5}, Amounts)
    with pytest.raises(MalformedResponse, match="maybe"):
        decode(converter, {"amount": "1", "maybe": "NaN"}, Amounts)


# --- datetime -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1775038326000", 1775038326000])
def test_datetime_from_epoch_millis_is_aware_utc(
    converter: cattrs.Converter, value: object
) -> None:
    result = decode(converter, {"createdTime": value}, Times)
    assert result.created_time == datetime(2026, 4, 1, 10, 12, 6, tzinfo=UTC)
    assert result.created_time.tzinfo is not None
    assert result.created_time.utcoffset() == timedelta(0)


def test_datetime_keeps_milliseconds(converter: cattrs.Converter) -> None:
    result = decode(converter, {"createdTime": "1775036984839"}, Times)
    assert result.created_time.microsecond == 839_000
    assert result.created_time.timestamp() == 1775036984.839


@pytest.mark.parametrize("value", ["", None])
def test_optional_datetime_takes_empty_string_as_none(
    converter: cattrs.Converter, value: object
) -> None:
    result = decode(converter, {"createdTime": "0", "expireAt": value}, Times)
    assert result.expire_at is None
    assert result.created_time == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "abc", "12.5", 1.7e12, True, None])
def test_required_datetime_refuses_non_millis(converter: cattrs.Converter, value: object) -> None:
    with pytest.raises(MalformedResponse, match=r"created_time|createdTime"):
        decode(converter, {"createdTime": value}, Times)


# --- strict str / int / bool ----------------------------------------------------------------


def test_strict_scalars_read_their_own_types(converter: cattrs.Converter) -> None:
    result = decode(converter, {"orderId": "a1", "count": 3, "flag": True}, Scalars)
    assert result == Scalars(order_id="a1", count=3, flag=True)


def test_int_from_integer_string(converter: cattrs.Converter) -> None:
    assert decode(converter, {"orderId": "a", "count": "-42", "flag": False}, Scalars).count == -42


def test_str_accepts_integer_ids(converter: cattrs.Converter) -> None:
    result = decode(converter, {"orderId": 12999, "count": 1, "flag": True}, Scalars)
    assert result.order_id == "12999"


def test_none_never_becomes_the_string_none(converter: cattrs.Converter) -> None:
    with pytest.raises(MalformedResponse, match=r"order_id|orderId"):
        decode(converter, {"orderId": None, "count": 1, "flag": True}, Scalars)


@pytest.mark.parametrize("value", [1.5, True, ["a"], {"a": 1}])
def test_str_refuses_non_strings(converter: cattrs.Converter, value: object) -> None:
    with pytest.raises(MalformedResponse, match=r"order_id|orderId"):
        decode(converter, {"orderId": value, "count": 1, "flag": True}, Scalars)


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("true", True)])
def test_bool_from_lowercase_strings(
    converter: cattrs.Converter, value: str, expected: bool
) -> None:
    result = decode(converter, {"orderId": "a", "count": 1, "flag": value}, Scalars)
    assert result.flag is expected


@pytest.mark.parametrize("value", ["False", "True", "0", "1", "", "yes", 0, 1, None])
def test_bool_refuses_everything_else(converter: cattrs.Converter, value: object) -> None:
    with pytest.raises(MalformedResponse, match="flag"):
        decode(converter, {"orderId": "a", "count": 1, "flag": value}, Scalars)


@pytest.mark.parametrize("value", ["12.5", 12.5, Decimal("12.5"), True, False, "", "1e3", None])
def test_int_refuses_fractions_bools_and_non_numbers(
    converter: cattrs.Converter, value: object
) -> None:
    with pytest.raises(MalformedResponse, match="count"):
        decode(converter, {"orderId": "a", "count": value, "flag": True}, Scalars)


def test_str_based_enums_decode_to_members(converter: cattrs.Converter) -> None:
    # The strict str hook must not swallow str-based enums (they would come back as plain str).
    result = decode(converter, {"colour": "Blue", "label": "x"}, Painted)
    assert result.colour is Colour.BLUE
    # ...and the enum field must not make the str field lax.
    with pytest.raises(MalformedResponse, match="label"):
        decode(converter, {"colour": "Blue", "label": None}, Painted)


# --- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("order_link_id", "orderLinkId"),
        ("amount", "amount"),
        ("est_redeem_amount", "estRedeemAmount"),
        ("time_second", "timeSecond"),
    ],
)
def test_to_camel(name: str, camel: str) -> None:
    assert to_camel(name) == camel


def test_camel_case_keys_are_read_and_snake_case_keys_are_not(
    converter: cattrs.Converter,
) -> None:
    assert decode(converter, {"createdTime": "0"}, Times).created_time == datetime(
        1970, 1, 1, tzinfo=UTC
    )
    with pytest.raises(MalformedResponse, match=r"created_time|createdTime"):
        decode(converter, {"created_time": "0"}, Times)


def test_unknown_keys_are_ignored(converter: cattrs.Converter) -> None:
    result = decode(
        converter,
        {"orderId": "a", "count": 1, "flag": True, "newField": 1.5, "other": {"x": None}},
        Scalars,
    )
    assert result == Scalars(order_id="a", count=1, flag=True)


def test_metadata_key_renames_a_field(converter: cattrs.Converter) -> None:
    result = decode(converter, {"list": [1, "2"], "nextPageCursor": "c1"}, Renamed)
    assert result == Renamed(items=[1, 2], next_page_cursor="c1")
    with pytest.raises(MalformedResponse, match=r"items|list"):
        decode(converter, {"items": [1]}, Renamed)


# --- decode errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": 1.5}, "amount"),
        ({}, "amount"),
        ({"amount": "1", "maybe": "x"}, "maybe"),
    ],
)
def test_decode_wraps_failures_in_malformed_response_naming_the_field(
    converter: cattrs.Converter, data: object, field: str
) -> None:
    with pytest.raises(MalformedResponse) as caught:
        decode(converter, data, Amounts)
    message = str(caught.value)
    assert field in message
    assert "Amounts" in message
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("data", ["not an object", None, [1, 2], 3])
def test_decode_wraps_a_wrong_shape(converter: cattrs.Converter, data: object) -> None:
    with pytest.raises(MalformedResponse, match="Amounts"):
        decode(converter, data, Amounts)


def test_decode_names_a_nested_field(converter: cattrs.Converter) -> None:
    with pytest.raises(MalformedResponse) as caught:
        decode(converter, {"list": [1, "x"]}, Renamed)
    assert str(caught.value) == (
        "cannot read the answer as Renamed: 'invalid value for type, expected int @ $.items[1]'"
    )
