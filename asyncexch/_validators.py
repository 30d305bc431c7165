"""Checks of what a caller passes, as small composable factories in the style of attrs'.

Each factory returns a :class:`Check`: an attrs validator (``attrs.field(validator=text())``)
that can also check a plain argument (``whole(high=20).at("page_size", page_size)``). Every
refusal is an :class:`~asyncexch.InvalidRequest` naming the field, raised before anything
is sent. Optionality is said, never guessed: ``optional(positive_decimal())``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ._decimals import check_positive
from .errors import ConfigurationError, InvalidRequest

__all__ = [
    "Check",
    "flag",
    "integral",
    "number",
    "one_of",
    "optional",
    "positive_decimal",
    "seconds",
    "text",
    "whole",
]

T = TypeVar("T")


def _invalid_request(field: str, why: str) -> ValueError:
    return InvalidRequest(field, why)


def _configuration_error(field: str, why: str) -> ValueError:
    return ConfigurationError(f"{field} {why}")


@attrs.frozen
class Check:
    """A check of one value: ``refusal(value)`` is why it is refused, or ``None``.

    A refusal is an :class:`~asyncexch.InvalidRequest` naming the field (a request's
    argument); :meth:`setting` makes it a :class:`~asyncexch.ConfigurationError` (a
    setting of a limit, a policy, a client). ``refusal`` may raise ``InvalidRequest``
    itself; :meth:`at` and the attrs validator protocol re-raise it under the checked field.
    """

    refusal: Callable[[object], str | None]
    error: Callable[[str, str], ValueError] = _invalid_request

    def at(self, field: str, value: T) -> T:
        """``value``, if this check accepts it as the argument ``field``; else the refusal."""
        try:
            why = self.refusal(value)
        except InvalidRequest as error:
            why = error.message
        if why is not None:
            raise self.error(field, why) from None
        return value

    def setting(self) -> Check:
        """This check for a setting: ``ConfigurationError("max_attempts must be ...")``."""
        return Check(self.refusal, _configuration_error)

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        self.at(attribute.name, value)


def _amount(value: object) -> str | None:
    check_positive("value", value)
    return None


def positive_decimal() -> Check:
    """A sized, finite :class:`~decimal.Decimal` above zero (never a float; the refusal says
    what to write instead)."""
    return Check(_amount)


def integral(unit: str) -> Check:
    """A :class:`~decimal.Decimal` with no fractional part: a whole number of ``unit``."""

    def refusal(value: object) -> str | None:
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return None
        return f"must be a whole number of {unit}, got {value}"

    return Check(refusal)


def whole(low: int = 1, high: int | None = None) -> Check:
    """An ``int`` (not a bool) from ``low`` to ``high`` (no upper bound when ``None``)."""
    bounds = f">= {low}" if high is None else f"{low}-{high}"

    def refusal(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer {bounds}, got {value!r}"
        if value < low or (high is not None and value > high):
            return f"must be an integer {bounds}, got {value!r}"
        return None

    return Check(refusal)


def text() -> Check:
    """A non-empty ``str``."""

    def refusal(value: object) -> str | None:
        if isinstance(value, str) and value:
            return None
        return f"must be a non-empty string, got {value!r}"

    return Check(refusal)


def flag() -> Check:
    """A ``bool`` (not ``1`` or ``"true"``)."""
    return Check(
        lambda value: None if isinstance(value, bool) else f"must be a bool, got {value!r}"
    )


def one_of(*choices: str) -> Check:
    """One of ``choices`` exactly (the refusal lists them: ``'FUND' or 'UNIFIED'``)."""
    listed = " or ".join(", ".join(repr(choice) for choice in choices).rsplit(", ", 1))

    def refusal(value: object) -> str | None:
        return None if value in choices else f"must be {listed}, got {value!r}"

    return Check(refusal)


def number(*, allow_zero: bool = False, unit: str = "") -> Check:
    """A finite ``int`` or ``float`` (not a bool) above zero, or at least zero; ``unit``
    names what it counts in the refusal ("a finite number of seconds > 0")."""
    what = f"a finite number of {unit}" if unit else "a finite number"
    bound = ">= 0" if allow_zero else "> 0"

    def refusal(value: object) -> str | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not _fits_a_float(value)
            or value < 0
            or (value == 0 and not allow_zero)
        ):
            return f"must be {what} {bound}, got {value!r}"
        return None

    return Check(refusal)


def _fits_a_float(value: float) -> bool:
    """Whether ``value`` is finite as a float (an int beyond 1.8E308 is not: time and rates
    are computed in floats, and ``math.isfinite(10**400)`` itself overflows)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def seconds(*, allow_zero: bool = False) -> Check:
    """A finite number of seconds above zero (or at least zero), as an int or a float."""
    return number(allow_zero=allow_zero, unit="seconds")


def optional(check: Check) -> Check:
    """``None``, or what ``check`` accepts."""
    return Check(lambda value: None if value is None else check.refusal(value), check.error)
