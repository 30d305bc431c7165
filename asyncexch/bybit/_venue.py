"""Bybit V5 on the wire: encoding, signing and reading the ``retCode`` envelope."""

from __future__ import annotations

import enum
import json
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import cattrs
import httpx

from .._convert import make_converter, optional
from .._decimals import plain
from .._endpoint import Endpoint
from .._limits import RateLimit
from .._venue import (
    Reply,
    Secret,
    WireRequest,
    as_secret,
    check_credentials,
    check_text,
    header_integers,
    key_scope,
    open_envelope,
)
from ..errors import (
    ConfigurationError,
    ExchangeError,
    MalformedResponse,
    RateLimited,
    TrafficHalted,
)
from ._auth import Signer, make_signer
from ._endpoints import DEFAULT_LIMITS, IP_BUCKETS, SERVER_TIME
from ._errors import ERRORS, VENUE
from ._hosts import ip_pool

__all__ = ["BybitVenue", "encode_query"]


def _wire_value(value: object, field: str = "params") -> object:
    if isinstance(value, str):
        return check_text(field, value)
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _wire_value(v, k) for k, v in value.items() if v is not None}
    return value


#: What ``quote(..., safe=",:")`` leaves as it is: most values, which then skip it.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~,:-]*")
#: Bybit's cursors come already percent-encoded and go back as given (like Bybit's SDK).
_PREENCODED = frozenset({"cursor"})


def _query_value(key: str, value: object) -> str:
    value = _wire_value(value, key)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if _UNQUOTED.fullmatch(text):
        return text
    # Commas (positionIds=1,2) go as they are, like Bybit's SDK; a "%" is escaped, except in a
    # cursor, so a value is never read back as something else.
    return quote(text, safe=",:%" if key in _PREENCODED else ",:")


def encode_query(params: Mapping[str, object]) -> str:
    """``k=v`` pairs sorted by key, ``None`` dropped: the exact query string sent and signed."""
    return "&".join(
        f"{key}={_query_value(key, value)}"
        for key, value in sorted(params.items())
        if value is not None
    )


def _make_converter() -> cattrs.Converter:
    converter = make_converter()

    def optional_enum(value: object, type_: Any) -> object:
        if value is None or value == "":
            return None
        (member,) = (arg for arg in typing.get_args(type_) if arg is not type(None))
        return member(value)

    def is_optional_enum(type_: Any) -> bool:
        args = typing.get_args(type_)
        return (
            len(args) == 2
            and type(None) in args
            and any(isinstance(a, type) and issubclass(a, enum.Enum) for a in args)
        )

    converter.register_structure_hook_func(is_optional_enum, optional_enum)
    # Bybit writes "" for a number it does not have yet (a DualAssets order's APYs).
    converter.register_structure_hook(
        int | None, optional(lambda value, _: converter.structure(value, int))
    )
    return converter


