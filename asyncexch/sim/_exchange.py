"""What every simulated exchange shares: the request skeleton, its clock and faults, rolling
windows, broken answers.

A venue's simulator derives from :class:`SimulatedExchange` and fills in the steps that differ
(who is turned away at the door, how a request is admitted, what committing it does, how
answers and refusals are enveloped); the order of the steps, the statistics and the faults
are the same for every venue and live here, in :meth:`SimulatedExchange._serve`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .._clock import Clock
from ._faults import Fault, FaultPlan, Faults
from ._instant import Instant
from ._refused import Refused

__all__ = [
    "BAD_GATEWAY",
    "Arrival",
    "ConnectionDropped",
    "DroppedResponse",
    "Refused",
    "RollingWindows",
    "SimulatedExchange",
]

BAD_GATEWAY = "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"


class ConnectionDropped(Exception):
    """Raised by the app to drop the connection (the serving layer turns it into a drop)."""


class DroppedResponse(Response):
    """Starts an answer and then drops the connection."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )
        raise ConnectionDropped()


class RollingWindows:
    """Arrivals per key in rolling windows, counted the way the venues count them."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def hit(
        self, key: tuple[str, str], limit: int, per: float, now: float
    ) -> tuple[bool, int, float]:
        """Count an arrival at ``now`` unless ``limit`` already arrived in the last ``per``
        seconds: (admitted, remaining, when the window frees). Refused arrivals do not count."""
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - per:
            window.popleft()
        if len(window) >= limit:
            return False, 0, window[0] + per
        window.append(now)
        return True, limit - len(window), now


class RequestCounts(Protocol):
    """What every simulator's statistics count: requests, refusals by the venue's code,
    injected faults by kind, and arrival times (monotonic seconds) by endpoint."""

    requests: Counter[str]
    rejections: Counter[Any]  # keyed by the venue's codes: ints on Bybit, strings on ChainUP
    faults: Counter[str]
    arrivals: dict[str, list[float]]


@attrs.frozen
class Arrival:
    """A request as it reached the exchange, after the network's delay."""

    request: Request
    #: The body exactly as received (signatures are over these bytes).
    body: bytes
    #: The simulator's name for the endpoint (a key of its limits).
    endpoint: str
    #: The client's address: the scope of the per-IP limits.
    ip: str
    #: When it arrived, in the exchange's monotonic seconds.
    at: float
    #: Whether the endpoint needs an API key.
    private: bool


#: What a venue's admission step hands its commit step (the account, and the parameters when
#: the venue reads them to authenticate).
Admitted = TypeVar("Admitted")


class SimulatedExchange(Generic[Admitted]):
    """The request skeleton, the clock and the faults of a simulator."""

    #: The names of the simulator's endpoints (what ``Faults.endpoints`` may name).
    endpoint_names: frozenset[str]
    clock: Clock
    faults: Faults
    stats: RequestCounts
    _plan: FaultPlan

    # --- the request skeleton -----------------------------------------------------------

    def _route(self, path: str, endpoint: str, *, private: bool, method: str) -> Route:
        """A Starlette route serving ``endpoint`` at ``path`` through :meth:`_serve`."""

        async def answer(request: Request) -> Response:
            return await self._serve(request, endpoint, private=private)

        return Route(path, answer, methods=[method])

    async def _serve(self, request: Request, endpoint: str, *, private: bool) -> Response:
        """Answer one request, in the order every venue acts: the network's delay; the body;
        the request counted; the venue's door (:meth:`_turn_away`); admission (API key,
        signature, rate limit: :meth:`_admit`); a fault that hits before the exchange acts;
        the venue acting on the request (:meth:`_commit`) and its envelope; a fault that hits
        after it acted. A :class:`Refused` anywhere in admission or commit becomes the
        venue's refusal, counted by code."""
        await self.clock.sleep(self._plan.next_latency())  # the network, on the way in
        body = await request.body()
        arrival = Arrival(
            request,
            body,
            endpoint,
            request.client.host if request.client else "unknown",
            self.clock.monotonic(),
            private,
        )
        self.stats.requests[endpoint] += 1
        self.stats.arrivals.setdefault(endpoint, []).append(arrival.at)
        turned_away = self._turn_away(arrival)
        if turned_away is not None:
            return turned_away
        headers: Mapping[str, str] = {}
        fault: Fault | None = None
        try:
            admitted, headers = self._admit(arrival)
            fault = self._plan.next_fault(endpoint)
            if fault is not None and not fault.after_commit:
                return self._fault(fault)
            answer = self._success(self._commit(arrival, admitted), headers)
        except Refused as refused:
            self.stats.rejections[refused.code] += 1
            answer = self._refusal(refused, {**headers, **refused.headers})
        return answer if fault is None else self._fault(fault, answer)

    def _turn_away(self, arrival: Arrival) -> Response | None:
        """The answer for a request refused at the door, before any check of the venue's
        (Bybit's IP ban); ``None`` lets it in."""
        return None

    def _admit(self, arrival: Arrival) -> tuple[Admitted, Mapping[str, str]]:
        """Authenticate and count the request in its rate-limit window, or raise
        :class:`Refused`: what the commit step needs, and headers for the answer."""
        raise NotImplementedError

    def _commit(self, arrival: Arrival, admitted: Admitted) -> object:
        """Act on an admitted request: the ``result``/``data`` of the venue's envelope."""
        raise NotImplementedError

    def _success(self, result: object, headers: Mapping[str, str]) -> Response:
        """The venue's envelope around a result."""
        raise NotImplementedError

    def _refusal(self, refused: Refused, headers: Mapping[str, str]) -> Response:
        """The venue's envelope around a refusal."""
        raise NotImplementedError

    # --- configuration and faults -------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        """Change what goes wrong from the next request on (for example, ``Faults()``: nothing)."""
        unknown = (faults.endpoints or frozenset()) - self.endpoint_names
        if unknown:
            raise ValueError(
                f"Faults.endpoints names {sorted(unknown)}; this simulator has "
                f"{sorted(self.endpoint_names)}"
            )
        self.faults = faults
        self._plan = FaultPlan(faults)

    def now_ms(self) -> int:
        """The exchange's clock, in milliseconds (its clock plus the configured skew)."""
        return int((self.clock.time() + self.faults.clock_skew) * 1000)

    def _instant(self, monotonic: float | None = None) -> Instant:
        """Now (or the monotonic moment ``monotonic``, read just now) for the engine."""
        return Instant(self.clock.monotonic() if monotonic is None else monotonic, self.now_ms())

    def _fault(self, fault: Fault, answer: Response | None = None) -> Response:
        """What the client gets under ``fault``; ``answer`` is what it would have got (for
        the faults that hit after the exchange acted), counted in ``stats.faults``."""
        self.stats.faults[fault.value] += 1
        if fault in (Fault.HTTP_5XX, Fault.HTTP_5XX_AFTER_COMMIT):
            return Response(BAD_GATEWAY, status_code=502, media_type="text/html")
        if fault in (Fault.BUSY, Fault.TIMEOUT_AFTER_COMMIT):
            return self._error_answer(fault)
        if fault is Fault.TRUNCATED and answer is not None:
            body = bytes(answer.body)
            return Response(body[: len(body) // 2], media_type=answer.media_type)
        return DroppedResponse()

    def _error_answer(self, fault: Fault) -> Response:
        """The venue's own error answer for ``Fault.BUSY`` or ``Fault.TIMEOUT_AFTER_COMMIT``."""
        raise NotImplementedError
