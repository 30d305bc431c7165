"""The contract between the venue-agnostic session and one venue's wire format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import cattrs
import httpx

from ._endpoint import Endpoint
from ._limits import RateLimit
from .errors import ConfigurationError, ExchangeError

__all__ = ["Reply", "Venue", "WireRequest", "check_credentials"]


def check_credentials(api_key: str | None, api_secret: str | None) -> None:
    """Refuse half a key pair, or a key that cannot go into a header or a signed string as it
    is (a trailing newline read from a file, a space, a non-ASCII letter), before anything is
    sent."""
    if (api_key is None) != (api_secret is None):
        raise ConfigurationError("give both api_key and api_secret, or neither")
    if api_key is not None and not (
        api_key and api_key.isascii() and api_key.isprintable() and " " not in api_key
    ):
        raise ConfigurationError(
            "api_key must be printable ASCII without spaces or line breaks "
            f"({len(api_key)} characters given; check for a trailing newline)"
        )


@attrs.frozen
class WireRequest:
    """A request as it goes on the wire: the exact query string and body bytes.

    ``fields`` carries the parameters, already written as the strings to be sent, for venues
    that sign inside the parameters (the signature, and so the body, change per attempt):
    their ``sign`` writes the body from them.
    """

    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    fields: tuple[tuple[str, str], ...] = ()

    def with_headers(self, *headers: tuple[str, str]) -> WireRequest:
        """This request with ``headers`` added after its own."""
        return WireRequest(
            self.method, self.path, self.query, self.body, self.headers + headers, self.fields
        )


@attrs.frozen
class Reply:
    """A venue's answer, read but not yet decoded.

    ``result`` is the payload (parsed JSON, numbers as Decimal) when the call succeeded,
    ``error`` the typed error when it did not. ``server_time_ms`` is the server's clock in
    the answer, if any; ``reset_at_ms`` the server time at which the endpoint's quota
    refills, when the answer says it is used up (the session pauses the bucket until then and
    sets a rate-limit error's ``retry_after`` from it).
    """

    result: Any = None
    error: ExchangeError | None = None
    server_time_ms: int | None = None
    reset_at_ms: int | None = None


class Venue(Protocol):
    """How one exchange encodes, signs and answers; everything else is the session's."""

    #: Short name used in errors and logs ("bybit").
    name: str
    #: Decodes payloads into the venue's models.
    converter: cattrs.Converter
    #: The documented limits, by bucket name.
    default_limits: Mapping[str, RateLimit]
    #: The unsigned endpoint that reports the server's time, if the venue has one.
    time_endpoint: Endpoint[Any] | None

    def bucket_key(self, bucket: str) -> str:
        """The key of bucket ``bucket`` for this client's API key (or IP, for IP pools)."""
        ...

    def encode(self, endpoint: Endpoint[Any], params: Mapping[str, object]) -> WireRequest:
        """The request's exact bytes; called once per call, before any attempt."""
        ...

    def sign(self, request: WireRequest, timestamp_ms: int) -> WireRequest:
        """``request`` signed for sending at ``timestamp_ms`` (server time); once per attempt."""
        ...

    def read(self, endpoint: Endpoint[Any], response: httpx.Response) -> Reply:
        """Read an answer: never raises, puts any failure in ``Reply.error``."""
        ...
