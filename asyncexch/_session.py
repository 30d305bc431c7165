"""The venue-agnostic request pipeline.

caller -> request -> encode once -> per attempt: limiter -> sign -> send -> classify -> retry
-> decode -> typed result, or a typed exception.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import re
import sys
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

import httpx

from ._body import BodyTooLarge, read_body
from ._clock import Clock, ServerTime, SystemClock, utc
from ._convert import decode
from ._endpoint import Endpoint
from ._http_client import TransportChoice, aiohttp_now, make_http_client
from ._limits import (
    BucketState,
    LimiterHalted,
    Permit,
    RateLimit,
    RateLimiter,
    ReportsUsage,
    shared_limiter,
)
from ._observe import AttemptEvent, AttemptHook, CallEvent, CallObserver, Observers
from ._proxy import ProxyURL, as_proxy
from ._resource import AsyncResource
from ._retry import CallState, RetryPolicy, counted, ordinal, run_attempts
from ._venue import Reply, Venue, WireRequest
from .errors import (
    ClockSkew,
    ConfigurationError,
    ExchangeError,
    MalformedResponse,
    OrderStatusUnknown,
    Outcome,
    RateLimited,
    TrafficHalted,
    TransportError,
)

__all__ = ["Session", "TransportChoice"]

T = TypeVar("T")
logger = logging.getLogger("asyncexch")

#: Failures that happen before a byte of the request can have reached the server.
#: (httpx.ProxyError: a proxy refused the CONNECT or the SOCKS handshake, before the request
#: was written; a proxy that took a request and failed answers it like any gateway.)
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)
#: The largest answer read, after decompression; venues answer in kilobytes.
MAX_BODY = 4 * 1024 * 1024
#: In flight at once when pacing is off and no cap is given: beyond a few hundred, httpx's
#: connection pool spends time quadratic in the number waiting (6,000: 59 s, the loop stalled).
UNPACED_IN_FLIGHT = 256
#: How much longer than its bucket's window a venue may ask a bucket to pause, in seconds.
PAUSE_MARGIN = 1.0
#: A venue's time stamp further than this from our clock is not used to read a reset time.
_SANE_SKEW_MS = 3_600_000


class Session(AsyncResource):
    """Sends a venue's requests: paced, signed, retried where safe, decoded.

    One session owns one :class:`httpx.AsyncClient` (or uses the one it is handed, which it
    then does not close), the rate-limit buckets of its API key (shared with every other
    session of the same key on this event loop), the retry policy and the clock. It is safe
    for thousands of concurrent calls and keeps no global state of its own.

    **Parameters:**

    * ``venue``: the venue's encoder, signer and answer reader.
    * ``base_url``: where the venue is.
    * ``limits``: overrides of the venue's documented limits by bucket name, or ``False``
      for no client-side pacing.
    * ``limiter``: where buckets live; defaults to the in-process limiter shared by the loop.
    * ``retry``: how hard each call tries.
    * ``clock``: the source of time; :class:`SystemClock` unless testing.
    * ``http_client`` / ``transport``: bring your own client, or a transport for a new one:
      an :class:`httpx.AsyncBaseTransport`, ``"aiohttp"`` for
      :class:`~asyncexch.AiohttpTransport` or ``"httpx"`` for httpx's own, with this
      session's TLS settings and no connection cap. By default aiohttp's (0.34 against
      0.52 ms a call on loopback, 10x the throughput with 64 in flight), and httpx's own
      where the process relies on it: a SOCKS proxy, a proxy in the environment, or httpx's
      transport mocked (``respx.mock()``) while a request is sent (:mod:`._http_client`).
    * ``timeout``: seconds for each connect, write and read of an HTTP attempt, and twice that
      for the whole attempt, from sending until the last byte of the answer (a server that
      drips its answer a byte at a time is cut off). An attempt cut off after it was handed
      over is of unknown outcome.
    * ``max_body``: the largest answer read, in bytes after decompression (4 MiB); a larger
      one is a :class:`~asyncexch.MalformedResponse` of unknown outcome.
    * ``proxy``: every request goes through it: ``http://`` or ``https://`` on either
      transport, ``socks5://`` on httpx's (extra ``socks``). Without it, the default
      transport honours ``HTTP(S)_PROXY`` and ``NO_PROXY`` from the environment (by
      sending through httpx's); ``transport="aiohttp"`` does not.
    * ``owner``: what error messages and warnings call the object using this session.
    * ``max_in_flight``: at most this many requests between taking capacity and getting an
      answer. A request that waits for a pooled connection after it was signed arrives with a
      stale timestamp and late for its rate-limit slot, so this must not exceed the HTTP
      client's connection limit. The session's own client has none (default: no cap, but
      :data:`UNPACED_IN_FLIGHT` when pacing is off); for a client you pass in, the default is
      httpx's default pool size, 100. A client you pass in must not follow redirects: a signed
      order is never replayed to another host.

    A pause the venue asks for (a reset time in its answer) is measured on the answer's own
    clock and lasts at most the bucket's window plus :data:`PAUSE_MARGIN`; a longer one is
    cut short and logged at WARNING, so no header can stop a bucket for a year.
    """

    def __init__(
        self,
        venue: Venue,
        *,
        base_url: str,
        limits: Mapping[str, RateLimit] | Literal[False] | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportChoice = None,
        timeout: float = 10.0,
        max_in_flight: int | None = None,
        max_body: int = MAX_BODY,
        proxy: str | ProxyURL | None = None,
        on_attempt: AttemptHook | None = None,
        telemetry: CallObserver | None = None,
        rng: random.Random | None = None,
        owner: str = "Session",
    ) -> None:
        """Check and keep the keyword arguments documented on the class.

        Long because it is the table of those arguments: each is checked where it is kept
        (a few lines each, the error naming the argument), and the defaults that depend on
        one another (``max_in_flight`` on ``http_client`` and ``limits``) are settled here;
        split up, a reader would follow one argument across several functions.
        """
        proxy_url = as_proxy(proxy)
        del proxy  # from here on, a traceback's locals show the password masked
        #: What error messages and warnings call the object using this session.
        self.owner = owner
        self._observers = Observers(on_attempt, telemetry)
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        if http_client is not None and (transport is not None or proxy_url is not None):
            raise ConfigurationError(
                "pass http_client, or transport and proxy, not both: the client you pass "
                "carries its own transport and proxy"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise ConfigurationError(f"timeout must be a number of seconds, got {timeout!r}")
        if not 0 < timeout < math.inf:
            raise ConfigurationError(
                f"timeout must be a finite number of seconds > 0, got {timeout}"
            )
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1024:
            raise ConfigurationError(f"max_body must be an integer >= 1024 bytes, got {max_body!r}")
        if http_client is not None and http_client.follow_redirects:
            raise ConfigurationError(
                "the http_client follows redirects: a signed order could be replayed to "
                "another host. Pass one with follow_redirects=False"
            )
        self.venue = venue
        self.base_url: str = base_url.rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.server_time: ServerTime = ServerTime(self.clock)
        self.retry: RetryPolicy = retry or RetryPolicy()
        self._limits = _merge_limits(venue.default_limits, limits)
        self._limiter = limiter
        self._owns_http = http_client is None
        # No connection cap: the limiter already bounds what is in flight, and a request
        # waiting for a pooled connection after taking capacity would arrive late, in a bunch.
        self._http = http_client or make_http_client(transport, proxy_url, timeout)
        #: On a client of our own, what ``build_request`` would add to every request, made
        #: once: the client's default headers and the timeout. A client passed in is used
        #: through its public API (its hooks, auth and cookies are the caller's).
        self._direct: _DirectSend | None = (
            _DirectSend(self._http, self.base_url) if http_client is None else None
        )
        #: The whole attempt's deadline: twice a single operation's, so that the transport's
        #: own (more telling) connect or read timeout fires first when one of them hangs.
        self._attempt_deadline = 2.0 * timeout
        self._max_body = max_body
        self._rng = rng or random.Random()
        self._claims: dict[str, list[tuple[str, RateLimit]]] = {}
        self._sync_lock = asyncio.Lock()
        self._clock_generation = 0
        #: What the venue last said of each bucket's quota: (left, size, wall time).
        self._venue_quota: dict[str, tuple[int, int | None, float]] = {}
        if max_in_flight is None and http_client is not None:
            max_in_flight = 100
        elif max_in_flight is None and not self._limits:
            max_in_flight = UNPACED_IN_FLIGHT
        if max_in_flight is not None and (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or max_in_flight < 1
        ):
            raise ConfigurationError(
                f"max_in_flight must be an integer >= 1, got {max_in_flight!r}"
            )
        self._in_flight = asyncio.Semaphore(max_in_flight) if max_in_flight else None

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close the HTTP client, if this session made it; later calls raise."""
        self._closed = True
        if self._owns_http:
            await self._http.aclose()

    def __del__(self) -> None:
        # Connections opened and never closed: say so, as httpx and open files do. getattr:
        # a session whose constructor failed half-way is collected too.
        if getattr(self, "_loop", None) is not None and not getattr(self, "_closed", True):
            if getattr(self, "_owns_http", False):
                warnings.warn(
                    f"{self.owner} was used and never closed: use 'async with' or "
                    "'await ....aclose()' to close its connections",
                    ResourceWarning,
                    stacklevel=1,
                    source=self,
                )

    @property
    def attempt_deadline(self) -> float:
        """Seconds an attempt may take from sending to the last byte of its answer: after
        that, a request whose answer was lost is no longer in this client's hands."""
        return self._attempt_deadline

    @property
    def limits(self) -> Mapping[str, RateLimit]:
        """The limits in force, by bucket name (empty when pacing is off)."""
        return self._limits

    async def limits_state(self) -> list[BucketState]:
        """Every bucket in force now: its limit, what the limiter counts in its window and
        has waiting, its pause and halt, and what the venue last said of its quota."""
        limiter = self._get_limiter() if self._limits else None
        now = self.clock.time()
        states = []
        for name, rate in self._limits.items():
            usage = None
            if isinstance(limiter, ReportsUsage):
                usage = await limiter.usage(self.venue.bucket_key(name), rate)
            left, size, seen = self._venue_quota.get(name, (None, None, None))
            paused = usage.paused_for if usage else 0.0
            halted = usage.halted_for if usage else 0.0
            states.append(
                BucketState(
                    name=name,
                    limit=rate.limit,
                    per=rate.per,
                    in_window=usage.in_window if usage else None,
                    waiting=usage.waiting if usage else None,
                    paused_until=utc(now + paused) if paused else None,
                    halted_until=utc(now + halted) if halted else None,
                    halt_reason=usage.halt_reason if usage else "",
                    venue_left=left,
                    venue_limit=size,
                    venue_seen_at=utc(seen) if seen is not None else None,
                )
            )
        return states

    async def call(
        self,
        endpoint: Endpoint[T],
        params: Mapping[str, object],
        *,
        request: object = None,
        on_sent: Callable[[], None] | None = None,
        label: str = "",
    ) -> T:
        """Call ``endpoint`` with ``params`` and return its decoded result.

        ``request`` is the caller's request object, carried by
        :class:`~asyncexch.OrderStatusUnknown`; ``on_sent`` runs each time an attempt is
        handed to the transport (from then on the venue may have the request): if it raises,
        the attempt stops unsent, its capacity given back as an unsent request's; ``label``
        names the request in log lines (``orderLinkId=...``).
        """
        if self._closed:
            raise ConfigurationError(f"{self.owner} is closed: make a new one")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                raise ConfigurationError(
                    f"{self.owner} is bound to the event loop it was first used on: make one "
                    "per event loop (each asyncio.run() starts a new loop)"
                )
            self._loop = loop
        wire = self.venue.encode(endpoint, params)
        url = f"{self.base_url}{wire.path}" + (f"?{wire.query}" if wire.query else "")
        what = f"{endpoint.method} {endpoint.path}" + (f" {label}" if label else "")
        state = CallState(idempotent=endpoint.idempotent, what=what, label=label)
        attempt: Callable[[], Awaitable[Reply]] = functools.partial(
            self._attempt if self._in_flight is None else self._attempt_gated,
            endpoint,
            wire,
            url,
            state,
            on_sent,
        )
        if not self._observers:
            return await self._complete(endpoint, attempt, state, request)
        started, started_mono = self.clock.time(), self.clock.monotonic()
        attempt = functools.partial(self._observed, endpoint, attempt, state)
        try:
            result = await self._complete(endpoint, attempt, state, request)
        except ExchangeError as error:
            self._call_ended(endpoint, state, started, started_mono, error)
            raise
        except asyncio.CancelledError:
            self._call_ended(endpoint, state, started, started_mono, None, cancelled=True)
            raise
        self._call_ended(endpoint, state, started, started_mono, None)
        return result

    async def _complete(
        self,
        endpoint: Endpoint[T],
        attempt: Callable[[], Awaitable[Reply]],
        state: CallState,
        request: object,
    ) -> T:
        """Run the call's attempts (retried as the policy says) and decode the answer."""
        try:
            reply = await run_attempts(attempt, self.retry, self.clock, state, self._rng)
        except ExchangeError as error:
            if endpoint.changes_state and state.unknown_seen:
                # Even a refusal now does not say what an earlier attempt did; the venue's
                # client may learn it (a lookup by client order id) from __cause__.
                raise _unknown(
                    endpoint,
                    request,
                    state,
                    "the venue may or may not have acted on the request "
                    f"({counted(len(state.outcomes), 'attempt')}; the last: {error})",
                ) from error
            raise
        try:
            return decode(self.venue.converter, reply.result, endpoint.result)
        except MalformedResponse as error:
            if not endpoint.changes_state:
                raise
            raise _unknown(
                endpoint,
                request,
                state,
                f"the venue accepted the request but its answer is unreadable ({error})",
            ) from error

    async def _observed(
        self, endpoint: Endpoint[Any], attempt: Callable[[], Awaitable[Reply]], state: CallState
    ) -> Reply:
        """``attempt``, reported to the observers when it ends."""
        try:
            reply = await attempt()
        except ExchangeError as error:
            self._attempt_ended(endpoint, state, error)
            raise
        except asyncio.CancelledError:
            self._attempt_ended(endpoint, state, None, cancelled=True)
            raise
        self._attempt_ended(endpoint, state, None)
        return reply

    def _attempt_ended(
        self,
        endpoint: Endpoint[Any],
        state: CallState,
        error: ExchangeError | None,
        *,
        cancelled: bool = False,
    ) -> None:
        sent = state.sent_mono
        ended = state.ended_mono if state.ended_mono is not None else self.clock.monotonic()
        event = AttemptEvent(
            venue=self.venue.name,
            endpoint=endpoint.name,
            method=endpoint.method,
            path=endpoint.path,
            label=state.label,
            attempt=state.attempts,
            waited=state.waited,
            sent_at=utc(state.sent_wall) if state.sent_wall is not None else None,
            duration=ended - sent if sent is not None else None,
            http_status=state.http_status,
            error=error,
            cancelled=cancelled,
        )
        state.events.append(event)
        self._observers.attempt_ended(event)

    def _call_ended(
        self,
        endpoint: Endpoint[Any],
        state: CallState,
        started: float,
        started_mono: float,
        error: ExchangeError | None,
        *,
        cancelled: bool = False,
    ) -> None:
        self._observers.call_ended(
            CallEvent(
                venue=self.venue.name,
                endpoint=endpoint.name,
                method=endpoint.method,
                path=endpoint.path,
                label=state.label,
                started_at=utc(started),
                duration=self.clock.monotonic() - started_mono,
                attempts=tuple(state.events),
                error=error,
                cancelled=cancelled,
            )
        )

    async def sync_clock(self) -> None:
        """Learn the server's time from the venue's time endpoint."""
        endpoint = self.venue.time_endpoint
        if endpoint is None:
            return
        await self.call(endpoint, {})
        self._clock_generation += 1
        self.server_time.restart_bounds()  # the clock was wrong: so may earlier bounds be

    async def _attempt_gated(
        self,
        endpoint: Endpoint[Any],
        wire: WireRequest,
        url: str,
        state: CallState,
        on_sent: Callable[[], None] | None,
    ) -> Reply:
        """An attempt that first waits for one of ``max_in_flight`` places."""
        assert self._in_flight is not None
        async with self._in_flight:
            return await self._attempt(endpoint, wire, url, state, on_sent)

    async def _attempt(
        self,
        endpoint: Endpoint[Any],
        wire: WireRequest,
        url: str,
        state: CallState,
        on_sent: Callable[[], None] | None,
    ) -> Reply:
        """One attempt, in four stages: take capacity, exchange, read, apply the venue's
        feedback (pauses, halts, clock re-syncs). Raises the attempt's failure."""
        state.begin_attempt()
        claims = self._claims_for(endpoint)
        permit = await self._take_capacity(endpoint, claims, state)
        generation = self._clock_generation
        response, sent = await self._send(endpoint, wire, url, state, on_sent, claims, permit)
        reply = self._read(endpoint, response, sent, permit)
        return await self._apply(endpoint, claims, state, reply, generation)

    async def _take_capacity(
        self, endpoint: Endpoint[Any], claims: list[tuple[str, RateLimit]], state: CallState
    ) -> Permit | None:
        """Wait for the endpoint's buckets. A retry that waited past the call's deadline is
        not sent: it could land after the venue forgot the request's id."""
        started = self.clock.monotonic()
        permit: Permit | None = None
        if claims:
            try:
                permit = await self._get_limiter().acquire(claims, endpoint.cost)
            except LimiterHalted as halted:
                raise self._halted(halted) from None
        state.waited = self.clock.monotonic() - started
        if not state.may_send(self.clock, self.retry):
            if permit is not None:
                permit.done()
            assert state.last_error is not None  # only a retry can be refused
            raise state.last_error
        return permit

    async def _send(
        self,
        endpoint: Endpoint[Any],
        wire: WireRequest,
        url: str,
        state: CallState,
        on_sent: Callable[[], None] | None,
        claims: list[tuple[str, RateLimit]],
        permit: Permit | None,
    ) -> tuple[httpx.Response, float]:
        """Sign, send and read the answer's body; a failure is translated by whether the
        request can have left. Returns the answer and when it was sent (monotonic)."""
        response: httpx.Response | None = None
        sent: float | None = None
        try:
            if endpoint.signed:
                wire = self.venue.sign(wire, self.server_time.now_ms())
            request = self._outgoing(wire, url)
            if on_sent is not None:
                on_sent()
            sent = state.sent_mono = self.clock.monotonic()
            state.sent_wall = self.clock.time()
            try:
                response = await self._exchange(request)
            finally:  # answered or failed: what the attempt took, before any re-sync
                state.ended_mono = self.clock.monotonic()
            state.http_status = response.status_code
            return response, sent
        except httpx.HTTPError as exc:
            outcome = Outcome.NOT_PROCESSED if isinstance(exc, _NOT_SENT) else Outcome.UNKNOWN
            raise self._transport_failed(
                endpoint, state, outcome, f"{type(exc).__name__}: {exc}"
            ) from exc
        except (TimeoutError, asyncio.TimeoutError) as exc:  # the whole attempt ran out of time
            raise self._transport_failed(
                endpoint,
                state,
                Outcome.UNKNOWN,
                f"no whole answer within {self._attempt_deadline:g} s",
            ) from exc
        except BodyTooLarge as exc:
            state.http_status = exc.status_code
            state.outcomes.append(Outcome.UNKNOWN)
            state.last_error = MalformedResponse(
                f"{endpoint.path}: the answer is larger than {self._max_body} bytes",
                status_code=exc.status_code,
            )
            self._log(state, "answer too large")
            raise state.last_error from None
        except RuntimeError as exc:  # httpx refuses to send on a client closed under us
            raise ConfigurationError(f"the HTTP client cannot send: {exc}") from exc
        finally:
            if permit is not None and response is None:
                # Failed or cancelled. Unsent, it never reaches the venue: its slot frees now.
                # Handed to the transport, it may still arrive until its guard has passed:
                # its slot stays where it was taken, at send + guard, if that is later.
                if sent is None or self.clock.monotonic() >= sent + _guard(claims):
                    permit.done()

    def _outgoing(self, wire: WireRequest, url: str) -> httpx.Request | _Outgoing:
        """``wire`` ready to send: its URL and headers, for a client of our own; an httpx
        request built by the client, for one passed in."""
        if self._direct is not None:
            return self._direct.prepare(wire)
        return self._http.build_request(
            wire.method, url, content=wire.body, headers=list(wire.headers)
        )

    def _read(
        self,
        endpoint: Endpoint[Any],
        response: httpx.Response,
        sent: float,
        permit: Permit | None,
    ) -> Reply:
        """The venue's reading of the answer; learns the server's clock from it and settles
        the permit at the time the venue stamped, when it can be placed on our clock."""
        received_mono = self.clock.monotonic()
        received = self.clock.time()
        arrived_ago = 0.0
        try:
            reply = self.venue.read(endpoint, response)
            if reply.server_time_ms is not None and self.server_time.observe(
                reply.server_time_ms, received, received_mono
            ):
                arrived_ago = self.server_time.arrived_ago(
                    reply.server_time_ms, sent, received_mono
                )
        finally:
            if permit is not None:  # answered: the request cannot reach the venue later
                if arrived_ago > 0:
                    permit.done(arrived_ago)
                else:
                    permit.done()
        if reply.quota_left is not None and endpoint.buckets:
            self._venue_quota[endpoint.buckets[0]] = (reply.quota_left, reply.quota, received)
        return reply

    async def _apply(
        self,
        endpoint: Endpoint[Any],
        claims: list[tuple[str, RateLimit]],
        state: CallState,
        reply: Reply,
        generation: int,
    ) -> Reply:
        """Act on what the answer says of the limits and the clock; the reply, or its error."""
        error = reply.error
        pause = None
        if reply.reset_at_ms is not None:
            pause = self._venue_pause(endpoint, claims, reply)
            if isinstance(error, RateLimited):
                error.retry_after = pause
        elif isinstance(error, RateLimited) and not isinstance(error, TrafficHalted):
            pause = error.retry_after
        if claims and pause is not None:
            logger.info("%s: the venue asks for a pause of %.2f s", state.what, pause)
            self._get_limiter().pause(claims[0][0], pause)
        if error is None:
            self._log(state, "ok")
            return reply
        state.outcomes.append(error.outcome)
        state.last_error = error
        self._log(state, str(error))
        if isinstance(error, TrafficHalted):
            self._halt(error)
        elif isinstance(error, ClockSkew) and endpoint is not self.venue.time_endpoint:
            # (The time endpoint is what a re-sync calls: it never re-syncs itself.)
            await self._resync(generation, state)
        raise error

    async def _exchange(self, request: httpx.Request | _Outgoing) -> httpx.Response:
        """Send ``request`` and read its answer, all within the attempt's deadline."""
        if _TIMEOUT is None:  # Python 3.10
            return await asyncio.wait_for(self._send_and_read(request), self._attempt_deadline)
        async with _TIMEOUT(self._attempt_deadline):
            return await self._send_and_read(request)

    async def _send_and_read(self, request: httpx.Request | _Outgoing) -> httpx.Response:
        """The answer with its body read (decoded, at most ``max_body`` bytes: ``_body``)."""
        if isinstance(request, _Outgoing):
            assert self._direct is not None
            response = await self._direct.send(request)
        else:
            response = await self._http.send(request, stream=True)
        try:
            # What Response.aread() does, bounded: the body is now response.content.
            response._content = await read_body(response, self._max_body)
        finally:
            await response.aclose()
        return response

    def _transport_failed(
        self, endpoint: Endpoint[Any], state: CallState, outcome: Outcome, why: str
    ) -> TransportError:
        state.outcomes.append(outcome)
        self._log(state, why)
        state.last_error = TransportError(
            f"{endpoint.method} {endpoint.path}: {why}", outcome=outcome
        )
        return state.last_error

    def _venue_pause(
        self, endpoint: Endpoint[Any], claims: list[tuple[str, RateLimit]], reply: Reply
    ) -> float:
        """How long the venue asks the endpoint's bucket to pause: its reset time less the
        time on the same answer (so no clock offset counts; but a stamp far from our clock is
        not trusted, and the reset is read on ours), at most the bucket's window plus
        :data:`PAUSE_MARGIN`."""
        assert reply.reset_at_ms is not None
        local_ms = int(self.clock.time() * 1000)
        stamp = reply.server_time_ms
        trusted = stamp is not None and abs(stamp - local_ms) <= _SANE_SKEW_MS
        now_ms = stamp if trusted and stamp is not None else local_ms
        asked = max(reply.reset_at_ms - now_ms, 0) / 1000.0
        bound = max((rate.window for _, rate in claims), default=0.0) + PAUSE_MARGIN
        if asked > bound:
            logger.warning(
                "%s %s: the venue asked for a pause of %.0f s; cut to %.1f s, the bucket's "
                "window and a margin",
                endpoint.method,
                endpoint.path,
                asked,
                bound,
            )
            return bound
        return asked

    def _halted(self, halted: LimiterHalted) -> TrafficHalted:
        return TrafficHalted(
            halted.code,
            f"{halted.reason}; all traffic for this key is stopped for "
            f"{halted.remaining:.0f} s more",
            self.venue.name,
            # A halt's code in the HTTP range is the status that started it (Bybit's 403);
            # venues' own codes lie outside it.
            http_status=halted.code if 400 <= halted.code < 600 else None,
            retry_after=halted.remaining,
        )

    async def _resync(self, generation: int, state: CallState) -> None:
        """Re-learn the server time once per call; concurrent failures share one sync."""
        if not state.first_resync():
            return
        async with self._sync_lock:
            if self._clock_generation == generation:
                logger.info(
                    "%s: the venue refused our timestamp (%s); re-learning its clock",
                    state.what,
                    state.last_error,
                )
                try:
                    await self.sync_clock()
                except ExchangeError as exc:  # retry with what we know; report the skew
                    logger.warning("could not re-learn the server time: %s", exc)

    def _halt(self, error: TrafficHalted) -> None:
        if not self._limits:
            return  # pacing is off: the caller handles bans
        # Venues say how long a ban lasts; a minute is the fallback when one does not.
        seconds = error.retry_after if error.retry_after is not None else 60.0
        logger.warning(
            "%s: every request of this key stops for %.0f s (%s)", self.owner, seconds, error
        )
        limiter = self._get_limiter()
        for name in self._limits:
            limiter.halt(
                self.venue.bucket_key(name), seconds, code=error.code, reason=error.message
            )

    def _claims_for(self, endpoint: Endpoint[Any]) -> list[tuple[str, RateLimit]]:
        claims = self._claims.get(endpoint.name)
        if claims is None:
            claims = [
                (self.venue.bucket_key(name), self._limits[name])
                for name in endpoint.buckets
                if name in self._limits
            ]
            self._claims[endpoint.name] = claims
        return claims

    def _get_limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = shared_limiter(self.clock)
        return self._limiter

    def _log(self, state: CallState, result: str) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: %s (waited %.3f s for capacity): %s",
                state.what,
                ordinal(state.attempts, "attempt"),
                state.waited,
                result,
            )

    def __repr__(self) -> str:
        # getattr: safe on a session whose constructor failed half-way (tracebacks show it).
        venue = getattr(getattr(self, "venue", None), "name", None)
        return f"<Session venue={venue} base_url={getattr(self, 'base_url', None)!r}>"


