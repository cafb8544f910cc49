"""Verification of the hash chain, over stored rows or an export: the auditor's proof.

Checks, for each event in position order: the position follows the previous one (no gap, no
duplicate), prev_hash is the previous event's hash (no broken link), the hash recomputed from the
stored bytes equals the stored hash (no edited field), and the stream version follows on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.core.canonical import GENESIS_HASH, ChainHasher


@dataclass(frozen=True, slots=True)
class VerifyReport:
    count: int
    head_position: int
    head_hash: str
    bad_position: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_rows(rows: Iterable[Sequence[Any]]) -> VerifyReport:
    """Rows are tuples in schema.EVENT_COLUMNS order."""
    prev_hash, prev_position, count = GENESIS_HASH, 0, 0
    stream_versions: dict[str, int] = {}
    event_hash = ChainHasher().hash  # event_hash, with the netstrings neighbours share built once
    for row in rows:
        (position, stream, version, type_, schema_version, payload, metadata,
         recorded_at, valid_from, key, stored_prev, stored_hash) = row

        def bad(problem: str, at: int = position) -> VerifyReport:  # called within this iteration only
            return VerifyReport(count, prev_position, prev_hash, at, problem)  # noqa: B023

        if position != prev_position + 1:
            if position > prev_position + 1:  # name the first missing position
                return bad(f"gap: position {prev_position + 1} is missing (next found: {position})", prev_position + 1)
            return bad(f"duplicate or out-of-order position: expected {prev_position + 1}, found {position}")
        if stored_prev != prev_hash:
            return bad(
                f"broken link: prev_hash {stored_prev} is not the hash of position {prev_position} ({prev_hash})"
            )
        recomputed = event_hash(
            stored_prev, position, stream, version, type_, schema_version,
            recorded_at, valid_from, key, payload, metadata,
        )
        if recomputed != stored_hash:
            return bad(f"hash mismatch: stored {stored_hash}, recomputed {recomputed}")
        expected_version = stream_versions.get(stream, 0) + 1
        if version != expected_version:
            return bad(f"stream {stream} version {version} where {expected_version} was expected")
        stream_versions[stream] = version
        prev_hash, prev_position, count = stored_hash, position, count + 1
    return VerifyReport(count, prev_position, prev_hash)
