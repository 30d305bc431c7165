"""Whether a text shows a secret, whole or in part."""

from __future__ import annotations


def assert_no_secret(text: str, secret: str, width: int = 8) -> None:
    """Fail if ``text`` holds ``secret`` or any ``width`` characters of it in a row."""
    assert secret not in text, f"the secret in {text[:300]!r}"
    for start in range(len(secret) - width + 1):
        fragment = secret[start : start + width]
        assert fragment not in text, f"part of the secret ({fragment!r}) in {text[:300]!r}"
