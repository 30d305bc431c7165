"""Rolling windows over arrival times: what a rate limit is measured by."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def max_in_window(times: Sequence[float], width: float, costs: Sequence[int] | None = None) -> int:
    """The most capacity taken in any half-open interval ``[t, t + width)`` (each time takes
    its cost, 1 by default).

    It is enough to look at intervals starting at an admission: any interval can be slid right
    to its first admission without losing one.
    """
    if costs is None:
        costs = [1] * len(times)
    pairs = sorted(zip(times, costs, strict=True))
    starts = [t for t, _ in pairs]
    prefix = [0]
    for _, cost in pairs:
        prefix.append(prefix[-1] + cost)
    worst = 0
    for i, t in enumerate(starts):
        end = bisect.bisect_left(starts, t + width)  # first admission at or after t + width
        worst = max(worst, prefix[end] - prefix[i])
    return worst


def busiest_window(arrivals: Sequence[float], per: float = 1.0) -> int:
    """The most arrivals any rolling window ``(t - per, t]`` held, as the simulator counts."""
    times = sorted(arrivals)
    return max(index + 1 - bisect.bisect_right(times, at - per) for index, at in enumerate(times))


def sustained_rate(arrivals: Sequence[float], limit: int) -> float:
    """Arrivals per second after the first burst of ``limit``."""
    times = sorted(arrivals)
    return (len(times) - limit) / (times[-1] - times[limit - 1])
