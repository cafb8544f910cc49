"""The regulatory record read model: items, their dated steps and their relations.

``record_items.status`` is the record's last word: the status after every recorded step, whatever
today's date (a projection must not depend on the clock, or a rebuild would differ from the
incremental result). What holds on a given day is the replay's question (services/replay.py).

Each batch loads the rows of the items it touches, folds the events in memory with the rules of
tracker.domain.record, and writes the rows back: a handful of statements per batch, not per event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, Text
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.canonical import canonical_json
from tracker.domain import vocabulary as v
from tracker.domain.record import (
    REGISTRATION_STATUS,
    REGISTRATION_TYPE,
    RECORD_TYPES,
    is_record_stream,
    is_registration,
    item_attributes,
    registration_step,
    step_status,
    wins,
)

metadata = MetaData()

record_items = Table(
    "record_items", metadata,
    Column("id", String(200), primary_key=True),
    Column("stream", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("jurisdiction", String(10), nullable=False),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("issuer", Text, nullable=True),
    Column("topics", Text, nullable=False),  # JSON list
    Column("discipline", String(20), nullable=True),
    Column("status", String(20), nullable=True),
    Column("status_date", String(40), nullable=True),
    Column("attributes", Text, nullable=False),  # JSON: kind-specific fields, urls, citation, notes
    Column("registered_position", BigInteger, nullable=False),
    Column("updated_position", BigInteger, nullable=False),
)
Index("ix_record_items_jurisdiction_kind", record_items.c.jurisdiction, record_items.c.kind)

record_steps = Table(
    "record_steps", metadata,
    Column("item_id", String(200), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("step", String(20), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("date", String(40), nullable=True),
    Column("note", Text, nullable=True),
)

record_relations = Table(
    "record_relations", metadata,
    Column("item_id", String(200), primary_key=True),
    Column("relation", String(40), primary_key=True),
    Column("target_id", String(200), primary_key=True),
    Column("note", Text, nullable=True),
)
Index("ix_record_relations_target", record_relations.c.target_id)

TABLES = (record_items, record_steps, record_relations)
_CHUNK = 500
_CORRECTED = v.ITEM_CORRECTED
# Plain columns an ItemCorrected may change directly.
_COLUMNS = {"jurisdiction", "issuer", "discipline"}
_ATTRIBUTE_FIELDS = {"urls", "citation", "notes", "seed_file"}


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_ITEM_COLUMNS = tuple(c.name for c in record_items.columns)
_STEP_COLUMNS = tuple(c.name for c in record_steps.columns)
# What a step event reads and changes; everything else waits until an event needs it.
_LIGHT_COLUMNS = ("id", "kind", "title_zh", "title_en", "status", "status_date", "updated_position")
_STEP_CHANGES = ("status", "status_date", "updated_position")


def _placeholder(conn: Connection) -> str:
    # Bulk statements go to the driver directly: SQLAlchemy's per-row parameter handling would
    # cost more than the projection itself (see bench/bench_projections.py).
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


class _Batch:
    """The rows one batch touches, changed in memory and written back at the end."""

    def __init__(self, conn: Connection, ids: Iterable[str]) -> None:
        self.conn = conn
        self.mark = _placeholder(conn)
        # Only what a step needs; the whole row is read for the few events that change more.
        self.rows: dict[str, dict[str, Any]] = {}
        select = f"SELECT {', '.join(_LIGHT_COLUMNS)} FROM record_items WHERE id IN "
        for chunk in _chunks(sorted(ids)):
            for row in conn.exec_driver_sql(select + f"({', '.join([self.mark] * len(chunk))})", tuple(chunk)):
                self.rows[row[0]] = dict(zip(_LIGHT_COLUMNS, row))
        self.existing = set(self.rows)
        self.full: set[str] = set()  # rows read (or registered) whole: written back whole
        self.attributes: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.steps: list[tuple[Any, ...]] = []
        self.step_notes: list[tuple[str, str, str, str | None]] = []  # item, step, date, note
        self.folded_steps: list[tuple[str, int, str, dict[str, Any] | None]] = []  # item, position, type, step
        self.relations: dict[str, list[dict[str, Any]]] = {}
        self.statuses: dict[tuple[str, str], str | None] = {}

    def whole(self, item_id: str) -> dict[str, Any]:
        """The complete row (read on first need), with its attributes parsed."""
        row = self.rows[item_id]
        if item_id not in self.full:
            stored = self.conn.exec_driver_sql(
                f"SELECT {', '.join(_ITEM_COLUMNS)} FROM record_items WHERE id = {self.mark}", (item_id,)).one()
            row.update({c: v for c, v in zip(_ITEM_COLUMNS, stored) if c not in _LIGHT_COLUMNS})
            self.attributes[item_id] = json.loads(row["attributes"])
            self.full.add(item_id)
        return row

    def attrs(self, item_id: str) -> dict[str, Any]:
        self.whole(item_id)
        return self.attributes[item_id]

    def register(self, event: RecordedEvent) -> None:
        p = event.payload
        item_id = str(p["id"])
        folded = registration_step(p)
        self.rows[item_id] = {
            "id": item_id, "stream": event.stream, "kind": p["kind"], "jurisdiction": p["jurisdiction"],
            "title_zh": p["title_zh"], "title_en": p["title_en"], "issuer": p.get("issuer"),
            "topics": canonical_json(p.get("topics") or []), "discipline": p.get("discipline"),
            "status": REGISTRATION_STATUS.get(p["kind"]), "status_date": p.get("date"),
            "attributes": "", "registered_position": event.position, "updated_position": event.position,
        }
        self.attributes[item_id] = item_attributes(p)
        self.full.add(item_id)
        if folded is not None:
            self.steps.append((item_id, event.position, folded["step"], event.type, folded["date"], folded.get("note")))
        self.relations[item_id] = list(p.get("relations") or [])
        self.dirty.add(item_id)

    def step(self, event: RecordedEvent) -> None:
        p = event.payload
        row = self.rows.get(str(p.get("id")))
        if row is None:
            return  # a step of an item never registered: nothing to show it on
        item_id, step, date = row["id"], str(p["step"]), p.get("date")
        self.steps.append((item_id, event.position, step, event.type, date, p.get("note")))
        status = self._status(row["kind"], step)
        if status is not None and wins(date, row["status_date"]):
            row["status"], row["status_date"] = status, date
        if step == "renamed" and p.get("title_zh"):
            row = self.whole(item_id)
            self.attrs(item_id).setdefault("renamed_from", {"title_zh": row["title_zh"], "title_en": row["title_en"]})
            row["title_zh"], row["title_en"] = p["title_zh"], p.get("title_en") or row["title_en"]
        row["updated_position"] = event.position  # as _touch, inline: this runs for most events
        self.dirty.add(item_id)

    def _status(self, kind: str, step: str) -> str | None:
        """step_status, remembered: a batch sees few (kind, step) pairs many times."""
        key = (kind, step)
        if key not in self.statuses:
            self.statuses[key] = step_status(kind, step)
        return self.statuses[key]

    def correct(self, event: RecordedEvent) -> None:
        if str(event.payload.get("id")) not in self.rows:
            return
        row = self.whole(str(event.payload["id"]))
        attributes = self.attrs(row["id"])
        for name, change in (event.payload.get("changes") or {}).items():
            new = change.get("new")
            if name in _COLUMNS:
                row[name] = new
            elif name in {"title_zh", "title_en"}:
                # After a rename the correction is to the original title, which the step replaced.
                if "renamed_from" in attributes:
                    attributes["renamed_from"][name] = new
                else:
                    row[name] = new
            elif name == "topics":
                row["topics"] = canonical_json(new or [])
            elif name in _ATTRIBUTE_FIELDS:
                attributes[name] = new
            elif name == "attributes":
                kept = {k: attributes[k] for k in (*_ATTRIBUTE_FIELDS, "renamed_from") if k in attributes}
                attributes.clear()
                attributes.update({**(new or {}), **kept})
            elif name == "relations":
                self.relations[row["id"]] = list(new or [])
            elif name == "step_folded":
                self._correct_folded(row, change.get("old"), new)
            elif name.startswith("step:"):
                _, step, date = name.split(":", 2)
                self.step_notes.append((row["id"], step, date, (new or {}).get("note")))
        self._touch(row, event)

    def _correct_folded(self, row: dict[str, Any], old: Any, new: Any) -> None:
        """The date (or note) the registration carries was corrected: its step row follows."""
        old_date = (old or {}).get("date")
        folded = registration_step({"step_folded": new})
        self.folded_steps.append((row["id"], int(row["registered_position"]), REGISTRATION_TYPE[row["kind"]], folded))
        if row["status_date"] == old_date:
            row["status_date"] = folded["date"] if folded else None

    def _touch(self, row: dict[str, Any], event: RecordedEvent) -> None:
        row["updated_position"] = event.position
        self.dirty.add(row["id"])

    def _row(self, item_id: str) -> dict[str, Any]:
        row = self.rows[item_id]
        row["attributes"] = canonical_json(self.attributes[item_id])
        return row

    def write(self, conn: Connection) -> None:
        mark = self.mark
        inserted = sorted(self.dirty - self.existing)
        changed = self.dirty & self.existing
        whole_rows = [self._row(i) for i in sorted(changed & self.full)]
        light_rows = [self.rows[i] for i in sorted(changed - self.full)]
        for rows, columns in ((whole_rows, _ITEM_COLUMNS[1:]), (light_rows, _STEP_CHANGES)):
            if rows:
                conn.exec_driver_sql(
                    f"UPDATE record_items SET {', '.join(f'{c} = {mark}' for c in columns)} WHERE id = {mark}",
                    [tuple(row[c] for c in columns) + (row["id"],) for row in rows],
                )
        if inserted:
            conn.exec_driver_sql(
                f"INSERT INTO record_items ({', '.join(_ITEM_COLUMNS)}) VALUES ({', '.join([mark] * len(_ITEM_COLUMNS))})",
                [tuple(row[c] for c in _ITEM_COLUMNS) for row in map(self._row, inserted)],
            )
        if self.steps:
            conn.exec_driver_sql(
                f"INSERT INTO record_steps ({', '.join(_STEP_COLUMNS)}) VALUES ({', '.join([mark] * len(_STEP_COLUMNS))})",
                self.steps,
            )
        for item_id, position, event_type, folded in self.folded_steps:
            conn.execute(record_steps.delete().where(record_steps.c.item_id == item_id, record_steps.c.position == position))
            if folded is not None:
                conn.execute(record_steps.insert().values(item_id=item_id, position=position, step=folded["step"],
                                                          event_type=event_type, date=folded["date"], note=folded.get("note")))
        for item_id, step, date, note in self.step_notes:
            conn.execute(record_steps.update().where(record_steps.c.item_id == item_id, record_steps.c.step == step,
                                                     record_steps.c.date == date).values(note=note))
        replaced = sorted(self.relations)
        for chunk in _chunks(replaced):
            conn.execute(record_relations.delete().where(record_relations.c.item_id.in_(chunk)))
        relation_rows = [
            {"item_id": item_id, "relation": r["type"], "target_id": r["target"], "note": r.get("note")}
            for item_id in replaced for r in self.relations[item_id]
        ]
        if relation_rows:
            conn.execute(record_relations.insert(), relation_rows)


class RecordProjection:
    """Current state of every item of the record (instruments, programs, products, agencies, facts)."""

    name = "record"
    types: frozenset[str] | None = RECORD_TYPES

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        events = [e for e in batch if is_record_stream(e.stream) and "id" in e.payload]
        if not events:
            return
        work = _Batch(conn, {str(e.payload["id"]) for e in events})
        register, correct, step = work.register, work.correct, work.step
        for event in events:
            if event.type == _CORRECTED:
                correct(event)
            elif is_registration(event):
                register(event)
            elif "step" in event.payload:
                step(event)
        work.write(conn)

    def clear(self, conn: Connection) -> None:
        for table in reversed(TABLES):
            conn.execute(table.delete())


def dump(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the three tables in key order: what a rebuild must reproduce exactly."""
    return {
        "record_items": [tuple(r) for r in conn.execute(sa.select(record_items).order_by(record_items.c.id))],
        "record_steps": [tuple(r) for r in conn.execute(sa.select(record_steps).order_by(record_steps.c.item_id, record_steps.c.position))],
        "record_relations": [tuple(r) for r in conn.execute(sa.select(record_relations).order_by(
            record_relations.c.item_id, record_relations.c.relation, record_relations.c.target_id))],
    }
