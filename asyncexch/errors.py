"""The exceptions asyncexch raises.

Every failure a caller can see is one of these, whatever the venue::

    ExchangeError
    ├── InvalidRequest            bad input, refused before anything is sent (also a ValueError)
    ├── ConfigurationError        a client set up in a way that cannot work (also a ValueError)
    ├── TransportError            the request did not complete on the network
    ├── LimiterUnavailable        the shared rate limiter (Redis) cannot be reached: nothing sent
    │   └── IdRegistryUnavailable the id registry's Redis cannot be reached
    ├── MalformedResponse         the server answered something we cannot read
    ├── ApiError                  the venue answered with an error code
    │   ├── AuthenticationError   bad key, bad signature
    │   ├── PermissionDenied      the key or account may not do this
    │   ├── RateLimited           too many requests; ``retry_after`` says when to come back
    │   │   └── TrafficHalted     the venue banned this IP/key for a while: all traffic stopped
    │   ├── ClockSkew             the request timestamp was outside the venue's window
    │   ├── ServiceUnavailable    the venue failed or timed out while handling the request
    │   ├── BadParameter          the venue refused a parameter
    │   ├── ProductUnavailable    the product cannot be traded now
    │   ├── InsufficientBalance   not enough funds
    │   ├── SlippageExceeded      the price moved past the slippage bound
    │   ├── OrderAlreadyExists    a different order already holds this client order id
    │   ├── OrderNotFound         no such order or position
    │   ├── RedeemNotAllowed      the position cannot be redeemed now
    │   └── PositionOrderPending  the position already has a pending order
    ├── OrderStatusUnknown        an order may or may not have been placed
    ├── OrderWaitTimeout          an order did not reach a final status in time
    └── SubscriptionRefused       a stream's server refused to subscribe to a topic

Each exception carries an :class:`Outcome` telling whether the request may have been
processed by the venue, which is what decides whether resending it is safe.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadParameter",
    "ClockSkew",
    "ConfigurationError",
    "ExchangeError",
    "IdRegistryUnavailable",
    "InsufficientBalance",
    "InvalidRequest",
    "LimiterUnavailable",
    "MalformedResponse",
    "OrderAlreadyExists",
    "OrderNotFound",
    "OrderStatusUnknown",
    "OrderWaitTimeout",
    "Outcome",
    "PermissionDenied",
    "PositionOrderPending",
    "ProductUnavailable",
    "RateLimited",
    "RedeemNotAllowed",
    "ServiceUnavailable",
    "SlippageExceeded",
    "SubscriptionRefused",
    "TrafficHalted",
    "TransportError",
]


class Outcome(enum.Enum):
    """What a failed attempt did to the venue's state, as far as the client can know."""

    #: The venue refused the request before acting on it (rate limit, clock window, never
    #: connected). Resending is always safe.
    NOT_PROCESSED = "not_processed"
    #: The request may or may not have been acted on (timeout after sending, 5xx, dropped
    #: connection). Resending is safe only where the request is idempotent.
    UNKNOWN = "unknown"
    #: The venue processed the request and refused it. Resending the same request fails again.
    FAILED = "failed"


class ExchangeError(Exception):
    """Base of every error asyncexch raises.

    Every one pickles and copies with its attributes (a batch's results cross process pools),
    and none holds a secret.
    """

    #: Whether the venue may have acted on the request; decides whether a retry is safe.
    outcome: Outcome = Outcome.FAILED

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles as cls(*args), which these constructors' signatures do not take:
        # rebuild from the message and the attributes instead.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[ExchangeError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidRequest(ExchangeError, ValueError):
    """The request was refused on the client, before anything was sent.

    ``field`` names the offending parameter (for example ``"amount"``).
    """

    outcome = Outcome.NOT_PROCESSED

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ConfigurationError(ExchangeError, ValueError):
    """The client or session was set up in a way that cannot work."""

    outcome = Outcome.NOT_PROCESSED


