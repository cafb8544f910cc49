"""Read a response body from its raw (still compressed) chunks, never more than the cap.

We decompress ourselves, in bounded steps (zlib ``max_length``), so the cap counts the
decompressed bytes and a gzip bomb is cut off after ``max_bytes``, not after it has expanded
in memory. Only the encodings we advertise (gzip, deflate) are accepted.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

from tracker.errors import FetchError
from tracker.fetching.result import TOO_LARGE, TRUNCATED, UNDECODABLE

ACCEPT_ENCODING = "gzip, deflate"
STEP = 64 * 1024


class _Identity:
    eof = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data


class _Inflate:
    """gzip (wbits 16+), zlib-wrapped deflate (15) or, as servers send it too, raw deflate (-15)."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False
        self.eof = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._obj.eof:
                if not data.strip(b"\0"):
                    break                                    # padding after the stream
                self._obj = zlib.decompressobj(self._wbits)  # another gzip member
            try:
                out = self._obj.decompress(data, STEP)
            except zlib.error as exc:
                if self._encoding == "deflate" and not self._started:
                    self._wbits = -zlib.MAX_WBITS
                    self._obj = zlib.decompressobj(self._wbits)
                    self._started = True
                    continue
                raise FetchError(UNDECODABLE, f"broken {self._encoding} stream: {exc}") from None
            self._started = True
            if out:
                yield out
            data = self._obj.unused_data if self._obj.eof else self._obj.unconsumed_tail
        self.eof = self._obj.eof


def _decoder(content_encoding: str) -> _Identity | _Inflate:
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) == 1 and codings[0] in {"gzip", "x-gzip", "deflate"}:
        return _Inflate("gzip" if codings[0] == "x-gzip" else codings[0])
    raise FetchError(UNDECODABLE, f"unsupported Content-Encoding {content_encoding!r} (we ask for {ACCEPT_ENCODING})")


async def read_body(raw: AsyncIterator[bytes], content_encoding: str, max_bytes: int) -> bytes:
    """Collect the decompressed body; FetchError too-large past ``max_bytes``."""
    decoder = _decoder(content_encoding)
    parts: list[bytes] = []
    total = 0
    async for chunk in raw:
        for piece in decoder.feed(chunk):
            total += len(piece)
            if total > max_bytes:
                raise FetchError(TOO_LARGE, f"body larger than {max_bytes} bytes (decompressed)")
            parts.append(piece)
    if not decoder.eof and total:
        raise FetchError(TRUNCATED, f"the {content_encoding} stream ended early after {total} bytes")
    return b"".join(parts)
