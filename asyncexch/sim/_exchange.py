"""What every simulated exchange shares: its clock and faults, rolling windows, broken answers."""

from __future__ import annotations

from collections import Counter, deque
from typing import Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .._clock import Clock
from ._faults import Fault, FaultPlan, Faults

__all__ = [
    "BAD_GATEWAY",
    "ConnectionDropped",
    "DroppedResponse",
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


class FaultCounts(Protocol):
    """The part of a simulator's statistics that counts injected faults by kind."""

    faults: Counter[str]


class SimulatedExchange:
    """The clock and the faults of a simulator."""

    #: The names of the simulator's endpoints (what ``Faults.endpoints`` may name).
    endpoint_names: frozenset[str]
    clock: Clock
    faults: Faults
    stats: FaultCounts
    _plan: FaultPlan

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
