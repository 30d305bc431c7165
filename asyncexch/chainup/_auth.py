"""ChainUP contract open-API v1 signatures.

``sign = md5(k1 + v1 + k2 + v2 + ... + secret)``, lowercase hex, over every parameter but
``sign`` whose value is not empty, sorted by name in byte order, each value exactly as sent.
The secret lives only inside the signer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from .._venue import Secret

__all__ = ["Md5Signer", "string_to_sign"]


def string_to_sign(fields: Iterable[tuple[str, str]]) -> str:
    """The concatenation signed, secret excluded: sorted ``key+value`` of non-empty fields."""
    return "".join(f"{key}{value}" for key, value in sorted(fields) if key != "sign" and value)


class Md5Signer:
    """Signs ChainUP parameters with the account's secret key."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str | Secret) -> None:
        self._secret = (secret if isinstance(secret, Secret) else Secret(secret)).reveal_bytes()

    def sign(self, fields: Iterable[tuple[str, str]]) -> str:
        """The ``sign`` parameter for ``fields``."""
        # The secret goes straight into the digest: no local (and so no traceback) holds it.
        digest = hashlib.md5(string_to_sign(fields).encode("utf-8"), usedforsecurity=False)
        digest.update(self._secret)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return "Md5Signer(secret=***)"

    def __reduce__(self) -> Any:
        raise TypeError("signers hold a secret and cannot be pickled")
