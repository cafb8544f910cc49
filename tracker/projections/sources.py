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
from collections.abc import Iterable, Sequence
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.db import BulkInsert, upsert_insert
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads_registry import decode_as
from tracker.domain.sources import Source, parse_duration, validate_patterns, validate_text
from tracker.schema.operational import source_state
from tracker.schema.read_models import sources

_COLUMNS = tuple(c.name for c in sources.columns)   # id first


def dialect_insert(conn: Connection) -> Any:
    """The INSERT of this backend, with on_conflict_do_nothing/do_update."""
    return upsert_insert(conn.dialect.name)


def row_to_source(row: Any) -> Source:
    """A Source from a ``sources`` row (raises ValidationError if the stored fields are unusable)."""
    return Source(
        id=row.id, url=row.url, kind=row.kind, jurisdiction=row.jurisdiction, title=row.title,
        items=_strings(row.items), tags=_strings(row.tags),
        select=row.select_css, ignore=_strings(row.ignore), volatile=_strings(row.volatile),
        every=None if row.every_seconds is None else f"{row.every_seconds}s",
        respect_robots=bool(row.respect_robots), origin=row.origin,
    )


def _strings(stored: str | None) -> tuple[str, ...]:
    """A list column as stored (_dumps); most are empty, which a check of 500 sources decoded 1,500
    times (issue 18: 1.2 ms of the 13 its sources took to load)."""
    return () if not stored or stored == "[]" else tuple(json.loads(stored))


def _dumps(values: Sequence[str]) -> str:
    """json.dumps(values, ensure_ascii=False), the stored form of these columns, without building
    an encoder per call (json.dumps with options does): the lists here hold strings only."""
    return "[" + ", ".join(map(_string, values)) + "]"


@lru_cache(maxsize=4096)
def _dumps_tuple(values: tuple[str, ...]) -> str:
    """_dumps of a source's tags, items or rules, which sources mostly share."""
    return _dumps(values)


_string = encode_basestring


def _adopted_rules(event: RecordedEvent, source_id: str) -> tuple[str | None, tuple[str, ...]]:
    rules = decode_as(o.SourceRulesAdopted, event.type, event.payload)
    select = rules["select"] or None
    if select is not None:
        validate_text(select, f"source {source_id}: CSS selector")
    return select, validate_patterns(rules["ignore"] or ())


def _volatile_patterns(event: RecordedEvent) -> tuple[str, ...]:
    """The patterns a SourceVolatileIgnored puts in or a SourceVolatileRevoked takes back."""
    if event.type == v.SOURCE_VOLATILE_IGNORED:
        return validate_patterns(decode_as(o.SourceVolatileIgnored, event.type, event.payload)["ignore"] or ())
    return validate_patterns(decode_as(o.SourceVolatileRevoked, event.type, event.payload)["ignore"] or ())


