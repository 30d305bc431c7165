"""ChainUP contract codes, mapped to asyncexch's errors."""

from __future__ import annotations

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

__all__ = ["VENUE", "api_error"]

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


def api_error(code: int, message: str, *, http_status: int) -> ApiError:
    """The typed error for ``code``; unknown codes give a plain :class:`ApiError`."""
    cls = _CODES.get(code, ApiError)
    if issubclass(cls, RateLimited):
        return cls(code, message, VENUE, http_status=http_status, retry_after=DEFAULT_RATE_WAIT)
    return cls(code, message, VENUE, http_status=http_status)


def http_error(status: int, text: str) -> ApiError | None:
    """The typed error for an HTTP status without a ChainUP envelope, if it means one."""
    if status == 429:
        return RateLimited(
            429,
            "too many requests",
            VENUE,
            http_status=429,
            retry_after=DEFAULT_RATE_WAIT,
        )
    if status >= 500:
        return ServiceUnavailable(status, repr(text[:120]), VENUE, http_status=status)
    if status in (401, 403):
        return PermissionDenied(status, repr(text[:120]), VENUE, http_status=status)
    return None