class TransportError(ExchangeError):
    """The request did not complete on the network (connect failure, timeout, reset).

    ``outcome`` is ``NOT_PROCESSED`` when no byte of the request can have reached the
    venue (connection refused, connect timeout) and ``UNKNOWN`` otherwise.
    """

    def __init__(self, message: str, *, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


class LimiterUnavailable(ExchangeError):
    """The shared rate limiter's store (Redis) could not be reached; nothing was sent.

    Without the shared limiter a process cannot know what the others sent, so it sends
    nothing rather than break the key's limit (fail closed). The request was not processed:
    placing the same order object again later is safe. It is not retried automatically: a
    store that is down usually stays down for longer than a retry waits. When the id
    registry's Redis cannot be reached it raises the subclass :class:`IdRegistryUnavailable`,
    which ``except LimiterUnavailable`` catches too.
    """

    outcome = Outcome.NOT_PROCESSED


class IdRegistryUnavailable(LimiterUnavailable):
    """The id registry (:class:`~asyncexch.RedisIdRegistry`) could not reach its Redis.

    Nothing was read or recorded: a bot that cannot ask whether an intent was placed should
    not place it, so the order it was about to place was not sent (``NOT_PROCESSED``). A
    :class:`LimiterUnavailable`, as the registry raised before it had its own error.
    """

    outcome = Outcome.NOT_PROCESSED


class MalformedResponse(ExchangeError):
    """The venue answered with something that is not the documented response.

    An HTML error page, truncated JSON, a missing ``result`` or a field of the wrong type.
    ``status_code`` is the HTTP status; ``excerpt`` the start of the body, for diagnosis.
    A garbled answer to a request that was sent leaves its effect unknown.
    """

    outcome = Outcome.UNKNOWN

    def __init__(self, message: str, *, status_code: int | None = None, excerpt: str = "") -> None:
        super().__init__(message if not excerpt else f"{message} (body starts {excerpt!r})")
        self.status_code = status_code
        self.excerpt = excerpt


class ApiError(ExchangeError):
    """The venue answered with an error code.

    ``code`` is the venue's code (Bybit ``retCode``, ChainUP ``code``; the HTTP status when
    the venue gave only that, and then ``code == http_status``), ``message`` its text,
    ``venue`` the venue's name and ``http_status`` the HTTP status of the answer. The text
    reads ``bybit error 10006: ...`` for a venue code and ``bybit HTTP 502: ...`` for a bare
    status.
    """

    def __init__(
        self,
        code: int,
        message: str,
        venue: str,
        *,
        http_status: int | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        bare_status = code == http_status and not 200 <= code < 300
        super().__init__(f"{venue} {'HTTP' if bare_status else 'error'} {code}: {message}")
        self.code = code
        self.message = message
        self.venue = venue
        self.http_status = http_status
        if outcome is not None:
            self.outcome = outcome


class AuthenticationError(ApiError):
    """The API key is unknown or the signature does not match.

    ``hint`` is the likeliest cause the venue's client knows (a key made for another of the
    venue's environments), shown after the venue's own ``message``.
    """

    def __init__(
        self,
        code: int,
        message: str,
        venue: str,
        *,
        http_status: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(code, message, venue, http_status=http_status)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} ({self.hint})" if self.hint else text


class PermissionDenied(ApiError):
    """The key, account, IP or region may not do this."""


class RateLimited(ApiError):
    """The venue refused the request because of a rate limit; it was not processed.

    ``retry_after`` is how many seconds to wait before the venue accepts requests again,
    when the venue said so, else ``None``.
    """

    outcome = Outcome.NOT_PROCESSED

    def __init__(
        self,
        code: int,
        message: str,
        venue: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, message, venue, http_status=http_status)
        self.retry_after = retry_after


class TrafficHalted(RateLimited):
    """The venue banned this client for a while (Bybit: HTTP 403 after the IP limit).

    Every bucket of the key is stopped until ``retry_after`` seconds have passed; calls made
    meanwhile raise this error at once, without sending anything.
    """


class ClockSkew(ApiError):
    """The request's timestamp was outside the venue's window; it was not processed."""

    outcome = Outcome.NOT_PROCESSED


class ServiceUnavailable(ApiError):
    """The venue failed or timed out while handling the request (5xx, server timeout).

    The request may have been processed: ``outcome`` is ``UNKNOWN``.
    """

    outcome = Outcome.UNKNOWN


class BadParameter(ApiError):
    """The venue refused a parameter of the request."""


class ProductUnavailable(ApiError):
    """The product does not exist, is closed, or has no quota left."""


class InsufficientBalance(ApiError):
    """The account does not hold enough funds for the order."""


class SlippageExceeded(ApiError):
    """The market price moved past the order's slippage bound. Fetch a new quote."""


class OrderAlreadyExists(ApiError):
    """The client order id is already taken by an order other than the one asked for."""


class OrderNotFound(ApiError):
    """The order or position does not exist."""


class RedeemNotAllowed(ApiError):
    """The position cannot be redeemed now (too close to settlement, redeem pending...)."""


class PositionOrderPending(ApiError):
    """The position already has a pending order, and the venue takes one at a time (Bybit
    Liquidity Mining). Processed and refused: the same order succeeds only once the pending
    one is done."""


class OrderStatusUnknown(ExchangeError):
    """The order may or may not have been placed: the last attempt's outcome is unknown.

    ``request`` is the order as the caller built it (with its client order id, where the
    venue has one) and ``__cause__`` the last failure. Where the venue deduplicates by
    client order id (Bybit), placing the same request again is safe and tells the truth.
    Where it has none (ChainUP), ``sent_at`` bounds the search that finds the order (and the
    venue's subclass carries what else that search needs).
    """

    outcome = Outcome.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        request: object,
        sent_at: float | None = None,
    ) -> None:
        super().__init__(message)
        self.request = request
        #: When the first attempt left (Unix time, the client's clock), to bound a search.
        self.sent_at = sent_at


class OrderWaitTimeout(ExchangeError, TimeoutError):
    """The order did not reach a final status before the timeout.

    ``last_seen`` is the last state read from the venue, or ``None`` if the order was
    never found.
    """

    outcome = Outcome.UNKNOWN

    def __init__(self, message: str, *, last_seen: object | None) -> None:
        super().__init__(message)
        self.last_seen = last_seen


class SubscriptionRefused(ExchangeError):
    """A stream's server refused to subscribe to ``topic`` (``reason`` is what it said).

    Raised from the iterator that asked for the topic; the stream stops asking for it, and
    the other topics on the same connection go on.
    """

    outcome = Outcome.FAILED

    def __init__(self, topic: str, reason: str) -> None:
        said = reason or "no reason given"
        super().__init__(f"the server refused to subscribe to {topic}: {said}")
        self.topic = topic
        self.reason = reason
