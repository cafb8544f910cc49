"""Raw snapshots and the version history of each source.

Every body a source serves is kept raw with its headers, addressed by its SHA-256 and
compressed with zlib; the same bytes are stored once however many sources or checks saw them.
Normalised text is never stored: it is derived from the raw body under the rules in force, so
noise rules can be changed after the fact and the whole history re-read under them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.errors import NotFoundError
from tracker.projections.sources import dialect_insert
from tracker.schema.operational import snapshots, source_versions

# zlib's level 5, not its default 6: on 400 real HTML pages (30 KB) 22% less time for 0.5% more
# bytes, on bench_check's pages 40% less for 4% more (issue 18: compressing was a third of the
# work a first run adds per page). Any level reads back the same: old snapshots are unaffected.
COMPRESS_LEVEL = 5
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


@dataclass(frozen=True)
class NewSnapshot:
    """A body to keep, compressed, under the SHA-256 of its raw bytes."""

    hash: str
    compressed: bytes
    size: int
    headers: Mapping[str, str]
    seen_at: str


def save_snapshots(conn: Connection, new: Sequence[NewSnapshot]) -> None:
    """Store each body under its hash unless it is already there (first headers win), in one statement."""
    if not new:
        return
    conn.execute(
        dialect_insert(conn)(snapshots).on_conflict_do_nothing(index_elements=[snapshots.c.hash]),
        [{"hash": n.hash, "body": n.compressed, "size": n.size, "first_seen_at": n.seen_at,
          "headers": json.dumps(kept_headers(n.headers), ensure_ascii=False)} for n in new],
    )


# Built once, the hash bound at execution: a changed page loads its previous body here, and proposals
# load both of a page's bodies again, where building the statement each time cost about as much as
# running it (issue 18: 918 loads at the end of a 10,000-page cycle with 500 changes).
_LOAD = sa.select(snapshots.c.body, snapshots.c.headers).where(snapshots.c.hash == sa.bindparam("digest"))


def load_snapshot(conn: Connection, digest: str) -> Snapshot:
    row = conn.execute(_LOAD, {"digest": digest}).first()
    if row is None:
        raise NotFoundError(f"snapshot {digest} is not stored")
    return Snapshot(digest, zlib.decompress(row.body), json.loads(row.headers))


def add_versions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record versions, one executemany: each row has source_id, position, snapshot, content_hash,
    fetched_at and normaliser_version."""
    if rows:
        conn.execute(source_versions.insert(), list(rows))


def versions(conn: Connection, source_id: str) -> list[Version]:
    """Every recorded version of a source, oldest first."""
    rows = conn.execute(
        sa.select(source_versions).where(source_versions.c.source_id == source_id).order_by(source_versions.c.id)
    )
    return [Version(r.id, r.source_id, r.position, r.snapshot, r.content_hash, r.fetched_at) for r in rows]
