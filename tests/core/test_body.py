"""An answer's body, decoded as it is read and never beyond its bound: the same bytes httpx's
own decoding gives, and a compressed bomb refused without ever holding what it expands to."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncexch._body import BodyTooLarge, read_body


class Chunks(httpx.AsyncByteStream):
    """A body arriving in the given pieces, as a transport streams it."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def answer(payload: bytes, encoding: str | None, *, pieces: int = 1) -> httpx.Response:
    headers = [("Content-Encoding", encoding)] if encoding is not None else []
    size = max(1, -(-len(payload) // pieces))
    chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
    return httpx.Response(200, headers=headers, stream=Chunks(*chunks))


async def as_httpx_reads(payload: bytes, encoding: str | None) -> bytes:
    """The oracle: httpx's own decoding of the same answer."""
    return await answer(payload, encoding).aread()


def deflate(data: bytes, *, raw: bool) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": lambda data: deflate(data, raw=False),
    "deflate-raw": lambda data: deflate(data, raw=True),  # deflate without its zlib header
    "identity": lambda data: data,
    "x-unknown": lambda data: data,  # left as it is, by httpx and by us
}


@given(
    st.binary(max_size=300_000).map(lambda data: data * 2),
    st.lists(st.sampled_from(sorted(ENCODERS)), max_size=3),
    st.integers(1, 7),
)
async def test_the_body_is_what_httpx_decodes(data: bytes, applied: list[str], pieces: int) -> None:
    payload = data
    for name in applied:
        payload = ENCODERS[name](payload)
    header = ", ".join(name.replace("-raw", "") for name in applied) if applied else None

    body = await read_body(answer(payload, header, pieces=pieces), max_body=10**7)

    assert body == await as_httpx_reads(payload, header) == data


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate", "gzip, gzip"])
@pytest.mark.parametrize(("size", "refused"), [(4096, False), (4097, True)])
async def test_the_bound_is_on_the_decoded_body(
    encoding: str | None, size: int, refused: bool
) -> None:
    data = b"x" * size
    payload = data
    for name in (encoding or "").split(", "):
        payload = gzip.compress(payload) if name == "gzip" else payload
        payload = deflate(payload, raw=False) if name == "deflate" else payload
    response = answer(payload, encoding, pieces=3)

    if refused:
        with pytest.raises(BodyTooLarge) as caught:
            await read_body(response, max_body=4096)
        assert caught.value.status_code == 200
    else:
        assert await read_body(response, max_body=4096) == data


async def test_an_in_memory_answer_is_taken_whole_and_still_bounded() -> None:
    small = httpx.Response(200, stream=httpx.ByteStream(b"{}"))
    assert await read_body(small, max_body=1024) == b"{}"
    with pytest.raises(BodyTooLarge):
        await read_body(httpx.Response(200, stream=httpx.ByteStream(b" " * 1025)), 1024)


async def test_an_answer_read_already_is_its_content_still_bounded() -> None:
    # A mock's answer (httpx.Response(content=...)) comes read and decoded.
    assert await read_body(httpx.Response(200, content=gzip.compress(b"{}")), 1024) == (
        gzip.compress(b"{}")
    )
    assert await read_body(httpx.Response(200, json={"a": 1}), 1024) == b'{"a":1}'
    with pytest.raises(BodyTooLarge):
        await read_body(httpx.Response(200, content=b" " * 1025), 1024)


async def test_a_twice_compressed_bomb_is_refused_holding_little_of_it() -> None:
    # ~200 MB of zeros, compressed twice: ~200 bytes on the wire. httpx decodes a chunk
    # whole (the first gzip layer alone gives ~200 KB, the second 200 MB in one call).
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    inner = b"".join(compressor.compress(block) for _ in range(200)) + compressor.flush()
    bomb = gzip.compress(inner, 9)

    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            await read_body(answer(bomb, "gzip, gzip"), max_body=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 8 << 20  # the bound (1 MiB) and a few 64 KiB steps, not 200 MB


async def test_a_body_that_does_not_decode_is_a_decoding_error() -> None:
    with pytest.raises(httpx.DecodingError):
        await read_body(answer(b"not gzip at all", "gzip"), max_body=1024)
