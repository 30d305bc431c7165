"""Properties of ChainUP's MD5 parameter signing and of the bodies that carry it."""

from __future__ import annotations

import hashlib
import json
import random
from decimal import Decimal
from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncexch.chainup import ChainupVenue, Md5Signer, TakeOrder, string_to_sign
from asyncexch.chainup._endpoints import ORDER_LIST

API_KEY = "0816016bb06417f50327e2b557d39aaa"
SECRET = "x" * 17
BASE_URL = "https://chainup.test"
RESERVED = {"api_key", "time", "sign"}

#: Names with upper case, lower case, digits and "_" (which sorts between the two cases).
keys = st.text(alphabet="abcdeXYZ_019", min_size=1, max_size=8)
#: Any text that can be UTF-8 encoded (no lone surrogates), empty included.
values = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
field_dicts = st.dictionaries(st.one_of(keys, st.just("sign")), values, max_size=12)
secrets = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)


def expected_string(fields: dict[str, str]) -> str:
    """Sorted by the name's UTF-8 bytes, ``key+value``, no empty values, no ``sign``."""
    ordered = sorted(fields.items(), key=lambda item: item[0].encode("utf-8"))
    return "".join(key + value for key, value in ordered if key != "sign" and value != "")


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@given(field_dicts, st.randoms(use_true_random=False))
def test_string_to_sign_is_the_sorted_concatenation(
    fields: dict[str, str], rng: random.Random
) -> None:
    items = list(fields.items())
    rng.shuffle(items)
    assert string_to_sign(items) == expected_string(fields)


@given(field_dicts, secrets)
def test_md5_signer_equals_an_independent_md5(fields: dict[str, str], secret: str) -> None:
    sign = Md5Signer(secret).sign(fields.items())
    assert sign == md5(expected_string(fields) + secret)
    assert len(sign) == 32 and sign == sign.lower()


@given(field_dicts, values)
def test_empty_values_and_sign_never_change_the_signature(
    fields: dict[str, str], old_sign: str
) -> None:
    signer = Md5Signer(SECRET)
    base = {key: value for key, value in fields.items() if value and key != "sign"}
    padded = [*base.items(), ("sign", old_sign)] + [
        (key, "") for key in fields if key not in base and key != "sign"
    ]
    assert signer.sign(padded) == signer.sign(base.items())


@settings(deadline=None)
@given(
    st.dictionaries(keys.filter(lambda key: key not in RESERVED), st.one_of(st.none(), values)),
    st.integers(min_value=1_000_000_000_000, max_value=9_999_999_999_999),
    st.sampled_from(["json", "form"]),
)
def test_body_carries_exactly_the_signed_fields(
    params: dict[str, str | None], time_ms: int, encoding: str
) -> None:
    venue = ChainupVenue(API_KEY, SECRET, base_url=BASE_URL, encoding=encoding)  # type: ignore[arg-type]

    wire = venue.sign(venue.encode(ORDER_LIST, params), time_ms)

    assert wire.body is not None
    if encoding == "json":
        assert dict(wire.headers)["Content-Type"] == "application/json"
        body = json.loads(wire.body)
    else:
        assert dict(wire.headers)["Content-Type"] == "application/x-www-form-urlencoded"
        body = dict(parse_qsl(wire.body.decode("ascii"), keep_blank_values=True))
    assert all(isinstance(value, str) for value in body.values())
    expected = {key: value for key, value in params.items() if value}
    expected |= {"api_key": API_KEY, "time": str(time_ms)}
    assert {key: value for key, value in body.items() if key != "sign"} == expected
    assert body["sign"] == md5(expected_string(expected) + SECRET)


decimals = st.decimals(
    min_value=Decimal("1E-12"), max_value=Decimal("1E+12"), allow_nan=False, allow_infinity=False
)


#: Whole contracts, written any way a Decimal can be (1E+3, 10.000, 7).
contracts = st.integers(min_value=1, max_value=10**12).flatmap(
    lambda n: st.sampled_from([Decimal(n), Decimal(n).normalize(), Decimal(f"{n}.000")])
)


@given(contracts, decimals, st.integers(min_value=-3, max_value=3))
def test_take_order_values_are_plain_decimals_that_read_back_equal(
    volume: Decimal, price: Decimal, shift: int
) -> None:
    price = price.scaleb(shift)
    params = TakeOrder(
        contract_id=1, side="BUY", volume=volume, order_type="LIMIT", price=price
    ).to_params()
    for sent, value in ((params["volume"], volume), (params["price"], price)):
        assert sent is not None
        assert "E" not in sent and "e" not in sent
        assert Decimal(sent) == value
