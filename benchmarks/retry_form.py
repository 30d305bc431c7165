"""The retry loop's form: what each clear shape of it costs a call (issue 16, item 1).

Three forms of the same policy (``max_attempts``; ``deadline`` from the first send; full-jitter
backoff doubling from ``backoff`` up to ``max_backoff``; a rate limit's ``retry_after`` plus
up to 50 ms of jitter; a clock-window refusal retried at once, once; the INFO line before each
retry; sleeping on the injected clock):

* **(a) hybrid**: the first attempt runs bare; a failure is replayed as attempt 1 into a
  ``tenacity.AsyncRetrying`` built for the call (asyncexch up to issue 16; kept here, below,
  as the reference it was).
* **(b) tenacity**: every attempt runs through a ``tenacity.AsyncRetrying``, as cheap as it
  stays correct: the strategies are made once per policy and read the call's ``CallState``
  from ``retry_state.retry_object``; one ``AsyncRetrying`` per call, because tenacity keeps
  its iteration state on the object (``threading.local``, one per thread, not per task: see
  check 2). ``(b) per-call closures`` is the plain way (the hybrid's strategies, made per call).
* **(c) own loop**: a ``while`` loop over the attempts and one function that decides whether
  and how long to wait: asyncexch's (``_retry.run_attempts`` and ``pause_before_retry``).

Measured:

1. **The retry layer alone**: an attempt that succeeds at once, and one that fails once
   (a fresh ``ServiceUnavailable``) then succeeds, with a zero backoff; client CPU per call
   (best of interleaved rounds) and memory per in-flight call (tracemalloc, N calls waiting
   inside their attempt), next to the floor: the same attempt awaited with no retry layer.
2. **Through the real Session**: signed Bybit order-info calls (``Session.call``, limits
   off, the venue's real encoder, signer, reader and decoder) over an in-process transport
   that answers at once; in the fail-once case each call's first attempt is answered with
   10016 ("service restarting", unknown outcome, retried because the read is idempotent).
   CPU per call, and memory per in-flight call with N calls held in the transport. The forms
   are plugged in by overriding ``Session._complete``, which is where the loop is wired.

Checks (they fail the run if they do not hold):

1. The forms decide alike: scripted failures on a ``VirtualClock`` with a seeded rng give the
   same attempts, the same waits, the same final answer or error and the same log lines.
2. The shared-instance hazard on the installed tenacity: one ``AsyncRetrying`` shared by
   concurrent tasks against one per call, with plain callbacks, a ``before_sleep`` that
   yields to the loop and a ``retry`` predicate that does (only one per call must be right).

Prints tables; writes ``benchmarks/results/retry_form.json``.

``python benchmarks/retry_form.py [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import pathlib
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import version
from typing import Any, TypeVar

import httpx
import tenacity

from asyncexch import ClockSkew, RateLimited, RetryPolicy, Session, SystemClock, VirtualClock
from asyncexch._clock import Clock
from asyncexch._convert import decode
from asyncexch._endpoint import Endpoint
from asyncexch._retry import CallState, ordinal, run_attempts, should_retry
from asyncexch._session import _unknown
from asyncexch._venue import Reply
from asyncexch.bybit import BybitVenue
from asyncexch.bybit._endpoints import ORDER
from asyncexch.errors import ExchangeError, Outcome, ServiceUnavailable, TransportError

T = TypeVar("T")
RESULTS = pathlib.Path(__file__).resolve().parent / "results"
logger = logging.getLogger("asyncexch")
KEY, SECRET = "bench-key", "bench-secret"
BASE = "https://bench.invalid"
#: No backoff: the fail-once case measures the loop, not a sleep (a zero sleep still yields).
NO_WAIT = RetryPolicy(backoff=0.0, max_backoff=0.0)

Attempt = Callable[[], Awaitable[T]]


# --- (a) the hybrid, as asyncexch had it -----------------------------------------------------


async def hybrid_retry_after(
    failure: ExchangeError,
    attempt: Attempt[T],
    policy: RetryPolicy,
    clock: Clock,
    state: CallState,
    rng: random.Random,
) -> T:
    """Carry on a call whose first attempt (run bare by the caller) failed with ``failure``."""
    if not should_retry(failure, state) or policy.max_attempts == 1:
        raise failure
    replay: ExchangeError | None = failure

    async def replay_then_attempt() -> T:
        nonlocal replay
        if replay is not None:
            first, replay = replay, None
            raise first
        return await attempt()

    retrying = per_call_retrying(policy, clock, state, rng)
    return await retrying(replay_then_attempt)


def per_call_retrying(
    policy: RetryPolicy, clock: Clock, state: CallState, rng: random.Random
) -> tenacity.AsyncRetrying:
    """A fresh ``AsyncRetrying`` for one call, its strategies closures over the call."""

    def wait(retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, ClockSkew):
            return 0.0
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after + rng.uniform(0, 0.05)
        cap = min(policy.max_backoff, policy.backoff * 2 ** (retry_state.attempt_number - 1))
        return rng.uniform(0, cap)

    def stop(retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= policy.max_attempts:
            return True
        started = state.first_sent_at
        if started is None:
            return False
        return clock.monotonic() + retry_state.upcoming_sleep - started > policy.deadline

    def announce(retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        logger.info(
            "%s: %s failed (%s); retrying in %.2f s (%s of %d)",
            state.what,
            ordinal(retry_state.attempt_number, "attempt"),
            error,
            retry_state.upcoming_sleep,
            ordinal(retry_state.attempt_number + 1, "attempt"),
            policy.max_attempts,
        )

    retry: Callable[[BaseException], bool] = lambda error: should_retry(error, state)  # noqa: E731
    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(retry),
        wait=wait,
        stop=stop,
        sleep=clock.sleep,
        before_sleep=announce,
        reraise=True,
    )


async def hybrid(
    attempt: Attempt[T], policy: RetryPolicy, clock: Clock, state: CallState, rng: random.Random
) -> T:
    try:
        return await attempt()
    except ExchangeError as failure:
        first = failure
    return await hybrid_retry_after(first, attempt, policy, clock, state, rng)


# --- (b) every attempt through tenacity ------------------------------------------------------


class CallRetrying(tenacity.AsyncRetrying):
    """One call's ``AsyncRetrying``: the policy's strategies, and the call's state for them."""

    def __init__(self, strategies: TenacityStrategies, state: CallState) -> None:
        super().__init__(
            retry=strategies.retry,
            wait=strategies.wait,
            stop=strategies.stop,
            sleep=strategies.clock.sleep,
            before_sleep=strategies.announce,
            reraise=True,
        )
        self.state = state


