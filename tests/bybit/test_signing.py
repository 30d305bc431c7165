"""Bybit request signatures: HMAC vectors, RSA round trips and signer selection.

The HMAC vectors are the "self-computed vectors" of the Bybit V5 reference notes (section 2,
Authentication): secret ``VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ``, api key ``XXXXXXXXXX``,
recv window ``5000``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
import textwrap
import traceback
from collections.abc import Callable
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from asyncexch import ConfigurationError, Secret
from asyncexch.bybit import BybitVenue, HmacSigner, RsaSigner, StakeOrder
from asyncexch.bybit._auth import make_signer
from asyncexch.bybit._endpoints import PLACE_ORDER, REDEEM_ESTIMATE

SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
API_KEY = "XXXXXXXXXX"
RECV_WINDOW = "5000"

STAKE_BODY = (
    '{"category":"SmartLeverage","productId":"12999","coin":"USDT","orderType":"Stake",'
    '"amount":"100","accountType":"FUND","orderLinkId":"usdt-earn-007",'
    '"smartLeverageStakeExtra":{"initialPrice":"68403","breakevenPrice":"68650"}}'
)

#: (string to sign, expected lowercase hex HMAC-SHA256), from the reference notes.
VECTORS = [
    (
        "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C",
        "efa02766068b9b28c70b29d2738c5e9fea0cd47e2419f63f9e0246eaeb1f3897",
    ),
    (
        '1658385579423XXXXXXXXXX5000{"category": "option"}',
        "0823d1c0375493de2390d9aaba3a4562ae50892a4f227f736885dbfd2132d2e2",
    ),
    (
        "1672211928338XXXXXXXXXX5000" + STAKE_BODY,
        "9e84640c6f790449e6c0ef9abad5724950a7461c21700706698808cb7159ce57",
    ),
    (
        "1672280218882XXXXXXXXXX5000category=SmartLeverage&positionIds=1277,1260",
        "0a8172b8fd5f526c6f72d70d8a9b86a0f1ef388e194214c1a277223fc0957f0e",
    ),
]


def _independent_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


# --- HMAC ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("to_sign", "expected"), VECTORS)
def test_hmac_signer_reproduces_reference_vectors(to_sign: str, expected: str) -> None:
    message = to_sign.encode("utf-8")
    # The vector itself is consistent with a direct hmac/hashlib computation...
    assert _independent_hmac(SECRET, message) == expected
    # ... and the library's signer gives exactly that: lowercase hex, 64 characters.
    signature = HmacSigner(SECRET).sign(message)
    assert signature == expected
    assert len(signature) == 64
    assert signature == signature.lower()


def test_hmac_signer_depends_on_every_byte() -> None:
    signer = HmacSigner(SECRET)
    message = VECTORS[2][0].encode("utf-8")
    assert signer.sign(message) != signer.sign(message + b" ")
    assert signer.sign(message) != HmacSigner(SECRET + "A").sign(message)


def test_hmac_signer_refuses_an_empty_secret() -> None:
    with pytest.raises(ConfigurationError):
        HmacSigner("")


def test_venue_sign_builds_the_reference_string_to_sign_for_a_stake_body() -> None:
    """encode + sign of the documented stake order gives the third reference vector."""
    venue = BybitVenue(API_KEY, SECRET, base_url="https://api.bybit.test", recv_window=5000)
    order = StakeOrder(
        product_id="12999",
        coin="USDT",
        amount=Decimal("100"),
        initial_price=Decimal("68403"),
        breakeven_price=Decimal("68650"),
        order_link_id="usdt-earn-007",
    )
    wire = venue.sign(venue.encode(PLACE_ORDER, order.to_params()), 1672211928338)
    assert wire.body == STAKE_BODY.encode("utf-8")
    headers = dict(wire.headers)
    assert headers["X-BAPI-TIMESTAMP"] == "1672211928338"
    assert headers["X-BAPI-API-KEY"] == API_KEY
    assert headers["X-BAPI-RECV-WINDOW"] == RECV_WINDOW
    assert headers["X-BAPI-SIGN-TYPE"] == "2"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-BAPI-SIGN"] == VECTORS[2][1]


def test_venue_sign_builds_the_reference_string_to_sign_for_a_query() -> None:
    venue = BybitVenue(API_KEY, SECRET, base_url="https://api.bybit.test", recv_window=5000)
    wire = venue.encode(REDEEM_ESTIMATE, {"positionIds": "1277,1260", "category": "SmartLeverage"})
    assert wire.query == "category=SmartLeverage&positionIds=1277,1260"
    assert wire.body is None
    signed = venue.sign(wire, 1672280218882)
    assert dict(signed.headers)["X-BAPI-SIGN"] == VECTORS[3][1]
    assert "Content-Type" not in dict(signed.headers)


def test_venue_sign_uses_the_configured_recv_window() -> None:
    venue = BybitVenue(API_KEY, SECRET, base_url="https://api.bybit.test", recv_window=20000)
    signed = venue.sign(venue.encode(REDEEM_ESTIMATE, {"category": "X"}), 1700000000000)
    headers = dict(signed.headers)
    assert headers["X-BAPI-RECV-WINDOW"] == "20000"
    assert headers["X-BAPI-SIGN"] == _independent_hmac(
        SECRET, b"1700000000000" + API_KEY.encode() + b"20000" + b"category=X"
    )


# --- RSA ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, fmt: serialization.PrivateFormat
) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode(
        "ascii"
    )


def _pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def _key_fragments(pem: str, width: int = 8) -> list[str]:
    """Every ``width``-character window of the PEM's base64 body, line by line."""
    fragments: list[str] = []
    for line in pem.splitlines():
        if line.startswith("-----"):
            continue
        fragments.extend(line[i : i + width] for i in range(max(len(line) - width + 1, 1)))
    return fragments


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_rsa_signer_signature_verifies_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat
) -> None:
    signer = RsaSigner(_pem(rsa_key, fmt))
    message = VECTORS[2][0].encode("utf-8")
    signature = signer.sign(message)
    raw = base64.b64decode(signature, validate=True)
    assert len(raw) == rsa_key.key_size // 8
    rsa_key.public_key().verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    # Deterministic (PKCS#1 v1.5), and bound to the message.
    assert signer.sign(message) == signature
    with pytest.raises(InvalidSignature):
        rsa_key.public_key().verify(raw, message + b"x", padding.PKCS1v15(), hashes.SHA256())


