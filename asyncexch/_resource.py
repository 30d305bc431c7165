"""Objects that hold connections: usable as ``async with``, closed by ``aclose()``."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from .errors import ConfigurationError

__all__ = ["AsyncResource"]

R = TypeVar("R", bound="AsyncResource")


class AsyncResource:
    """``async with`` opens nothing and closes with :meth:`aclose` on the way out; a closed
    object cannot be entered again (make a new one)."""

    __slots__ = ()

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has run: every later use raises ``ConfigurationError``."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    async def __aenter__(self: R) -> R:
        if self.closed:
            raise ConfigurationError(f"{type(self).__name__} is closed: make a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