class SourcesProjection:
    name = "sources"
    types: frozenset[str] | None = frozenset({
        v.SOURCE_REGISTERED, v.SOURCE_REMOVED, v.SOURCE_RULES_ADOPTED, v.SOURCE_VOLATILE_IGNORED,
        v.SOURCE_VOLATILE_REVOKED,
    })

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Fold the batch into the rows it touches, in memory, then write each row once.

        Statement by statement this cost about 0.16 ms per event, 20x the record projection
        (issue 18); now one SELECT reads the rows the batch touches and two executemany calls
        write them. An event that cannot be applied raises before anything is written, and the
        projector then applies the batch event by event, quarantining that one.
        """
        touched = {str(e.payload.get("id", "")) for e in batch} - {""}
        if not touched:
            return
        rows = self._load(conn, touched)
        registered: list[str] = []
        for event in batch:
            source_id = str(event.payload.get("id", ""))
            if source_id:
                self._fold(rows, registered, event, source_id)
        # One row per source (a source twice in one multi-row upsert is refused by PostgreSQL).
        changed = [{"id": source_id, **row} for source_id, row in rows.items() if row.pop("_dirty", False)]
        if changed:
            insert = dialect_insert(conn)(sources)
            columns = [c.name for c in sources.columns if c.name != "id"]
            conn.execute(
                insert.on_conflict_do_update(index_elements=[sources.c.id],
                                             set_={name: insert.excluded[name] for name in columns}),
                changed,
            )
        if registered:
            conn.execute(
                dialect_insert(conn)(source_state).on_conflict_do_nothing(index_elements=[source_state.c.source_id]),
                [
                    {"source_id": source_id, "state": "new", "consecutive_failures": 0}
                    for source_id in dict.fromkeys(registered)
                ],
            )

    @staticmethod
    def _load(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of these sources, by id (one SELECT per 500 ids)."""
        found: dict[str, dict[str, Any]] = {}
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for row in conn.execute(sa.select(sources).where(sources.c.id.in_(chunk))).mappings():
                found[row["id"]] = {k: value for k, value in row.items() if k != "id"}
        return found

    @staticmethod
    def _fold(rows: dict[str, dict[str, Any]], registered: list[str], event: RecordedEvent, source_id: str) -> None:
        row = rows.get(source_id)
        if event.type == v.SOURCE_REGISTERED:
            # Validated as `sources add` validates: a stored registration this code cannot use (an
            # old or buggy version's) raises here, and the projector quarantines it rather than
            # storing a source every reader would then trip over.
            source = Source.from_payload(decode_as(o.SourceRegistered, event.type, event.payload))
            rows[source_id] = {
                "url": source.url, "kind": source.kind, "jurisdiction": source.jurisdiction, "title": source.title,
                "items": _dumps_tuple(source.items),
                "tags": _dumps_tuple(source.tags),
                "select_css": source.select,
                "ignore": _dumps_tuple(source.ignore),
                # A registration again (after a removal) keeps the volatile lines found before.
                "volatile": row["volatile"] if row is not None else "[]",
                "every_seconds": None if source.every is None else parse_duration(source.every),
                "respect_robots": source.respect_robots,
                "active": True, "origin": source.origin,
                "registered_position": event.position,
                "_dirty": True,
            }
            registered.append(source_id)
        elif row is None:
            # Removal, rules or volatile lines of a source never registered: nothing to change,
            # but what the event carries is still validated as before.
            if event.type in (v.SOURCE_VOLATILE_IGNORED, v.SOURCE_VOLATILE_REVOKED):
                _volatile_patterns(event)
            elif event.type == v.SOURCE_RULES_ADOPTED:
                _adopted_rules(event, source_id)
        elif event.type == v.SOURCE_REMOVED:
            row.update(active=False, _dirty=True)
        elif event.type in (v.SOURCE_VOLATILE_IGNORED, v.SOURCE_VOLATILE_REVOKED):
            changed = _volatile_patterns(event)
            kept = list(_strings(row["volatile"]))
            if event.type == v.SOURCE_VOLATILE_IGNORED:
                kept += [p for p in changed if p not in kept]
            else:
                kept = [p for p in kept if p not in changed]
            row.update(volatile=_dumps(kept), _dirty=True)
        elif event.type == v.SOURCE_RULES_ADOPTED:
            select, ignore = _adopted_rules(event, source_id)
            row.update(select_css=select, ignore=_dumps_tuple(ignore), _dirty=True)

    def rebuild(self, conn: Connection, batches: Iterable[Sequence[RecordedEvent]]) -> None:
        """Every batch of the log into the freshly cleared table, in one fold held in memory.

        Each source's row is written once, at the end, by the driver (one multi-row INSERT per
        few hundred rows on SQLite), where batch by batch apply read back the rows a batch touched
        and upserted them through SQLAlchemy, a row at a time in the driver. An event that cannot
        be applied raises before anything is written: the projector then goes batch by batch.
        """
        rows: dict[str, dict[str, Any]] = {}
        registered: list[str] = []
        fold = self._fold
        for batch in batches:
            for event in batch:
                source_id = str(event.payload.get("id", ""))
                if source_id:
                    fold(rows, registered, event, source_id)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            sqlite = conn.dialect.name == "sqlite"
            quote = conn.dialect.identifier_preparer.quote
            BulkInsert(sources.name, [quote(name) for name in _COLUMNS], sqlite=sqlite)(
                cursor, [(source_id, *map(row.__getitem__, _COLUMNS[1:])) for source_id, row in rows.items()])
            if registered:
                # Every row is a registered source, and each needs its source_state row: one
                # statement from the rows just written, where a parameter set per source cost the
                # write 19 ms more for 10,000 (WHERE true: SQLite's upsert after a SELECT needs it).
                cursor.execute(
                    f"INSERT INTO {source_state.name} (source_id, state, consecutive_failures)"
                    f" SELECT id, 'new', 0 FROM {sources.name} WHERE true ON CONFLICT (source_id) DO NOTHING"
                )
        finally:
            cursor.close()

    def clear(self, conn: Connection) -> None:
        conn.execute(sources.delete())


__all__ = ["SourcesProjection", "dialect_insert", "row_to_source"]
