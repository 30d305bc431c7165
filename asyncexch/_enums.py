"""Open enums: venues add values, and one new value must never make an answer unreadable.

An unknown value decodes to a member whose value is what the venue sent and whose
:attr:`known` is false; code that compares against the known members keeps working, and
requests built by the client refuse unknown values (see ``known``).
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["OpenIntEnum", "OpenStrEnum"]


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
