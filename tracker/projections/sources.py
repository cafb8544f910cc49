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
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.db import upsert_insert
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source, parse_duration, validate_patterns, validate_text
from tracker.schema.operational import source_state
from tracker.schema.read_models import sources

def dialect_insert(conn: Connection) -> Any:
    """The INSERT of this backend, with on_conflict_do_nothing/do_update."""
    return upsert_insert(conn.dialect.name)


def row_to_source(row: Any) -> Source:
    """A Source from a ``sources`` row (raises ValidationError if the stored fields are unusable)."""
    return Source(
        id=row.id, url=row.url, kind=row.kind, jurisdiction=row.jurisdiction, title=row.title,
        items=tuple(json.loads(row.items)), tags=tuple(json.loads(row.tags)),
        select=row.select_css, ignore=tuple(json.loads(row.ignore)), volatile=tuple(json.loads(row.volatile or "[]")),
        every=None if row.every_seconds is None else f"{row.every_seconds}s",
        respect_robots=bool(row.respect_robots), origin=row.origin,
    )


class SourcesProjection:
    name = "sources"
    types: frozenset[str] | None = frozenset({
        v.SOURCE_REGISTERED, v.SOURCE_REMOVED, v.SOURCE_RULES_ADOPTED, v.SOURCE_VOLATILE_IGNORED,
        v.SOURCE_VOLATILE_REVOKED,
    })

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
            elif event.type in (v.SOURCE_VOLATILE_IGNORED, v.SOURCE_VOLATILE_REVOKED):
                self._volatile(conn, source_id, event.type, payload.get("ignore"))
            elif event.type == v.SOURCE_RULES_ADOPTED:
                select = payload.get("select") or None
                if select is not None:
                    validate_text(select, f"source {source_id}: CSS selector")
                ignore = validate_patterns(payload.get("ignore") or ())
                conn.execute(
                    sources.update().where(sources.c.id == source_id).values(
                        select_css=select, ignore=json.dumps(list(ignore), ensure_ascii=False),
                    )
                )

    @staticmethod
    def _volatile(conn: Connection, source_id: str, type_: str, patterns: Any) -> None:
        changed = validate_patterns(patterns or ())
        row = conn.execute(sa.select(sources.c.volatile).where(sources.c.id == source_id)).first()
        if row is None:
            return
        kept = list(json.loads(row.volatile or "[]"))
        if type_ == v.SOURCE_VOLATILE_IGNORED:
            kept += [p for p in changed if p not in kept]
        else:
            kept = [p for p in kept if p not in changed]
        conn.execute(sources.update().where(sources.c.id == source_id).values(
            volatile=json.dumps(kept, ensure_ascii=False)))

    def _register(self, conn: Connection, event: RecordedEvent, source_id: str) -> None:
        # Validated as `sources add` validates: a stored registration this code cannot use (an old
        # or buggy version's) raises here, and the projector quarantines it rather than storing a
        # source every reader would then trip over.
        source = Source.from_payload(event.payload)
        values = {
            "url": source.url, "kind": source.kind, "jurisdiction": source.jurisdiction, "title": source.title,
            "items": json.dumps(list(source.items), ensure_ascii=False),
            "tags": json.dumps(list(source.tags), ensure_ascii=False),
            "select_css": source.select,
            "ignore": json.dumps(list(source.ignore), ensure_ascii=False), "volatile": "[]",
            "every_seconds": None if source.every is None else parse_duration(source.every),
            "respect_robots": source.respect_robots,
            "active": True, "origin": source.origin,
            "registered_position": event.position,
        }
        insert = dialect_insert(conn)
        conn.execute(
            insert(sources).values(id=source_id, **values)
            # A registration again (after a removal) keeps the volatile lines found at the baseline.
            .on_conflict_do_update(index_elements=[sources.c.id],
                                   set_={k: value for k, value in values.items() if k != "volatile"})
        )
        conn.execute(
            insert(source_state).values(source_id=source_id, state="new", consecutive_failures=0)
            .on_conflict_do_nothing(index_elements=[source_state.c.source_id])
        )

    def clear(self, conn: Connection) -> None:
        conn.execute(sources.delete())


__all__ = ["SourcesProjection", "dialect_insert", "row_to_source"]
