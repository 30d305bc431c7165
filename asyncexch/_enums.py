"""Open enums: venues add values, and one new value must never make an answer unreadable.

An unknown value decodes to a member whose value is what the venue sent and whose
:attr:`known` is false; code that compares against the known members keeps working, and
requests built by the client refuse unknown values (see ``known``).
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from .errors import InvalidRequest

__all__ = ["OpenIntEnum", "OpenStrEnum", "known_member"]

E = TypeVar("E", bound=enum.Enum)


class OpenStrEnum(str, enum.Enum):
    """A string enum that keeps values it does not know."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """Whether this value is one the library knows."""
        return self._value_ in type(self)._value2member_map_

    def __str__(self) -> str:
        return str(self.value)


class OpenIntEnum(enum.IntEnum):
    """An integer enum that keeps values it does not know (named ``UNKNOWN_<value>``)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """Whether this value is one the library knows."""
        return self._value_ in type(self)._value2member_map_


def known_member(enum_type: type[E], field: str, value: object) -> E:
    """The known member of ``enum_type`` that ``value`` names, for a request built by a
    caller: the member itself, its name (any case) or its wire value. Anything else, and
    an unknown value an open enum would keep, is an ``InvalidRequest`` naming ``field``
    and listing the members."""
    if isinstance(value, enum_type) and getattr(value, "known", True):
        return value
    if isinstance(value, str) and value.upper() in enum_type.__members__:
        return enum_type.__members__[value.upper()]
    names = ", ".join(enum_type.__members__)
    if isinstance(value, bool) or not isinstance(value, (int, str)):  # True == 1, 1.0 == 1
        raise InvalidRequest(
            field, f"must be one of {names} (a member, its name or its wire value), got {value!r}"
        )
    try:
        member = enum_type(int(value) if isinstance(value, str) and value.isdigit() else value)
    except ValueError:  # only ints and strs get here, and an enum refuses them with it
        member = None
    if member is None or not getattr(member, "known", True):  # open enums keep any value
        raise InvalidRequest(field, f"must be one of {names}, got {value!r}")
    return member
