"""One API key's rate limits shared by many processes and hosts, kept in Redis.

Needs the ``redis`` extra (``pip install 'asyncexch[redis]'``) and a Redis server (5 or
later). :class:`RedisLimiter` is a :class:`~asyncexch.RateLimiter`: pass one to every client
of the key, in every process, and the promise of :mod:`asyncexch._limits` holds for all of
them together: in every interval of ``per`` seconds at most ``limit`` requests of a bucket
reach the server.

**How.** Each bucket is the in-process limiter's sliding log, kept in Redis as a sorted set of
slot times. One Lua script reads the server's clock (``TIME``), so the hosts' clocks never
matter, and in one round trip checks every bucket of the request (halt, pause, log) and
either takes ``cost`` slots from all of them at ``now + guard`` or takes nothing and returns
how many milliseconds to wait. Redis runs scripts one at a time, so two processes can never
both take the last slot. :meth:`RedisPermit.done` moves the request's slots to Redis's time
when the answer arrived, less ``arrived_ago`` when the venue's stamp placed the request
earlier (a second, smaller script), exactly as in process.

**Waiting.** In each process, waiters queue first come, first served per bucket, and a
request that needs several buckets queues for each in turn, most specific first; only the
head of a queue asks Redis. A refused head sleeps (on the injected clock) until the moment
the script named, and no longer: no polling.

**Fairness across processes.** Within a process, waiters go strictly first come, first
served. Across processes there is no queue: the waiting head of every process asks again at
the moment the slot it was told about frees, and the first script to reach Redis takes it;
the others are told when the next slot frees. So every waiting process competes for every
freed slot, within one slot of when it frees (none is shut out while it waits), but which one
wins is a race: processes with a similar round trip to Redis share the rate about evenly over
many slots, not in turn, and one much farther from Redis wins fewer races. (A head may also
wake up to ``guard`` late, when another process's answer freed its slot early.)

**Clock.** Every time is the Redis server's ``TIME``, a wall clock: keep that host's clock
slewed by NTP, not stepped; a step distorts the windows for their length.

**Server feedback.** :meth:`~RedisLimiter.pause` and :meth:`~RedisLimiter.halt` take effect in
this process at once and are written to Redis (in the background; they are synchronous, as
the protocol is), where every other process's next script sees them: a 10006 or a 403 seen by
one process stops them all. A halted bucket makes ``acquire`` raise
:class:`~asyncexch.LimiterHalted`.

**Keys.** Under ``prefix`` (default ``asyncexch:``): ``<bucket key>:log`` (the sorted set),
``<bucket key>:state`` (a hash: the bucket's limit, pause and halt) and ``meta`` (the data's
generation). Every key expires: a log a second after its last slot left the window, a state
hash a second after its window, pause or halt ends, ``meta`` after a day unused. Bucket keys
are the venue's and never hold a secret (Bybit's hold a fingerprint of the API key). Every
process of a bucket must use the same ``limit`` and ``per``; a process that asks for another
gets :class:`~asyncexch.ConfigurationError`, as in process. On Redis Cluster, put a hash tag in
the prefix (``"{asyncexch}:"``) so that one request's buckets share a slot (not tested here).

**When Redis loses its data** (a restart without persistence, a flush): the slots of the last
window are gone. The first limiter that had used the old data to ask again notices (the
generation changed) and marks the loss; from then on every bucket stays closed until its own
window (``per + guard``: about 1 s for Bybit's endpoints, 5 s for its IP pool) has passed
since the new data began, so the requests sent just before the loss still count. A process that
starts after the loss, and asks before any older one, knows nothing of what came before, as a
restarted process with the in-process limiter does not.

**When Redis restarts with its data** (a default ``redis-server`` saves snapshots and reloads
the last one after a crash; or an append-only file): the data may lack the slots of the last
moments before the stop, and its generation is the old one. The script notices by the
server's run id (it changes with every start and is never saved): the first request after a
restart closes every bucket for its window, as after a loss, whatever the persistence
settings. The limiter needs no particular Redis settings; persistence only spares the
``meta`` key's day-long memory of the generation.

**When Redis cannot be reached**, ``acquire`` fails closed: it raises
:class:`~asyncexch.LimiterUnavailable` and nothing is sent (the session does not retry it;
placing the same order again later is safe). With ``fallback`` the limiter is a
:class:`~asyncexch.FailoverLimiter` over its fail-closed self: it logs a warning and paces
this process alone with an in-process limiter instead, trying Redis again every ``recheck``
seconds. Each bucket stays closed for its window after the switch (the fallback does not know
what went through Redis just before). While falling back, processes do not see each other: N
of them can together send N times the limit, unless ``fallback_share`` (for instance
``1 / N``) scales each one's limits down. Requests sent through the fallback are not in
Redis's log when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any, Literal

import attrs

from ._clock import Clock, SystemClock
from ._failover import BucketHalted, FailoverLimiter, NoPermit, check_failover_settings
from ._limits import (
    BucketUsage,
    Halts,
    InProcessLimiter,
    LimiterHalted,
    Permit,
    RateLimit,
    RateLimiter,
    check_cost,
)
from ._redis_client import UNREACHABLE, Redis, RedisBacked, describe, text
from ._resource import AsyncResource
from ._turns import Turns, sleep_unless_woken
from .errors import ConfigurationError, LimiterUnavailable

__all__ = ["RedisLimiter", "RedisLimiterStats", "RedisPermit"]

logger = logging.getLogger("asyncexch")

# Times in the scripts are integer microseconds of the Redis server's clock (~1.7e15, exact
# in a Lua double); numbers are handed to redis.call as numbers, which Redis formats exactly.
_ACQUIRE = """
-- KEYS[1]: meta hash; then per bucket i: KEYS[2i] log (sorted set), KEYS[2i+1] state (hash)
-- ARGV: cost, token, known generation ('' if none); then per bucket: limit, per, guard (us)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local token = ARGV[2]
local n = (#KEYS - 1) / 2
-- The server's run id changes with every start and is never saved: data it reloaded from a
-- snapshot (or kept across a restart) may lack the slots of the moments before it stopped.
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local meta = redis.call('HMGET', KEYS[1], 'gen', 'born', 'lost', 'run')
local gen = meta[1]
local born = tonumber(meta[2])
local lost = tonumber(meta[3])
if not gen then
  gen = token
  born = now
  redis.call('HSET', KEYS[1], 'gen', gen, 'born', born, 'run', run)
elseif meta[4] ~= run then
  -- restarted with (some of) its data: treat the data as new, and what came before as lost
  gen = token
  born = now
  lost = now
  redis.call('HSET', KEYS[1], 'gen', gen, 'born', born, 'lost', lost, 'run', run)
end
if ARGV[3] ~= '' and ARGV[3] ~= gen and not lost then
  -- the caller used data this server no longer has: slots taken before the new data began
  -- may count for one more window of each bucket
  lost = born
  redis.call('HSET', KEYS[1], 'lost', lost)
end
redis.call('PEXPIRE', KEYS[1], 86400000)
local states = {}
for i = 1, n do
  local b = 3 + 3 * (i - 1)
  local state = redis.call('HMGET', KEYS[2 * i + 1], 'rate', 'pause', 'halt', 'code', 'reason')
  local rate = ARGV[b + 1] .. '/' .. ARGV[b + 2]
  if state[1] and state[1] ~= rate then
    return {'conflict', i, state[1]}
  end
  local halt = tonumber(state[3])
  if halt and halt > now then
    return {'halt', i, state[4] or '0', state[5] or '', math.ceil((halt - now) / 1000)}
  end
  states[i] = state
end
local reply = {'wait', gen}
local refused = false
for i = 1, n do
  local b = 3 + 3 * (i - 1)
  local limit = tonumber(ARGV[b + 1])
  local per = tonumber(ARGV[b + 2])
  local log = KEYS[2 * i]
  local wait = 0
  if lost then
    wait = lost + per + tonumber(ARGV[b + 3]) - now
  end
  local pause = tonumber(states[i][2])
  if pause and pause - now > wait then
    wait = pause - now
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - per)
  local keep = limit - cost
  local count = redis.call('ZCARD', log)
  if count > keep then
    local slot = redis.call('ZRANGE', log, count - keep - 1, count - keep - 1, 'WITHSCORES')
    local free = tonumber(slot[2]) + per - now
    if free > wait then
      wait = free
    end
  end
  if wait > 0 then
    refused = true
    reply[i + 2] = math.ceil(wait / 1000)
  else
    reply[i + 2] = 0
  end
