"""What one consumer of a stream has not read yet: the latest quote per product, and a gap.

A slow consumer must not make the stream fall behind nor grow without bound, and must not
trade on an old quote it reads late. So the mailbox keeps one entry per product: a newer
quote replaces the waiting one in place (its turn kept, so a busy product cannot starve a
quiet one), and memory stays bounded by the number of products. A gap splits the entries:
those received before it are read first, then the gap, then those after it (a quote after
the gap replaces its product's entry before it).

A waiting quote replaced by one equal to what the consumer last read of its product is not
read again: a newer quote that a replayed older one replaced, then the newer one again (a
push without ``ts`` whose offer never expires cannot be put in order), would otherwise
reach the consumer twice. The consumer's last quote per product is kept for that: memory
stays bounded by the number of products.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from ..errors import ExchangeError
from ._live_quotes import LiveQuote, QuoteGap

__all__ = ["Mailbox"]

Q = TypeVar("Q")


class Mailbox(Generic[Q]):
    """Quotes and gaps waiting for one consumer; :meth:`get` waits for the next."""

    def __init__(self) -> None:
        self._before_gap: dict[str, LiveQuote[Q]] = {}
        self._gap: QuoteGap | None = None
        self._after_gap: dict[str, LiveQuote[Q]] = {}
        self._failure: ExchangeError | None = None
        self._closed = False
        self._ready = asyncio.Event()
        #: The quote the consumer last read, by product.
        self._read: dict[str, Q] = {}

    def __len__(self) -> int:
        """Entries waiting (a pending gap counts as one)."""
        return len(self._before_gap) + len(self._after_gap) + (self._gap is not None)

    def put(self, live: LiveQuote[Q]) -> None:
        """Deliver ``live``, replacing its product's waiting quote."""
        if self._gap is None:
            self._before_gap[live.product_id] = live
        else:
            self._before_gap.pop(live.product_id, None)
            self._after_gap[live.product_id] = live
        self._ready.set()

    def put_gap(self, gap: QuoteGap) -> None:
        """Deliver ``gap``: merged with a gap not yet read."""
        if self._gap is None:
            self._gap = gap
        else:
            self._gap = self._gap.merged(gap)
        self._ready.set()

    def fail(self, error: ExchangeError) -> None:
        """End the consumer's iteration with ``error`` once it has read what is waiting
        before any gap."""
        self._failure = error
        self._ready.set()

    def close(self) -> None:
        """End the consumer's iteration (the stream closed)."""
        self._closed = True
        self._ready.set()

    async def get(self) -> LiveQuote[Q] | QuoteGap | None:
        """The next entry, waiting for one; ``None`` once closed. Raises the error given to
        :meth:`fail`."""
        while True:
            if self._closed:
                return None
            if self._before_gap:
                product_id = next(iter(self._before_gap))
                live = self._before_gap.pop(product_id)
                if self._read.get(product_id) == live.quote:
                    continue  # what the consumer has: not new to it
                self._read[product_id] = live.quote
                return live
            if self._failure is not None:
                raise self._failure
            if self._gap is not None:
                gap, self._gap = self._gap, None
                self._before_gap, self._after_gap = self._after_gap, {}
                return gap
            self._ready.clear()
            await self._ready.wait()
