"""What a quote stream delivers: a product's latest quote as pushed (:class:`LiveQuote`),
and the marker that quotes may have been missed (:class:`QuoteGap`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Generic, TypeVar

import attrs

__all__ = ["LiveQuote", "QuoteGap"]

Q = TypeVar("Q")


@attrs.frozen(kw_only=True)
class LiveQuote(Generic[Q]):
    """A product's quote as the venue pushed it: ``quote`` is the same object the REST
    quote gives (a :class:`Quote` for SmartLeverage, a :class:`DualAssetsQuote` for
    DualAssets, a :class:`DoubleWinQuote` for DoubleWin, a :class:`DiscountBuyQuote` for
    DiscountBuy), so it builds an order directly (``StakeOrder.from_quote(live.quote, ...)``,
    ``DualAssetsOrder.from_offer(live.quote.buy_low[0], ...)``,
    ``DoubleWinOrder.from_leverage(live.quote, ...)``,
    ``DiscountBuyOrder.from_offer(live.quote.offers[0], ...)``).

    A stream delivers a product's quote only when it is new: never one equal to, or pushed
    before, the last one it delivered for that product.
    """

    #: The Advance Earn category (``SmartLeverage``, ``DualAssets``, ``DoubleWin``,
    #: ``DiscountBuy``).
    category: str
    product_id: str
    quote: Q
    #: When the venue pushed it: the frame's ``ts``. Bybit's docs show no ``ts`` in these
    #: topics' frames, so this is ``None`` unless the venue sends one.
    pushed_at: datetime | None
    #: When this client received it: the venue's time as the client knows it.
    received_at: datetime
    #: When its last offer expires, on the venue's clock (``None``: no offer now).
    expires_at: datetime | None
    #: The client's monotonic clock at receipt (for latency and age; only differences mean
    #: anything).
    received_monotonic: float = attrs.field(eq=False, repr=False)

    def expires_in(self, now: datetime) -> timedelta | None:
        """How long its last offer stays valid at ``now`` (the venue's time); ``None`` when
        it has none."""
        return None if self.expires_at is None else self.expires_at - now


@attrs.frozen(kw_only=True)
class QuoteGap:
    """Quotes of ``category`` may have been missed: the connection was lost at ``lost_at``
    and the topic subscribed again at ``resumed_at`` (both the venue's time as the client
    knows it). Not an error: re-read the REST quotes you rely on (Bybit's advice after a
    disconnect); the quotes after this marker are live again.

    Gaps a consumer has not read yet merge into one: ``reconnects`` counts them.
    """

    category: str
    lost_at: datetime
    resumed_at: datetime
    reconnects: int = 1
    #: Why the connection was lost (``"closed by the server"``, ``"no answer for 30 s"``, ...).
    reason: str = ""

    def merged(self, later: QuoteGap) -> QuoteGap:
        """This gap and ``later`` as one: from the first loss to the last resumption."""
        return attrs.evolve(
            self,
            resumed_at=later.resumed_at,
            reconnects=self.reconnects + later.reconnects,
            reason=later.reason,
        )
