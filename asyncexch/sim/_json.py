"""How the simulators write numbers and JSON: the way each venue's servers do.

Bybit writes every amount and price as a JSON string of its digits (``"100.5"``); ChainUP mixes
JSON numbers and strings, and prints the values it computes in Java ``double`` as a double
prints (``6857.054400004785``). Amounts are ``Decimal`` throughout: a JSON number is written
from the ``Decimal``'s own digits, never through ``float``; the one float here is the
emulation of the venue's doubles, which is the point of it.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal

__all__ = ["decimal_text", "dumps", "java_double"]


def decimal_text(value: Decimal, places: int | None = None) -> str:
    """``value`` as plain digits (never an exponent), cut (not rounded) to ``places``."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    return format(value, "f")


def java_double(value: Decimal) -> Decimal:
    """``value`` as the venue's Java ``double`` prints it: the shortest text that reads back as
    the nearest double. Exact for up to 15 significant digits; longer values keep up to 17
    digits (``6857.054400004785``), which is what clients must decode exactly."""
    if value == 0:
        return Decimal(0)
    return Decimal(repr(float(value)))


def dumps(value: object, *, ascii_only: bool = False) -> str:
    """Compact JSON where a ``Decimal`` is written as a JSON number from its own digits.

    ``ascii_only`` escapes every non-ASCII character (``json.dumps``' default, which Bybit's
    answers follow); ChainUP sends its Chinese messages as UTF-8. A float, or any other type
    JSON has no exact form for, is refused.
    """
    parts: list[str] = []
    _write(value, parts, _ASCII_TEXT if ascii_only else _TEXT)
    return "".join(parts)


#: A string as ``json.dumps`` writes it, with and without escaping non-ASCII characters
#: (the functions ``json.dumps`` itself ends in, without building an encoder per string).
_ASCII_TEXT: Callable[[str], str] = json.encoder.encode_basestring_ascii
_TEXT: Callable[[str], str] = json.encoder.encode_basestring


def _write(value: object, parts: list[str], text: Callable[[str], str]) -> None:
    # Strings and dictionaries first: they are nearly every value, and no value of theirs is
    # one of the other kinds, so each takes the branch it always took.
    if isinstance(value, str):
        parts.append(text(value))
    elif isinstance(value, dict):
        _write_object(value, parts, text)
    elif value is None:
        parts.append("null")
    elif isinstance(value, bool):
        parts.append("true" if value else "false")
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON form")
        parts.append(format(value, "f"))
    elif isinstance(value, Mapping):
        _write_object(value, parts, text)
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts, text)
        parts.append("]")
    else:  # floats included: they would lose digits
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write_object(
    value: Mapping[object, object], parts: list[str], text: Callable[[str], str]
) -> None:
    parts.append("{")
    for index, (key, item) in enumerate(value.items()):
        if index:
            parts.append(",")
        parts.append(text(str(key)))
        parts.append(":")
        _write(item, parts, text)
    parts.append("}")
