"""A venue of the tests' own: the smallest :class:`~asyncexch.Venue` the session runs against.

``tests/core`` checks the core (the session, retries, limits, the clock, observers, the
transports) through this venue instead of Bybit or ChainUP, so a core test pins a core
promise and nothing of a real venue's wire format. It is built from the venue kit the way a
real venue is: an :class:`~asyncexch._error_table.ErrorTable`, ``open_envelope``, bucket keys
scoped by ``key_scope``, a :class:`~asyncexch.Secret` held by a trivial signer.

On the wire:

* a request: GET parameters in a sorted query string, anything else a compact JSON body;
  signed requests carry ``Fake-Key``, ``Fake-Timestamp`` (the session's server-time stamp)
  and ``Fake-Sign`` (HMAC-SHA256 of the timestamp and the payload);
* an answer: the envelope ``{"code": 0, "msg": "", "data": ...}`` (a code other than 0 is a
  refusal, read through :data:`ERRORS`), or a bare HTTP status without one;
* feedback, in headers on any answer: ``Fake-Time`` (the server's clock, ms), ``Fake-Reset``
  (server ms at which the endpoint's quota refills: the bucket pauses until then),
  ``Fake-Left`` and ``Fake-Limit`` (the venue's own count of the quota). A header that is
  not plain digits is ignored.

Codes: 1 busy (``ServiceUnavailable``, outcome unknown), 2 refused (``BadParameter``,
failed), 3 slow down (``RateLimited``, not processed; waits :data:`RATE_WAIT` without a
reset), 4 bad clock (``ClockSkew``). Bare statuses: 401 key refused, 403 banned for
:data:`BAN_SECONDS` (every bucket of the key halts), 429 slow down, any other 4xx refused,
any 5xx ``ServiceUnavailable``.

The fixtures ``fake_mock`` (respx), ``make_session`` and ``session`` are in
``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
import cattrs
import httpx

from asyncexch import Endpoint, RateLimit, Reply, Secret, VirtualClock, WireRequest
from asyncexch._convert import make_converter
from asyncexch._error_table import ErrorTable, StatusRule
from asyncexch._venue import (
    as_secret,
    check_credentials,
    check_text,
    header_integers,
    key_scope,
    open_envelope,
)
from asyncexch.errors import (
    AuthenticationError,
    BadParameter,
    ClockSkew,
    ConfigurationError,
    ExchangeError,
    MalformedResponse,
    RateLimited,
    ServiceUnavailable,
    TrafficHalted,
)

NAME = "fake"
BASE_URL = "https://fake.venue.test"
API_KEY = "fake-key-0001"
API_SECRET = "fake-S3cr3t-never-shown-77e1"
#: The virtual clock's start in the ``clock`` fixture, in milliseconds.
SERVER_MS = 1_700_000_000_000
#: Seconds a rate-limit refusal waits when the answer gives no reset time.
RATE_WAIT = 0.5
#: Seconds every bucket of the key stops after a 403.
BAN_SECONDS = 600.0

#: The feedback headers the venue reads (see the module's docstring).
TIME_HEADER = "Fake-Time"
RESET_HEADER = "Fake-Reset"
LEFT_HEADER = "Fake-Left"
LIMIT_HEADER = "Fake-Limit"
#: The headers a signed request carries.
KEY_HEADER = "Fake-Key"
TIMESTAMP_HEADER = "Fake-Timestamp"
SIGN_HEADER = "Fake-Sign"


@attrs.frozen
class Echo:
    """What most endpoints answer: ``{"value": n}``."""

    value: int


@attrs.frozen
class Item:
    """One listed item: a field of each kind of number a venue sends."""

    count: int
    price: Decimal
    starts_at: datetime | None = None


@attrs.frozen
class Items:
    """What the listing endpoint answers: ``{"items": [...]}``."""

    items: list[Item]


# The endpoints; their paths are written out here once, as a venue's documentation would.
TIME_PATH = "/time"
READ_PATH = "/read"
ITEMS_PATH = "/items"
ORDER_PATH = "/order"
KEYED_PATH = "/keyed"

#: The unsigned time endpoint a clock re-sync calls.
TIME = Endpoint("time", "GET", TIME_PATH, Echo, signed=False)
#: A signed read (resent after an unknown outcome).
READ = Endpoint("read", "GET", READ_PATH, Echo, buckets=("read", "ip"))
#: A signed listing, to decode numbers of every kind.
ITEMS = Endpoint("items", "GET", ITEMS_PATH, Items, buckets=("read", "ip"))
#: An order without a client order id: never resent once its outcome is unknown.
ORDER = Endpoint("order", "POST", ORDER_PATH, Echo, buckets=("order", "ip"), changes_state=True)
#: An order with a client order id the venue deduplicates on: resent after an unknown outcome.
KEYED_ORDER = Endpoint(
    "keyed_order",
    "POST",
    KEYED_PATH,
    Echo,
    buckets=("order", "ip"),
    changes_state=True,
    idempotent=True,
)

#: Per key, except ``ip``, which every key on the host shares.
DEFAULT_LIMITS: Mapping[str, RateLimit] = {
    "read": RateLimit(5),
    "order": RateLimit(2),
    "ip": RateLimit(600, per=5.0),
}
IP_BUCKETS = frozenset({"ip"})

#: The venue's refusals, as data.
ERRORS = ErrorTable(
    venue=NAME,
    codes={1: ServiceUnavailable, 2: BadParameter, 3: RateLimited, 4: ClockSkew},
    statuses={
        401: StatusRule(AuthenticationError, "key refused"),
        403: StatusRule(TrafficHalted, "banned", retry_after=BAN_SECONDS),
        429: StatusRule(RateLimited, "slow down"),
    },
    refuse_other_4xx=True,
    rate_wait=RATE_WAIT,
)


class FakeVenue:
    """The fake venue's half of the session contract; holds the key and the secret."""

    name = NAME
    converter: cattrs.Converter = make_converter()
    default_limits: Mapping[str, RateLimit] = DEFAULT_LIMITS
    time_endpoint: Endpoint[Any] | None = TIME

    def __init__(
        self,
        api_key: str | None = API_KEY,
        api_secret: str | Secret | None = API_SECRET,
        *,
        base_url: str = BASE_URL,
    ) -> None:
        secret = as_secret(api_secret)
        del api_secret  # from here on, only the masked holder is a local
        check_credentials(api_key, secret)
        self.api_key = api_key
        self._secret = secret
        self._host = urlsplit(base_url).hostname or base_url
        self._key_scope = key_scope(NAME, api_key)

    def bucket_key(self, bucket: str) -> str:
        scope = f"{NAME}:ip:{self._host}" if bucket in IP_BUCKETS else self._key_scope
        return f"{scope}:{bucket}"

    def encode(self, endpoint: Endpoint[Any], params: Mapping[str, object]) -> WireRequest:
        if endpoint.signed and self._secret is None:
            raise ConfigurationError(f"{endpoint.name} needs an API key and secret")
        for field, value in params.items():
            if isinstance(value, str):
                check_text(field, value)
        if endpoint.method == "GET":
            return WireRequest("GET", endpoint.path, query=urlencode(sorted(params.items())))
        body = json.dumps(dict(params), separators=(",", ":")).encode()
        return WireRequest(
            endpoint.method,
            endpoint.path,
            body=body,
            headers=(("Content-Type", "application/json"),),
        )

    def sign(self, request: WireRequest, timestamp_ms: int) -> WireRequest:
        assert self._secret is not None and self.api_key is not None  # checked in encode
        return request.with_headers(
            (KEY_HEADER, self.api_key),
            (TIMESTAMP_HEADER, str(timestamp_ms)),
            (SIGN_HEADER, signature(self._secret.reveal_bytes(), timestamp_ms, request)),
        )

    def read(self, endpoint: Endpoint[Any], response: httpx.Response) -> Reply:
        server_ms, reset_ms, left, quota = header_integers(
            response, TIME_HEADER, RESET_HEADER, LEFT_HEADER, LIMIT_HEADER
        )
        data = open_envelope(
            response, key="code", errors=ERRORS, title="Fake", path=endpoint.path, host=self._host
        )
        if isinstance(data, ExchangeError):
            return Reply(error=data, server_time_ms=server_ms, reset_at_ms=reset_ms)
        code = data["code"]
        if not isinstance(code, int) or isinstance(code, bool):
            malformed = MalformedResponse(f"{endpoint.path}: code is {code!r}")
            return Reply(error=malformed, server_time_ms=server_ms, reset_at_ms=reset_ms)
        result: object = data.get("data")
        error: ExchangeError | None = None
        if code:
            message = data.get("msg")
            text = message if isinstance(message, str) else ""
            result = None
            error = ERRORS.api_error(code, text, http_status=response.status_code, host=self._host)
        return Reply(
            result=result,
            error=error,
            server_time_ms=server_ms,
            reset_at_ms=reset_ms,
            quota_left=left,
            quota=quota,
        )

    def __repr__(self) -> str:
        return f"<FakeVenue api_key={getattr(self, 'api_key', None)!r}>"


