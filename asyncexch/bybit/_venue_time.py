"""The venue's time as a client knows it: now, the time left until a quote's or offer's
expiry, and when a quote was fetched. A quote measures its expiry on the clock of the client
that fetched it; one built by hand, on this machine's."""

from __future__ import annotations

from datetime import datetime, timedelta

from .._clock import ServerTime, SystemClock, utc
from .._convert import datetime_from_millis
from ..errors import InvalidRequest

__all__ = ["fetched_now", "require_aware", "time_left", "venue_now"]


def venue_now(server_time: ServerTime | None) -> datetime:
    """The venue's time now: as ``server_time`` knows it, else this machine's clock."""
    if server_time is None:
        return utc(SystemClock().time())
    return datetime_from_millis(server_time.now_ms())


def fetched_now(server_time: ServerTime | None) -> datetime | None:
    """When a quote received now was fetched, on the venue's clock as ``server_time`` knows
    it (``None`` without one)."""
    return None if server_time is None else datetime_from_millis(server_time.now_ms())


def require_aware(field: str, moment: object) -> None:
    """``moment`` a timezone-aware datetime (an ``InvalidRequest`` on ``field`` otherwise)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise InvalidRequest(field, f"must be a timezone-aware datetime, got {moment!r}")


def time_left(
    expires: datetime, server_time: ServerTime | None, now: datetime | None, field: str
) -> timedelta:
    """How long until ``expires`` (named ``field`` in a refusal) at ``now`` (negative once
    past): the venue's time; by default as ``server_time`` knows it, or this machine's clock
    without one."""
    if now is None:
        now = venue_now(server_time)
    require_aware("now", now)
    require_aware(field, expires)
    return expires - now
