"""Bybit's retCodes and HTTP statuses, mapped to asyncexch's errors."""

from __future__ import annotations

from .._error_table import ErrorTable, StatusRule
from ..errors import (
    ApiError,
    AuthenticationError,
    BadParameter,
    ClockSkew,
    InsufficientBalance,
    OrderAlreadyExists,
    OrderNotFound,
    PermissionDenied,
    ProductUnavailable,
    RateLimited,
    RedeemNotAllowed,
    ServiceUnavailable,
    SlippageExceeded,
    TrafficHalted,
)

__all__ = ["ERRORS", "VENUE", "may_mean_already_exists"]

VENUE = "bybit"

#: Seconds Bybit asks a client to stop after an HTTP 403 ("access too frequent").
IP_BAN_SECONDS = 600.0
#: Wait after a 10006/429 that came without a reset time (pybit waits 2 s).
DEFAULT_RATE_WAIT = 1.0

_CODES: dict[int, type[ApiError]] = {
    # V5 common codes (docs/v5/error.mdx)
    10000: ServiceUnavailable,  # Server Timeout: may have been processed
    10001: BadParameter,
    10002: ClockSkew,
    10003: AuthenticationError,  # key invalid, or wrong environment
    10004: AuthenticationError,  # error sign
    10005: PermissionDenied,
    10006: RateLimited,
    10007: AuthenticationError,
    10008: PermissionDenied,  # common banned
    10009: PermissionDenied,  # IP banned / region
    10010: PermissionDenied,  # unmatched IP
    10014: OrderAlreadyExists,  # invalid duplicate request
    10016: ServiceUnavailable,  # server error / restarting
    10017: BadParameter,  # route not found
    10018: RateLimited,  # IP rate limit (deprecated code)
    10024: PermissionDenied,
    10027: PermissionDenied,
    10028: PermissionDenied,
    10029: PermissionDenied,
    429: RateLimited,
    # Earn (docs/v5/error.mdx, "Earn")
    180001: BadParameter,
    180002: BadParameter,  # invalid coin
    180003: PermissionDenied,  # user banned
    180004: PermissionDenied,  # site not allowed
    180005: PermissionDenied,  # compliance wallet
    180006: BadParameter,  # validation failed
    180007: ProductUnavailable,
    180008: ProductUnavailable,  # invalid product
    180009: ProductUnavailable,  # product forbidden
    180010: PermissionDenied,
    180011: PermissionDenied,  # not VIP
    180012: BadParameter,  # purchase share invalid
    180013: BadParameter,  # over maximum share
    180014: BadParameter,  # redeem share invalid
    180015: ProductUnavailable,  # product share not enough
    180016: InsufficientBalance,
    180017: PermissionDenied,  # risk user
    180018: ServiceUnavailable,  # internal error
    180019: BadParameter,  # empty orderLinkId
    180020: OrderNotFound,  # position not found
    180021: BadParameter,  # invalid select price
    180022: PermissionDenied,  # KYC level
    180023: ServiceUnavailable,  # maintenance
    180024: PermissionDenied,  # child member
    180025: OrderAlreadyExists,
    180026: ProductUnavailable,  # APR lowered
    180027: PermissionDenied,  # tax
    180028: BadParameter,  # reinvest validation
    180029: RedeemNotAllowed,
    180030: SlippageExceeded,
    180031: OrderAlreadyExists,  # duplicate order
}


def _environment_hint(host: str) -> str:
    """The likeliest cause of a refused key: one made for another of Bybit's environments."""
    where = f": this client talks to {host}" if host else ""
    return f"keys of Bybit's mainnet, testnet and demo trading are separate{where}"


#: Bybit's codes and bare statuses (docs/v5/error.mdx). A gateway answers 400/401/404
#: without an envelope, before the request is processed: definite refusals (outcome
#: ``FAILED``, never sent again), like any other 4xx. 403 is the IP-wide ban (every bucket of
#: the key stops); 429 and 5xx are the venue's overload and failure. A rate-limit code waits
#: :data:`DEFAULT_RATE_WAIT` unless the session learns the reset time from the headers; a
#: refused key says which host refused it.
ERRORS = ErrorTable(
    venue=VENUE,
    codes=_CODES,
    statuses={
        400: StatusRule(BadParameter, "bad request (the method must be GET or POST, in capitals)"),
        401: StatusRule(
            AuthenticationError,
            "invalid request (a key of another environment, or authentication headers missing)",
        ),
        403: StatusRule(
            TrafficHalted,
            "IP rate limit exceeded (600 requests per 5 s) or access from a blocked region",
            retry_after=IP_BAN_SECONDS,
        ),
        404: StatusRule(
            ApiError, "cannot find path (a wrong path, or a category the account mode lacks)"
        ),
        429: StatusRule(RateLimited, "system-level frequency protection"),
    },
    refuse_other_4xx=True,
    rate_wait=DEFAULT_RATE_WAIT,
    auth_hint=_environment_hint,
)


def may_mean_already_exists(error: ApiError) -> bool:
    """Whether a refusal of an order can mean that its ``orderLinkId`` is already taken.

    Bybit documents no retCode for a reused Advance Earn ``orderLinkId`` (only "an error
    indicating the order already exists"): besides the duplicate codes we know (180025, 180031,
    10014), any venue code missing from the table may be the one it uses. HTTP statuses
    without an envelope never mean it.
    """
    if isinstance(error, OrderAlreadyExists):
        return True
    return type(error) is ApiError and not ERRORS.knows(error.code) and not 100 <= error.code < 600