end
if refused then
  return reply
end
for i = 1, n do
  local b = 3 + 3 * (i - 1)
  local per = tonumber(ARGV[b + 2])
  local guard = tonumber(ARGV[b + 3])
  local log = KEYS[2 * i]
  local state = KEYS[2 * i + 1]
  for j = 1, cost do
    redis.call('ZADD', log, now + guard, token .. ':' .. j)
  end
  local ttl = math.ceil((per + guard) / 1000) + 1000
  if redis.call('PTTL', log) < ttl then
    redis.call('PEXPIRE', log, ttl)
  end
  redis.call('HSET', state, 'rate', ARGV[b + 1] .. '/' .. ARGV[b + 2])
  if redis.call('PTTL', state) < ttl then
    redis.call('PEXPIRE', state, ttl)
  end
end
return {'ok', gen, now}
"""

_SETTLE = """
-- KEYS: the logs of one permit; ARGV: token, cost, arrived ago (us), then per log: per (us)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[2])
local at = now - tonumber(ARGV[3])
for i = 1, #KEYS do
  for j = 1, cost do
    redis.call('ZADD', KEYS[i], at, ARGV[1] .. ':' .. j)
  end
  local ttl = math.ceil(tonumber(ARGV[3 + i]) / 1000) + 1000
  if redis.call('PTTL', KEYS[i]) < ttl then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return now
