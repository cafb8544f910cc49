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
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.canonical import canonical_json
from tracker.core.db import BulkInsert
from tracker.domain import vocabulary as v
from tracker.domain.record import (
    REGISTRATION_STATUS,
    REGISTRATION_TYPE,
    RECORD_TYPES,
    RELATION_DETAILS,
    STEP_DETAILS,
    details,
    is_record_stream,
    is_registration,
    item_attributes,
    refold_status,
    replaced_step,
    replacement_step,
    registration_step,
    step_status,
    wins,
)
from tracker.domain.dates import start_of
from tracker.schema.read_models import record_items, record_relations, record_steps

TABLES = (record_items, record_steps, record_relations)
_CHUNK = 500
_CORRECTED = v.ITEM_CORRECTED
_STEP_CORRECTED = v.STEP_CORRECTED
# Plain columns an ItemCorrected may change directly.
_COLUMNS = {"jurisdiction", "issuer", "discipline"}
_ATTRIBUTE_FIELDS = {"urls", "citation", "notes", "seed_file"}


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_ITEM_COLUMNS = tuple(c.name for c in record_items.columns)
_STEP_COLUMNS = tuple(c.name for c in record_steps.columns)
# What a step event reads and changes; everything else waits until an event needs it.
# Looked up in the catalogue, so a renamed column fails at import rather than in a statement.
_LIGHT_COLUMNS = tuple(record_items.c[name].name for name in (
    "id", "kind", "title_zh", "title_en", "status", "status_date", "updated_position"))