class BybitVenue:
    """Bybit's half of the session contract; holds the key and the signer."""

    name = VENUE
    converter: cattrs.Converter = _make_converter()
    default_limits: Mapping[str, RateLimit] = DEFAULT_LIMITS
    time_endpoint: Endpoint[Any] | None = SERVER_TIME

    def __init__(
        self,
        api_key: str | None,
        api_secret: str | Secret | None,
        *,
        base_url: str,
        recv_window: int,
        limit_scope: str | None = None,
        referer: str | None = None,
    ) -> None:
        secret = as_secret(api_secret)
        del api_secret  # from here on, only the masked holder is a local
        check_credentials(api_key, secret)
        if recv_window <= 0:
            raise ConfigurationError(f"recv_window must be > 0 ms, got {recv_window}")
        _check_short_ascii("limit_scope", limit_scope)
        _check_short_ascii("referer", referer)
        #: Headers every request carries: the broker/referral id, when given.
        self._headers: tuple[tuple[str, str], ...] = (
            (("Referer", referer),) if referer is not None else ()
        )
        self.api_key = api_key
        self._signer: Signer | None = make_signer(secret) if secret is not None else None
        self._recv_window = str(recv_window)
        if limit_scope is not None:  # keys of one UID share the UID's limits
            self._key_scope = f"bybit:scope:{limit_scope}"
        else:
            self._key_scope = key_scope(VENUE, api_key)
        self._ip_scope = f"bybit:ip:{ip_pool(base_url)}"
        self._host = urlsplit(base_url).hostname or base_url

    def bucket_key(self, bucket: str) -> str:
        scope = self._ip_scope if bucket in IP_BUCKETS else self._key_scope
        return f"{scope}:{bucket}"

    def encode(self, endpoint: Endpoint[Any], params: Mapping[str, object]) -> WireRequest:
        if endpoint.signed and self._signer is None:
            raise ConfigurationError(f"{endpoint.name} needs an API key and secret")
        if endpoint.method == "GET":
            return WireRequest(
                "GET", endpoint.path, query=encode_query(params), headers=self._headers
            )
        body = json.dumps(_wire_value(params), separators=(",", ":")).encode("utf-8")
        return WireRequest(
            endpoint.method,
            endpoint.path,
            body=body,
            headers=(("Content-Type", "application/json"), *self._headers),
        )

    def sign(self, request: WireRequest, timestamp_ms: int) -> WireRequest:
        assert self._signer is not None and self.api_key is not None  # checked in encode
        timestamp = str(timestamp_ms)
        payload = request.body if request.body is not None else request.query.encode("utf-8")
        message = (timestamp + self.api_key + self._recv_window).encode("utf-8") + payload
        return request.with_headers(
            ("X-BAPI-API-KEY", self.api_key),
            ("X-BAPI-TIMESTAMP", timestamp),
            ("X-BAPI-RECV-WINDOW", self._recv_window),
            ("X-BAPI-SIGN", self._signer.sign(message)),
            ("X-BAPI-SIGN-TYPE", "2"),
        )

    def read(self, endpoint: Endpoint[Any], response: httpx.Response) -> Reply:
        status = response.status_code
        server_ms, reset_ms, left, quota = header_integers(response, *_NUMBER_HEADERS)
        data = open_envelope(
            response,
            key="retCode",
            errors=ERRORS,
            title="Bybit",
            path=endpoint.path,
            host=self._host,
        )
        if isinstance(data, ExchangeError):
            limited = isinstance(data, RateLimited) and not isinstance(data, TrafficHalted)
            return Reply(
                error=data, server_time_ms=server_ms, reset_at_ms=reset_ms if limited else None
            )
        stamp = data.get("time")
        if isinstance(stamp, int) and not isinstance(stamp, bool) and 0 < stamp < 10**16:
            server_ms = stamp
        exhausted = left == 0
        code = data["retCode"]
        if not isinstance(code, int) or isinstance(code, bool):
            error: ExchangeError = MalformedResponse(
                f"{endpoint.path}: retCode is {code!r}", status_code=status
            )
            return Reply(error=error, server_time_ms=server_ms)
        if code != 0:
            message = data.get("retMsg")
            error = ERRORS.api_error(
                code,
                message if isinstance(message, str) else "",
                http_status=status,
                host=self._host,
            )
            limited = exhausted or isinstance(error, RateLimited)
            return Reply(
                error=error,
                server_time_ms=server_ms,
                reset_at_ms=reset_ms if limited else None,
                quota_left=left,
                quota=quota,
            )
        result = data.get("result")
        if not isinstance(result, dict):
            error = MalformedResponse(
                f"{endpoint.path}: retCode 0 without a result object", status_code=status
            )
            return Reply(error=error, server_time_ms=server_ms)
        return Reply(
            result=result,
            server_time_ms=server_ms,
            reset_at_ms=reset_ms if exhausted else None,
            quota_left=left,
            quota=quota,
        )

    def __repr__(self) -> str:
        # getattr: safe on a venue whose constructor failed half-way (tracebacks show it).
        key, signer = getattr(self, "api_key", None), getattr(self, "_signer", None)
        return f"<BybitVenue api_key={_mask(key)} signer={signer!r}>"


def _check_short_ascii(field: str, value: object) -> None:
    """A name that goes into keys and headers: 1-64 printable ASCII characters, or None."""
    if value is not None and not (
        isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isprintable()
    ):
        raise ConfigurationError(f"{field} must be 1-64 printable ASCII characters, got {value!r}")


#: The headers read as numbers: the server's time, when the quota resets, what is left of it,
#: and its size.
_NUMBER_HEADERS = ("Timenow", "X-Bapi-Limit-Reset-Timestamp", "X-Bapi-Limit-Status", "X-Bapi-Limit")


def _mask(api_key: str | None) -> str:
    return "None" if api_key is None else f"{api_key[:4]}…"