"""

_MARK = """
-- KEYS[1]: a bucket's state; ARGV: 'pause' or 'halt', seconds (us), code, reason
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local span = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if not current or now + span > current then
  redis.call('HSET', KEYS[1], ARGV[1], now + span)
  if ARGV[1] == 'halt' then
    redis.call('HSET', KEYS[1], 'code', ARGV[3], 'reason', ARGV[4])
  end
end
local ttl = math.ceil(span / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return now
"""

_USAGE = """
-- KEYS: a bucket's log and state; ARGV: its window (us). Reads only.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
local state = redis.call('HMGET', KEYS[2], 'pause', 'halt', 'reason')
local pause = math.max((tonumber(state[1]) or now) - now, 0)
local halt = math.max((tonumber(state[2]) or now) - now, 0)
return {count, pause, halt, state[3] or ''}
"""

#: Round-trip times kept for :attr:`RedisLimiterStats.round_trips`.
_KEEP_ROUND_TRIPS = 4096


def _us(seconds: float) -> int:
    return math.ceil(seconds * 1_000_000)


@attrs.define
class RedisLimiterStats:
    """What one :class:`RedisLimiter` did, for monitoring.

    ``admitted``: requests that took capacity in Redis; ``refused``: scripts that found a
    bucket full (each is followed by one sleep); ``unavailable``: failed round trips;
    ``fallback_admitted``: requests paced by the fallback; ``round_trips``: the latest
    acquire round trips, in seconds (at most 4096).
    """

    admitted: int = 0
    refused: int = 0
    unavailable: int = 0
    fallback_admitted: int = 0
    round_trips: deque[float] = attrs.Factory(lambda: deque(maxlen=_KEEP_ROUND_TRIPS))


class _Unreachable(Exception):
    """Redis could not be reached; ``__cause__`` says why."""


class RedisPermit:
    """Capacity taken in Redis for one request.

    ``admitted_at`` is the Redis server's time (seconds since the epoch) at which it was taken.
    """

    __slots__ = ("_buckets", "_claims", "_cost", "_settled", "_token", "admitted_at")

    def __init__(
        self,
        buckets: _RedisBuckets,
        claims: Sequence[tuple[str, RateLimit]],
        cost: int,
        token: str,
        admitted_at: float,
    ) -> None:
        self._buckets = buckets
        self._claims = tuple(claims)
        self._cost = cost
        self._token = token
        self._settled = False
        self.admitted_at: float = admitted_at

    def done(self, arrived_ago: float = 0.0) -> None:
        """The answer arrived: move the slots to Redis's time now, less ``arrived_ago``
        seconds (in the background)."""
        if self._settled:
            return
        self._settled = True
        self._buckets._settle(self._claims, self._cost, self._token, arrived_ago)

    def __repr__(self) -> str:
        return f"<RedisPermit admitted_at={self.admitted_at:.6f} settled={self._settled}>"


class RedisLimiter(AsyncResource):
    """Rate-limit buckets in Redis, shared by every process and host that uses the same Redis
    and ``prefix``. See the module documentation for the guarantee and its limits.

    **Parameters:**

    * ``redis``: a ``redis.asyncio.Redis`` client (yours: you close it), or a URL (the limiter
      connects with :func:`~asyncexch.connect_redis` and closes the client in :meth:`aclose`).
    * ``prefix``: the namespace of every key the limiter writes.
    * ``clock``: where waiting happens (``clock.sleep``); time itself comes from Redis.
    * ``fallback``: ``None`` to fail closed when Redis cannot be reached
      (:class:`~asyncexch.LimiterUnavailable`), ``"in_process"`` or a limiter of your own to
      pace this process alone meanwhile: the limiter then goes through a
      :class:`~asyncexch.FailoverLimiter` over its fail-closed self, which says what it
      promises.
    * ``fallback_share``: the fraction of each limit the fallback uses (``1 / processes``
      keeps the key within its limits while every process falls back).
    * ``recheck``: seconds between attempts to reach Redis again while falling back.

    Use one limiter for every client of the process, on one event loop (it is safe for any
    number of concurrent requests, not for threads), and close it with :meth:`aclose` (or
    ``async with``) after the clients. ``stats`` counts what it did.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "asyncexch:",
        clock: Clock | None = None,
        fallback: RateLimiter | Literal["in_process"] | None = None,
        fallback_share: float = 1.0,
        recheck: float = 1.0,
    ) -> None:
        if fallback is not None and fallback != "in_process" and not hasattr(fallback, "acquire"):
            raise ConfigurationError(
                f"fallback must be None, 'in_process' or a RateLimiter, got {fallback!r}"
            )
        check_failover_settings(fallback_share, recheck, share_name="fallback_share")
        clock = clock or SystemClock()
        self._buckets = _RedisBuckets(redis, prefix, clock)
        self.prefix = prefix
        self.stats: RedisLimiterStats = self._buckets.stats
        self._failover: FailoverLimiter | None = None
        if fallback is not None:
            self._failover = FailoverLimiter(
                self._buckets,
                InProcessLimiter(clock) if fallback == "in_process" else fallback,
                share=fallback_share,
                recheck=recheck,
                clock=clock,
            )
        self._limiter: FailoverLimiter | _RedisBuckets = self._failover or self._buckets

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> Permit:
        """Wait until every bucket in ``claims`` has ``cost`` free in Redis, then take it
        from all of them at once (or, while falling back, from the fallback).

        Raises :class:`~asyncexch.LimiterHalted` if a bucket is halted (here or by any
        process), :class:`~asyncexch.LimiterUnavailable` if Redis cannot be reached and there
        is no fallback, :class:`~asyncexch.ConfigurationError` if another process uses a
        bucket with another limit.
        """
        if self._failover is None:
            return await self._buckets.acquire(claims, cost)
        self._buckets.check_open()
        permit = await self._failover.acquire(claims, cost)
        self.stats.fallback_admitted = self._failover.stats.fallback_admitted
        return permit

    async def usage(self, key: str, rate: RateLimit) -> BucketUsage:
        """Bucket ``key`` as every process sees it, from Redis (while falling back: this
        process's fallback, when it can say). Raises ``LimiterUnavailable`` when neither can."""
        return await self._limiter.usage(key, rate)

    def pause(self, key: str, seconds: float) -> None:
        """Let nothing take from bucket ``key`` for ``seconds``, in every process."""
        self._limiter.pause(key, seconds)

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        """Refuse every request on bucket ``key`` for ``seconds``, in every process.

        Waiters of this process fail at once; other processes' fail when they next ask.
        """
        self._limiter.halt(key, seconds, code=code, reason=reason)

    async def flush(self) -> None:
        """Wait until every background write (``done``, ``pause``, ``halt``) has finished."""
        await self._buckets.flush()

    @property
    def closed(self) -> bool:
        return self._buckets.closed

    async def aclose(self) -> None:
        """Finish the background writes and close the Redis client, if the limiter made it
        (a fallback of your own is yours to close)."""
        await self._buckets.aclose()

    def __repr__(self) -> str:
        mode = "falling back" if self._failover and self._failover.falling_back else "shared"
        return f"<RedisLimiter prefix={self.prefix!r} {mode} waiting={self._buckets.waiting()}>"


