"""Whether a text shows a secret, whole or in part; a traceback as it would show it."""

from __future__ import annotations

import traceback


def assert_no_secret(text: str, secret: str, width: int = 8) -> None:
    """Fail if ``text`` holds ``secret`` or any ``width`` characters of it in a row."""
    assert secret not in text, f"the secret in {text[:300]!r}"
    for start in range(len(secret) - width + 1):
        fragment = secret[start : start + width]
        assert fragment not in text, f"part of the secret ({fragment!r}) in {text[:300]!r}"


def rendered_with_locals(error: BaseException) -> str:
    """The library's part of ``error``'s traceback as --showlocals or an error tracker renders
    it: every asyncexch frame with its locals (the test's own frames hold the secret it
    passed), then the error's repr and text."""
    summary = traceback.TracebackException.from_exception(error, capture_locals=True)
    frames = [frame for frame in summary.stack if "/asyncexch/" in frame.filename]
    assert frames, "the error came from inside the library"
    rendered = [f"{frame.name}: {frame.locals}" for frame in frames]
    return "\n".join(rendered) + repr(error) + str(error)