def _unknown(
    endpoint: Endpoint[Any], request: object, state: CallState, why: str
) -> OrderStatusUnknown:
    """The error of a state-changing call whose effect on the venue is not known."""
    return OrderStatusUnknown(
        f"{endpoint.name}: {why}", request=request, sent_at=state.first_sent_wall
    )


class _DirectSend:
    """Requests sent straight to the transport of a client the session made itself.

    ``AsyncClient.send`` spends ~100 µs a call on what such a client never uses: auth flows,
    redirects, event hooks, the cookie jar (parsing every answer's headers into an
    ``email.message``) and merging the client's URL, headers and cookies into each request.
    What it adds to a request is added here, once: the same bytes go out. The transport is
    asked of the client per request (``_transport_for_url``: proxies mounted for the URL, and
    the seam respx patches), and a closed client refuses as ``send`` does.

    The URL is parsed once per path: a request's URL is that one with the query put in (a
    third of building the request, when parsed per call), for a query httpx would not
    re-quote; any other is parsed whole, as httpx would.
    """

    __slots__ = ("_base_url", "_extensions", "_headers", "_http", "_targets", "_timeouts")

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url
        self._targets: dict[str, httpx.URL] = {}
        self._headers: list[tuple[str, str]] = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in http.headers.raw
        ]
        self._timeouts = http.timeout.as_dict()
        self._extensions = {"timeout": self._timeouts}

    def prepare(self, wire: WireRequest) -> _Outgoing:
        return _Outgoing(
            wire.method, self.url(wire.path, wire.query), [*self._headers, *wire.headers], wire.body
        )

    def url(self, path: str, query: str) -> httpx.URL:
        """``base_url + path ? query`` as httpx parses it."""
        if query and not (_URL_SPLICE and _PLAIN_QUERY.fullmatch(query)):
            return httpx.URL(f"{self._base_url}{path}?{query}")
        target = self._targets.get(path)
        if target is None:
            target = self._targets[path] = httpx.URL(f"{self._base_url}{path}")
        if not query:
            return target
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = target._uri_reference._replace(query=query)
        return url

    async def send(self, outgoing: _Outgoing) -> httpx.Response:
        """The answer, its body not read yet. Through aiohttp, no :class:`httpx.Request` is
        built (~15 µs): the answer's ``request`` is not set then."""
        if self._http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        transport = self._http._transport_for_url(outgoing.url)
        aiohttp = aiohttp_now(transport)
        if aiohttp is not None:
            return await aiohttp.send(
                outgoing.method, outgoing.url, outgoing.headers, outgoing.body, self._timeouts
            )
        request = httpx.Request(
            outgoing.method,
            outgoing.url,
            content=outgoing.body,
            headers=outgoing.headers,
            extensions=self._extensions,
        )
        response = await transport.handle_async_request(request)
        response.request = request
        return response


