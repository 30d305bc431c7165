"""An answer's body, decoded as it is read and never beyond a bound.

httpx decodes a compressed chunk whole: a few hundred kilobytes of gzip on the wire become
hundreds of megabytes in one call (a "gzip bomb", twice compressed) before any bound on the
body can be checked. Here gzip and deflate are decoded by zlib asked for at most
:data:`STEP` bytes at a time, stage by stage, and the reading stops as soon as the decoded
body passes its bound: memory stays within the bound and a step per encoding. The body is
the one httpx would give (the same encodings, applied in the order named, unknown ones left
as they are, deflate with or without its zlib header); ``br`` and ``zstd``, which httpx
decodes when their packages are installed, go through httpx's decoders, bounded per chunk.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import httpx

__all__ = ["STEP", "BodyTooLarge", "read_body"]

#: The most a decoder is asked for at once.
STEP = 64 * 1024


class BodyTooLarge(Exception):
    """The answer's body, decoded, is larger than the bound."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


async def read_body(response: httpx.Response, max_body: int) -> bytes:
    """``response``'s body (read from its stream), decoded; :class:`BodyTooLarge` once it
    passes ``max_body`` bytes, :class:`httpx.DecodingError` if it does not decode."""
    if response.is_stream_consumed:  # read and decoded already (a mock's answer, in memory)
        return _bounded(response.content, response.status_code, max_body)
    stages = _stages(response.headers)
    if not stages and stages is not None and isinstance(response.stream, httpx.ByteStream):
        # Already in memory and not encoded (a transport's small answer): the bytes are the
        # body, without a trip through httpx's stream and decoders (~11 µs a call).
        return _bounded(b"".join(response.stream), response.status_code, max_body)
    body = _Body(response.status_code, max_body)
    if stages is None:
        async for chunk in response.aiter_bytes():
            body.take(chunk)
        return body.whole()
    async for chunk in response.aiter_raw():
        _through(stages, chunk, body)
    _flush(stages, body)
    return body.whole()


def _bounded(data: bytes, status_code: int, max_body: int) -> bytes:
    if len(data) > max_body:
        raise BodyTooLarge(status_code)
    return data


class _Body:
    """The decoded body as it grows, refused once over its bound."""

    __slots__ = ("_max", "_parts", "_size", "_status")

    def __init__(self, status_code: int, max_body: int) -> None:
        self._status = status_code
        self._max = max_body
        self._parts: list[bytes] = []
        self._size = 0

    def take(self, part: bytes) -> None:
        self._size += len(part)
        if self._size > self._max:
            raise BodyTooLarge(self._status)
        self._parts.append(part)

    def whole(self) -> bytes:
        return b"".join(self._parts)


class _Stage:
    """One encoding's decoder: zlib, asked for a bounded output each time."""

    __slots__ = ("_decoder", "_fallback", "_head")

    def __init__(self, wbits: int, fallback: int | None = None) -> None:
        self._decoder = zlib.decompressobj(wbits)
        #: deflate: the raw stream, tried when the first bytes are not a zlib header.
        self._fallback = fallback
        #: The bytes given before the header was decided (a header is 2 bytes).
        self._head = b""

    def decode(self, data: bytes) -> tuple[bytes, bytes]:
        """Up to :data:`STEP` bytes of output, and the input left for the next call."""
        try:
            output = self._decoder.decompress(data, STEP)
        except zlib.error as exc:
            if self._fallback is None:
                raise httpx.DecodingError(str(exc)) from exc
            self._decoder, self._fallback = zlib.decompressobj(self._fallback), None
            return self.decode(self._head + data)
        if self._fallback is not None:
            self._head += data
            if len(self._head) >= 2:  # the header was read: the first bytes decided
                self._fallback, self._head = None, b""
        return output, self._decoder.unconsumed_tail

    def rest(self) -> bytes:
        """What is left once the input has ended: at most a window's worth."""
        try:
            return self._decoder.flush()
        except zlib.error as exc:  # pragma: no cover - flush reports no errors in CPython
            raise httpx.DecodingError(str(exc)) from exc


_DECODERS: dict[str, Callable[[], _Stage] | None] = {
    "identity": None,
    "gzip": lambda: _Stage(zlib.MAX_WBITS | 16),
    "deflate": lambda: _Stage(zlib.MAX_WBITS, fallback=-zlib.MAX_WBITS),
}


#: Encodings httpx decodes when their package is installed (``brotli``, ``zstandard``).
_HTTPX_ONLY = frozenset({"br", "zstd"})


def _stages(headers: httpx.Headers) -> list[_Stage] | None:
    """The decoders of the answer's encodings, outermost first (any other encoding is left
    as it is, as httpx leaves it); None if one of them is httpx's to decode."""
    if "content-encoding" not in headers:
        return []
    named = [value.strip().lower() for value in headers.get_list("content-encoding", True)]
    if _HTTPX_ONLY.intersection(named):
        return None
    return [make() for name in reversed(named) if (make := _DECODERS.get(name)) is not None]


def _through(stages: list[_Stage], data: bytes, body: _Body) -> None:
    """``data`` decoded through every stage into ``body``, a bounded step at a time."""
    if not stages:
        if data:
            body.take(data)
        return
    first, rest = stages[0], stages[1:]
    while data:
        output, data = first.decode(data)
        _through(rest, output, body)


def _flush(stages: list[_Stage], body: _Body) -> None:
    """What each stage holds once the input has ended, through the stages after it."""
    for index, stage in enumerate(stages):
        _through(stages[index + 1 :], stage.rest(), body)
