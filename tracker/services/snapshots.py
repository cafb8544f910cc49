"""Raw snapshots and the version history of each source.

Every body a source serves is kept raw with its headers, addressed by its SHA-256 and
compressed with zlib; the same bytes are stored once however many sources or checks saw them.
Normalised text is never stored: it is derived from the raw body under the rules in force, so
noise rules can be changed after the fact and the whole history re-read under them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.errors import NotFoundError
from tracker.projections.sources import dialect_insert
from tracker.schema.operational import snapshots, source_versions

COMPRESS_LEVEL = 6
# Headers worth keeping with a body: they decide how it is decoded and when it was served.
KEPT_HEADERS = ("content-type", "content-encoding", "content-language", "etag", "last-modified", "date")


@dataclass(frozen=True)
class Snapshot:
    hash: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Version:
    id: int
    source_id: str
    position: int | None
    snapshot: str
    content_hash: str
    fetched_at: str


def compress(body: bytes) -> bytes:
    return zlib.compress(body, COMPRESS_LEVEL)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


def save_snapshot(
    conn: Connection, digest: str, compressed: bytes, size: int, headers: Mapping[str, str], seen_at: str
) -> None:
    """Store a body under its hash unless it is already there (first headers win)."""
    conn.execute(
        dialect_insert(conn)(snapshots)
        .values(hash=digest, body=compressed, headers=json.dumps(kept_headers(headers), ensure_ascii=False),
                size=size, first_seen_at=seen_at)
        .on_conflict_do_nothing(index_elements=[snapshots.c.hash])
    )


def load_snapshot(conn: Connection, digest: str) -> Snapshot:
    row = conn.execute(sa.select(snapshots.c.body, snapshots.c.headers).where(snapshots.c.hash == digest)).first()
    if row is None:
        raise NotFoundError(f"snapshot {digest} is not stored")
    return Snapshot(digest, zlib.decompress(row.body), json.loads(row.headers))


def add_version(
    conn: Connection, source_id: str, position: int | None, snapshot: str, content_hash: str, fetched_at: str,
    normaliser_version: str | None = None,
) -> None:
    conn.execute(source_versions.insert().values(
        source_id=source_id, position=position, snapshot=snapshot, content_hash=content_hash, fetched_at=fetched_at,
        normaliser_version=normaliser_version,
    ))


def versions(conn: Connection, source_id: str) -> list[Version]:
    """Every recorded version of a source, oldest first."""
    rows = conn.execute(
        sa.select(source_versions).where(source_versions.c.source_id == source_id).order_by(source_versions.c.id)
    )
    return [Version(r.id, r.source_id, r.position, r.snapshot, r.content_hash, r.fetched_at) for r in rows]