class _Outgoing:
    """A request of the session's own client, ready to send: its URL parsed, its headers
    complete but for what the transport adds (``Host``, ``Content-Length``)."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(
        self, method: str, url: httpx.URL, headers: list[tuple[str, str]], body: bytes | None
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body


#: A query httpx keeps as it is (its query-safe characters, ``%`` only as an escape).
_PLAIN_QUERY = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")
#: httpx's parsed URL is a named tuple (0.23 to 0.29): a query can be put into a copy.
_URL_SPLICE = hasattr(getattr(httpx.URL("http://h/"), "_uri_reference", None), "_replace")


#: ``asyncio.timeout`` (Python 3.11+): a deadline for a block without a task of its own.
_TIMEOUT = getattr(asyncio, "timeout", None) if sys.version_info >= (3, 11) else None


def _guard(claims: list[tuple[str, RateLimit]]) -> float:
    """How long after sending a request its buckets assume it may still arrive."""
    return max((rate.guard for _, rate in claims), default=0.0)


def _merge_limits(
    defaults: Mapping[str, RateLimit], overrides: Mapping[str, RateLimit] | Literal[False] | None
) -> dict[str, RateLimit]:
    if overrides is False:
        return {}
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigurationError(
            f"limits must map bucket names to RateLimits, or be False or None; got {overrides!r}"
        )
    merged = dict(defaults)
    for name, rate in (overrides or {}).items():
        if name not in defaults:
            raise ConfigurationError(
                f"unknown rate-limit bucket {name!r}; this venue has {sorted(defaults)}"
            )
        if not isinstance(rate, RateLimit):
            raise ConfigurationError(f"limits[{name!r}] must be a RateLimit, got {rate!r}")
        merged[name] = rate
    return merged
