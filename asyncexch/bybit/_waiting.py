"""Waiting on Bybit's asynchronous orders: polling one until it is final, and finding a new
one by its ``orderLinkId``. Shared by every family whose orders settle after they are
acknowledged (Advance Earn's categories, Liquidity Mining)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from .._clock import Clock
from .._validators import seconds
from ..errors import OrderWaitTimeout

__all__ = ["LOOKUP_PAUSE", "LOOKUP_TRIES", "find_placed", "wait_until_final"]

#: How often, and how far apart, an order is looked up by its orderLinkId before concluding
#: that the venue does not hold it (a new order may take a moment to become visible).
LOOKUP_TRIES = 4
LOOKUP_PAUSE = 0.5


class _Status(Protocol):
    @property
    def is_terminal(self) -> bool: ...


class _Stated(Protocol):
    @property
    def status(self) -> _Status: ...


InfoT = TypeVar("InfoT", bound=_Stated)


async def wait_until_final(
    clock: Clock,
    read: Callable[[], Awaitable[InfoT | None]],
    order_id: str,
    *,
    timeout: float,
    poll_interval: float,
) -> InfoT:
    """Poll ``read`` (the order's state, ``None`` when not found) until the status is final.

    Raises :class:`OrderWaitTimeout` (carrying the last state seen) after ``timeout`` seconds.
    """
    seconds(allow_zero=True).at("timeout", timeout)
    seconds().at("poll_interval", poll_interval)
    deadline = clock.monotonic() + timeout
    last: InfoT | None = None
    while True:
        remaining = deadline - clock.monotonic()
        if remaining > 0:
            last = await _poll(clock, read, remaining) or last
            if last is not None and last.status.is_terminal:
                return last
            remaining = deadline - clock.monotonic()
        if remaining <= 0:
            state = "never found" if last is None else f"still {last.status}"
            raise OrderWaitTimeout(f"order {order_id} {state} after {timeout} s", last_seen=last)
        await clock.sleep(min(poll_interval, remaining))


async def _poll(
    clock: Clock, read: Callable[[], Awaitable[InfoT | None]], remaining: float
) -> InfoT | None:
    """The order's state, or ``None`` when it was not found, or not read within
    ``remaining`` seconds."""
    poll = asyncio.ensure_future(read())
    expiry = asyncio.ensure_future(clock.sleep(remaining))
    try:
        await asyncio.wait((poll, expiry), return_when=asyncio.FIRST_COMPLETED)
    finally:
        expiry.cancel()
        if not poll.done():
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
    return None if poll.cancelled() else poll.result()


T = TypeVar("T")


async def find_placed(clock: Clock, read: Callable[[], Awaitable[T | None]]) -> T | None:
    """The order ``read`` looks up by its orderLinkId, allowing it a moment to become
    visible."""
    for attempt in range(LOOKUP_TRIES):
        found = await read()
        if found is not None:
            return found
        if attempt < LOOKUP_TRIES - 1:
            await clock.sleep(LOOKUP_PAUSE)
    return None
