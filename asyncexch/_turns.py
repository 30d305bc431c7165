"""First come, first served turns at one rate-limit bucket, shared by the limiter backends."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

from ._clock import Clock

__all__ = ["Turns", "sleep_unless_woken"]


class Turns:
    """One holder at a time; waiters get their turn in arrival order.

    The holder may sleep interruptibly (:func:`sleep_unless_woken`); :meth:`wake` interrupts
    it so it looks again (capacity freed sooner), and :meth:`halt` makes every queued waiter
    raise at once and wakes the holder to find the halt itself. A cancelled waiter leaves no trace.
    """

    __slots__ = ("_busy", "_waiters", "_wake")

    def __init__(self) -> None:
        self._busy = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._wake: asyncio.Future[None] | None = None

    @property
    def idle(self) -> bool:
        """Whether nobody holds a turn or waits for one."""
        return not self._busy and not self._waiters

    @property
    def waiting(self) -> int:
        """How many tasks wait for a turn (cancelled ones may still be counted)."""
        return len(self._waiters)

    async def enter(self) -> None:
        """Wait for this task's turn."""
        if not self._busy:
            self._busy = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self.leave()  # handed the turn just as we were cancelled: pass it on
            raise

    def leave(self) -> None:
        """End the holder's turn: hand it to the next live waiter."""
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._busy = False

    def halt(self, error: Callable[[], BaseException]) -> None:
        """Make every queued waiter raise ``error()`` now (they never held the turn), and
        wake the holder so it looks again and meets the halt."""
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_exception(error())
        self.wake()

    def wake(self) -> None:
        """Interrupt the holder's sleep, if it is asleep."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)


async def sleep_unless_woken(clock: Clock, seconds: float, held: Sequence[Turns]) -> None:
    """Sleep ``seconds`` on ``clock``, or until one of the ``held`` turns is woken."""
    wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for turns in held:
        turns._wake = wake
    sleep = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait((sleep, wake), return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleep.cancel()
        for turns in held:
            turns._wake = None