def signature(secret: bytes, timestamp_ms: int, request: WireRequest) -> str:
    """The fake venue's signature of ``request`` at ``timestamp_ms``."""
    payload = request.body if request.body is not None else request.query.encode()
    return hmac.new(secret, str(timestamp_ms).encode() + payload, hashlib.sha256).hexdigest()


# --- answers ---------------------------------------------------------------------------------


def feedback(
    *,
    time: int | None = None,
    reset: int | None = None,
    left: int | None = None,
    limit: int | None = None,
) -> dict[str, str]:
    """The feedback headers for these values (a ``None`` is left out)."""
    values = {TIME_HEADER: time, RESET_HEADER: reset, LEFT_HEADER: left, LIMIT_HEADER: limit}
    return {name: str(value) for name, value in values.items() if value is not None}


def envelope(data: object = None, *, code: int = 0, msg: str = "") -> bytes:
    """The venue's envelope as bytes (for raw servers): ``data`` defaults to ``{"value": 1}``."""
    if data is None and code == 0:
        data = {"value": 1}
    return json.dumps({"code": code, "msg": msg, "data": data}).encode()


def ok(
    data: object = None,
    *,
    time: int | None = None,
    reset: int | None = None,
    left: int | None = None,
    limit: int | None = None,
) -> httpx.Response:
    """A success carrying ``data`` (``{"value": 1}`` by default), with the feedback given."""
    headers = {"Content-Type": "application/json"}
    headers.update(feedback(time=time, reset=reset, left=left, limit=limit))
    return httpx.Response(200, content=envelope(data), headers=headers)


def fail(
    code: int,
    msg: str = "refused",
    *,
    time: int | None = None,
    reset: int | None = None,
    left: int | None = None,
    limit: int | None = None,
) -> httpx.Response:
    """A refusal with the venue's ``code``, with the feedback given."""
    headers = {"Content-Type": "application/json"}
    headers.update(feedback(time=time, reset=reset, left=left, limit=limit))
    return httpx.Response(200, content=envelope(code=code, msg=msg), headers=headers)


def bare(
    status: int, text: str = "", *, time: int | None = None, reset: int | None = None
) -> httpx.Response:
    """A bare HTTP ``status`` with a text body and no envelope (a gateway's answer)."""
    return httpx.Response(status, text=text, headers=feedback(time=time, reset=reset))


def now_ms(clock: VirtualClock, ahead_ms: int = 0) -> int:
    """The venue's clock now, ``ahead_ms`` ahead of ours."""
    return round(clock.time() * 1000) + ahead_ms