_STEP_CHANGES = tuple(record_items.c[name].name for name in ("status", "status_date", "updated_position"))
_ITEMS = record_items.name


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
        select = f"SELECT {', '.join(_LIGHT_COLUMNS)} FROM {_ITEMS} WHERE id IN "
        for chunk in _chunks(sorted(ids)):
            for row in conn.exec_driver_sql(select + f"({', '.join([self.mark] * len(chunk))})", tuple(chunk)):
                self.rows[row[0]] = dict(zip(_LIGHT_COLUMNS, row, strict=True))
        self.existing = set(self.rows)
        self.full: set[str] = set()  # rows read (or registered) whole: written back whole
        self.attributes: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.steps: list[tuple[Any, ...]] = []
        self.relations: dict[str, list[dict[str, Any]]] = {}
        self.statuses: dict[tuple[str, str], str | None] = {}

    def whole(self, item_id: str) -> dict[str, Any]:
        """The complete row (read on first need), with its attributes parsed."""
        row = self.rows[item_id]
        if item_id not in self.full:
            stored = self.conn.exec_driver_sql(
                f"SELECT {', '.join(_ITEM_COLUMNS)} FROM {_ITEMS} WHERE id = {self.mark}", (item_id,)).one()
            row.update({c: v for c, v in zip(_ITEM_COLUMNS, stored, strict=True) if c not in _LIGHT_COLUMNS})
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
            self.steps.append((item_id, event.position, folded["step"], event.type, folded["date"], folded.get("note"),
                               details(folded, STEP_DETAILS)))
        self.relations[item_id] = list(p.get("relations") or [])
        self.dirty.add(item_id)

    def fold(self, events: Iterable[RecordedEvent]) -> None:
        """Fold a batch of the log, in order, into the rows in memory.

        Step events are nearly all of the log: they are folded here inline, with the batch's
        state in locals, rather than through a method call each (a third of a rebuild's time).
        """
        rows_get, steps_append, dirty_add, status_of = self.rows.get, self.steps.append, self.dirty.add, self._status
        for event in events:
            p = event.payload
            if "id" not in p or not is_record_stream(event.stream):
                continue
            type_ = event.type
            if type_ == _CORRECTED:
                self.correct(event)
                continue
            if type_ == _STEP_CORRECTED:
                self.correct_step(event)
                continue
            if is_registration(event):
                self.register(event)
                continue
            if "step" not in p:
                continue
            row = rows_get(str(p["id"]))
            if row is None:
                continue  # a step of an item never registered: nothing to show it on
            item_id, step, date, position = row["id"], str(p["step"]), p.get("date"), event.position
            if date is not None and date.__class__ is not str:
                raise TypeError(f"step date {date!r} is not text")   # quarantined by the projector
            # Six fields (id, step, date, note, by, citation) carry no provenance: skip the lookup.
            steps_append((item_id, position, step, type_, date, p.get("note"), details(p, STEP_DETAILS) if len(p) > 6 else None))
            status = status_of(row["kind"], step)
            if status is not None and wins(date, row["status_date"]):
                row["status"], row["status_date"] = status, date
            if step == "renamed":
                self._rename(row, p, date)
            row["updated_position"] = position  # as _touch, inline
            dirty_add(item_id)

    def _rename(self, row: dict[str, Any], p: dict[str, Any], date: str | None) -> None:
        if not p.get("title_zh") or start_of(date) is None:
            return
        item_id = row["id"]
        row = self.whole(item_id)
        attributes = self.attrs(item_id)
        # The latest-dated rename names the item, as in a replay: a rename recorded late with an
        # earlier date (a backfill) joins the history but does not take the name back.
        if wins(date, attributes.get("renamed_on")):
            original = attributes.setdefault("renamed_from", {"title_zh": row["title_zh"], "title_en": row["title_en"]})
            attributes["renamed_on"] = date
            row["title_zh"], row["title_en"] = p["title_zh"], p.get("title_en") or original["title_en"]

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
                self.write_steps(self.conn)  # the note reaches the steps recorded before it, no later one
                self.conn.execute(record_steps.update().where(
                    record_steps.c.item_id == row["id"], record_steps.c.step == step, record_steps.c.date == date,
                ).values(note=(new or {}).get("note")))
        self._touch(row, event)

    def correct_step(self, event: RecordedEvent) -> None:
        """A StepCorrected: the old step's rows go, the new step is recorded at this position, and
        the status is folded again from the item's steps (a replaced step may have set it)."""
        p = event.payload
        if str(p.get("id")) not in self.rows:
            return
        row = self.whole(str(p["id"]))
        item_id, old, new = row["id"], replaced_step(p), replacement_step(p)
        self.write_steps(self.conn)  # in log order: it replaces exactly the steps recorded before it
        if old is not None:
            self.conn.execute(record_steps.delete().where(
                record_steps.c.item_id == item_id, record_steps.c.step == old[0], record_steps.c.date == old[1],
                record_steps.c.position < event.position, record_steps.c.position != row["registered_position"],
            ))
        if new is not None:
            self.conn.execute(record_steps.insert().values(
                item_id=item_id, position=event.position, step=new["step"], event_type=event.type,
                date=new.get("date"), note=new.get("note"), details=details(new, STEP_DETAILS),
            ))
        self._refold(row)
        self._touch(row, event)

    def _refold(self, row: dict[str, Any]) -> None:
        """Status and status date folded again from the item's stored steps, in log order."""
        registered = int(row["registered_position"])
        steps = self.conn.execute(
            sa.select(record_steps.c.step, record_steps.c.date, record_steps.c.position)
            .where(record_steps.c.item_id == row["id"]).order_by(record_steps.c.position)
        ).all()
        row["status"], row["status_date"] = refold_status(row["kind"], [(s, d, pos == registered) for s, d, pos in steps])

    def _correct_folded(self, row: dict[str, Any], old: Any, new: Any) -> None:
        """The date (or note) the registration carries was corrected: its step row follows."""
        old_date = (old or {}).get("date")
        folded = registration_step({"step_folded": new})
        item_id, position = row["id"], int(row["registered_position"])
        self.write_steps(self.conn)  # in log order with the steps before it: a later note may reach it
        self.conn.execute(record_steps.delete().where(record_steps.c.item_id == item_id, record_steps.c.position == position))
        if folded is not None:
            self.conn.execute(record_steps.insert().values(
                item_id=item_id, position=position, step=folded["step"], event_type=REGISTRATION_TYPE[row["kind"]],
                date=folded["date"], note=folded.get("note"), details=details(folded, STEP_DETAILS),
            ))
        if row["status_date"] == old_date:  # the registration's date held the status: fold it again
            self._refold(row)

    def _touch(self, row: dict[str, Any], event: RecordedEvent) -> None:
        row["updated_position"] = event.position
        self.dirty.add(row["id"])

    def _row(self, item_id: str) -> dict[str, Any]:
        row = self.rows[item_id]
        row["attributes"] = canonical_json(self.attributes[item_id])
        return row

    def write(self, conn: Connection) -> None:
        self.write_steps(conn)
        self.write_items(conn)

    def write_steps(self, conn: Connection) -> None:
        """The step rows of the events folded since the last write.

        Corrections to step rows (a note, a corrected registration date) write these first and
        then apply at once, so they reach exactly the steps recorded before them, whatever the
        batch: a rebuild must equal the incremental catch-up.
        """
        if self.steps:
            self.steps.sort()  # in index order: each index page is visited once per batch
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            BulkInsert("record_steps", _STEP_COLUMNS, sqlite=self.mark == "?")(cursor, self.steps)
            cursor.close()
            self.steps.clear()  # in place: fold holds the list's append

    def write_items(self, conn: Connection) -> None:
        """The items and relations as they stand: only their end state is stored."""
        mark = self.mark
        inserted = sorted(self.dirty - self.existing)
        changed = self.dirty & self.existing
        whole_rows = [self._row(i) for i in sorted(changed & self.full)]
        light_rows = [self.rows[i] for i in sorted(changed - self.full)]
        for rows, columns in ((whole_rows, _ITEM_COLUMNS[1:]), (light_rows, _STEP_CHANGES)):
            if rows:
                conn.exec_driver_sql(
                    f"UPDATE {_ITEMS} SET {', '.join(f'{c} = {mark}' for c in columns)} WHERE id = {mark}",
                    [tuple(row[c] for c in columns) + (row["id"],) for row in rows],
                )
        if inserted:
            conn.exec_driver_sql(
                f"INSERT INTO {_ITEMS} ({', '.join(_ITEM_COLUMNS)}) VALUES ({', '.join([mark] * len(_ITEM_COLUMNS))})",
                [tuple(row[c] for c in _ITEM_COLUMNS) for row in map(self._row, inserted)],
            )
        replaced = sorted(self.relations)
        if self.existing:  # freshly cleared tables hold no relations to replace
            for chunk in _chunks(replaced):
                conn.execute(record_relations.delete().where(record_relations.c.item_id.in_(chunk)))
        relation_rows = [
            {"item_id": item_id, "relation": r["type"], "target_id": r["target"], "note": r.get("note"),
             "details": details(r, RELATION_DETAILS)}
            for item_id in replaced for r in self.relations[item_id]
        ]
        if relation_rows:
            conn.execute(record_relations.insert(), relation_rows)


class RecordProjection:
    """Current state of every item of the record (instruments, programs, products, agencies, facts)."""

    name = "record"
    types: frozenset[str] | None = RECORD_TYPES

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        ids = {str(e.payload["id"]) for e in batch if "id" in e.payload and is_record_stream(e.stream)}
        if ids:
            work = _Batch(conn, ids)
            work.fold(batch)
            work.write(conn)

    def rebuild(self, conn: Connection, batches: Iterable[Sequence[RecordedEvent]]) -> None:
        """Every batch of the log into the freshly cleared tables, in one transaction.

        The items stay in memory from the first batch to the last (ten thousand items take some
        tens of MB) and are written once at the end, where batch by batch each was read and
        rewritten every time a batch touched it; steps are written batch by batch, as apply does.
        """
        work = _Batch(conn, ())  # cleared: nothing stored to read
        for batch in batches:
            work.fold(batch)
            work.write_steps(conn)
        work.write_items(conn)

    def clear(self, conn: Connection) -> None:
        for table in reversed(TABLES):
            conn.execute(table.delete())
