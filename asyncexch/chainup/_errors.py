"""ChainUP contract codes, mapped to asyncexch's errors."""

from __future__ import annotations

from .._error_table import ErrorTable, StatusRule
from ..errors import (
    ApiError,
    AuthenticationError,
    BadParameter,
    ClockSkew,
    InsufficientBalance,
    OrderNotFound,
    PermissionDenied,
    ProductUnavailable,
    RateLimited,
    ServiceUnavailable,
)

__all__ = ["ERRORS", "VENUE"]

VENUE = "chainup"
#: Seconds to wait after code 119, 110041 or 110042 (the venue gives no reset time).
DEFAULT_RATE_WAIT = 1.0

_CODES: dict[int, type[ApiError]] = {
    1: ServiceUnavailable,  # system error: may have been processed
    2: BadParameter,
    101: PermissionDenied,  # reducing margin not allowed now
    102: PermissionDenied,  # changing leverage not allowed now
    103: PermissionDenied,  # contract account abnormal
    104: PermissionDenied,  # account does not exist
    105: OrderNotFound,  # no position
    106: InsufficientBalance,  # insufficient margin
    107: ProductUnavailable,  # contract does not exist
    108: BadParameter,  # volume too large
    109: BadParameter,  # volume too small
    110: OrderNotFound,  # position not found
    111: ProductUnavailable,  # contract settling
    112: BadParameter,  # price precision
    116: PermissionDenied,  # position frozen
    117: PermissionDenied,  # account frozen
    118: InsufficientBalance,
    119: RateLimited,
    100001: ServiceUnavailable,  # system exception
    100002: ServiceUnavailable,  # system upgrading
    100004: BadParameter,  # illegal parameters
    100005: AuthenticationError,  # signature error
    100007: PermissionDenied,  # illegal IP
    100008: ClockSkew,  # request expired: time too old (re-signed with a fresh time)
    110032: PermissionDenied,  # no permission
    110041: RateLimited,  # too frequent
    110042: RateLimited,  # too many requests
}


#: ChainUP's codes (its contract API page) and bare statuses: 429 and 401/403 come from its
#: gateway without an envelope; a rate-limit code waits :data:`DEFAULT_RATE_WAIT`.
ERRORS = ErrorTable(
    venue=VENUE,
    codes=_CODES,
    statuses={
        401: StatusRule(PermissionDenied, ""),
        403: StatusRule(PermissionDenied, ""),
        429: StatusRule(RateLimited, "too many requests"),
    },
    rate_wait=DEFAULT_RATE_WAIT,
)
