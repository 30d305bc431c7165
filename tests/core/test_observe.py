"""Observers: the on_attempt hook and OpenTelemetry spans and metrics, without secrets, for a
Session over the fake venue."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Callable

import httpx
import pytest
import respx
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from asyncexch import (
    AttemptEvent,
    CallEvent,
    ConfigurationError,
    Outcome,
    RetryPolicy,
    Session,
)
from asyncexch.errors import BadParameter, MalformedResponse
from asyncexch.otel import Telemetry
from tests.builders.fake_venue import (
    API_SECRET,
    BASE_URL,
    KEYED_ORDER,
    KEYED_PATH,
    READ,
    READ_PATH,
    SIGN_HEADER,
    Echo,
    FakeVenue,
    bare,
    fail,
    ok,
)

#: What the caller names the request in logs and events.
LABEL = "id=watched-1"


async def place(session: Session) -> Echo:
    """An order with a client order id, as a venue's client places one: labelled."""
    return await session.call(KEYED_ORDER, {"id": "watched-1"}, label=LABEL)


async def test_on_attempt_sees_every_attempt_with_what_an_operator_needs(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    seen: list[AttemptEvent] = []
    fake_mock.post(KEYED_PATH).mock(
        side_effect=[bare(502, "<html>bad gateway</html>"), ok({"value": 77})]
    )

    await place(make_session(on_attempt=seen.append))

    first, second = seen
    assert (first.attempt, second.attempt) == (1, 2)
    assert (first.outcome, second.outcome) == (Outcome.UNKNOWN, None)
    assert (first.http_status, second.http_status) == (502, 200)
    assert first.code == 502 and second.code is None
    assert {e.label for e in seen} == {LABEL}
    assert {(e.venue, e.endpoint, e.method, e.path) for e in seen} == {
        ("fake", "keyed_order", "POST", KEYED_PATH)
    }
    assert all(e.sent_at is not None and e.duration is not None for e in seen)
    assert all(e.waited >= 0 for e in seen)
    assert API_SECRET not in repr(seen)


async def test_an_observer_that_raises_never_changes_the_call(
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: AttemptEvent) -> None:
        raise RuntimeError("the dashboard is down")

    fake_mock.post(KEYED_PATH).mock(return_value=ok({"value": 77}))

    ack = await place(make_session(on_attempt=broken))

    assert ack == Echo(77)
    assert any(
        r.levelno == logging.WARNING and "the dashboard is down" in r.getMessage()
        for r in caplog.records
    )


def test_observers_that_cannot_observe_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="on_attempt must be callable"):
        Session(FakeVenue(), base_url=BASE_URL, on_attempt="print")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="telemetry must have"):
        Session(FakeVenue(), base_url=BASE_URL, telemetry=object())  # type: ignore[arg-type]


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(spans: InMemorySpanExporter) -> tuple[Telemetry, InMemoryMetricReader]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider), reader


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[object]]:
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[object]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    return points


async def test_telemetry_records_a_call_span_with_a_child_per_attempt_and_no_secret(
    make_session: Callable[..., Session],
    fake_mock: respx.MockRouter,
    spans: InMemorySpanExporter,
    telemetry: tuple[Telemetry, InMemoryMetricReader],
) -> None:
    observer, reader = telemetry
    fake_mock.post(KEYED_PATH).mock(side_effect=[fail(3, "slow down"), fail(2, "params error")])

    with pytest.raises(BadParameter):
        await place(make_session(telemetry=observer))

    finished = spans.get_finished_spans()
    call = next(s for s in finished if s.name == "asyncexch keyed_order")
    attempts = sorted(
        (s for s in finished if s.name.startswith("asyncexch keyed_order attempt")),
        key=lambda s: s.name,
    )
    assert [s.parent.span_id for s in attempts if s.parent] == [call.context.span_id] * 2
    assert call.attributes is not None and attempts[0].attributes is not None
    assert call.attributes["asyncexch.attempts"] == 2
    assert call.attributes["error.type"] == "BadParameter"
    assert call.attributes["asyncexch.label"] == LABEL
    assert attempts[0].attributes["asyncexch.venue_code"] == 3
    assert attempts[0].attributes["asyncexch.outcome"] == "not_processed"
    assert attempts[0].attributes["http.response.status_code"] == 200
    assert call.start_time is not None and call.end_time is not None
    assert call.start_time <= attempts[0].start_time <= call.end_time  # type: ignore[operator]
    everything = repr([dict(s.attributes or {}) for s in finished])
    assert API_SECRET not in everything and SIGN_HEADER not in everything

    points = metric_points(reader)
    assert sum(p.value for p in points["asyncexch.requests"]) == 2  # type: ignore[attr-defined]
    assert sum(p.value for p in points["asyncexch.retries"]) == 1  # type: ignore[attr-defined]
    assert sum(p.value for p in points["asyncexch.rejections"]) == 1  # type: ignore[attr-defined]
    assert sum(p.count for p in points["asyncexch.latency"]) == 2  # type: ignore[attr-defined]
    assert sum(p.count for p in points["asyncexch.capacity_wait"]) == 2  # type: ignore[attr-defined]


async def test_a_call_without_observers_builds_no_events(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    fake_mock.post(KEYED_PATH).mock(return_value=ok({"value": 77}))
    session = make_session()

    assert await place(session) == Echo(77)

    assert not session._observers


def test_the_otel_module_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "asyncexch.otel")

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'asyncexch\[otel\]'"):
        importlib.import_module("asyncexch.otel")


class Recorder:
    """A CallObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.attempts: list[AttemptEvent] = []
        self.calls: list[CallEvent] = []

    def attempt_ended(self, event: AttemptEvent) -> None:
        self.attempts.append(event)

    def call_ended(self, event: CallEvent) -> None:
        self.calls.append(event)


async def test_a_call_cancelled_after_sending_is_observed_as_unknown(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    recorder = Recorder()
    arrived = asyncio.Event()

    async def never_answer(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    fake_mock.post(KEYED_PATH).mock(side_effect=never_answer)
    call = asyncio.create_task(place(make_session(telemetry=recorder)))
    await arrived.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    [attempt] = recorder.attempts
    [ended] = recorder.calls
    assert attempt.cancelled and attempt.outcome is Outcome.UNKNOWN and attempt.error is None
    assert ended.cancelled and ended.attempts == (attempt,)


async def test_an_answer_too_large_keeps_its_status(
    make_session: Callable[..., Session], fake_mock: respx.MockRouter
) -> None:
    seen: list[AttemptEvent] = []
    fake_mock.get(READ_PATH).mock(
        return_value=httpx.Response(200, content=b"[" + b"1," * 3_000_000 + b"1]")
    )

    with pytest.raises(MalformedResponse):
        await make_session(on_attempt=seen.append, retry=RetryPolicy(max_attempts=1)).call(READ, {})

    assert [e.http_status for e in seen] == [200]


async def test_an_async_hook_is_refused_rather_than_never_awaited() -> None:
    async def hook(event: AttemptEvent) -> None:
        return None

    with pytest.raises(ConfigurationError, match="never awaited"):
        Session(FakeVenue(), base_url=BASE_URL, on_attempt=hook)  # type: ignore[arg-type]