class TenacityStrategies:
    """The policy's strategies, made once; each reads the call's state off its retrying."""

    def __init__(self, policy: RetryPolicy, clock: Clock, rng: random.Random) -> None:
        self.policy, self.clock, self.rng = policy, clock, rng

    @staticmethod
    def _state(retry_state: tenacity.RetryCallState) -> CallState:
        retrying = retry_state.retry_object
        assert isinstance(retrying, CallRetrying)
        return retrying.state

    def retry(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return error is not None and should_retry(error, self._state(retry_state))

    def wait(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, ClockSkew):
            return 0.0
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after + self.rng.uniform(0, 0.05)
        policy = self.policy
        cap = min(policy.max_backoff, policy.backoff * 2 ** (retry_state.attempt_number - 1))
        return self.rng.uniform(0, cap)

    def stop(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.policy.max_attempts:
            return True
        started = self._state(retry_state).first_sent_at
        if started is None:
            return False
        return self.clock.monotonic() + retry_state.upcoming_sleep - started > self.policy.deadline

    def announce(self, retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        logger.info(
            "%s: %s failed (%s); retrying in %.2f s (%s of %d)",
            self._state(retry_state).what,
            ordinal(retry_state.attempt_number, "attempt"),
            error,
            retry_state.upcoming_sleep,
            ordinal(retry_state.attempt_number + 1, "attempt"),
            self.policy.max_attempts,
        )


#: One set of strategies per (policy, clock, rng), as a session would hold it.
_STRATEGIES: dict[tuple[int, int, int], TenacityStrategies] = {}


def strategies_for(policy: RetryPolicy, clock: Clock, rng: random.Random) -> TenacityStrategies:
    key = (id(policy), id(clock), id(rng))
    strategies = _STRATEGIES.get(key)
    if strategies is None:  # (the strategies hold all three: their ids stay theirs)
        strategies = _STRATEGIES[key] = TenacityStrategies(policy, clock, rng)
    return strategies


async def through_tenacity(
    attempt: Attempt[T], policy: RetryPolicy, clock: Clock, state: CallState, rng: random.Random
) -> T:
    result: T = await CallRetrying(strategies_for(policy, clock, rng), state)(attempt)
    return result


async def through_tenacity_closures(
    attempt: Attempt[T], policy: RetryPolicy, clock: Clock, state: CallState, rng: random.Random
) -> T:
    result: T = await per_call_retrying(policy, clock, state, rng)(attempt)
    return result


# --- (c) asyncexch's own loop: asyncexch._retry.run_attempts ------------------------------


async def bare(
    attempt: Attempt[T], policy: RetryPolicy, clock: Clock, state: CallState, rng: random.Random
) -> T:
    """No retry layer, the floor: the attempt awaited, and once more after a failure."""
    try:
        return await attempt()
    except ExchangeError:
        pass
    return await attempt()


Form = Callable[[Attempt[Any], RetryPolicy, Clock, CallState, random.Random], Awaitable[Any]]
FORMS: dict[str, Form] = {
    "(a) hybrid": hybrid,
    "(b) tenacity, strategies per policy": through_tenacity,
    "(b) tenacity, per-call closures": through_tenacity_closures,
    "(c) own loop": run_attempts,
}


# --- 1. the retry layer alone -----------------------------------------------------------------


class Scripted:
    """An attempt that fails its first ``failures`` runs, then returns (after ``hold``)."""

    __slots__ = ("failures", "hold", "runs")

    def __init__(self, failures: int, hold: asyncio.Event | None = None) -> None:
        self.failures, self.hold, self.runs = failures, hold, 0

    async def __call__(self) -> int:
        self.runs += 1
        if self.runs <= self.failures:
            raise ServiceUnavailable(10016, "service restarting", "bench")
        if self.hold is not None:
            await self.hold.wait()
        return self.runs


async def layer_cpu(form: Form, failures: int, calls: int) -> float:
    """CPU µs per call of ``form`` around a scripted attempt."""
    clock, rng = SystemClock(), random.Random(1)
    started = time.process_time()
    for _ in range(calls):
        await form(Scripted(failures), NO_WAIT, clock, CallState(idempotent=True), rng)
    return (time.process_time() - started) / calls * 1e6


async def layer_memory(form: Form, failures: int, calls: int) -> float:
    """Bytes traced per call while ``calls`` calls wait inside their (last) attempt."""
    clock, rng, hold = SystemClock(), random.Random(1), asyncio.Event()
    attempts = [Scripted(failures, hold) for _ in range(calls)]
    states = [CallState(idempotent=True) for _ in range(calls)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = [
        asyncio.ensure_future(form(attempt, NO_WAIT, clock, state, rng))
        for attempt, state in zip(attempts, states, strict=True)
    ]
    while sum(attempt.runs > failures for attempt in attempts) < calls:
        await asyncio.sleep(0)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    hold.set()
    await asyncio.gather(*tasks)
    return held / calls


# --- 2. through the real Session --------------------------------------------------------------


class InstantOrderInfo(httpx.AsyncBaseTransport):
    """Answers order-info queries at once with a one-order page. ``fail_first``: a call's first
    request (told apart by its query) is answered with 10016. ``hold``: a successful answer
    waits for it (``held`` counts the requests waiting)."""

    def __init__(self, body: bytes, *, fail_first: bool) -> None:
        self._body = body
        self._refusal = (
            b'{"retCode":10016,"retMsg":"service restarting","result":{},"retExtInfo":{},"time":%d}'
        )
        self.fail_first = fail_first
        self.seen: set[bytes] = set()
        self.hold: asyncio.Event | None = None
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        now = int(time.time() * 1000)
        headers = {"Content-Type": "application/json", "Timenow": str(now)}
        query = request.url.query
        if self.fail_first and query not in self.seen:
            self.seen.add(query)
            return httpx.Response(200, content=self._refusal % now, headers=headers)
        if self.hold is not None:
            self.held += 1
            await self.hold.wait()
        return httpx.Response(200, content=self._body, headers=headers)


def answer_body() -> bytes:
    item = {
        "orderId": "00000001-5e1a-4b1d-9a7e-000000000001",
        "orderLinkId": "ax-mi8x2k3pqabcdefghijklmnopq",
        "productId": "13016",
        "category": "SmartLeverage",
        "orderType": "Stake",
        "amount": "100",
        "createdTime": "1763700000000",
        "status": "Success",
        "duration": "1d",
        "accountType": "FUND",
        "settlementTime": "",
        "refundStatus": "",
        "investCoin": "USDT",
        "underlyingAsset": "BTC",
        "direction": "Long",
        "leverage": "5",
        "breakevenPrice": "68157.41",
        "initialPrice": "68403.67",
        "settlementPrice": "",
        "pnl": "",
        "toAccountType": "",
    }
    page = {"category": "SmartLeverage", "nextPageCursor": "", "list": [item]}
    envelope = {"retCode": 0, "retMsg": "OK", "result": page, "retExtInfo": {}, "time": 0}
    return json.dumps(envelope, separators=(",", ":")).encode()


class FormSession(Session):
    """The real Session with ``form`` wired where ``Session._complete`` runs the attempts."""

    form: Form = staticmethod(run_attempts)

    async def _complete(
        self,
        endpoint: Endpoint[T],
        attempt: Callable[[], Awaitable[Reply]],
        state: CallState,
        request: object,
    ) -> T:
        try:
            reply: Reply = await self.form(attempt, self.retry, self.clock, state, self._rng)
        except ExchangeError as error:
            if endpoint.changes_state and state.unknown_seen:
                raise _unknown(endpoint, request, state, str(error)) from error
            raise
        return decode(self.venue.converter, reply.result, endpoint.result)


class HybridSession(Session):
    """The real Session with the hybrid as ``_complete`` had it (the first attempt inline)."""

    async def _complete(
        self,
        endpoint: Endpoint[T],
        attempt: Callable[[], Awaitable[Reply]],
        state: CallState,
        request: object,
    ) -> T:
        first_failure: ExchangeError | None = None
        try:
            reply = await attempt()
        except ExchangeError as failure:
            first_failure = failure
        if first_failure is not None:
            try:
                reply = await hybrid_retry_after(
                    first_failure, attempt, self.retry, self.clock, state, self._rng
                )
            except ExchangeError as error:
                if endpoint.changes_state and state.unknown_seen:
                    raise _unknown(endpoint, request, state, str(error)) from error
                raise
        return decode(self.venue.converter, reply.result, endpoint.result)


def session_for(name: str, transport: InstantOrderInfo) -> Session:
    venue = BybitVenue(KEY, SECRET, base_url=BASE, recv_window=5000)
    cls: type[Session]
    if name == "(a) hybrid":
        cls = HybridSession
    else:
        cls = type("Bench", (FormSession,), {"form": staticmethod(FORMS[name])})
    return cls(
        venue, base_url=BASE, limits=False, transport=transport, retry=NO_WAIT, max_in_flight=10**6
    )


def order_params(index: int) -> dict[str, object]:
    return {
        "category": "SmartLeverage",
        "productId": None,
        "orderId": f"00000001-5e1a-4b1d-9a7e-{index:012x}",
        "orderLinkId": None,
        "startTime": None,
        "endTime": None,
        "limit": 20,
        "cursor": None,
    }


async def session_cpu(name: str, fail_first: bool, calls: int) -> float:
    transport = InstantOrderInfo(answer_body(), fail_first=fail_first)
    async with session_for(name, transport) as session:
        params = [order_params(index) for index in range(calls)]
        for one in params[:50]:  # warm: caches, the first connection-less request
            await session.call(ORDER, one)
        started = time.process_time()
        for one in params[50:]:
            page = await session.call(ORDER, one)
            assert len(page.items) == 1
        return (time.process_time() - started) / (calls - 50) * 1e6


async def session_memory(name: str, fail_first: bool, calls: int) -> float:
    transport = InstantOrderInfo(answer_body(), fail_first=fail_first)
    async with session_for(name, transport) as session:
        for index in range(calls, calls + 20):  # warm, with ids of its own
            await session.call(ORDER, order_params(index))
        params = [order_params(index) for index in range(calls)]
        transport.hold = asyncio.Event()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.ensure_future(session.call(ORDER, one)) for one in params]
        while transport.held < calls:
            await asyncio.sleep(0)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        transport.hold.set()
        pages = await asyncio.gather(*tasks)
        assert all(len(page.items) == 1 for page in pages)
        return held / calls


# --- checks -------------------------------------------------------------------------------------


def scenarios() -> dict[str, tuple[RetryPolicy, bool, list[BaseException | str]]]:
    """Scripted attempt results by name: policy, idempotent, results (the last repeats)."""
    busy = ServiceUnavailable(10016, "restarting", "bench")
    slow = RateLimited(10006, "slow down", "bench", retry_after=2.0)
    skew = ClockSkew(10002, "bad timestamp", "bench")
    unknown = TransportError("read timed out", outcome=Outcome.UNKNOWN)
    return {
        "backoff, then an answer": (RetryPolicy(backoff=1.0), True, [busy, busy, busy, "ok"]),
        "rate limited twice": (RetryPolicy(), False, [slow, slow, "ok"]),
        "clock skew once": (RetryPolicy(), False, [skew, "ok"]),
        "clock skew twice": (RetryPolicy(), False, [skew, skew, "ok"]),
        "max_attempts": (RetryPolicy(max_attempts=4), True, [busy]),
        "max_attempts=1": (RetryPolicy(max_attempts=1), True, [busy, "ok"]),
        "deadline": (RetryPolicy(max_attempts=100, deadline=5.0), True, [slow]),
        "deadline with backoff": (
            RetryPolicy(max_attempts=1000, deadline=3.0, backoff=1.0, max_backoff=1.0),
            True,
            [busy],
        ),
        "unknown, not idempotent": (RetryPolicy(), False, [unknown, "ok"]),
        "not ours": (RetryPolicy(), True, [ValueError("bug"), "ok"]),
    }


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def decisions(form: Form) -> dict[str, Any]:
    """What ``form`` does with each scripted scenario: attempt times, the end, the log."""
    seen: dict[str, Any] = {}
    records = Records()
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        for name, (policy, idempotent, results) in scenarios().items():
            clock = VirtualClock()
            state = CallState(idempotent=idempotent, what="GET /bench")
            times: list[float] = []

            async def attempt(
                results: list[BaseException | str] = results,
                times: list[float] = times,
                clock: VirtualClock = clock,
                state: CallState = state,
                policy: RetryPolicy = policy,
            ) -> str:
                times.append(clock.monotonic())
                state.may_send(clock, policy)  # marks the first send, as the session does
                result = results[min(len(times), len(results)) - 1]
                if isinstance(result, ClockSkew):
                    state.first_resync()  # what the session counts before raising it
                if isinstance(result, BaseException):
                    raise result
                return result

            records.lines.clear()
            try:
                end = await form(attempt, policy, clock, state, random.Random(7))
            except Exception as error:
                end = f"{type(error).__name__}: {error}"
            seen[name] = {"attempts": times, "end": end, "log": list(records.lines)}
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    return seen


async def shared_instance_hazard(tasks: int) -> dict[str, Any]:
    """Concurrent calls on one shared ``AsyncRetrying`` and on one each: call i fails
    ``i % 3`` times, then returns i. tenacity keeps each decision's list of actions in
    ``threading.local`` on the object, shared by every task of the thread; another task resets
    it whenever a strategy suspends between adding actions and running them."""

    async def yielding_retry(retry_state: tenacity.RetryCallState) -> bool:
        await asyncio.sleep(0)  # e.g. a predicate that looks something up
        outcome = retry_state.outcome
        return outcome is not None and isinstance(outcome.exception(), ServiceUnavailable)

    async def yielding_before_sleep(retry_state: tenacity.RetryCallState) -> None:
        await asyncio.sleep(0)

    variants: dict[str, dict[str, Any]] = {
        "plain callbacks": {"retry": tenacity.retry_if_exception_type(ServiceUnavailable)},
        "a before_sleep that yields": {
            "retry": tenacity.retry_if_exception_type(ServiceUnavailable),
            "before_sleep": yielding_before_sleep,
        },
        "a retry predicate that yields": {"retry": yielding_retry},
    }

    def make(variant: Mapping[str, Any]) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(stop=tenacity.stop_after_attempt(5), reraise=True, **variant)

    async def wrong_results(retrying: Callable[[], tenacity.AsyncRetrying]) -> list[str]:
        async def one(index: int) -> str | None:
            runs = 0

            async def attempt() -> int:
                nonlocal runs
                runs += 1
                await asyncio.sleep(0)
                if runs <= index % 3:
                    raise ServiceUnavailable(10016, "restarting", "bench")
                return index

            try:
                result: object = await retrying()(attempt)
            except Exception as error:
                result = error
            if result == index and runs == index % 3 + 1:
                return None
            return f"call {index}: {result!r} after {runs} runs"

        results = await asyncio.gather(*(one(index) for index in range(tasks)))
        return [result for result in results if result is not None]

    wrong: dict[str, dict[str, Any]] = {}
    for name, variant in variants.items():
        shared = make(variant)
        wrong[name] = {
            "shared": await wrong_results(lambda shared=shared: shared),
            "per call": await wrong_results(lambda variant=variant: make(variant)),
        }
    return {"tasks": tasks, "wrong": wrong}


# --- running it -----------------------------------------------------------------------------


async def measure(quick: bool) -> dict[str, Any]:
    rounds = 3 if quick else 7
    layer_calls, layer_held = (5_000, 1_000) if quick else (20_000, 2_000)
    session_calls, session_held = (600, 500) if quick else (3_000, 2_000)
    cases = {"succeeds at once": 0, "fails once, then succeeds": 1}
    every = {"floor: attempts awaited directly": bare, **FORMS}
    layer: dict[str, dict[str, dict[str, float]]] = {}
    for case, failures in cases.items():
        cpu: dict[str, list[float]] = {name: [] for name in every}
        for _ in range(rounds):  # interleaved: drift hits every form alike
            for name, form in every.items():
                cpu[name].append(await layer_cpu(form, failures, layer_calls))
        layer[case] = {
            name: {
                "cpu_us": min(cpu[name]),
                "bytes_in_flight": await layer_memory(form, failures, layer_held),
            }
            for name, form in every.items()
        }
    session: dict[str, dict[str, dict[str, float]]] = {}
    for case, failures in cases.items():
        fail_first = failures > 0
        session_cpus: dict[str, list[float]] = {name: [] for name in FORMS}
        for _ in range(rounds):
            for name in FORMS:
                session_cpus[name].append(await session_cpu(name, fail_first, session_calls))
        session[case] = {}
        for name in FORMS:
            session[case][name] = {
                "cpu_us": min(session_cpus[name]),
                "bytes_in_flight": await session_memory(name, fail_first, session_held),
            }
    return {
        "rounds": rounds,
        "layer_calls": layer_calls,
        "layer_in_flight": layer_held,
        "session_calls": session_calls - 50,
        "session_in_flight": session_held,
        "layer": layer,
        "session": session,
    }


def check_decisions(seen: dict[str, dict[str, Any]]) -> list[str]:
    """Names of the scenarios in which some form decided otherwise than the own loop."""
    reference = seen["(c) own loop"]
    return sorted(
        f"{form}: {scenario}"
        for form, results in seen.items()
        for scenario, result in results.items()
        if result != reference[scenario]
    )


def print_tables(result: dict[str, Any]) -> None:
    for part, title in (("layer", "the retry layer alone"), ("session", "through Session.call")):
        print(f"\n{title}: CPU µs per call (best of {result['rounds']}), memory per call in flight")
        print("| form | succeeds at once: µs | KB in flight | fails once: µs | KB in flight |")
        print("|---|---|---|---|---|")
        ok, once = result[part]["succeeds at once"], result[part]["fails once, then succeeds"]
        for name in ok:
            print(
                f"| {name} | {ok[name]['cpu_us']:.2f} | {ok[name]['bytes_in_flight'] / 1024:.2f}"
                f" | {once[name]['cpu_us']:.2f} | {once[name]['bytes_in_flight'] / 1024:.2f} |"
            )
    ok = result["session"]["succeeds at once"]
    tenacity_us = ok["(b) tenacity, strategies per policy"]["cpu_us"]
    own_us = ok["(c) own loop"]["cpu_us"]
    print(
        f"\n(b) - (c) per successful call through the Session: {tenacity_us - own_us:+.1f} µs "
        f"({(tenacity_us - own_us) / own_us:+.1%} of a whole call, {own_us:.0f} µs)"
    )
    print(f"\nforms decide alike: {'yes' if not result['differences'] else result['differences']}")
    hazard = result["shared_instance"]
    print(f"tenacity {result['tenacity']}, {hazard['tasks']} concurrent calls, wrong results:")
    for how, wrong in hazard["wrong"].items():
        example = (wrong["shared"] or ["-"])[0]
        print(
            f"  {how}: one shared instance {len(wrong['shared'])} (e.g. {example}), "
            f"one per call {len(wrong['per call'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    args = parser.parse_args()
    seen = {name: asyncio.run(decisions(form)) for name, form in FORMS.items()}
    differences = check_decisions(seen)
    hazard = asyncio.run(shared_instance_hazard(60))
    result = asyncio.run(measure(args.quick))
    result.update(
        differences=differences,
        shared_instance=hazard,
        tenacity=version("tenacity"),
        python=platform.python_version(),
        quick=args.quick,
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "retry_form.json").write_text(json.dumps(result, indent=2, default=str))
    print_tables(result)
    wrong = hazard["wrong"]
    if differences or any(wrong[how]["per call"] for how in wrong):
        sys.exit("a check failed: see above")


if __name__ == "__main__":
    main()
