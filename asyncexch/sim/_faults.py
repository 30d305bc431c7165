"""Seeded, reproducible fault injection for the simulators."""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable

import attrs

__all__ = ["Fault", "Faults"]


class Fault(enum.Enum):
    """One way a request can go wrong on its way through the exchange."""

    #: An HTML 502 page from the gateway; the request never reached the exchange.
    HTTP_5XX = "http_5xx"
    #: retCode 10016 "service restarting"; nothing was processed.
    BUSY = "busy"
    #: retCode 10000 "server timeout" after the request was processed.
    TIMEOUT_AFTER_COMMIT = "timeout_after_commit"
    #: The connection drops before the exchange acts on the request.
    DROP_BEFORE_COMMIT = "drop_before_commit"
    #: The connection drops after the exchange acted (an order is placed, no answer comes).
    DROP_AFTER_COMMIT = "drop_after_commit"
    #: The answer is cut short: headers and half a JSON body, after the request was processed.
    TRUNCATED = "truncated"
    #: An HTML 502 page from the gateway after the exchange acted (the answer was lost behind
    #: it). Not among the default kinds: ask for it.
    HTTP_5XX_AFTER_COMMIT = "http_5xx_after_commit"

    @property
    def after_commit(self) -> bool:
        """Whether the exchange acts on the request before this fault hits."""
        return self in _AFTER_COMMIT


_AFTER_COMMIT = frozenset(
    {
        Fault.TIMEOUT_AFTER_COMMIT,
        Fault.DROP_AFTER_COMMIT,
        Fault.TRUNCATED,
        Fault.HTTP_5XX_AFTER_COMMIT,
    }
)
#: What ``Faults()`` draws from: every kind but the opt-in ones (a seed keeps its faults).
DEFAULT_KINDS = tuple(kind for kind in Fault if kind is not Fault.HTTP_5XX_AFTER_COMMIT)


def _kinds(kinds: Iterable[Fault]) -> tuple[Fault, ...]:
    return tuple(kinds)


def _names(names: Iterable[str] | None) -> frozenset[str] | None:
    if isinstance(names, str):  # "place_order" would become its letters
        raise TypeError(f"endpoints must be a collection of names, not the string {names!r}")
    return None if names is None else frozenset(names)


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value!r}")


def _latency(
    instance: object, attribute: attrs.Attribute[tuple[float, float]], value: tuple[float, float]
) -> None:
    low, high = value
    if not 0.0 <= low <= high:
        raise ValueError(f"{attribute.name} must be (low, high) with 0 <= low <= high")


@attrs.frozen(kw_only=True)
class Faults:
    """What goes wrong, how often, reproducibly.

    ``rate`` is the chance that a request meets one of ``kinds`` (chosen uniformly; by
    default every kind but :attr:`Fault.HTTP_5XX_AFTER_COMMIT`);
    ``endpoints`` the simulator's endpoint names faults hit (``("place_order",)``: only
    orders), every endpoint when ``None``; ``latency`` a (low, high) range of seconds added
    before each request arrives (network jitter, so it shifts arrival times the rate window
    sees); ``clock_skew`` seconds the exchange's clock is ahead (+) of or behind (-) real time.
    The same ``seed`` and the same order of requests give the same faults: faults and
    latencies come from separate streams, so the n-th fault drawn does not depend on how
    concurrent requests' delays interleave.
    """

    rate: float = attrs.field(default=0.0, validator=_rate)
    kinds: tuple[Fault, ...] = attrs.field(default=DEFAULT_KINDS, converter=_kinds)
    endpoints: frozenset[str] | None = attrs.field(default=None, converter=_names)
    latency: tuple[float, float] = attrs.field(default=(0.0, 0.0), validator=_latency)
    clock_skew: float = 0.0
    seed: int = 0

    @classmethod
    def none(cls) -> Faults:
        """No faults at all."""
        return cls()


class FaultPlan:
    """Draws the faults and network delays of successive requests from seeded generators.

    The two are separate streams: a request draws its delay on arrival and its fault only
    after that delay, so with one stream concurrent requests would reorder the draws and the
    same seed could give a different set of faults from run to run.
    """

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._fault_random = random.Random(faults.seed)
        self._latency_random = random.Random(f"latency:{faults.seed}")

    def next_fault(self, endpoint: str | None = None) -> Fault | None:
        """The fault the next request (to ``endpoint``) meets, if any. A request to an
        endpoint faults do not hit draws nothing."""
        faults = self.faults
        if faults.endpoints is not None and endpoint not in faults.endpoints:
            return None
        if not faults.kinds or self._fault_random.random() >= faults.rate:
            return None
        return self._fault_random.choice(faults.kinds)

    def next_latency(self) -> float:
        """Seconds of network delay for the next request."""
        low, high = self.faults.latency
        return self._latency_random.uniform(low, high) if high > 0 else 0.0
