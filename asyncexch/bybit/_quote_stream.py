"""One WebSocket connection per client carrying every Advance Earn offer topic it watches.

The connection is kept for as long as anyone uses it (an ``async with stream()`` block or a
``watch_quotes`` iterator) and, while it is, kept alive:

* every topic a consumer watches is subscribed, and each acknowledgement checked: a refused
  topic ends its consumers' iterations with :class:`~asyncexch.SubscriptionRefused`, the
  others go on; a request not answered within ``ack_timeout`` counts as a dead connection;
* ``{"op": "ping"}`` goes out every ``ping_interval`` s (Bybit: 20), and a connection that
  has sent nothing at all (no pong, no push) for ``dead_after`` s is closed as dead;
* a lost connection is opened again after a jittered exponential backoff, at most
  ``max_connects`` times per 5 minutes (Bybit refuses over 500 per 5 minutes per IP), every
  topic subscribed again, and each consumer that was watching gets a :class:`QuoteGap`;
* each consumer has a :class:`Mailbox`: the latest quote per product, so a slow consumer
  costs memory bounded by the number of products and reads the latest quote, not an old one;
* a quote is delivered only when new for its product (see :class:`QuoteCache`).

All time is the injected clock's. Closing (``aclose``, leaving the last ``async with``,
cancelling) cancels the connection's tasks and waits for them: no task is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import cattrs

from .._clock import Clock, ServerTime
from .._convert import datetime_from_millis
from .._stream_connection import StreamConnection, StreamConnector
from .._validators import text
from ..errors import ConfigurationError, InvalidRequest, MalformedResponse, SubscriptionRefused
from ._live_quotes import LiveQuote, QuoteGap
from ._offer_readers import compact_reader
from ._offer_topics import OFFER_TOPICS, OfferTopic
from ._quote_cache import QuoteCache
from ._stream_frames import PING, Acknowledgement, Pong, Push, read_frame, request
from ._stream_mailbox import Mailbox

__all__ = ["QuoteStream", "StreamStats", "stream_url"]

logger = logging.getLogger("asyncexch.bybit.stream")
Q = TypeVar("Q")
T = TypeVar("T")
_TEXT = text()
#: The window of the connection budget: Bybit counts connections per 5 minutes per IP.
_CONNECT_WINDOW = 300.0


def stream_url(base_url: str) -> str:
    """The offer stream of the REST host ``base_url``: ``wss://stream.bybit.com/v5/public/fp``
    for ``https://api.bybit.com`` (``stream-testnet`` for ``api-testnet``, and so for every
    regional ``api.`` host); ``ws://host:port/v5/public/fp`` for a plain ``http://`` host (a
    simulator)."""
    parts = urlsplit(base_url)
    host = parts.netloc
    for rest_prefix, stream_prefix in (("api-testnet.", "stream-testnet."), ("api.", "stream.")):
        if host.startswith(rest_prefix):
            host = stream_prefix + host[len(rest_prefix) :]
            break
    else:
        if host.startswith("api-demo."):  # demo trading has no public streams of its own
            host = "stream." + host[len("api-demo.") :]
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{host}/v5/public/fp"


@attrs.define
class StreamStats:
    """What a stream did, since it was made."""

    #: Connections opened.
    connects: int = 0
    #: Connections lost (each one a gap for the consumers watching then).
    losses: int = 0
    #: Quotes delivered as new.
    delivered: int = 0
    #: Quotes not delivered: equal to, or pushed before, the product's last one.
    repeated: int = 0
    #: Frames or items that could not be read (skipped; the connection goes on).
    malformed: int = 0
    #: Topics the server refused.
    refused: int = 0


@attrs.define(eq=False)
class _Watch:
    """One consumer: its topic, its products (``None``: all), its mailbox, and how many
    connections had been opened when it joined (it gets gaps of later ones)."""

    topic: OfferTopic[Any]
    products: frozenset[str] | None
    mailbox: Mailbox[Any]
    joined: int


@attrs.define(eq=False)
class _Request:
    op: str
    topics: tuple[str, ...]
    answer: asyncio.Future[Acknowledgement]


class _Lost(Exception):
    """The connection is gone (the reason is the message)."""


class QuoteStream:
    """A client's offer stream: one connection for every topic watched through it.

    Use it as an async context manager (``async with bybit.advance_earn.stream() as
    stream:``) to keep the connection open across consumers, and read quotes with
    ``earn.smart_leverage.watch_quotes(...)``, ``earn.dual_assets.watch_quotes(...)``,
    ``earn.double_win...``, ``earn.discount_buy...`` (or :meth:`watch`). ``quote_cache``
    holds the latest quote per product; ``stats`` counts what happened. See the module
    docstring for the protocol it keeps.

    Long-lived by design: a consumer's iteration only ends when the stream is closed
    (:meth:`aclose`) or its topic is refused.
    """

    def __init__(
        self,
        *,
        url: str,
        clock: Clock,
        server_time: ServerTime,
        converter: cattrs.Converter,
        connector: StreamConnector | None = None,
        ping_interval: float = 20.0,
        dead_after: float = 30.0,
        ack_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        backoff: tuple[float, float] = (0.5, 30.0),
        max_connects: int = 100,
        random_source: random.Random | None = None,
    ) -> None:
        """Long because it checks and keeps its documented options one per line: an argument
        table, which a split would only move."""
        for name, value in (
            ("ping_interval", ping_interval),
            ("dead_after", dead_after),
            ("ack_timeout", ack_timeout),
            ("connect_timeout", connect_timeout),
            ("backoff", backoff[0]),
        ):
            if not value > 0:
                raise ConfigurationError(f"{name} must be > 0 s, got {value!r}")
        if not dead_after > ping_interval:
            raise ConfigurationError(
                f"dead_after ({dead_after} s) must exceed ping_interval ({ping_interval} s): "
                "a live connection answers a ping"
            )
        if backoff[1] < backoff[0] or max_connects < 1:
            raise ConfigurationError(f"bad backoff {backoff!r} or max_connects {max_connects!r}")
        if connector is None:
            from .._websockets import WebsocketsConnector

            connector = WebsocketsConnector()
        #: Where the stream connects.
        self.url: str = url
        self._connector = connector
        self._clock = clock
        self._server_time = server_time
        self._converter = converter
        self._ping_interval = ping_interval
        self._dead_after = dead_after
        self._ack_timeout = ack_timeout
        self._connect_timeout = connect_timeout
        self._backoff = backoff
        self._max_connects = max_connects
        self._random = random_source or random.Random()
        #: The latest quote per product received.
        self.quote_cache: QuoteCache = QuoteCache(server_time)
        #: What the stream did.
        self.stats: StreamStats = StreamStats()
        #: The products each category's reader has listed, for the quotes to carry.
        self.catalogs: dict[str, Mapping[str, Any]] = {}
        self._users = 0
        self._runner: asyncio.Task[None] | None = None
        self._watches: set[_Watch] = set()
        self._subscribed: set[str] = set()
        self._pending: dict[str, _Request] = {}
        self._request_ids = itertools.count(1)
        self._topics_changed = asyncio.Event()
        self._last_received = 0.0
        self._connection: StreamConnection | None = None
        self._connects: deque[float] = deque()
        self._readers: dict[str, Callable[[object], Any]] = {}

    # --- using it ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a connection is open now."""
        return self._connection is not None

    async def __aenter__(self) -> QuoteStream:
        self._acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._release()

    async def aclose(self) -> None:
        """Close the connection and end every consumer's iteration (each ends normally)."""
        self._users = 0
        await self._stop()
        for watch in list(self._watches):
            watch.mailbox.close()

    async def watch(
        self, topic: OfferTopic[Q], product_ids: Iterable[str] | None = None
    ) -> AsyncGenerator[LiveQuote[Q] | QuoteGap, None]:
        """The quotes of ``topic`` for ``product_ids`` (all products when ``None``) as they
        come, each product's latest first-come, with a :class:`QuoteGap` after each
        reconnection; the products' latest quotes already received come first.

        Ends when the stream is closed; raises :class:`~asyncexch.SubscriptionRefused` when
        the server refuses the topic. Close it (``aclose()``, or ``contextlib.aclosing``)
        to leave the stream at once.
        """
        products = _product_set(product_ids)
        watch = _Watch(topic, products, Mailbox(), self.stats.connects)
        self._acquire()
        try:
            self._watches.add(watch)
            self.catalogs.setdefault(topic.category, {})
            self._topics_changed.set()
            for product_id in sorted(products or ()):
                cached = self.quote_cache.latest(topic, product_id)
                if cached is not None:
                    watch.mailbox.put(cached)
            while (item := await watch.mailbox.get()) is not None:
                yield item
        finally:
            self._watches.discard(watch)
            self._topics_changed.set()
            await self._release()

    def __repr__(self) -> str:
        return f"<QuoteStream {self.url} users={self._users} topics={sorted(self._subscribed)}>"

    # --- lifetime ----------------------------------------------------------------------

    def _acquire(self) -> None:
        self._users += 1
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _release(self) -> None:
        self._users = max(self._users - 1, 0)
        if self._users == 0:
            await self._stop()

    async def _stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        self._subscribed.clear()

    async def _run(self) -> None:
        """Connect, serve, and after each loss connect again, for as long as it is used."""
        failures = 0
        lost: tuple[datetime, str] | None = None
        while True:
            connection = await self._open(failures)
            try:
                reason = await self._serve(connection, lost)
                failures = 0 if self._subscribed or not self._wanted() else failures + 1
            finally:
                await _close_quietly(connection)
            lost = (self._venue_now(), reason)
            self.stats.losses += 1
            logger.info("offer stream lost (%s); reconnecting", reason)
            await self._pause(failures)

    async def _open(self, failures: int) -> StreamConnection:
        """A new connection, trying again after a pause for as long as none opens."""
        while True:
            await self._within_budget()
            self._connects.append(self._clock.monotonic())
            try:
                return await self._race(self._connector(self.url), self._connect_timeout)
            except Exception as error:
                logger.info("offer stream: cannot connect to %s: %r", self.url, error)
            failures += 1
            await self._pause(failures)

    async def _pause(self, failures: int) -> None:
        """Full jitter: a random pause up to base x 2^failures, at most the cap."""
        base, cap = self._backoff
        await self._clock.sleep(self._random.uniform(0, min(cap, base * 2 ** min(failures, 30))))

    async def _within_budget(self) -> None:
        while True:
            now = self._clock.monotonic()
            while self._connects and self._connects[0] <= now - _CONNECT_WINDOW:
                self._connects.popleft()
            if len(self._connects) < self._max_connects:
                return
            await self._clock.sleep(self._connects[0] + _CONNECT_WINDOW - now)

    # --- one connection ----------------------------------------------------------------

    async def _serve(self, connection: StreamConnection, lost: tuple[datetime, str] | None) -> str:
        """Read, beat and subscribe on ``connection`` until it is lost; why it was."""
        self.stats.connects += 1
        self._subscribed.clear()
        self._last_received = self._clock.monotonic()
        self._connection = connection
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(self._read(connection)),
            loop.create_task(self._beat(connection)),
            loop.create_task(self._keep_subscribed(connection, lost)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            reason = next(iter(done)).exception()
            if reason is not None and not isinstance(reason, _Lost):
                logger.error("offer stream failed", exc_info=reason)
            return str(reason) if reason is not None else "closed"
        finally:
            self._connection = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for pending in self._pending.values():
                pending.answer.cancel()
            self._pending.clear()

    async def _read(self, connection: StreamConnection) -> None:
        while True:
            try:
                frame = await connection.receive()
            except Exception as error:
                raise _Lost(f"connection closed: {error or type(error).__name__}") from None
            self._last_received = self._clock.monotonic()
            self._take(read_frame(frame))

    async def _beat(self, connection: StreamConnection) -> None:
        """Ping every ``ping_interval``; a connection silent for ``dead_after`` is dead."""
        last_ping = self._clock.monotonic()
        while True:
            now = self._clock.monotonic()
            if now - self._last_received >= self._dead_after:
                raise _Lost(f"no frame for {self._dead_after:g} s")
            if now - last_ping >= self._ping_interval:
                try:
                    await connection.send(PING)
                except Exception as error:
                    raise _Lost(f"ping failed: {error!r}") from None
                last_ping = now
            wake = min(last_ping + self._ping_interval, self._last_received + self._dead_after)
            await self._clock.sleep(max(wake - now, 0.0))

    async def _keep_subscribed(
        self, connection: StreamConnection, lost: tuple[datetime, str] | None
    ) -> None:
        """Subscribe what is watched and unsubscribe what no longer is, each time that
        changes; after the first round on a new connection, tell its consumers of the gap."""
        first = True
        while True:
            self._topics_changed.clear()
            wanted = self._wanted()
            added = sorted(set(wanted) - self._subscribed)
            dropped = sorted(self._subscribed - set(wanted))
            if added:
                refused = await self._ask(connection, "subscribe", added)
                self._subscribed.update(topic for topic in added if topic not in refused)
                for topic, reason in refused.items():
                    self._refuse(wanted[topic], reason)
            if dropped:
                # A refused unsubscribe leaves pushes of the topic coming: they are ignored.
                await self._ask(connection, "unsubscribe", dropped)
                self._subscribed.difference_update(dropped)
            if first and lost is not None:
                self._report_gap(*lost)
            first = False
            await self._topics_changed.wait()

    async def _ask(
        self, connection: StreamConnection, op: str, topics: list[str]
    ) -> dict[str, str]:
        """Send ``op`` for ``topics`` and wait for its acknowledgement; the topics refused,
        with the server's reason. No answer within ``ack_timeout``: the connection is lost."""
        req_id = str(next(self._request_ids))
        pending = _Request(op, tuple(topics), asyncio.get_running_loop().create_future())
        self._pending[req_id] = pending
        try:
            await connection.send(request(req_id, op, topics))
        except Exception as error:
            raise _Lost(f"{op} failed: {error!r}") from None
        try:
            ack = await self._race(pending.answer, self._ack_timeout)
        except TimeoutError:
            raise _Lost(f"no answer to {op} in {self._ack_timeout:g} s") from None
        finally:
            self._pending.pop(req_id, None)
        if ack.failed_topics:
            return {topic: ack.reason for topic in ack.failed_topics if topic in topics}
        return {} if ack.success else dict.fromkeys(topics, ack.reason)

    # --- frames ------------------------------------------------------------------------

    def _take(self, frame: Push | Acknowledgement | Pong | None) -> None:
        if isinstance(frame, Push):
            self._deliver(frame)
        elif isinstance(frame, Acknowledgement):
            self._acknowledge(frame)
        elif frame is None:
            self.stats.malformed += 1

    def _acknowledge(self, ack: Acknowledgement) -> None:
        """Answer the request ``ack`` names, or the oldest of its kind when it names none."""
        pending = self._pending.get(ack.req_id) if ack.req_id is not None else None
        if pending is None:
            pending = next(
                (p for p in self._pending.values() if ack.op in (None, p.op)),
                None,
            )
        if pending is not None and not pending.answer.done():
            pending.answer.set_result(ack)

    def _deliver(self, push: Push) -> None:
        topic = OFFER_TOPICS.get(push.topic)
        if topic is None:
            return
        pushed_at = None if push.ts is None else datetime_from_millis(push.ts)
        received_at = self._venue_now()
        received = self._clock.monotonic()
        catalog = self.catalogs.get(topic.category, {})
        for item in self._decoded(topic, push.items):
            try:
                quote = topic.to_quote(item, self._server_time, catalog.get(item.product_id))
            except MalformedResponse:
                self.stats.malformed += 1
                continue
            live = LiveQuote(
                category=topic.category,
                product_id=item.product_id,
                quote=quote,
                pushed_at=pushed_at,
                received_at=received_at,
                expires_at=topic.expires_at(quote),
                received_monotonic=received,
            )
            if not self.quote_cache._record(live):
                self.stats.repeated += 1
                continue
            self.stats.delivered += 1
            for watch in self._watches:
                if watch.topic is topic and (
                    watch.products is None or live.product_id in watch.products
                ):
                    watch.mailbox.put(live)

    def _decoded(self, topic: OfferTopic[Any], raws: list[Any]) -> list[Any]:
        """The items of a push that can be read (the others counted as malformed), one per
        product when the topic groups them. Each read as the converter reads it, by the
        topic's :func:`compact_reader` (made once per stream: it remembers values read)."""
        read = self._readers.get(topic.name)
        if read is None:
            read = self._readers[topic.name] = compact_reader(self._converter, topic.item)
        items = []
        for raw in raws:
            try:
                items.append(read(raw))
            except MalformedResponse:
                self.stats.malformed += 1
        return items if topic.per_product is None else topic.per_product(items)

    # --- consumers -----------------------------------------------------------------------

    def _wanted(self) -> dict[str, OfferTopic[Any]]:
        return {watch.topic.name: watch.topic for watch in self._watches}

    def _refuse(self, topic: OfferTopic[Any], reason: str) -> None:
        self.stats.refused += 1
        for watch in self._watches:
            if watch.topic is topic:
                watch.mailbox.fail(SubscriptionRefused(topic.name, reason))

    def _report_gap(self, lost_at: datetime, reason: str) -> None:
        resumed_at = self._venue_now()
        for watch in self._watches:
            if watch.joined < self.stats.connects:
                gap = QuoteGap(
                    category=watch.topic.category,
                    lost_at=lost_at,
                    resumed_at=resumed_at,
                    reason=reason,
                )
                watch.mailbox.put_gap(gap)

    # --- time --------------------------------------------------------------------------

    def _venue_now(self) -> datetime:
        return datetime_from_millis(self._server_time.now_ms())

    async def _race(self, awaitable: Awaitable[T], seconds: float) -> T:
        """``awaitable``'s result, or ``TimeoutError`` after ``seconds`` on the clock."""
        work = asyncio.ensure_future(awaitable)
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait((work, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
            await asyncio.gather(timer, return_exceptions=True)
        if work.cancelled():
            raise TimeoutError(f"no result within {seconds:g} s")
        return work.result()


def _product_set(product_ids: Iterable[str] | None) -> frozenset[str] | None:
    if product_ids is None:
        return None
    if isinstance(product_ids, str):
        raise InvalidRequest("product_ids", "must be a list of product ids, not one string")
    ids = frozenset(product_ids)
    if not ids:
        raise InvalidRequest("product_ids", "must not be empty (None watches every product)")
    for product_id in ids:
        _TEXT.at("product_ids", product_id)
    return ids


async def _close_quietly(connection: StreamConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.close()
