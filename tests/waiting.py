"""Waiting on real time for something to become true, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Return as soon as ``condition()`` holds; fail if it does not within ``within`` real
    seconds (a generous bound: it only turns a hang into a failure naming ``what``)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def settled(condition: Callable[[], bool], *, within: float) -> bool:
    """Like :func:`until`, but a condition that may never hold: whether it did in time."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.005)
    return True
