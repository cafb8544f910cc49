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
DOMAIN_TAG = b"15:tracker-event/1,"


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
    parts = [
        DOMAIN_TAG,
        _ns(prev_hash),
        _ns(str(position)),
        _ns(stream),
        _ns(str(version)),
        _ns(type),
        _ns(str(schema_version)),
        _ns(recorded_at),
        _ns(valid_from or ""),
        _ns(idempotency_key or ""),
        _ns(payload),
        _ns(metadata),
    ]
    return hashlib.sha256(b"".join(parts)).hexdigest()


def canonical_json(value: Any) -> str:
    """The stored form of payload and metadata: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
