"""ChainUP contract open-API v1 on the wire: parameters signed with MD5, ``code`` envelope."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import cattrs
import httpx

from .._convert import EPOCH, datetime_from_millis, make_converter, millis, optional
from .._endpoint import Endpoint
from .._limits import RateLimit
from .._venue import (
    Reply,
    Secret,
    WireRequest,
    as_secret,
    check_credentials,
    check_text,
    key_scope,
    open_envelope,
)
from ..errors import ConfigurationError, ExchangeError, MalformedResponse
from ._auth import Md5Signer
from ._endpoints import DEFAULT_LIMITS, IP_BUCKETS
from ._errors import ERRORS, VENUE

__all__ = ["VENUE_TIMEZONE", "ChainupVenue"]

Encoding = Literal["json", "form"]
#: Where ChainUP's deployments run (UTC+8): the timezone of the dates they send as text.
VENUE_TIMEZONE = timezone(timedelta(hours=8), "UTC+08:00")
_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
#: Read as milliseconds, anything up to 10**11 (ten digits and more) is in early 1973: no
#: order's time. It is the venue sending seconds (2001-5138), and read as such.
_SECONDS_UNTIL = EPOCH + timedelta(milliseconds=10**11)


def _code(value: object) -> int | None:
    """The envelope's ``code`` as a number: a short string of ASCII digits or a small integer
    (``"²"`` is a digit to ``str.isdigit``, and ``int()`` refuses it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**18 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _make_converter(venue_timezone: tzinfo) -> cattrs.Converter:
    """The core converter, with times read as epoch milliseconds or, as ChainUP's apps receive
    them, ``"YYYY-MM-DD HH:MM:SS"`` in the venue's timezone."""
    converter = make_converter()

    def venue_time(value: object, _: object) -> datetime:
        if isinstance(value, str) and _LOCAL_TIME.fullmatch(value):
            local = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            return local.replace(tzinfo=venue_timezone).astimezone(timezone.utc)
        moment = datetime_from_millis(value)
        if EPOCH < moment < _SECONDS_UNTIL:  # ten digits: seconds, not milliseconds
            return datetime_from_millis(millis(moment) * 1000)
        return moment

    converter.register_structure_hook(datetime, venue_time)
    converter.register_structure_hook(datetime | None, optional(venue_time))
    return converter


class ChainupVenue:
    """ChainUP's half of the session contract; holds the key and the signer."""

    name = VENUE
    default_limits: Mapping[str, RateLimit] = DEFAULT_LIMITS
    time_endpoint: Endpoint[Any] | None = None

    def __init__(
        self,
        api_key: str | None,
        api_secret: str | Secret | None,
        *,
        base_url: str,
        encoding: Encoding,
        venue_timezone: tzinfo = VENUE_TIMEZONE,
    ) -> None:
        secret = as_secret(api_secret)
        del api_secret  # from here on, only the masked holder is a local
        check_credentials(api_key, secret)
        if encoding not in ("json", "form"):
            raise ConfigurationError(f"encoding must be 'json' or 'form', got {encoding!r}")
        if not isinstance(venue_timezone, tzinfo):
            raise ConfigurationError(f"venue_timezone must be a tzinfo, got {venue_timezone!r}")
        #: Decodes answers; times in the venue's timezone are read in ``venue_timezone``.
        self.converter: cattrs.Converter = _make_converter(venue_timezone)
        self.api_key = api_key
        self._signer = Md5Signer(secret) if secret is not None else None
        self._encoding = encoding
        self._key_scope = key_scope(VENUE, api_key)
        self._ip_scope = f"chainup:ip:{urlsplit(base_url).hostname or base_url}"

    def bucket_key(self, bucket: str) -> str:
        scope = self._ip_scope if bucket in IP_BUCKETS else self._key_scope
        return f"{scope}:{bucket}"

    def encode(self, endpoint: Endpoint[Any], params: Mapping[str, object]) -> WireRequest:
        if endpoint.signed and self._signer is None:
            raise ConfigurationError(f"{endpoint.name} needs an API key and secret")
        fields = tuple(
            (key, check_text(key, str(value)))
            for key, value in params.items()
            if value not in (None, "")
        )
        if endpoint.method == "GET":  # unsigned: the parameters go in the query string
            return WireRequest("GET", endpoint.path, query=urlencode(fields))
        request = WireRequest(endpoint.method, endpoint.path, fields=fields)
        return request if endpoint.signed else self._with_body(request, fields)

    def sign(self, request: WireRequest, timestamp_ms: int) -> WireRequest:
        assert self._signer is not None and self.api_key is not None  # checked in encode
        fields = (*request.fields, ("api_key", self.api_key), ("time", str(timestamp_ms)))
        return self._with_body(request, (*fields, ("sign", self._signer.sign(fields))))

    def _with_body(self, request: WireRequest, fields: tuple[tuple[str, str], ...]) -> WireRequest:
        if self._encoding == "form":
            body = urlencode(fields).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(dict(fields), separators=(",", ":"), ensure_ascii=False).encode()
            content_type = "application/json"
        return WireRequest(
            request.method,
            request.path,
            body=body,
            headers=(("Content-Type", content_type),),
            fields=request.fields,
        )

    def read(self, endpoint: Endpoint[Any], response: httpx.Response) -> Reply:
        status = response.status_code
        data = open_envelope(
            response, key="code", errors=ERRORS, title="ChainUP", path=endpoint.path
        )
        if isinstance(data, ExchangeError):
            return Reply(error=data)
        number = _code(data["code"])
        if number is None:
            return Reply(
                error=MalformedResponse(
                    f"{endpoint.path}: code is {str(data['code'])[:40]!r}", status_code=status
                )
            )
        if number != 0:
            message = data.get("msg")
            return Reply(
                error=ERRORS.api_error(
                    number, message if isinstance(message, str) else "", http_status=status
                )
            )
        if "data" not in data:
            return Reply(
                error=MalformedResponse(f"{endpoint.path}: code 0 without data", status_code=status)
            )
        return Reply(result=data["data"])

    def __reduce__(self) -> Any:
        # It holds the secret (in its signer): never pickled, whatever else it holds.
        raise TypeError("a ChainupVenue holds an API secret and cannot be pickled")

    def __repr__(self) -> str:
        # getattr: safe on a venue whose constructor failed half-way (tracebacks show it).
        api_key = getattr(self, "api_key", None)
        key = "None" if api_key is None else f"{api_key[:4]}…"
        signer, encoding = getattr(self, "_signer", None), getattr(self, "_encoding", None)
        return f"<ChainupVenue api_key={key} signer={signer!r} encoding={encoding}>"
