"""A venue's refusals as asyncexch's typed errors: one table type, one way to read it.

A venue module states its codes and statuses as data (an :class:`ErrorTable`); turning a code
or a bare HTTP status into an error, with the right ``Outcome``, pause and hint, is written
once here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .errors import (
    ApiError,
    AuthenticationError,
    RateLimited,
    ServiceUnavailable,
)

__all__ = ["ErrorTable", "StatusRule"]


@attrs.frozen
class StatusRule:
    """What an HTTP status without a venue envelope means.

    ``error`` is the class raised, ``meaning`` the text put before the body's excerpt and
    ``retry_after`` the pause a :class:`~asyncexch.RateLimited` (or a halt) asks for; ``None``
    takes the table's ``rate_wait``.
    """

    error: type[ApiError]
    meaning: str
    retry_after: float | None = None


@attrs.frozen
class ErrorTable:
    """A venue's error codes and bare HTTP statuses, mapped to typed errors.

    * ``venue``: the name every error carries.
    * ``codes``: the venue's codes; a code missing from it gives a plain :class:`ApiError`
      (outcome ``FAILED``).
    * ``statuses``: HTTP statuses the venue answers without an envelope, and what each means.
      Any other 5xx is a :class:`ServiceUnavailable` (outcome ``UNKNOWN``).
    * ``refuse_other_4xx``: whether another 4xx is a definite refusal (a plain ``ApiError``,
      never sent again) or means nothing on its own (the caller reports a malformed answer).
    * ``rate_wait``: seconds a rate-limit error waits when the venue gives no reset time.
    * ``auth_hint``: the likeliest cause of a refused key, given the host that refused it.
    """

    venue: str
    codes: Mapping[int, type[ApiError]]
    statuses: Mapping[int, StatusRule] = attrs.field(factory=dict)
    refuse_other_4xx: bool = False
    rate_wait: float = 1.0
    auth_hint: Callable[[str], str] | None = None

    def knows(self, code: int) -> bool:
        """Whether ``code`` is one of the venue's documented codes."""
        return code in self.codes

    def api_error(self, code: int, message: str, *, http_status: int, host: str = "") -> ApiError:
        """The typed error for the venue's code ``code`` (answered with ``http_status``)."""
        return self._error(self.codes.get(code, ApiError), code, message, http_status, None, host)

    def http_error(self, status: int, text: str, *, host: str = "") -> ApiError | None:
        """The typed error for HTTP ``status`` answered without an envelope, if it means one.

        ``text`` is the body; its start (120 characters) goes into the message.
        """
        excerpt = f"{text[:120]!r}"
        rule = self.statuses.get(status)
        if rule is None:
            if status >= 500:
                return ServiceUnavailable(status, excerpt, self.venue, http_status=status)
            if not (self.refuse_other_4xx and 400 <= status < 500):
                return None
            rule = StatusRule(ApiError, "refused")
        message = f"{rule.meaning}: {excerpt}" if rule.meaning else excerpt
        return self._error(rule.error, status, message, status, rule.retry_after, host)

    def _error(
        self,
        cls: type[ApiError],
        code: int,
        message: str,
        http_status: int,
        retry_after: float | None,
        host: str,
    ) -> ApiError:
        if issubclass(cls, RateLimited):
            wait = self.rate_wait if retry_after is None else retry_after
            return cls(code, message, self.venue, http_status=http_status, retry_after=wait)
        if issubclass(cls, AuthenticationError) and self.auth_hint is not None:
            hint = self.auth_hint(host)
            return cls(code, message, self.venue, http_status=http_status, hint=hint)
        return cls(code, message, self.venue, http_status=http_status)
