"""Bybit's retCodes and HTTP statuses, mapped to asyncexch's errors."""

from __future__ import annotations

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

__all__ = ["VENUE", "api_error", "http_error", "may_mean_already_exists"]

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


def api_error(code: int, message: str, *, http_status: int, host: str = "") -> ApiError:
    """The typed error for retCode ``code``; unknown codes give a plain :class:`ApiError`.

    A rate-limit error waits :data:`DEFAULT_RATE_WAIT` unless the session learns the reset
    time from the answer's headers. A refused key says which host refused it (``host``).
    """
    cls = _CODES.get(code, ApiError)
    if issubclass(cls, RateLimited):
        return cls(code, message, VENUE, http_status=http_status, retry_after=DEFAULT_RATE_WAIT)
    if cls is AuthenticationError:
        return AuthenticationError(
            code, message, VENUE, http_status=http_status, hint=_environment_hint(host)
        )
    return cls(code, message, VENUE, http_status=http_status)


def _environment_hint(host: str) -> str:
    """The likeliest cause of a refused key: one made for another of Bybit's environments."""
    where = f": this client talks to {host}" if host else ""
    return f"keys of Bybit's mainnet, testnet and demo trading are separate{where}"


#: HTTP statuses Bybit's error page defines as refusals of the request (docs/v5/error.mdx):
#: a gateway answers them without an envelope, before the request is processed.
_HTTP_REFUSALS: dict[int, tuple[type[ApiError], str]] = {
    400: (BadParameter, "bad request (the method must be GET or POST, in capitals)"),
    401: (
        AuthenticationError,
        "invalid request (a key of another environment, or authentication headers missing)",
    ),
    404: (ApiError, "cannot find path (a wrong path, or a category the account mode lacks)"),
}


def http_error(status: int, text: str, *, host: str = "") -> ApiError | None:
    """The typed error for an HTTP status that carries no Bybit envelope, if it means one.

    403 is the IP-wide ban (every bucket of the key stops); 429 and 5xx are the venue's
    overload and failure; other 4xx are definite refusals (outcome ``FAILED``: the request
    was refused, never processed, and is not sent again). Other statuses mean nothing on
    their own (the caller reports a malformed answer).
    """
    excerpt = f"{text[:120]!r}"
    if status == 403:
        return TrafficHalted(
            403,
            "IP rate limit exceeded (600 requests per 5 s) or access from a "
            f"blocked region: {excerpt}",
            VENUE,
            http_status=403,
            retry_after=IP_BAN_SECONDS,
        )
    if status == 429:
        return RateLimited(
            429,
            "system-level frequency protection",
            VENUE,
            http_status=429,
            retry_after=DEFAULT_RATE_WAIT,
        )
    if status >= 500:
        return ServiceUnavailable(status, excerpt, VENUE, http_status=status)
    if 400 <= status < 500:
        cls, meaning = _HTTP_REFUSALS.get(status, (ApiError, "refused"))
        # ApiError's outcome is FAILED: refused, not processed, never sent again.
        if cls is AuthenticationError:
            return AuthenticationError(
                status,
                f"{meaning}: {excerpt}",
                VENUE,
                http_status=status,
                hint=_environment_hint(host),
            )
        return cls(status, f"{meaning}: {excerpt}", VENUE, http_status=status)
    return None


def may_mean_already_exists(error: ApiError) -> bool:
    """Whether a refusal of an order can mean that its ``orderLinkId`` is already taken.

    Bybit documents no retCode for a reused Advance Earn ``orderLinkId`` (only "an error
    indicating the order already exists"): besides the duplicate codes we know (180025, 180031,
    10014), any venue code missing from the table may be the one it uses. HTTP statuses
    without an envelope never mean it.
    """
    if isinstance(error, OrderAlreadyExists):
        return True
    return type(error) is ApiError and error.code not in _CODES and not 100 <= error.code < 600
