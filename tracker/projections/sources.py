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

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source, parse_duration
from tracker.errors import ValidationError
from tracker.schema.operational import source_state
from tracker.schema.read_models import sources

def dialect_insert(conn: Connection) -> Any:
    """The INSERT of this backend, with on_conflict_do_nothing/do_update."""
    return sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert


def _every_seconds(every: Any) -> int | None:
    if not every:
        return None
    try:
        return parse_duration(str(every))
    except ValidationError:
        return None     # a projection never fails on a stored event; the checker uses the default


def row_to_source(row: Any) -> Source:
    """A Source from a ``sources`` row (raises ValidationError if the stored fields are unusable)."""
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


__all__ = ["SourcesProjection", "dialect_insert", "row_to_source"]
