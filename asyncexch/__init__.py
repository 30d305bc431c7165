"""asyncexch: an asyncio client for exchange trading APIs.

No order placed twice, no rate limit broken, every answer a typed, exact object or a typed
error. Venues live in subpackages (:mod:`asyncexch.bybit`); the shared core is here.
"""

from importlib.metadata import PackageNotFoundError, version

from ._batch import BatchReport
from ._clock import Clock, ServerTime, SystemClock, VirtualClock
from ._endpoint import Endpoint
from ._ids import is_valid_order_link_id, new_order_link_id, order_link_id_for
from ._limits import (
    InProcessLimiter,
    LimiterHalted,
    Permit,
    RateLimit,
    RateLimiter,
    shared_limiter,
)
from ._retry import RetryPolicy
from ._session import Session
from ._venue import Reply, Venue, WireRequest
from .errors import (
    ApiError,
    AuthenticationError,
    BadParameter,
    ClockSkew,
    ConfigurationError,
    ExchangeError,
    InsufficientBalance,
    InvalidRequest,
    MalformedResponse,
    OrderAlreadyExists,
    OrderNotFound,
    OrderStatusUnknown,
    OrderWaitTimeout,
    Outcome,
    PermissionDenied,
    ProductUnavailable,
    RateLimited,
    RedeemNotAllowed,
    ServiceUnavailable,
    SlippageExceeded,
    TrafficHalted,
    TransportError,
)

try:
    __version__ = version("asyncexch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadParameter",
    "BatchReport",
    "Clock",
    "ClockSkew",
    "ConfigurationError",
    "Endpoint",
    "ExchangeError",
    "InProcessLimiter",
    "InsufficientBalance",
    "InvalidRequest",
    "LimiterHalted",
    "MalformedResponse",
    "OrderAlreadyExists",
    "OrderNotFound",
    "OrderStatusUnknown",
    "OrderWaitTimeout",
    "Outcome",
    "PermissionDenied",
    "Permit",
    "ProductUnavailable",
    "RateLimit",
    "RateLimited",
    "RateLimiter",
    "RedeemNotAllowed",
    "Reply",
    "RetryPolicy",
    "ServerTime",
    "ServiceUnavailable",
    "Session",
    "SlippageExceeded",
    "SystemClock",
    "TrafficHalted",
    "TransportError",
    "Venue",
    "VirtualClock",
    "WireRequest",
    "__version__",
    "is_valid_order_link_id",
    "new_order_link_id",
    "order_link_id_for",
    "shared_limiter",
]
