"""The regulatory record read model: items, their dated steps and their relations.

``record_items.status`` is the record's last word: the status after every recorded step, whatever
today's date (a projection must not depend on the clock, or a rebuild would differ from the
incremental result). What holds on a given day is the replay's question (services/replay.py).

Each batch loads the rows of the items it touches, folds the events in memory with the record's
one fold (tracker.domain.record_fold, which replay, seeding and the digest index use too), and
writes the rows back: a handful of statements per batch, not per event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.canonical import canonical_json
from tracker.core.db import BulkInsert, driver_mark
from tracker.domain import vocabulary as v
from tracker.domain.dates import start_of
from tracker.domain.payloads import ItemCorrection, Registration, Step, StepCorrection
from tracker.domain.record import (
    RECORD_TYPES,
    REGISTRATION_TYPE,
    RELATION_DETAILS,
    STEP_DETAILS,
    STREAM_CATEGORIES,
    details,
    is_record_stream,
    is_registration,
    item_attributes,
)
from tracker.domain.record_fold import Entry, ItemFold, entry
from tracker.schema.read_models import record_items, record_relations, record_steps

TABLES = (record_items, record_steps, record_relations)
_CHUNK = 500
_CORRECTED = v.ITEM_CORRECTED
_STEP_CORRECTED = v.STEP_CORRECTED
_RENAMED = "renamed"
_CATEGORIES = frozenset(STREAM_CATEGORIES)
# The attributes column holds these beside the kind-specific attributes (item_attributes), and
# the original title and the naming rename's date once the item was renamed.
_ATTRIBUTE_FIELDS = ("urls", "citation", "notes", "seed_file")


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_ITEM_COLUMNS = tuple(c.name for c in record_items.columns)
_STEP_COLUMNS = tuple(c.name for c in record_steps.columns)
# A step row without the new title only renames have: two bound NULLs less on each of a million
# rows (7% of a rebuild, bench/bench_projections.py); the columns default to NULL.
_PLAIN_STEP_COLUMNS = tuple(c for c in _STEP_COLUMNS if c not in ("title_zh", "title_en"))
# What a step event reads and changes; everything else waits until an event needs it.
# Looked up in the catalogue, so a renamed column fails at import rather than in a statement.
_LIGHT_COLUMNS = tuple(record_items.c[name].name for name in (
    "id", "kind", "status", "status_date", "registered_position", "updated_position"))
_STEP_CHANGES = tuple(record_items.c[name].name for name in ("status", "status_date", "updated_position"))
_ITEMS = record_items.name


def _placeholder(conn: Connection) -> str:
    # Bulk statements go to the driver directly: SQLAlchemy's per-row parameter handling would
    # cost more than the projection itself (see bench/bench_projections.py).
    return driver_mark(conn.dialect.paramstyle == "qmark")


def _step_row(item_id: str, position: int, event_type: str, step: Step) -> tuple[Any, ...]:
    return (item_id, position, step.step, event_type, step.date, step.note,
            details(step.extra, STEP_DETAILS) if step.extra else None, step.title_zh, step.title_en)


class _Batch:
    """The items one batch touches, as folds (tracker.domain.record_fold) in memory, written back
    at the end. A fold here keeps no steps (they are record_steps' rows); the few events that fold
    an item again (corrections) load them, and the item's whole row, first."""

    def __init__(self, conn: Connection, ids: Iterable[str]) -> None:
        self.conn = conn
        self.mark = _placeholder(conn)
        # Only what a step needs; the whole row is read for the few events that change more.
        self.folds: dict[str, ItemFold] = {}
        select = f"SELECT {', '.join(_LIGHT_COLUMNS)} FROM {_ITEMS} WHERE id IN "
        for chunk in _chunks(sorted(ids)):
            for item_id, kind, status, status_date, registered, updated in conn.exec_driver_sql(
                    select + f"({', '.join([self.mark] * len(chunk))})", tuple(chunk)):
                fold = ItemFold(item_id, kind, None, int(registered), None)
                fold.status, fold.status_date, fold.status_start = status, status_date, start_of(status_date)
                fold.updated_position = int(updated)
                self.folds[item_id] = fold
        self.existing = set(self.folds)
        self.streams: dict[str, str] = {}
        self.dirty: set[str] = set()
        self.steps: list[tuple[Any, ...]] = []  # rows of _PLAIN_STEP_COLUMNS
        self.renames: list[tuple[Any, ...]] = []  # rows of _STEP_COLUMNS: renamed steps, with their title
        self.relations: dict[str, list[dict[str, Any]]] = {}

    def whole(self, fold: ItemFold) -> None:
        """The item's attributes and name, from its stored row (read on first need)."""
        if fold.record is not None:
            return
        row = dict(zip(_ITEM_COLUMNS, self.conn.exec_driver_sql(
            f"SELECT {', '.join(_ITEM_COLUMNS)} FROM {_ITEMS} WHERE id = {self.mark}", (fold.id,)).one(), strict=True))
        attributes = json.loads(row["attributes"])
        original = attributes.pop("renamed_from", None)
        renamed_on = attributes.pop("renamed_on", None)
        fold.record = {
            "id": fold.id, "kind": fold.kind, "jurisdiction": row["jurisdiction"],
            "title_zh": (original or row)["title_zh"], "title_en": (original or row)["title_en"],
            "issuer": row["issuer"], "topics": json.loads(row["topics"]), "discipline": row["discipline"],
            **{name: attributes.pop(name, None) for name in _ATTRIBUTE_FIELDS}, "attributes": attributes,
        }
        if original is not None:
            # The naming rename as recorded (its English title may be absent: the item's own stands).
            c = record_steps.c
            found = self.conn.execute(
                sa.select(c.position, c.title_zh, c.title_en)
                .where(c.item_id == fold.id, c.step == _RENAMED, c.date == renamed_on, c.title_zh.is_not(None))
                .order_by(c.position.desc()).limit(1)).first()
            position, title_zh, title_en = found or (fold.updated_position, row["title_zh"], row["title_en"])
            fold.naming = entry(position, Step(fold.id, _RENAMED, renamed_on, title_zh=title_zh, title_en=title_en))
        self.streams[fold.id] = row["stream"]

    def load_steps(self, fold: ItemFold) -> None:
        """The item's step rows as the fold's steps (after writing the batch's so far, in log order)."""
        self.whole(fold)
        self.write_steps(self.conn)
        c = record_steps.c
        rows = self.conn.execute(
            sa.select(c.position, c.step, c.date, c.note, c.details, c.title_zh, c.title_en)
            .where(c.item_id == fold.id).order_by(c.position)).all()
        fold.steps = [
            entry(
                pos,
                Step(fold.id, step, day, note, title_zh=zh, title_en=en, extra=json.loads(extra) if extra else None),
                registration=pos == fold.registered_position,
            )
            for pos, step, day, note, extra, zh, en in rows
        ]

    def _loaded(self, item_id: str) -> ItemFold | None:
        """The item's fold with its whole row and its steps, for an event that folds it again."""
        fold = self.folds.get(item_id)
        if fold is not None:
            self.load_steps(fold)
        return fold

    def register(self, event: RecordedEvent) -> None:
        registration = Registration.from_payload(event.payload)
        fold = ItemFold.registered(registration, event.position, keep_steps=False)
        self.folds[fold.id] = fold
        self.streams[fold.id] = event.stream
        if registration.folded is not None:
            self.steps.append(_step_row(fold.id, event.position, event.type, registration.folded)[:7])
        self.relations[fold.id] = list(registration.record.get("relations") or [])
        self.dirty.add(fold.id)

    def fold(self, events: Iterable[RecordedEvent]) -> None:
        """Fold a batch of the log, in order, into the items in memory.

        Step events are nearly all of the log: they are decoded and folded here inline, with the
        batch's state in locals, rather than through a method of the batch each.
        """
        folds_get, steps_append, dirty_add, decode = (
            self.folds.get,
            self.steps.append,
            self.dirty.add,
            Step.from_payload,
        )
        for event in events:
            p = event.payload
            if "id" not in p or event.stream.partition("/")[0] not in _CATEGORIES:  # is_record_stream, inline
                continue
            type_ = event.type
            if type_ == _CORRECTED:
                self.correct(event)
                continue
            if type_ == _STEP_CORRECTED:
                self.correct_step(event)
                continue
            if "step" not in p:  # a registration carries no "step" (is_registration)
                if is_registration(event):
                    self.register(event)
                continue
            fold = folds_get(p["id"])
            if fold is None:
                continue  # a step of an item never registered: nothing to show it on
            step = decode(p)  # a payload of the wrong shape raises: quarantined by the projector
            if step.step == _RENAMED:
                self.whole(fold)  # the name it may take over is in the whole row
                fold.add(event.position, step)
                self.renames.append(_step_row(fold.id, event.position, type_, step))
            else:
                extra = step.extra
                fold.add(event.position, step)
                steps_append((fold.id, event.position, step.step, type_, step.date, step.note,
                              details(extra, STEP_DETAILS) if extra else None))  # _step_row without the title
            dirty_add(fold.id)

    def correct(self, event: RecordedEvent) -> None:
        correction = ItemCorrection.from_payload(event.payload)
        fold = self._loaded(correction.id)
        if fold is None:
            return
        touched = fold.correct(correction, event.position)
        assert fold.steps is not None and fold.record is not None
        for item in fold.steps:
            if item.position not in touched:
                continue
            if item.registration:  # the registration's step was corrected: its row follows
                continue
            self.conn.execute(record_steps.update().where(
                record_steps.c.item_id == fold.id, record_steps.c.position == item.position,
            ).values(note=item.step.note, details=details(item.step.extra, STEP_DETAILS) if item.step.extra else None))
        if fold.registered_position in touched:
            self.conn.execute(record_steps.delete().where(
                record_steps.c.item_id == fold.id, record_steps.c.position == fold.registered_position))
            first = fold.steps[0] if fold.steps and fold.steps[0].registration else None
            if first is not None:
                self._insert_step(fold.id, first, REGISTRATION_TYPE[fold.kind])
        if "relations" in correction.changes:
            self.relations[fold.id] = list(fold.record.get("relations") or [])
        fold.steps = None
        self.dirty.add(fold.id)

    def correct_step(self, event: RecordedEvent) -> None:
        """A StepCorrected: the fold takes the old steps out and puts the new one in at this
        position; their rows follow."""
        correction = StepCorrection.from_payload(event.payload)
        fold = self._loaded(correction.id)
        if fold is None:
            return
        removed = fold.correct_step(correction, event.position)
        if removed:
            self.conn.execute(record_steps.delete().where(
                record_steps.c.item_id == fold.id, record_steps.c.position.in_(removed)))
        assert fold.steps is not None
        if correction.new is not None:
            self._insert_step(fold.id, fold.steps[-1], event.type)
        fold.steps = None
        self.dirty.add(fold.id)

    def _insert_step(self, item_id: str, item: Entry, event_type: str) -> None:
        self.conn.execute(record_steps.insert().values(dict(zip(
            _STEP_COLUMNS, _step_row(item_id, item.position, event_type, item.step), strict=True))))

    def _row(self, fold: ItemFold) -> dict[str, Any]:
        record = fold.record
        assert record is not None
        attributes = item_attributes(record)
        if fold.naming is not None:
            attributes["renamed_from"] = {"title_zh": record["title_zh"], "title_en": record["title_en"]}
            attributes["renamed_on"] = fold.naming.step.date
        title_zh, title_en = fold.title
        return {
            "id": fold.id, "stream": self.streams[fold.id], "kind": fold.kind, "jurisdiction": record["jurisdiction"],
            "title_zh": title_zh, "title_en": title_en, "issuer": record.get("issuer"),
            "topics": canonical_json(record.get("topics") or []), "discipline": record.get("discipline"),
            "status": fold.status, "status_date": fold.status_date, "attributes": canonical_json(attributes),
            "registered_position": fold.registered_position, "updated_position": fold.updated_position,
        }

    def write(self, conn: Connection) -> None:
        self.write_steps(conn)
        self.write_items(conn)

    def write_steps(self, conn: Connection) -> None:
        """The step rows of the events folded since the last write.

        Corrections to step rows (a note, a corrected registration date, a replaced step) write
        these first and then apply at once, so they reach exactly the steps recorded before them,
        whatever the batch: a rebuild must equal the incremental catch-up.
        """
        for rows, columns in ((self.steps, _PLAIN_STEP_COLUMNS), (self.renames, _STEP_COLUMNS)):
            if rows:
                rows.sort()  # in index order: each index page is visited once per batch
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                BulkInsert("record_steps", columns, sqlite=self.mark == "?")(cursor, rows)
                cursor.close()
                rows.clear()  # in place: fold holds the list's append

    def write_items(self, conn: Connection) -> None:
        """The items and relations as they stand: only their end state is stored."""
        mark = self.mark
        inserted = sorted(self.dirty - self.existing)
        changed = sorted(self.dirty & self.existing)
        whole_rows = [self._row(self.folds[i]) for i in changed if self.folds[i].record is not None]
        light_rows = [
            {"id": i, "status": f.status, "status_date": f.status_date, "updated_position": f.updated_position}
            for i in changed
            if (f := self.folds[i]).record is None
        ]
        for rows, columns in ((whole_rows, _ITEM_COLUMNS[1:]), (light_rows, _STEP_CHANGES)):
            if rows:
                conn.exec_driver_sql(
                    f"UPDATE {_ITEMS} SET {', '.join(f'{c} = {mark}' for c in columns)} WHERE id = {mark}",
                    [tuple(row[c] for c in columns) + (row["id"],) for row in rows],
                )
        if inserted:
            conn.exec_driver_sql(
                f"INSERT INTO {_ITEMS} ({', '.join(_ITEM_COLUMNS)}) VALUES ({', '.join([mark] * len(_ITEM_COLUMNS))})",
                [tuple(row[c] for c in _ITEM_COLUMNS) for row in (self._row(self.folds[i]) for i in inserted)],
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
