"""A consumer's mailbox: the latest quote per product, read once each.

The case pinned here: a newer quote waits, a replayed older one replaces it, then the newer
one comes again (a push without ``ts`` whose offer never expires cannot be ordered, so the
stream passes each on). The consumer, which already read the newer one, must not read it a
second time; a quote it has not read is read as usual.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from asyncexch.bybit import LiveQuote
from asyncexch.bybit._stream_mailbox import Mailbox

AT = datetime(2026, 12, 7, tzinfo=timezone.utc)


def live(product_id: str, price: str) -> LiveQuote[Decimal]:
    return LiveQuote(
        category="DiscountBuy",
        product_id=product_id,
        quote=Decimal(price),
        pushed_at=None,
        received_at=AT,
        expires_at=None,
        received_monotonic=0.0,
    )


async def test_a_quote_the_consumer_has_read_is_not_read_again() -> None:
    mailbox: Mailbox[Decimal] = Mailbox()
    mailbox.put(live("7038", "68000"))
    first = await mailbox.get()
    assert isinstance(first, LiveQuote) and first.quote == Decimal("68000")

    mailbox.put(live("7038", "67990"))  # an older push, replayed
    mailbox.put(live("7038", "68000"))  # the newer one again, replacing it unread
    mailbox.put(live("7039", "3500"))
    second = await mailbox.get()
    assert isinstance(second, LiveQuote)
    assert (second.product_id, second.quote) == ("7039", Decimal("3500"))
    assert len(mailbox) == 0

    mailbox.put(live("7038", "68010"))  # new to the consumer
    third = await mailbox.get()
    assert isinstance(third, LiveQuote) and third.quote == Decimal("68010")


async def test_a_quote_read_once_comes_again_after_another() -> None:
    """Read once, then another, then the first value again: each is new to the consumer
    when it comes (a price may return to where it was)."""
    mailbox: Mailbox[Decimal] = Mailbox()
    read = []
    for price in ("1", "2", "1"):
        mailbox.put(live("7037", price))
        got = await mailbox.get()
        assert isinstance(got, LiveQuote)
        read.append(got.quote)
    assert read == [Decimal("1"), Decimal("2"), Decimal("1")]
