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
from typing import Any

GENESIS_HASH = "0" * 64


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
    payload_bytes, metadata_bytes = payload.encode("utf-8"), metadata.encode("utf-8")
    p, v, sv = str(position), str(version), str(schema_version)
    vf, key = valid_from or "", idempotency_key or ""
    # Every netstring up to the payload's, in one f-string. len() counts characters, which are
    # the UTF-8 bytes only when the text is ASCII: the usual case, checked on the result.
    head = (
        f"15:tracker-event/1,{len(prev_hash)}:{prev_hash},{len(p)}:{p},{len(stream)}:{stream},"
        f"{len(v)}:{v},{len(type)}:{type},{len(sv)}:{sv},{len(recorded_at)}:{recorded_at},"
        f"{len(vf)}:{vf},{len(key)}:{key},{len(payload_bytes)}:"
    )
    if head.isascii():
        head_bytes = head.encode("ascii")
    else:  # a non-ASCII stream or key: the general netstrings
        fields = (prev_hash, p, stream, v, type, sv, recorded_at, vf, key)
        head_bytes = b"15:tracker-event/1," + b"".join(map(_ns, fields)) + b"%d:" % len(payload_bytes)
    return hashlib.sha256(b"".join((
        head_bytes, payload_bytes, b",%d:" % len(metadata_bytes), metadata_bytes, b",",
    ))).hexdigest()


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(value: Any) -> str:
    """The stored form of payload and metadata: sorted keys, no spaces, UTF-8 kept as is."""
    return _ENCODER.encode(value)
