"""Bybit request signatures: HMAC-SHA256 (hex) or RSA-SHA256 (base64, PKCS#1 v1.5).

The string signed is ``timestamp + api_key + recv_window + payload``, where the payload is the
query string or the raw JSON body exactly as sent. The secret lives only inside the signer:
no repr, log line or error message shows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Protocol

from .._venue import Secret
from ..errors import ConfigurationError

__all__ = ["HmacSigner", "RsaSigner", "Signer", "make_signer"]


class Signer(Protocol):
    """Signs the bytes of a Bybit string-to-sign."""

    def sign(self, message: bytes) -> str: ...


class HmacSigner:
    """HMAC-SHA256 with a system-generated API secret; lowercase hex output."""

    __slots__ = ("_key",)

    def __init__(self, secret: str | Secret) -> None:
        self._key = _secret(secret).reveal_bytes()

    def sign(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(secret=***)"

    def __reduce__(self) -> Any:
        raise TypeError("signers hold a secret and cannot be pickled")


class RsaSigner:
    """RSA-SHA256 (PKCS#1 v1.5) with your own key pair; base64 output. Needs ``cryptography``."""

    __slots__ = ("_key",)

    def __init__(self, private_key_pem: str | Secret) -> None:
        secret = _secret(private_key_pem)
        del private_key_pem  # from here on, only the masked holder is a local
        try:
            from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
            from cryptography.hazmat.primitives.serialization import load_pem_private_key
        except ImportError:
            raise ConfigurationError(
                "RSA signing needs the 'cryptography' package: pip install 'asyncexch[rsa]'"
            ) from None
        try:
            key = load_pem_private_key(secret.reveal_bytes(), password=None)
        except (ValueError, TypeError):
            # Never chain: the loader's error could carry key material into a traceback.
            raise ConfigurationError("api_secret is not a readable PEM RSA private key") from None
        if not isinstance(key, RSAPrivateKey):
            raise ConfigurationError("api_secret is a PEM private key, but not an RSA one")
        self._key = key

    def sign(self, message: bytes) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def __repr__(self) -> str:
        return "RsaSigner(key=***)"

    def __reduce__(self) -> Any:
        raise TypeError("signers hold a secret and cannot be pickled")


def make_signer(secret: str | Secret) -> Signer:
    """An RSA signer for a PEM private key, else an HMAC signer."""
    held = _secret(secret)
    if "PRIVATE KEY" in held.reveal():
        return RsaSigner(held)
    return HmacSigner(held)


def _secret(secret: str | Secret) -> Secret:
    return secret if isinstance(secret, Secret) else Secret(secret)
