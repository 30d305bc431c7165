"""What every venue's client shares: it owns one session and closes with it."""

from __future__ import annotations

from ._limits import BucketState
from ._resource import AsyncResource
from ._session import Session

__all__ = ["VenueClient"]


class VenueClient(AsyncResource):
    """A venue's client: its calls go through :attr:`session`, which it closes."""

    session: Session

    @property
    def closed(self) -> bool:
        return self.session.closed

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened."""
        await self.session.aclose()

    async def limits_state(self) -> list[BucketState]:
        """Each rate-limit bucket of this client now: its limit, the requests in its window
        and waiting, its pause or halt, and what the venue last said of its quota."""
        return await self.session.limits_state()
