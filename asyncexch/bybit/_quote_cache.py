"""The latest quote per product that a client's stream received, and which quotes are new."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from .._clock import ServerTime
from .._convert import datetime_from_millis
from ._live_quotes import LiveQuote
from ._models import QUOTE_MARGIN
from ._offer_topics import OfferTopic

__all__ = ["QuoteCache"]

Q = TypeVar("Q")


class QuoteCache:
    """The latest quote per product of every topic a client's stream has received.

    Memory is bounded by the number of products. :meth:`live` answers "may I still order at
    this product's pushed quote?" without a REST call: it gives the quote only while its last
    offer is valid, on the venue's clock as the client knows it.
    """

    def __init__(self, server_time: ServerTime) -> None:
        self._server_time = server_time
        self._latest: dict[tuple[str, str], LiveQuote[Any]] = {}

    def __len__(self) -> int:
        """Products with a quote."""
        return len(self._latest)

    def latest(self, topic: OfferTopic[Q], product_id: str) -> LiveQuote[Q] | None:
        """The product's latest quote from ``topic``, however old; ``None`` if none came."""
        live: LiveQuote[Q] | None = self._latest.get((topic.category, product_id))
        return live

    def live(
        self,
        topic: OfferTopic[Q],
        product_id: str,
        *,
        margin: timedelta = QUOTE_MARGIN,
        now: datetime | None = None,
    ) -> LiveQuote[Q] | None:
        """The product's latest quote while its last offer is valid for ``margin`` more
        (default 2 s, what an order built from it needs) at ``now`` (the venue's time, by
        default as the client knows it); ``None`` when there is none, no offer, or expired."""
        live = self.latest(topic, product_id)
        if live is None:
            return None
        if now is None:
            now = datetime_from_millis(self._server_time.now_ms())
        left = live.expires_in(now)
        return live if left is not None and left > margin else None

    def _record(self, live: LiveQuote[Any]) -> bool:
        """Keep ``live`` and say whether it is new for its product: not pushed before the
        last one kept (by ``pushed_at`` when both have one, else by expiry) and not equal
        to it. An equal quote pushed later (the venue's periodic repeat) is kept as the
        latest receipt, but is not new."""
        key = (live.category, live.product_id)
        last = self._latest.get(key)
        if last is not None and _older(live, last):
            return False
        self._latest[key] = live
        return last is None or bool(live.quote != last.quote)


def _older(new: LiveQuote[Any], last: LiveQuote[Any]) -> bool:
    if new.pushed_at is not None and last.pushed_at is not None:
        return new.pushed_at < last.pushed_at
    # No push times: a later quote expires later (each is valid for the same term).
    return (
        new.expires_at is not None
        and last.expires_at is not None
        and new.expires_at < last.expires_at
    )
