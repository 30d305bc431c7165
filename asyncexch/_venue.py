"""The contract between the venue-agnostic session and one venue's wire format."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import cattrs
import httpx

from ._convert import read_json
from ._endpoint import Endpoint
from ._error_table import ErrorTable
from ._limits import RateLimit
from .errors import ConfigurationError, ExchangeError, InvalidRequest, MalformedResponse

__all__ = [
    "Reply",
    "Secret",
    "Venue",
    "WireRequest",
    "as_secret",
    "check_credentials",
    "check_text",
    "header_integers",
    "key_scope",
    "open_envelope",
]


class Secret:
    """An API secret, held so that no traceback, log or pickle can show it.

    Its repr is masked, it refuses to be pickled, and it is checked once, when made: a secret
    that is not valid text (a lone surrogate from a mis-decoded environment) is refused with
    a message that does not contain it. Client constructors turn their ``api_secret``
    argument into one first thing and drop the argument, so a traceback rendered with locals
    (``--showlocals``, error trackers) shows ``Secret(***)``.
    """

    __slots__ = ("_bytes", "_text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ConfigurationError(f"api_secret must be a str, got {type(text).__name__}")
        # Not raised inside the except block: the encode error holds the secret, and a
        # chained (or merely suppressed) context would carry it into the traceback.
        try:
            encoded: bytes | None = text.encode("utf-8")
        except UnicodeEncodeError:
            encoded = None
        if encoded is None:
            raise ConfigurationError(
                "api_secret is not valid text: it cannot be encoded as UTF-8 (a lone surrogate, "
                "often from a mis-decoded environment variable)"
            )
        if not encoded:
            raise ConfigurationError("api_secret is empty")
        self._text = text
        self._bytes = encoded

    def reveal(self) -> str:
        """The secret itself, for a signer."""
        return self._text

    def reveal_bytes(self) -> bytes:
        """The secret as UTF-8 bytes, for a signer."""
        return self._bytes

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def as_secret(secret: str | Secret | None) -> Secret | None:
    """``secret`` held as a :class:`Secret` (``None`` stays ``None``)."""
    return secret if secret is None or isinstance(secret, Secret) else Secret(secret)


def check_text(field: str, value: str) -> str:
    """``value`` if it can go on the wire as UTF-8; :class:`~asyncexch.InvalidRequest`
    naming ``field`` otherwise (a lone surrogate)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            valid = False
        else:
            valid = True
        if not valid:
            raise InvalidRequest(field, "is not valid text (it cannot be encoded as UTF-8)")
    return value


def check_credentials(api_key: str | None, api_secret: object) -> None:
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


def key_scope(venue: str, api_key: str | None) -> str:
    """The scope of an API key's buckets: ``"<venue>:key:<fingerprint>"``.

    Clients of one key share its buckets (in one limiter, or across processes in Redis)
    without the key itself appearing in a bucket's name, a log line or Redis.
    """
    fingerprint = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
    return f"{venue}:key:{fingerprint}"


def header_integers(response: httpx.Response, *names: str) -> list[int | None]:
    """Each named header of the answer (any case) as a number of at most 16 digits, or None:
    absent, repeated (httpx would join the values) or not such a number. The headers are
    read once for all the names (a lookup in httpx's headers costs ~0.8 µs each)."""
    found: dict[bytes, bytes | None] = {}
    for raw_name, raw_value in response.headers.raw:
        key = raw_name.lower()
        found[key] = None if key in found else raw_value.strip()
    numbers: list[int | None] = []
    for name in names:
        value = found.get(name.lower().encode("latin-1"))
        # (bytes.isdigit is ASCII only: no "²" gets through to int())
        is_number = value is not None and value.isdigit() and len(value) <= 16
        numbers.append(int(value) if is_number and value is not None else None)
    return numbers


def open_envelope(
    response: httpx.Response, *, key: str, errors: ErrorTable, title: str, path: str, host: str = ""
) -> dict[str, Any] | ExchangeError:
    """The answer's JSON envelope (an object holding ``key``), or the error the answer is.

    An answer without an envelope is read by its HTTP status (``errors.http_error``), else it
    is a :class:`~asyncexch.MalformedResponse` saying what the body is ("an HTML page, not a
    Bybit answer"); ``title`` is the venue's name as its users write it.
    """
    data, unreadable = read_json(response.content)
    if isinstance(data, dict) and key in data:
        return data
    text = response.content[:200].decode("utf-8", "replace")
    error = errors.http_error(response.status_code, text, host=host)
    if error is not None:
        return error
    return MalformedResponse(
        f"{path}: {unreadable or 'JSON'}, not a {title} answer",
        status_code=response.status_code,
        excerpt=text[:80],
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
    sets a rate-limit error's ``retry_after`` from it). ``quota_left`` and ``quota`` are the
    venue's own count of what is left of the endpoint's quota in its window, and its size,
    when the answer says (reported by ``limits_state``, never used for pacing).
    """

    result: Any = None
    error: ExchangeError | None = None
    server_time_ms: int | None = None
    reset_at_ms: int | None = None
    quota_left: int | None = None
    quota: int | None = None


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
        """Read an answer: never raises, puts any failure in ``Reply.error``.

        ``response`` has its body read (``content``); its ``request`` may not be set (the
        session's own aiohttp path builds none)."""
        ...
