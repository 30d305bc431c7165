"""What a session tells observers: one event per attempt and one per call.

The events carry what an operator needs (the endpoint, the caller's label, the attempt, the
time spent waiting for capacity and on the wire, the HTTP status, the venue's code, the
outcome) and nothing a request was signed with: no headers, no body, no query. (An event's
``error`` is the exception the caller gets; its ``__cause__`` may be the transport's, which
holds the request, with the API key and signature but never the secret.)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from .errors import ApiError, ConfigurationError, ExchangeError, Outcome

__all__ = ["AttemptEvent", "AttemptHook", "CallEvent", "CallObserver", "Observers"]

logger = logging.getLogger("asyncexch")
E = TypeVar("E")


@attrs.frozen(kw_only=True)
class AttemptEvent:
    """One attempt of a call, once it ended (answered, refused or failed)."""

    venue: str
    endpoint: str
    method: str
    path: str
    #: The caller's name for the request (``orderLinkId=...``), or ``""``.
    label: str
    #: 1 for the first attempt of the call.
    attempt: int
    #: Seconds spent waiting for rate-limit capacity before this attempt.
    waited: float
    #: When the request was handed to the transport; ``None`` if it never was.
    sent_at: datetime | None
    #: Seconds from then until the answer or the failure; ``None`` if never sent.
    duration: float | None
    #: The answer's HTTP status, if one came.
    http_status: int | None
    #: ``None`` if the attempt succeeded, else its error (``error.outcome`` says whether
    #: the venue may have acted).
    error: ExchangeError | None
    #: The caller cancelled the call during this attempt (``error`` is then ``None``).
    cancelled: bool = False

    @property
    def outcome(self) -> Outcome | None:
        """``None`` on success; the failure's outcome; for a cancelled attempt, ``UNKNOWN``
        once it was sent and ``NOT_PROCESSED`` before."""
        if self.cancelled:
            return Outcome.UNKNOWN if self.sent_at is not None else Outcome.NOT_PROCESSED
        return None if self.error is None else self.error.outcome

    @property
    def code(self) -> int | None:
        """The venue's code (or bare HTTP status) of a refusal; ``None`` otherwise."""
        return self.error.code if isinstance(self.error, ApiError) else None


@attrs.frozen(kw_only=True)
class CallEvent:
    """One call, once it ended: its attempts in order, and how it ended."""

    venue: str
    endpoint: str
    method: str
    path: str
    label: str
    started_at: datetime
    #: Seconds from the call's start to its end (capacity waits and retries included).
    duration: float
    attempts: tuple[AttemptEvent, ...]
    #: ``None`` if the call succeeded, else the error it raised.
    error: ExchangeError | None
    #: The caller cancelled the call (``error`` is then ``None``).
    cancelled: bool = False


@runtime_checkable
class CallObserver(Protocol):
    """Receives a session's events (``asyncexch.otel.Telemetry`` is one). Called on the event
    loop, inline: keep it quick. What it raises is logged and never reaches the call."""

    def attempt_ended(self, event: AttemptEvent) -> None: ...

    def call_ended(self, event: CallEvent) -> None: ...


AttemptHook = Callable[[AttemptEvent], None]


class Observers:
    """The observers of one session: a plain per-attempt hook and any :class:`CallObserver`."""

    __slots__ = ("_hooks", "_observers")

    def __init__(self, on_attempt: AttemptHook | None, telemetry: CallObserver | None) -> None:
        if on_attempt is not None and not callable(on_attempt):
            raise ConfigurationError(f"on_attempt must be callable, got {on_attempt!r}")
        if inspect.iscoroutinefunction(on_attempt) or inspect.iscoroutinefunction(
            getattr(telemetry, "attempt_ended", None)
        ):
            raise ConfigurationError(
                "observers are called inline and never awaited: give a plain function "
                "(start a task from it for async work)"
            )
        if telemetry is not None and not isinstance(telemetry, CallObserver):
            raise ConfigurationError(
                f"telemetry must have attempt_ended and call_ended methods, got {telemetry!r}"
            )
        self._hooks = (on_attempt,) if on_attempt is not None else ()
        self._observers = (telemetry,) if telemetry is not None else ()

    def __bool__(self) -> bool:
        return bool(self._hooks or self._observers)

    def attempt_ended(self, event: AttemptEvent) -> None:
        for hook in self._hooks:
            _safely(hook, event)
        for observer in self._observers:
            _safely(observer.attempt_ended, event)

    def call_ended(self, event: CallEvent) -> None:
        for observer in self._observers:
            _safely(observer.call_ended, event)


def _safely(receive: Callable[[E], None], event: E) -> None:
    try:
        receive(event)
    except Exception as exc:  # an observer never changes what a call does
        logger.warning("an observer of asyncexch calls raised %s: %s", type(exc).__name__, exc)
