"""The exact bytes that are hashed: the chain's definition, documented in the README.

hash = SHA-256 over the concatenation of netstrings (``<byte length>:<bytes>,``, UTF-8) of:

    "tracker-event/1", prev_hash, position, stream, version, type, schema_version,
    recorded_at, valid_from, idempotency_key, payload, metadata

Integers are written in decimal; a null (valid_from, idempotency_key) is the empty string, which
those fields can never hold otherwise. payload and metadata are the stored JSON text, byte for
byte, so a verifier never has to re-serialise JSON. The first event chains from GENESIS_HASH.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

GENESIS_HASH = "0" * 64
_sha256 = hashlib.sha256


def _ns(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"%d:%s," % (len(data), data)


def event_hash(
    prev_hash: str,
    position: int,
    stream: str,
    version: int,
    type: str,
    schema_version: int,
    recorded_at: str,
    valid_from: str | None,
    idempotency_key: str | None,
    payload: str,
    metadata: str,
) -> str:
    """The hash of one event (the module docstring defines it); runs of events use ChainHasher."""
    return ChainHasher().hash(
        prev_hash, position, stream, version, type, schema_version,
        recorded_at, valid_from, idempotency_key, payload, metadata,
    )


# Types, schema versions and valid-from dates repeat across appends, recorded_at and keys never do.
_ns_kept = lru_cache(maxsize=4096)(_ns)


class ChainHasher:
    """The hash of each of a run of consecutive events, as the store appends and the verifier checks them.

    Neighbours share most of their fields (one recorded_at per transaction, a few types, one
    metadata dict per batch): their netstrings are built once and reused while they repeat, which
    was most of an append's cost around SHA-256. A property test holds the bytes hashed to the
    module docstring's definition, written out independently with the standard library.
    """

    __slots__ = ("_shared_key", "_shared", "_metadata", "_metadata_tail")

    def __init__(self) -> None:
        self._shared_key: tuple[object, ...] | None = None
        self._shared = b""
        self._metadata: str | None = None
        self._metadata_tail = b""

    def hash(
        self,
        prev_hash: str,
        position: int,
        stream: str,
        version: int,
        type: str,
        schema_version: int,
        recorded_at: str,
        valid_from: str | None,
        idempotency_key: str | None,
        payload: str,
        metadata: str,
    ) -> str:
        shared_key = (type, schema_version, recorded_at, valid_from, idempotency_key)
        if shared_key != self._shared_key:  # type .. idempotency_key: contiguous in the hashed form
            self._shared = b"".join((
                _ns_kept(type), _ns_kept(str(schema_version)), _ns(recorded_at),
                _ns_kept(valid_from or ""), _ns(idempotency_key or ""),
            ))
            self._shared_key = shared_key
        if metadata != self._metadata:
            metadata_bytes = metadata.encode("utf-8")
            self._metadata_tail = b",%d:%s," % (len(metadata_bytes), metadata_bytes)
            self._metadata = metadata
        p, v = str(position), str(version)
        head = f"15:tracker-event/1,{len(prev_hash)}:{prev_hash},{len(p)}:{p},{len(stream)}:{stream},{len(v)}:{v},"
        if head.isascii():  # len() counted bytes
            head_bytes = head.encode("ascii")
        else:
            head_bytes = b"15:tracker-event/1," + b"".join(map(_ns, (prev_hash, p, stream, v)))
        payload_bytes = payload.encode("utf-8")
        return _sha256(b"".join((
            head_bytes, self._shared, b"%d:" % len(payload_bytes), payload_bytes, self._metadata_tail,
        ))).hexdigest()


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
# JSONEncoder.encode builds a new C encoder on every call, which costs as much as encoding a small
# payload: build it once. markers=None drops the circular-reference bookkeeping, so a circular
# value ends in RecursionError rather than ValueError (the store reports either as invalid).
_C_ENCODE = (
    c_make_encoder(None, _ENCODER.default, encode_basestring, None, ":", ",", True, False, False)
    if c_make_encoder is not None
    else None
)


def canonical_json(value: Any) -> str:
    """The stored form of payload and metadata: sorted keys, no spaces, UTF-8 kept as is."""
    if _C_ENCODE is None or type(value) is not dict:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))
