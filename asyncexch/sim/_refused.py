"""A request the exchange refuses, with the venue's code: raised by checks, rules and engines.

Its own module (nothing but the standard library) so that the venues' engines can refuse
without importing the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Refused"]


class Refused(Exception):
    """The exchange refuses the request: the venue's ``code`` (an int on Bybit, a string on
    ChainUP) and ``message`` go into its envelope, ``headers`` onto the answer (Bybit's
    rate-limit headers on 10006). Counted in the simulator's ``stats.rejections`` by code."""

    def __init__(
        self, code: int | str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
