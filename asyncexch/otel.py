"""OpenTelemetry spans and metrics for asyncexch calls (extra ``otel``: the API only).

``BybitClient(..., telemetry=Telemetry())`` records, through whatever OpenTelemetry SDK the
program configured (none: nothing is recorded):

* a span per call, ``asyncexch <endpoint>``, with a child span per attempt; attributes: the
  venue, endpoint, HTTP method and path, the caller's label (``orderLinkId=...``), the attempt
  number, the seconds waited for rate-limit capacity, the HTTP status, the venue's code, the
  outcome and the error's type. Never a header, a body, a query, a key or a signature.
* counters ``asyncexch.requests`` (attempts handed to the transport), ``asyncexch.retries``
  (attempts after the first) and ``asyncexch.rejections`` (attempts the venue refused for a
  rate limit), and histograms ``asyncexch.capacity_wait`` and ``asyncexch.latency`` (seconds),
  each by venue and endpoint.

The spans are recorded when the call ends, with the times it started and ended: they are not
the current span while the call runs.
"""

from __future__ import annotations

from datetime import datetime

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as _missing:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "asyncexch.otel needs the otel extra: pip install 'asyncexch[otel]'", name=_missing.name
    ) from _missing

from . import __version__
from ._observe import AttemptEvent, CallEvent
from .errors import ExchangeError, RateLimited

__all__ = ["Telemetry"]

_Attributes = dict[str, str | int | float]


class Telemetry:
    """A :class:`~asyncexch.CallObserver` that records spans and metrics through the
    OpenTelemetry API; ``tracer_provider`` and ``meter_provider`` default to the global ones."""

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer("asyncexch", __version__, tracer_provider)
        meter = metrics.get_meter("asyncexch", __version__, meter_provider)
        self._requests = meter.create_counter(
            "asyncexch.requests", unit="{request}", description="Attempts sent to a venue"
        )
        self._retries = meter.create_counter(
            "asyncexch.retries", unit="{request}", description="Attempts after a call's first"
        )
        self._rejections = meter.create_counter(
            "asyncexch.rejections",
            unit="{request}",
            description="Attempts the venue refused for a rate limit",
        )
        self._capacity_wait = meter.create_histogram(
            "asyncexch.capacity_wait", unit="s", description="Time waited for rate-limit capacity"
        )
        self._latency = meter.create_histogram(
            "asyncexch.latency", unit="s", description="Time from sending to the answer"
        )

    def attempt_ended(self, event: AttemptEvent) -> None:
        where = {"asyncexch.venue": event.venue, "asyncexch.endpoint": event.endpoint}
        self._capacity_wait.record(event.waited, where)
        if event.sent_at is None:
            return  # never sent: no request, no latency
        self._requests.add(1, where)
        if event.attempt > 1:
            self._retries.add(1, where)
        if isinstance(event.error, RateLimited):
            self._rejections.add(1, where)
        if event.duration is not None:
            self._latency.record(event.duration, where)

    def call_ended(self, event: CallEvent) -> None:
        call = self._tracer.start_span(
            f"asyncexch {event.endpoint}",
            kind=SpanKind.CLIENT,
            start_time=_nanos(event.started_at),
            attributes=_call_attributes(event),
        )
        context = trace.set_span_in_context(call)
        for attempt in event.attempts:
            started = attempt.sent_at or event.started_at
            span = self._tracer.start_span(
                f"asyncexch {event.endpoint} attempt {attempt.attempt}",
                context=context,
                kind=SpanKind.CLIENT,
                start_time=_nanos(started),
                attributes=_attempt_attributes(attempt),
            )
            failure = _error_type(attempt.error, attempt.cancelled)
            if failure is not None:
                span.set_status(Status(StatusCode.ERROR, failure))
            span.end(end_time=_nanos(started) + int((attempt.duration or 0.0) * 1e9))
        failure = _error_type(event.error, event.cancelled)
        if failure is not None:
            call.set_status(Status(StatusCode.ERROR, failure))
        call.end(end_time=_nanos(event.started_at) + int(event.duration * 1e9))


def _call_attributes(event: CallEvent) -> _Attributes:
    attributes: _Attributes = {
        "asyncexch.venue": event.venue,
        "asyncexch.endpoint": event.endpoint,
        "http.request.method": event.method,
        "url.path": event.path,
        "asyncexch.attempts": len(event.attempts),
    }
    return _how_it_ended(attributes, event.label, event.error, event.cancelled)


def _attempt_attributes(event: AttemptEvent) -> _Attributes:
    attributes: _Attributes = {
        "asyncexch.venue": event.venue,
        "asyncexch.endpoint": event.endpoint,
        "asyncexch.attempt": event.attempt,
        "asyncexch.capacity_wait": event.waited,
    }
    if event.http_status is not None:
        attributes["http.response.status_code"] = event.http_status
    if event.code is not None:
        attributes["asyncexch.venue_code"] = event.code
    if event.outcome is not None:
        attributes["asyncexch.outcome"] = event.outcome.value
    return _how_it_ended(attributes, event.label, event.error, event.cancelled)


def _how_it_ended(
    attributes: _Attributes, label: str, error: ExchangeError | None, cancelled: bool
) -> _Attributes:
    """The caller's label, and the error's type (or the cancellation) and outcome."""
    if label:
        attributes["asyncexch.label"] = label
    failure = _error_type(error, cancelled)
    if failure is not None:
        attributes["error.type"] = failure
    if error is not None:
        attributes.setdefault("asyncexch.outcome", error.outcome.value)
    return attributes


def _error_type(error: ExchangeError | None, cancelled: bool) -> str | None:
    if error is not None:
        return type(error).__name__
    return "cancelled" if cancelled else None


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)
