"""The monitored sources: the ``sources`` read model, and the monitoring tables beside it.

``sources`` is a projection (SourceRegistered, SourceRemoved, SourceRulesAdopted), dropped and
rebuilt from the log at will. The other three tables are operational, written by the checking
service in the same transaction as the events a check produces, and never rebuilt:

  source_state     one row per source: what the last check found and when the next is due.
                   The projection inserts a row ("new", due now) when a source is registered,
                   so a scheduler can claim it at once; next_due_at NULL means due now.
  snapshots        raw bodies by SHA-256, zlib-compressed, with their headers (deduplicated).
  source_versions  each distinct raw body a source served, in order, and the position of the
                   event it caused (NULL when it changed nothing that counts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source, parse_duration
from tracker.errors import ConfigError

metadata = sa.MetaData()

sources = sa.Table(
    "sources", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("jurisdiction", sa.String(20), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("items", sa.Text, nullable=False),        # JSON list
    sa.Column("tags", sa.Text, nullable=False),         # JSON list
    sa.Column("select_css", sa.Text, nullable=True),
    sa.Column("ignore", sa.Text, nullable=False),       # JSON list
    sa.Column("every_seconds", sa.Integer, nullable=True),
    sa.Column("respect_robots", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("origin", sa.String(100), nullable=False),
    sa.Column("registered_position", sa.BigInteger, nullable=False),
)

source_state = sa.Table(
    "source_state", metadata,
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("last_checked_at", sa.String(32), nullable=True),
    sa.Column("last_success_at", sa.String(32), nullable=True),
    sa.Column("next_due_at", sa.String(32), nullable=True, index=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error_class", sa.String(40), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("rules_hash", sa.String(64), nullable=True),     # the rules content_hash was computed under
    sa.Column("last_snapshot", sa.String(64), nullable=True),
    sa.Column("claimed_by", sa.String(100), nullable=True),
    sa.Column("claimed_until", sa.String(32), nullable=True),
)

snapshots = sa.Table(
    "snapshots", metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),          # zlib
    sa.Column("headers", sa.Text, nullable=False),              # JSON object, lower-case names
    sa.Column("size", sa.BigInteger, nullable=False),           # raw size
    sa.Column("first_seen_at", sa.String(32), nullable=False),
)

source_versions = sa.Table(
    "source_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.String(120), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=True),
    sa.Column("snapshot", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("fetched_at", sa.String(32), nullable=False),
)


def dialect_insert(conn: Connection) -> Any:
    """The INSERT of this backend, with on_conflict_do_nothing/do_update."""
    return sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert


def _every_seconds(every: Any) -> int | None:
    if not every:
        return None
    try:
        return parse_duration(str(every))
    except ConfigError:
        return None     # a projection never fails on a stored event; the checker uses the default


def row_to_source(row: Any) -> Source:
    """A Source from a ``sources`` row (raises ConfigError if the stored fields are unusable)."""
    return Source(
        id=row.id, url=row.url, kind=row.kind, jurisdiction=row.jurisdiction, title=row.title,
        items=tuple(json.loads(row.items)), tags=tuple(json.loads(row.tags)),
        select=row.select_css, ignore=tuple(json.loads(row.ignore)),
        every=None if row.every_seconds is None else f"{row.every_seconds}s",
        respect_robots=bool(row.respect_robots), origin=row.origin,
    )


class SourcesProjection:
    name = "sources"
    types: frozenset[str] | None = frozenset({v.SOURCE_REGISTERED, v.SOURCE_REMOVED, v.SOURCE_RULES_ADOPTED})

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        for event in batch:
            payload = event.payload
            source_id = str(payload.get("id", ""))
            if not source_id:
                continue
            if event.type == v.SOURCE_REGISTERED:
                self._register(conn, event, source_id)
            elif event.type == v.SOURCE_REMOVED:
                conn.execute(sources.update().where(sources.c.id == source_id).values(active=False))
            elif event.type == v.SOURCE_RULES_ADOPTED:
                conn.execute(
                    sources.update().where(sources.c.id == source_id).values(
                        select_css=payload.get("select") or None,
                        ignore=json.dumps(list(payload.get("ignore") or []), ensure_ascii=False),
                    )
                )

    def _register(self, conn: Connection, event: RecordedEvent, source_id: str) -> None:
        p = event.payload
        values = {
            "url": str(p.get("url", "")), "kind": str(p.get("kind") or "html"),
            "jurisdiction": p.get("jurisdiction"), "title": str(p.get("title") or ""),
            "items": json.dumps(list(p.get("items") or []), ensure_ascii=False),
            "tags": json.dumps(list(p.get("tags") or []), ensure_ascii=False),
            "select_css": p.get("select") or None,
            "ignore": json.dumps(list(p.get("ignore") or []), ensure_ascii=False),
            "every_seconds": _every_seconds(p.get("every")),
            "respect_robots": bool(p.get("respect_robots", True)),
            "active": True, "origin": str(p.get("origin") or "operator"),
            "registered_position": event.position,
        }
        insert = dialect_insert(conn)
        conn.execute(
            insert(sources).values(id=source_id, **values)
            .on_conflict_do_update(index_elements=[sources.c.id], set_=values)
        )
        conn.execute(
            insert(source_state).values(source_id=source_id, state="new", consecutive_failures=0)
            .on_conflict_do_nothing(index_elements=[source_state.c.source_id])
        )

    def clear(self, conn: Connection) -> None:
        conn.execute(sources.delete())


__all__ = ["SourcesProjection", "dialect_insert", "metadata", "row_to_source", "snapshots", "source_state", "source_versions", "sources"]