def test_rsa_signature_equals_an_independent_computation(rsa_key: rsa.RSAPrivateKey) -> None:
    message = b"1672280218882XXXXXXXXXX5000category=SmartLeverage&positionIds=1277,1260"
    expected = base64.b64encode(rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode(
        "ascii"
    )
    signer = RsaSigner(_pem(rsa_key, serialization.PrivateFormat.PKCS8))
    assert signer.sign(message) == expected


def _invalid_pems(key: rsa.RSAPrivateKey) -> dict[str, str]:
    good = _pem(key, serialization.PrivateFormat.PKCS8)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    def wrap(data: bytes) -> str:
        body = "\n".join(textwrap.wrap(base64.b64encode(data).decode("ascii"), 64))
        return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"

    lines = good.splitlines()
    return {
        "bad base64": "\n".join([*lines[:3], lines[3][:30] + "!!!!" + lines[3][34:], *lines[4:]]),
        "truncated der": wrap(der[:-64]),
        "corrupted der": wrap(der[:200] + bytes([der[200] ^ 0xFF]) + der[201:]),
        "garbage der": wrap(bytes(range(256)) * 3),
        "encrypted": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ).decode("ascii"),
        "missing footer": "\n".join(lines[:-1]),
    }


@pytest.mark.parametrize(
    "case",
    ["bad base64", "truncated der", "corrupted der", "garbage der", "encrypted", "missing footer"],
)
def test_invalid_pem_raises_configuration_error_without_key_material(
    rsa_key: rsa.RSAPrivateKey, case: str
) -> None:
    pem = _invalid_pems(rsa_key)[case]
    fragments = _key_fragments(pem)
    assert fragments  # the check below means something
    with pytest.raises(ConfigurationError) as info:
        RsaSigner(pem)
    error = info.value
    # Nothing chained on purpose, and the printed traceback shows no chained error.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    # Even the implicit context (kept on the object) carries no key material.
    link: BaseException | None = error
    while link is not None:
        texts += [str(link), repr(link), repr(link.args)]
        link = link.__cause__ or link.__context__
    for text in texts:
        for fragment in fragments:
            assert fragment not in text, f"key material {fragment!r} leaked in {text[:200]!r}"
    formatted = "".join(traceback.format_exception(error))
    assert "During handling of the above exception" not in formatted
    assert "direct cause" not in formatted


