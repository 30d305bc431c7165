"""One reading of an exchange's clock, handed to the engines instead of a clock."""

from __future__ import annotations

import attrs

__all__ = ["Instant"]


@attrs.frozen
class Instant:
    """When something happens on the exchange: its monotonic seconds (what delays, windows
    and due times are measured in) and the epoch milliseconds it shows clients (its wall clock
    plus any configured skew), read together.

    The engines never read a clock: every rule that depends on time takes an ``Instant``, so
    a test can hand them any moment it likes.
    """

    monotonic: float
    ms: int

    def monotonic_of(self, ms: int) -> float:
        """The monotonic time at which the exchange's clock showed (or will show) epoch
        milliseconds ``ms``: when a settlement time passed, say."""
        return self.monotonic - (self.ms - ms) / 1000

    def ms_of(self, monotonic: float) -> int:
        """The epoch milliseconds the exchange's clock showed at monotonic time
        ``monotonic``: when a due time passed, say."""
        return self.ms - round((self.monotonic - monotonic) * 1000)
