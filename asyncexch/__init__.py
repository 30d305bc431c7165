"""asyncexch: an asyncio client for exchange trading APIs.

No order placed twice, no rate limit broken, every answer a typed, exact object or a typed
error. Venues live in subpackages (:mod:`asyncexch.bybit`); the shared core is here.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from ._batch import BatchReport
from ._clock import Clock, ServerTime, SystemClock, VirtualClock
from ._endpoint import Endpoint
from ._failover import FailoverLimiter, FailoverStats
from ._ids import is_valid_order_link_id, new_order_link_id, order_link_id_for
from ._limits import (
    BucketState,
    BucketUsage,
    InProcessLimiter,
    LimiterHalted,
    Permit,
    RateLimit,
    RateLimiter,
    ReportsUsage,
    shared_limiter,
)
from ._observe import AttemptEvent, AttemptHook, CallEvent, CallObserver
from ._proxy import ProxyURL
from ._retry import RetryPolicy
from ._session import Session, TransportChoice
from ._stream_connection import StreamConnection, StreamConnector
from ._venue import Reply, Secret, Venue, WireRequest
from ._websockets import WebsocketsConnector
from .errors import (
    ApiError,
    AuthenticationError,
    BadParameter,
    ClockSkew,
    ConfigurationError,
    ExchangeError,
    IdRegistryUnavailable,
    InsufficientBalance,
    InvalidRequest,
    LimiterUnavailable,
    MalformedResponse,
    OrderAlreadyExists,
    OrderNotFound,
    OrderStatusUnknown,
    OrderWaitTimeout,
    Outcome,
    PermissionDenied,
    PositionOrderPending,
    ProductUnavailable,
    RateLimited,
    RedeemNotAllowed,
    ServiceUnavailable,
    SlippageExceeded,
    SubscriptionRefused,
    TrafficHalted,
    TransportError,
)

if TYPE_CHECKING:  # the Redis backend and the aiohttp transport need extras: loaded on first use
    from ._aiohttp import AiohttpTransport
    from ._redis import RedisLimiter, RedisLimiterStats, RedisPermit
    from ._redis_client import connect_redis
    from ._registry import IdRecord, IdStatus, RedisIdRegistry

_LAZY = {
    "AiohttpTransport": "._aiohttp",
    "IdRecord": "._registry",
    "IdStatus": "._registry",
    "RedisIdRegistry": "._registry",
    "RedisLimiter": "._redis",
    "RedisLimiterStats": "._redis",
    "RedisPermit": "._redis",
    "connect_redis": "._redis_client",
}


def __getattr__(name: str) -> object:
    """Import the Redis backend (extra ``redis``) or the aiohttp transport (the default
    transport, imported by the first client) when one of their names is first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'asyncexch' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


try:
    __version__ = version("asyncexch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "AiohttpTransport",
    "ApiError",
    "AttemptEvent",
    "AttemptHook",
    "AuthenticationError",
    "BadParameter",
    "BatchReport",
    "BucketState",
    "BucketUsage",
    "CallEvent",
    "CallObserver",
    "Clock",
    "ClockSkew",
    "ConfigurationError",
    "Endpoint",
    "ExchangeError",
    "FailoverLimiter",
    "FailoverStats",
    "IdRecord",
    "IdRegistryUnavailable",
    "IdStatus",
    "InProcessLimiter",
    "InsufficientBalance",
    "InvalidRequest",
    "LimiterHalted",
    "LimiterUnavailable",
    "MalformedResponse",
    "OrderAlreadyExists",
    "OrderNotFound",
    "OrderStatusUnknown",
    "OrderWaitTimeout",
    "Outcome",
    "PermissionDenied",
    "Permit",
    "PositionOrderPending",
    "ProductUnavailable",
    "ProxyURL",
    "RateLimit",
    "RateLimited",
    "RateLimiter",
    "RedeemNotAllowed",
    "RedisIdRegistry",
    "RedisLimiter",
    "RedisLimiterStats",
    "RedisPermit",
    "Reply",
    "ReportsUsage",
    "RetryPolicy",
    "Secret",
    "ServerTime",
    "ServiceUnavailable",
    "Session",
    "SlippageExceeded",
    "StreamConnection",
    "StreamConnector",
    "SubscriptionRefused",
    "SystemClock",
    "TrafficHalted",
    "TransportChoice",
    "TransportError",
    "Venue",
    "VirtualClock",
    "WebsocketsConnector",
    "WireRequest",
    "__version__",
    "connect_redis",
    "is_valid_order_link_id",
    "new_order_link_id",
    "order_link_id_for",
    "shared_limiter",
]