def test_make_signer_raises_configuration_error_for_an_invalid_pem(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    pem = _invalid_pems(rsa_key)["truncated der"]
    with pytest.raises(ConfigurationError) as info:
        make_signer(pem)
    assert _pem_body(pem)[:16] not in str(info.value)


def test_non_rsa_private_key_is_refused() -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.PKCS8)
    with pytest.raises(ConfigurationError, match="not an RSA"):
        RsaSigner(pem)
    with pytest.raises(ConfigurationError):
        make_signer(pem)


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_make_signer_picks_rsa_for_a_pem_private_key(
    rsa_key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat
) -> None:
    pem = _pem(rsa_key, fmt)
    assert "PRIVATE KEY" in pem
    signer = make_signer(pem)
    assert isinstance(signer, RsaSigner)
    message = b"hello"
    rsa_key.public_key().verify(
        base64.b64decode(signer.sign(message)), message, padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.parametrize(
    "secret", [SECRET, "private key", "PRIVATEKEY", "-----BEGIN PUBLIC KEY-----", "x"]
)
def test_make_signer_picks_hmac_otherwise(secret: str) -> None:
    signer = make_signer(secret)
    assert isinstance(signer, HmacSigner)
    assert signer.sign(b"abc") == _independent_hmac(secret, b"abc")


def test_venue_with_rsa_key_signs_with_rsa(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = _pem(rsa_key, serialization.PrivateFormat.PKCS8)
    venue = BybitVenue(API_KEY, pem, base_url="https://api.bybit.test", recv_window=5000)
    wire = venue.sign(venue.encode(REDEEM_ESTIMATE, {"category": "SmartLeverage"}), 1700000000000)
    headers = dict(wire.headers)
    message = b"1700000000000" + API_KEY.encode() + b"5000" + b"category=SmartLeverage"
    rsa_key.public_key().verify(
        base64.b64decode(headers["X-BAPI-SIGN"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    assert "***" in repr(venue)
    for fragment in _key_fragments(pem):
        assert fragment not in repr(venue)


# --- the secret stays inside the signer ---------------------------------------------------


def test_signer_reprs_hide_the_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    hmac_signer = HmacSigner(SECRET)
    assert SECRET not in repr(hmac_signer)
    assert SECRET not in str(hmac_signer)
    pem = _pem(rsa_key, serialization.PrivateFormat.PKCS8)
    rsa_signer = RsaSigner(pem)
    for fragment in _key_fragments(pem):
        assert fragment not in repr(rsa_signer)
        assert fragment not in str(rsa_signer)


def test_signers_cannot_be_pickled(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(HmacSigner(SECRET))
    with pytest.raises(TypeError):
        pickle.dumps(RsaSigner(_pem(rsa_key, serialization.PrivateFormat.PKCS8)))


def test_signers_have_no_instance_dict() -> None:
    """No ``__dict__`` means ``vars()``/attrs-style dumps cannot list the key."""
    assert not hasattr(HmacSigner(SECRET), "__dict__")


# --- a secret that is not text, a secret holder ------------------------------------------

#: Not encodable: a lone surrogate, as a mis-decoded environment variable gives.
BROKEN = "s3cr3t-\udcff-tail"


@pytest.mark.parametrize("signer", [HmacSigner], ids=lambda cls: cls.__name__)
def test_signers_refuse_a_secret_that_is_not_text(signer: Callable[[str], object]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer(BROKEN)
    assert "s3cr3t" not in str(caught.value) and caught.value.__context__ is None


def test_a_client_given_a_secret_holder_signs_with_it() -> None:
    one = HmacSigner(SECRET).sign(b"payload")
    assert HmacSigner(Secret(SECRET)).sign(b"payload") == one