class _RedisBuckets(RedisBacked):
    """The buckets of a :class:`RedisLimiter` in Redis, failing closed: when Redis cannot be
    reached, ``acquire`` raises :class:`~asyncexch.LimiterUnavailable`, and so do the
    requests of this process queued behind the failed round trip."""

    def __init__(self, redis: Redis | str, prefix: str, clock: Clock) -> None:
        super().__init__(redis)
        self.prefix = prefix
        self.stats: RedisLimiterStats = RedisLimiterStats()
        self._clock = clock
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._settle_script = self._redis.register_script(_SETTLE)
        self._mark_script = self._redis.register_script(_MARK)
        self._usage_script = self._redis.register_script(_USAGE)
        self._meta = f"{prefix}meta"
        #: The data generation this limiter last saw in Redis ("" before the first answer).
        self._generation = ""
        self._lanes: dict[str, Turns] = {}
        # Local mirrors of pauses and halts (monotonic deadlines): they hold in this process
        # at once, before and whether or not the write reaches Redis.
        self._pauses: dict[str, float] = {}
        self._halts = Halts()
        #: Failed round trips so far; a waiter that sees it change fails without asking.
        self._failures = 0
        self._last_failure: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the RateLimiter protocol ----------------------------------------------------------

    async def acquire(self, claims: Sequence[tuple[str, RateLimit]], cost: int = 1) -> Permit:
        self.check_open()
        check_cost(claims, cost)
        if not claims:
            return NoPermit()
        self._halts.check(claims, self._clock.monotonic())
        try:
            return await self._acquire_shared(claims, cost)
        except _Unreachable as unreachable:
            cause = unreachable.__cause__
            raise LimiterUnavailable(
                f"the shared rate limiter's Redis cannot be reached ({describe(cause)}); "
                "nothing was sent"
            ) from cause

    async def usage(self, key: str, rate: RateLimit) -> BucketUsage:
        try:
            count, pause, halt, reason = await self._usage_script(
                keys=[f"{self.prefix}{key}:log", f"{self.prefix}{key}:state"],
                args=[_us(rate.per)],
            )
        except UNREACHABLE as error:
            raise LimiterUnavailable(
                f"the shared rate limiter's Redis cannot be reached ({describe(error)})"
            ) from error
        return BucketUsage(
            in_window=int(count),
            waiting=self.waiting(key),
            paused_for=int(pause) / 1_000_000,
            halted_for=int(halt) / 1_000_000,
            halt_reason=text(reason),
        )

    def pause(self, key: str, seconds: float) -> None:
        self._pauses[key] = max(self._pauses.get(key, -math.inf), self._clock.monotonic() + seconds)
        self._write(self._mark(key, "pause", seconds, 0, ""))

    def halt(self, key: str, seconds: float, *, code: int, reason: str) -> None:
        self._halts.set(key, self._clock.monotonic() + seconds, code, reason)
        lane = self._lanes.get(key)
        if lane is not None:
            lane.halt(lambda: LimiterHalted(code, reason, seconds))
        self._write(self._mark(key, "halt", seconds, code, reason))

    def waiting(self, key: str | None = None) -> int:
        """Requests of this process queued for bucket ``key`` (``None``: for any bucket)."""
        if key is None:
            return sum(lane.waiting for lane in self._lanes.values())
        lane = self._lanes.get(key)
        return lane.waiting if lane is not None else 0

    # --- lifecycle --------------------------------------------------------------------------

    def check_open(self) -> None:
        """Raise :class:`~asyncexch.ConfigurationError` once closed."""
        if self._closed:
            raise ConfigurationError("RedisLimiter is closed: make a new one")

    async def flush(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        self._closed = True  # first: no new writes while flushing
        await self.flush()
        await super().aclose()

    # --- taking capacity in Redis -----------------------------------------------------------

    async def _acquire_shared(
        self, claims: Sequence[tuple[str, RateLimit]], cost: int
    ) -> RedisPermit:
        lanes = [self._lane(key) for key, _ in claims]
        failures = self._failures
        entered: list[Turns] = []
        try:
            # As in process: queue for each bucket in turn and wait for its own capacity
            # before queueing for the next, so a request held up by its endpoint never blocks
            # this process's queue of a shared pool.
            for index, lane in enumerate(lanes):
                await lane.enter()
                entered.append(lane)
                while True:
                    if self._failures != failures:
                        # Redis failed while we queued: do not knock again behind it.
                        raise _Unreachable() from self._last_failure
                    self._halts.check(claims, self._clock.monotonic())
                    wait = self._paused(claims[: index + 1])
                    if wait <= 0:
                        taken = await self._take(claims, cost)
                        if isinstance(taken, RedisPermit):
                            return taken
                        wait = max(taken[: index + 1])
                        if wait <= 0:
                            break  # only buckets further on are full: queue for them
                    await sleep_unless_woken(self._clock, wait, entered)
            raise AssertionError("the last bucket's loop returns or raises")  # pragma: no cover
        finally:
            for lane in entered:
                lane.leave()

    async def _take(
        self, claims: Sequence[tuple[str, RateLimit]], cost: int
    ) -> RedisPermit | list[float]:
        """One round trip: the permit, or the seconds each bucket needs before it has room."""
        token = secrets.token_hex(8)
        keys = [self._meta]
        args: list[str | int] = [cost, token, self._generation]
        for key, rate in claims:
            keys += [f"{self.prefix}{key}:log", f"{self.prefix}{key}:state"]
            args += [rate.limit, _us(rate.per), _us(rate.guard)]
        started = time.perf_counter()
        try:
            reply = await self._acquire_script(keys=keys, args=args)
        except UNREACHABLE as error:
            self._failed(error)
            raise _Unreachable() from error
        self.stats.round_trips.append(time.perf_counter() - started)
        kind = text(reply[0])
        if kind == "ok":
            self._seen(text(reply[1]))
            self.stats.admitted += 1
            return RedisPermit(self, claims, cost, token, int(reply[2]) / 1_000_000)
        if kind == "wait":
            self._seen(text(reply[1]))
            self.stats.refused += 1
            return [int(ms) / 1000 for ms in reply[2:]]
        key = claims[int(reply[1]) - 1][0]
        if kind == "halt":
            code, reason, remaining = int(text(reply[2])), text(reply[3]), int(reply[4]) / 1000
            self._halts.set(key, self._clock.monotonic() + remaining, code, reason)
            raise BucketHalted(key, code, reason, remaining)  # another process halted it
        raise ConfigurationError(
            f"bucket {key!r} is in use in Redis with limit/per {text(reply[2])} "
            f"(per in microseconds); this process asked for {dict(claims)[key]!r}. Every "
            "process of a key shares its limits, so give them all the same limits."
        )

    def _seen(self, generation: str) -> None:
        if self._generation and generation != self._generation:
            logger.warning(
                "the shared rate limiter's Redis lost its data (restart or flush): each "
                "bucket stays closed for its window, while the requests sent before count"
            )
        self._generation = generation

    def _settle(
        self, claims: Sequence[tuple[str, RateLimit]], cost: int, token: str, arrived_ago: float
    ) -> None:
        keys = [f"{self.prefix}{key}:log" for key, _ in claims]
        args: list[str | int] = [
            token,
            cost,
            int(max(arrived_ago, 0.0) * 1_000_000),  # rounded down: never settle earlier
            *(_us(rate.per) for _, rate in claims),
        ]

        async def settle() -> None:
            await self._settle_script(keys=keys, args=args)
            for key, _ in claims:  # capacity may free sooner than planned: let heads look
                lane = self._lanes.get(key)
                if lane is not None:
                    lane.wake()

        self._write(settle())

    async def _mark(self, key: str, field: str, seconds: float, code: int, reason: str) -> None:
        await self._mark_script(
            keys=[f"{self.prefix}{key}:state"], args=[field, _us(seconds), code, reason]
        )

    def _write(self, write: Coroutine[Any, Any, None]) -> None:
        """Run a write to Redis in the background; a failure is logged, never raised."""
        if self._closed and not self._tasks:
            write.close()  # closed and flushed: the client may be gone
            return

        async def run() -> None:
            try:
                await write
            except UNREACHABLE as error:
                self._failed(error)
                logger.warning(
                    "the shared rate limiter could not write to Redis: %s", describe(error)
                )

        try:
            task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:  # no event loop: the local effect is all we can do
            write.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _failed(self, error: BaseException) -> None:
        self._failures += 1
        self._last_failure = error
        self.stats.unavailable += 1

    # --- this process's queues, pauses and halts --------------------------------------------

    def _paused(self, claims: Sequence[tuple[str, RateLimit]]) -> float:
        """Seconds until this process's own pauses of ``claims`` end (0 if none)."""
        if not self._pauses:
            return 0.0
        now = self._clock.monotonic()
        return max(0.0, *(self._pauses.get(key, -math.inf) - now for key, _ in claims))

    def _lane(self, key: str) -> Turns:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Turns()
        return lane

    def __repr__(self) -> str:
        return f"<Redis buckets prefix={self.prefix!r} waiting={self.waiting()}>"
