"""Exact decimals as money needs them: strictly read, bounded in size, counted in places.

No amount or price any venue deals in needs more than :data:`MAX_DIGITS` significant digits or
a power of ten beyond ±:data:`MAX_EXPONENT`. Bigger numbers are refused before anything costs
time or memory: ``Decimal("1E+999999999999999999")`` is a few bytes, but written out in plain
notation (as venues read it) or turned into an ``int`` it would take the process's memory or
block its event loop for seconds.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import InvalidRequest

__all__ = [
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "check_positive",
    "decimal_places",
    "is_sized",
    "parse_decimal",
    "plain",
]

#: The most significant digits an amount or price may have.
MAX_DIGITS = 40
#: The largest power of ten (either way) of an amount or price's leading digit.
MAX_EXPONENT = 40
#: A decimal as venues write one: ASCII digits, one optional point and exponent, no spaces,
#: underscores or other scripts' digits (which ``Decimal()`` itself would take).
_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,4})?")
#: Longer text than any sized decimal needs (digits, zeros of a small exponent, sign, point).
_MAX_TEXT = MAX_DIGITS + MAX_EXPONENT + 8
#: Plain text (no exponent) this long or shorter is always sized (see parse_decimal).
_SIZED_PLAIN = min(MAX_DIGITS, MAX_EXPONENT)


def is_sized(value: Decimal) -> bool:
    """Whether a finite ``value`` is within :data:`MAX_DIGITS` and :data:`MAX_EXPONENT`."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False
    return len(digits) <= MAX_DIGITS and -MAX_EXPONENT <= exponent + len(digits) - 1 <= MAX_EXPONENT


def check_positive(field: str, value: object) -> Decimal:
    """``value`` if it is a sized, finite ``Decimal`` above zero; else an ``InvalidRequest``
    naming ``field`` and saying what to write instead."""
    if not isinstance(value, Decimal):
        raise InvalidRequest(field, _not_decimal(value))
    if not value.is_finite() or value <= 0:
        raise InvalidRequest(field, f"must be a finite amount > 0, got {value}")
    if not is_sized(value):
        raise InvalidRequest(
            field,
            f"has more than {MAX_DIGITS} significant digits or a magnitude beyond "
            f"1E±{MAX_EXPONENT}: no amount or price needs that",
        )
    return value


def _not_decimal(value: object) -> str:
    """Why ``value`` is refused as money, with the ``Decimal`` to write when there is one."""
    if isinstance(value, float):
        # repr gives the shortest text that reads back as this float: what the caller typed.
        return (
            f"must be a decimal.Decimal, never a float (a float is not exact): "
            f"write Decimal({repr(value)!r}), got {value!r}"
        )
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        text = str(value).strip()
        if _TEXT.fullmatch(text):
            return f"must be a decimal.Decimal: write Decimal({text!r}), got {value!r}"
    return f"must be a decimal.Decimal, got {value!r}"


def plain(value: Decimal) -> str:
    """``value`` as venues read a decimal: plain notation (``"1000"``, ``"0.00000001"``),
    never an exponent or a float's rounding."""
    return format(value, "f")


def parse_decimal(text: str) -> Decimal:
    """The decimal ``text`` writes, read strictly and sized; ``ValueError`` otherwise."""
    if len(text) > _MAX_TEXT or not _TEXT.fullmatch(text):
        raise ValueError(f"expected a decimal number, got {text[:60]!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError(f"expected a decimal number, got {text[:60]!r}") from None
    # Without an exponent, MAX_DIGITS characters hold at most that many digits, the leading
    # one within 10**±MAX_DIGITS: sized without counting (the common case, ~0.6 µs less).
    if len(text) <= _SIZED_PLAIN and "e" not in text and "E" not in text:
        return value
    if not is_sized(value):
        raise ValueError(f"{text[:60]!r} is out of range for an amount or price")
    return value


def decimal_places(value: Decimal) -> int:
    """Decimal places of a finite ``value`` once trailing zeros are dropped (``1.50`` -> 1,
    ``1E+2`` -> 0), read from its digits: rounding to the context could change the answer."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not finite")
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
    return max(0, -(exponent + len(digits) - kept))
