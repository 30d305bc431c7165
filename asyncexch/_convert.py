"""Decoding answers: JSON without floats, and the cattrs converter every venue builds on.

* JSON is parsed with ``parse_float=Decimal``: a number never passes through ``float``.
* ``Decimal`` fields take decimal strings (ASCII digits only: no spaces, underscores or other
  scripts' digits), integers and exact decimals, within :mod:`asyncexch._decimals`' bounds;
  a float, a bool or an empty string is an error.
* ``Decimal | None`` and ``datetime | None`` fields take ``""`` as ``None``, because venues
  send empty strings for "no value".
* Integers (ids, counts, times) fit in 64 bits; a number too big is refused before it is
  converted (``1E+400000`` as an ``int`` would block the event loop for seconds).
* ``datetime`` fields take epoch milliseconds (string or integer) and give aware UTC datetimes.
* ``str``, ``int`` and ``bool`` are strict: ``None`` is not ``"None"``, ``"false"`` is not true.
* attrs classes are read from camelCase keys (or the key in a field's ``metadata["key"]``);
  unknown keys are ignored (venues add fields). Fields marked :data:`LOCAL` are the client's
  own (when and through which clock it received the answer): never read from an answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._decimals import MAX_DIGITS, is_sized, parse_decimal
from .errors import MalformedResponse

__all__ = [
    "LOCAL",
    "datetime_from_millis",
    "decode",
    "loads_exact",
    "make_converter",
    "millis",
    "optional",
    "read_json",
    "to_camel",
]

T = TypeVar("T")
#: 1970-01-01 UTC, the zero of the venues' epoch milliseconds.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CAMEL = re.compile(r"_([a-z0-9])")

#: Integers venues send (ids, counts, times in ms) fit in 64 bits: 19 digits.
_INT_DIGITS = 19
_LARGEST_INT = 10**_INT_DIGITS
_INTEGER = re.compile(r"-?[0-9]{1,19}")
#: An integer amount or price has at most MAX_DIGITS digits.
_LARGEST = 10**MAX_DIGITS

#: ``attrs.field(metadata=LOCAL)``: set by the client, never taken from the venue's answer.
LOCAL = {"local": True}


def to_camel(name: str) -> str:
    """``order_link_id`` -> ``orderLinkId``."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


#: One decoder for every answer: ``json.loads(..., parse_float=...)`` builds a new one per call.
_EXACT = json.JSONDecoder(parse_float=Decimal)


def loads_exact(body: bytes | str) -> Any:
    """Parse JSON with every non-integer number as an exact :class:`~decimal.Decimal`.

    Accepts what :func:`json.loads` accepts and raises what it raises.
    """
    if isinstance(body, (bytes, bytearray)):
        body = body.decode(json.detect_encoding(body), "surrogatepass")
    return _EXACT.decode(body)


def read_json(body: bytes) -> tuple[Any, str]:
    """``(value, "")`` for a body of exact JSON, else ``(None, what the body is)``: ``"an
    empty body"``, ``"truncated JSON"``, ``"an HTML page"``, ``"not JSON"``, ... for the
    error a venue raises about it."""
    try:
        return loads_exact(body), ""
    except json.JSONDecodeError as error:
        text = error.doc.rstrip()
        if not text:
            return None, "an empty body"
        if error.pos >= len(text) or error.msg.startswith("Unterminated string"):
            return None, "truncated JSON"
        return None, "an HTML page" if text.lstrip().startswith("<") else "not JSON"
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except RecursionError:
        return None, "JSON nested too deep"
    except ValueError:  # a number no field can hold (refused while parsing)
        return None, "JSON with a number out of range"


def _decimal(value: object, _: object) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("expected a decimal, got a bool")
    if isinstance(value, str):
        return parse_decimal(value)
    if isinstance(value, int):
        if abs(value) >= _LARGEST:
            raise ValueError("an integer out of range for an amount or price")
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"expected a finite decimal, got {value!r}")
    if not is_sized(value):
        raise ValueError(f"{value!r} is out of range for an amount or price")
    return value


def optional(
    hook: Callable[[object, object], T],
) -> Callable[[object, object], T | None]:
    """``hook`` for an optional field: ``None`` and ``""`` (venues' "no value") are ``None``."""

    def structure(value: object, type_: object) -> T | None:
        if value is None or value == "":
            return None
        return hook(value, type_)

    return structure


def datetime_from_millis(value: object, _: object = None) -> datetime:
    """An aware UTC datetime from epoch milliseconds (an integer, or its digits as a string)."""
    return EPOCH + timedelta(milliseconds=_int(value, int))


def millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (what venues send as a time)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _int(value: object, type_: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a bool")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    elif (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < _INT_DIGITS  # before int(): 1E+400000 would take seconds
        and value == value.to_integral_value()
    ):
        number = int(value)
    else:
        raise TypeError(f"expected an integer, got {str(value)[:60]!r}")
    if abs(number) >= _LARGEST_INT:
        raise ValueError(f"{number} is out of range for an id, a count or a time")
    # The hook is registered for int, so it also serves int-based enums.
    return number if type_ is int else type_(number)


def _str(value: object, type_: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool) and type_ is str:
        text = str(value)  # ids sometimes arrive as JSON numbers; enum values never do
    else:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    # The hook is registered for str, so it also serves str-based enums.
    return text if type_ is str else type_(text)


def _bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise TypeError(f"expected a bool, got {value!r}")


def make_converter() -> cattrs.Converter:
    """A converter with the exact-number and camelCase rules above; venues extend it."""
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_structure_hook(Decimal, _decimal)
    converter.register_structure_hook(Decimal | None, optional(_decimal))
    converter.register_structure_hook(datetime, datetime_from_millis)
    converter.register_structure_hook(datetime | None, optional(datetime_from_millis))
    converter.register_structure_hook(int, _int)
    converter.register_structure_hook(str, _str)
    converter.register_structure_hook(bool, _bool)
    converter.register_unstructure_hook(Decimal, str)
    # A result typed None is an answer whose payload carries nothing (``data: null``).
    converter.register_structure_hook(type(None), lambda value, _: None)

    def camel_case(cls: type[Any]) -> Callable[[Any, Any], Any]:
        renames = {
            a.name: override(omit=True)
            if a.metadata.get("local")
            else override(rename=a.metadata.get("key", to_camel(a.name)))
            for a in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]

    converter.register_structure_hook_factory(attrs.has, camel_case)
    return converter


def decode(converter: cattrs.Converter, data: object, type_: type[T]) -> T:
    """Structure ``data`` as ``type_``, raising :class:`MalformedResponse` naming the field."""
    try:
        return converter.structure(data, type_)
    except Exception as exc:  # cattrs raises ExceptionGroups, KeyError, TypeError...
        problems = "; ".join(cattrs.transform_error(exc))
        raise MalformedResponse(
            f"cannot read the answer as {type_.__name__}: {problems or exc!r}"
        ) from exc
