"""Which client order ids were issued for which intent, shared in Redis.

Needs the ``redis`` extra. A bot that restarts, or a second process of the same bot, asks the
registry before placing whether an intent (the caller's own key for what it means to do,
``"rebalance-2026-11-21-BTC"``) was already placed, under which ``orderLinkId``, and how it
ended. The order itself stays protected by its ``orderLinkId`` at the venue: the registry adds
memory beyond the venue's dedupe window, and across processes that build ids at random.

Keys under ``prefix``: ``intent:<intent key>`` (a hash: the id, its status, the venue's order id,
server times) and ``link:<orderLinkId>`` (the intent key). Both expire ``ttl`` seconds after
their last change. Every operation is one atomic script; times are the Redis server's.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

import attrs

from ._redis_client import UNREACHABLE, AsyncScript, Redis, RedisBacked, describe, text
from .errors import ConfigurationError, IdRegistryUnavailable

__all__ = ["IdRecord", "IdStatus", "RedisIdRegistry"]

#: ``pending``: recorded, placing not known to have ended; ``acknowledged``: the venue took the
#: order; ``failed``: the venue refused it (nothing placed); ``unknown``: the outcome could
#: not be learnt (:class:`~asyncexch.OrderStatusUnknown`): place the same id again to learn it.
IdStatus = Literal["pending", "acknowledged", "failed", "unknown"]
_STATUSES: frozenset[str] = frozenset(get_args(IdStatus))
_FIELDS = ("order_link_id", "status", "order_id", "recorded_at", "updated_at")

_RECORD = """
-- KEYS: intent hash, link key; ARGV: intent key, order link id, ttl (ms)
local t = redis.call('TIME')
local now = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'order_link_id', ARGV[2], 'status', 'pending', 'order_id', '',
             'recorded_at', now, 'updated_at', now)
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return redis.call('HMGET', KEYS[1], 'order_link_id', 'status', 'order_id', 'recorded_at',
                  'updated_at')
"""

_MARK = """
-- KEYS: link key; ARGV: prefix of intent keys, status, order id, ttl (ms)
local intent = redis.call('GET', KEYS[1])
if not intent then
  return false
end
local key = ARGV[1] .. intent
if redis.call('EXISTS', key) == 0 then
  return false
end
local t = redis.call('TIME')
local now = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
redis.call('HSET', key, 'status', ARGV[2], 'updated_at', now)
if ARGV[3] ~= '' then
  redis.call('HSET', key, 'order_id', ARGV[3])
end
redis.call('PEXPIRE', key, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {intent, unpack(redis.call('HMGET', key, 'order_link_id', 'status', 'order_id',
                                  'recorded_at', 'updated_at'))}
"""


@attrs.frozen
class IdRecord:
    """What the registry knows of one intent.

    ``order_id`` is the venue's id once acknowledged (else ``None``); ``recorded_at`` and
    ``updated_at`` are Redis server times, seconds since the epoch.
    """

    intent_key: str
    order_link_id: str
    status: IdStatus
    order_id: str | None
    recorded_at: float
    updated_at: float


def _record(intent_key: str, fields: list[object]) -> IdRecord:
    link, status, order_id, recorded, updated = (text(value) for value in fields)
    if status not in _STATUSES:
        raise ValueError(f"unknown id status {status!r} in the registry")
    return IdRecord(
        intent_key=intent_key,
        order_link_id=link,
        status=cast(IdStatus, status),  # checked just above
        order_id=order_id or None,
        recorded_at=float(recorded),
        updated_at=float(updated),
    )


class RedisIdRegistry(RedisBacked):
    """Client order ids by intent key, with their outcome, shared by every process.

    **Parameters:** ``redis`` (a ``redis.asyncio.Redis`` you close, or a URL: the registry
    connects and closes in :meth:`aclose`), ``prefix`` (the keys' namespace), ``ttl`` (seconds
    a record lives after its last change; a day by default, far beyond a venue's 30-minute
    dedupe window).

    Every method raises :class:`~asyncexch.IdRegistryUnavailable` (a
    :class:`~asyncexch.LimiterUnavailable`) when Redis cannot be reached: a bot that cannot
    ask should not place.
    """

    def __init__(
        self, redis: Redis | str, *, prefix: str = "asyncexch:ids:", ttl: float = 86400.0
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, got {ttl!r}")
        super().__init__(redis)
        self.prefix = prefix
        self._ttl_ms = max(1, round(ttl * 1000))
        self._record_script = self._redis.register_script(_RECORD)
        self._mark_script = self._redis.register_script(_MARK)

    async def record(self, intent_key: str, order_link_id: str) -> IdRecord:
        """Record that ``order_link_id`` is about to be placed for ``intent_key``.

        Atomic across processes: the first id recorded for an intent stays. The record
        returned is the intent's: if its ``order_link_id`` is not the one given, the intent
        was recorded before (by this process or another) and that is the id to use, or to
        look up, instead of placing a new order. If it is the one given but not ``pending``
        (ids derived from the intent with :func:`~asyncexch.order_link_id_for` are the same on
        every run), its ``status`` says how an earlier run ended; ``pending`` or ``unknown``:
        placing the same order again is safe (the venue refuses a second order under one id)
        and tells the truth.
        """
        if not intent_key or not order_link_id:
            raise ValueError("intent_key and order_link_id must not be empty")
        fields = await self._call(
            self._record_script,
            [f"{self.prefix}intent:{intent_key}", f"{self.prefix}link:{order_link_id}"],
            [intent_key, order_link_id, self._ttl_ms],
        )
        assert isinstance(fields, list)
        return _record(intent_key, fields)

    async def mark(
        self, order_link_id: str, status: IdStatus, *, order_id: str | None = None
    ) -> IdRecord | None:
        """Record how placing ``order_link_id`` ended; ``None`` if the id is not registered
        (never recorded, or expired)."""
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}, got {status!r}")
        reply = await self._call(
            self._mark_script,
            [f"{self.prefix}link:{order_link_id}"],
            [f"{self.prefix}intent:", status, order_id or "", self._ttl_ms],
        )
        if not reply:
            return None
        assert isinstance(reply, list)
        return _record(text(reply[0]), reply[1:])

    async def lookup(self, intent_key: str) -> IdRecord | None:
        """The intent's record, or ``None`` if it was never recorded (or has expired)."""
        try:
            fields = await self._redis.hmget(f"{self.prefix}intent:{intent_key}", list(_FIELDS))
        except UNREACHABLE as error:
            raise _unavailable(error) from error
        if fields[0] is None:
            return None
        return _record(intent_key, list(fields))

    async def _call(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> object:
        if self._closed:
            raise ConfigurationError("RedisIdRegistry is closed: make a new one")
        try:
            reply: object = await script(keys=keys, args=args)
        except UNREACHABLE as error:
            raise _unavailable(error) from error
        return reply

    def __repr__(self) -> str:
        return f"<RedisIdRegistry prefix={self.prefix!r}>"


def _unavailable(error: BaseException) -> IdRegistryUnavailable:
    return IdRegistryUnavailable(f"the id registry's Redis cannot be reached ({describe(error)})")
