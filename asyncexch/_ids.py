"""Client order ids: fixed once per order, reused by every retry of it."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import datetime, timedelta, timezone

import attrs

from ._validators import Check

__all__ = ["IdRule", "is_valid_order_link_id", "new_order_link_id", "order_link_id_for"]

#: Digits, then upper case, then lower case: ASCII order, so fixed-width numbers in this
#: alphabet sort as text in the same order as their values.
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PREFIX = re.compile(r"[A-Za-z0-9_]{0,8}")
_TIME_WIDTH = 9  # 62**9 ms is about 400,000 years
_RANDOM_WIDTH = 17  # 62**17 > 2**100
_DIGEST_WIDTH = 22  # 62**22 > 2**130
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def _check_prefix(prefix: str) -> None:
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"prefix must be at most 8 characters of [A-Za-z0-9_], got {prefix!r}")


def new_order_link_id(prefix: str = "ax") -> str:
    """A fresh client order id, unique across processes and hosts.

    ``prefix-`` + 9 characters of the current time in milliseconds + 17 random characters
    (100 bits from :mod:`secrets`), all of ``[A-Za-z0-9_-]`` and at most 36 characters. Ids
    made in different milliseconds sort as text in time order.
    """
    _check_prefix(prefix)
    stamp = _base62(time.time_ns() // 1_000_000, _TIME_WIDTH)
    return f"{prefix}-{stamp}{_base62(secrets.randbits(101), _RANDOM_WIDTH)}"


def order_link_id_for(key: str, prefix: str = "ax", *, issued: datetime | None = None) -> str:
    """The client order id for the caller's own intent ``key``, the same on every run.

    A bot that derives its ids from what it means to do (``"rebalance-2026-11-21-BTC"``)
    cannot place the same intent twice, even across a restart: the venue refuses the second
    order with that id. ``prefix-`` + 22 characters of the SHA-256 of the key (130 bits).

    A venue that forgets an id after a while (Bybit Earn: 30 minutes, :attr:`IdRule.remembered`)
    takes a repeated id after that as a new order, and lists only the latest order of it. For
    such a venue pass ``issued``, the moment the intent was made, kept with the intent (an
    aware datetime; its millisecond is hashed with the key): a key used again for a later
    intent then gets another id, and an id is never reused. Without ``issued`` the id is the
    same as it always was.
    """
    _check_prefix(prefix)
    if not key:
        raise ValueError("key must not be empty")
    if issued is not None:
        if not isinstance(issued, datetime) or issued.tzinfo is None:
            raise ValueError(f"issued must be an aware datetime, got {issued!r}")
        key = f"{key}\x00{(issued - _EPOCH) // timedelta(milliseconds=1)}"
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big")
    return f"{prefix}-{_base62(digest, _DIGEST_WIDTH)}"


@attrs.frozen
class IdRule:
    """What a venue accepts as a client order id, and how long it remembers one.

    ``max_length`` characters at most, of ``alphabet`` (a regular-expression character
    class); the venue refuses a reused id for ``remembered`` (``None``: for ever). A venue
    states one rule per product family; every id this module makes (35 characters at most,
    of ``[A-Za-z0-9_-]``) fits a rule of 35 characters or more.
    """

    max_length: int
    alphabet: str = "A-Za-z0-9_-"
    remembered: timedelta | None = None
    _pattern: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        pattern = re.compile(f"[{self.alphabet}]{{1,{self.max_length}}}")
        object.__setattr__(self, "_pattern", pattern)

    def is_valid(self, value: object) -> bool:
        """Whether ``value`` is a string this rule accepts."""
        return isinstance(value, str) and self._pattern.fullmatch(value) is not None

    def check(self) -> Check:
        """This rule as a validator: the refusal says what an id must be."""
        return Check(
            lambda value: (
                None
                if self.is_valid(value)
                else f"must be 1-{self.max_length} characters of [{self.alphabet}], got {value!r}"
            )
        )


#: The rule every venue here accepts (Bybit's Advance Earn, 36 characters).
_COMMON = IdRule(36)


def is_valid_order_link_id(value: str) -> bool:
    """Whether ``value`` is 1 to 36 characters of ``[A-Za-z0-9_-]``, an id every venue here
    accepts (a venue's own :class:`IdRule` may accept more)."""
    return _COMMON.is_valid(value)
