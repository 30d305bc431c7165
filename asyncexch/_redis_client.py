"""Redis plumbing shared by the Redis limiter and the id registry.

Needs the ``redis`` extra (``pip install 'asyncexch[redis]'``): importing this module without
it raises an ``ImportError`` that says so. Here: a client that fails fast
(:func:`connect_redis`), which failures mean Redis cannot be reached, how to read a reply's
text and describe a failure, and :class:`RedisBacked`, the lifecycle of an object that keeps
its state in Redis.
"""

from __future__ import annotations

try:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.commands.core import AsyncScript
    from redis.exceptions import RedisError
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "asyncexch's Redis backend (RedisLimiter, RedisIdRegistry) needs the redis extra: "
        "pip install 'asyncexch[redis]'"
    ) from missing

from ._resource import AsyncResource

__all__ = [
    "UNREACHABLE",
    "AsyncScript",
    "Redis",
    "RedisBacked",
    "connect_redis",
    "describe",
    "text",
]

#: Redis failures that mean "cannot be reached / cannot answer" (OSError: a socket error that
#: escaped redis-py's own wrapping).
UNREACHABLE = (RedisError, OSError)


def connect_redis(url: str, *, timeout: float = 1.0) -> Redis:
    """A ``redis.asyncio.Redis`` for ``url`` that fails fast when the server is down.

    Connects and answers within ``timeout`` seconds or fails; one reconnect on a broken
    connection (a restarted server), no backoff. redis-py's own default (ten retries with
    backoff, 5 s timeouts) would hold every request for seconds before failing closed.
    """
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


def text(value: object) -> str:
    """A reply's bytes as text (a client made with ``decode_responses`` gives ``str``)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def describe(error: BaseException | None) -> str:
    """``"ConnectionError: ..."``: why Redis could not be reached, for a message."""
    return "unknown error" if error is None else f"{type(error).__name__}: {error}"


class RedisBacked(AsyncResource):
    """An object that keeps its state in Redis: given a ``redis.asyncio.Redis`` it uses that
    client (yours to close); given a URL it connects with :func:`connect_redis` and closes the
    client in :meth:`aclose`."""

    def __init__(self, redis: Redis | str) -> None:
        self._redis = connect_redis(redis) if isinstance(redis, str) else redis
        self._owns_redis = isinstance(redis, str)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close the Redis client, if this object made it."""
        self._closed = True
        if self._owns_redis:
            await self._redis.aclose()
