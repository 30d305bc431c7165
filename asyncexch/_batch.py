"""What a batch of orders did, readable while it runs and after it is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Generic, TypeVar

__all__ = ["BatchReport", "gather_or_cancel"]

R = TypeVar("R")
T = TypeVar("T")


async def gather_or_cancel(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Run ``awaitables`` concurrently; if one fails or the caller is cancelled, cancel the rest.

    Unlike a bare :func:`asyncio.gather`, nothing is left running after this returns or
    raises: every task has finished before the exception propagates.
    """
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class BatchReport(Generic[R]):
    """The live record of a batch of ``size`` orders.

    ``results[i]`` is order ``i``'s result once it finished, else ``None``; ``sent[i]`` is
    true from the moment order ``i`` was handed to the network (the venue may have it). Pass
    one to a batch call and read it after the call returns or is cancelled: the record is
    true at every moment, so it tells exactly which orders left the process.
    """

    __slots__ = ("results", "sent")

    def __init__(self, size: int) -> None:
        self.results: list[R | None] = [None] * size
        self.sent: list[bool] = [False] * size

    @property
    def unsent(self) -> list[int]:
        """Orders that never left the process: nothing was placed for them."""
        return [index for index, was_sent in enumerate(self.sent) if not was_sent]

    @property
    def unfinished(self) -> list[int]:
        """Orders that were sent but have no result: their outcome is unknown."""
        return [
            index
            for index, (was_sent, result) in enumerate(zip(self.sent, self.results, strict=True))
            if was_sent and result is None
        ]

    def __repr__(self) -> str:
        done = sum(result is not None for result in self.results)
        return f"<BatchReport orders={len(self.sent)} sent={sum(self.sent)} finished={done}>"
