"""The digest index: what a digest needs to know about an item or a source, from the log alone.

Step events carry only an item id, so a digest resolves the jurisdiction, kind, topics and titles
here. Built from the registration events themselves (not from the record or monitoring read
models), so digests and changelogs depend on the vocabulary only. Sources also keep their state
(ok | unreachable) from SourceUnreachable / SourceRecovered, and dated InstrumentEffective steps
are kept for "takes effect in the next 90 days".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.rows import driver_rows
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads import ItemCorrection, Registration, Step, StepCorrection
from tracker.domain.payloads_registry import decode_as
from tracker.domain.record import is_registration
from tracker.domain.record_fold import ItemFold
from tracker.schema.read_models import digest_effective, digest_index

ITEM_REGISTRATIONS = frozenset({
    v.INSTRUMENT_REGISTERED, v.PROGRAM_ESTABLISHED, v.PRODUCT_APPROVED, v.AGENCY_REGISTERED, v.FACT_REPORTED,
    v.CLASSIFICATION_REGISTERED, v.REGIME_REGISTERED, v.PATHWAY_REGISTERED, v.WATCH_ITEM_REGISTERED,
})
_RENAMES = (v.INSTRUMENT_RENAMED, v.AGENCY_RENAMED)


class IndexEntry(NamedTuple):
    """What digests and changelogs show of an item or source as it is now. A named tuple, not a
    frozen dataclass: a digest builds one per row it names (thousands), at a fifth of the cost."""

    entry: str  # "item" or "source"
    id: str
    jurisdiction: str | None
    kind: str | None
    title_zh: str
    title_en: str
    topics: tuple[str, ...]
    items: tuple[str, ...]
    url: str | None
    state: str
    state_since: str | None
    last_error: str | None
    marks: tuple[str, ...] = ()  # flags and provenance a reader must see beside the item


def _first_url(urls: Any) -> str | None:
    if isinstance(urls, str):
        return urls
    if isinstance(urls, list) and urls and isinstance(urls[0], str):
        return urls[0]
    return None


class DigestIndexProjection:
    name = "digest_index"
    types: frozenset[str] | None = ITEM_REGISTRATIONS | frozenset({
        v.INSTRUMENT_RENAMED, v.AGENCY_RENAMED, v.ITEM_CORRECTED, v.INSTRUMENT_EFFECTIVE, v.STEP_CORRECTED,
        v.SOURCE_REGISTERED, v.SOURCE_REMOVED, v.SOURCE_UNREACHABLE, v.SOURCE_RECOVERED,
    })

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        refs = {self._ref(e) for e in batch}
        rows: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(refs)):
            for row in conn.execute(sa.select(digest_index).where(digest_index.c.ref.in_(chunk))):
                rows[row.ref] = dict(row._mapping)
        touched: set[str] = set()
        effective: list[dict[str, Any]] = []
        for event in batch:
            ref = self._ref(event)
            if event.type == v.STEP_CORRECTED:
                correction = decode_as(StepCorrection, event.type, event.payload)
                self._correct_effective(conn, event.position, correction, effective)
                if _renames_in(correction) and self._fold_item(rows, ref, event):
                    touched.add(ref)
            elif self._apply_one(rows, ref, event, effective):
                touched.add(ref)
        for chunk in _chunks(sorted(touched)):
            conn.execute(digest_index.delete().where(digest_index.c.ref.in_(chunk)))
        fresh = [rows[ref] for ref in sorted(touched) if ref in rows]
        if fresh:
            conn.execute(digest_index.insert(), fresh)
        if effective:
            conn.execute(digest_effective.insert(), effective)

    @staticmethod
    def _correct_effective(conn: Connection, position: int, correction: StepCorrection,
                           effective: list[dict[str, Any]]) -> None:
        """A corrected effective step: the old date's row goes (those recorded before the correction),
        the new one is kept at the correction's position."""
        old, new = correction.old, correction.new
        if old is not None and old.step == "effective":
            if effective:  # in log order: the rows of this batch so far first
                conn.execute(digest_effective.insert(), effective)
                effective.clear()
            conn.execute(digest_effective.delete().where(
                digest_effective.c.item_id == correction.id, digest_effective.c.date == old.date,
                digest_effective.c.position < position,
            ))
        if new is not None and new.step == "effective" and new.date:
            effective.append({"position": position, "item_id": correction.id, "date": new.date, "note": new.note})

    def clear(self, conn: Connection) -> None:
        conn.execute(digest_index.delete())
        conn.execute(digest_effective.delete())

    @staticmethod
    def _ref(event: RecordedEvent) -> str:
        prefix = "source" if event.stream.startswith("source/") else "item"
        return f"{prefix}:{event.payload.get('id', '')}"

    def _apply_one(
        self, rows: dict[str, dict[str, Any]], ref: str, event: RecordedEvent, effective: list[dict[str, Any]],
    ) -> bool:
        row = rows.get(ref)
        if event.type in ITEM_REGISTRATIONS and is_registration(event):  # else a later step of the item
            return self._fold_item(rows, ref, event)
        if event.type == v.SOURCE_REGISTERED:
            source = decode_as(o.SourceRegistered, event.type, event.payload)
            rows[ref] = {
                "ref": ref, "entry": "source", "id": source["id"], "jurisdiction": source.get("jurisdiction"),
                "kind": source["kind"], "title_zh": "", "title_en": source.get("title") or "",
                "topics": json.dumps(_texts(source.get("tags")), ensure_ascii=False),
                "items": json.dumps(_texts(source.get("items")), ensure_ascii=False), "url": source["url"],
                "state": row["state"] if row else "new", "state_since": row["state_since"] if row else None,
                "last_error": row["last_error"] if row else None, "marks": None, "renames": None,
            }
            return True
        if event.type == v.INSTRUMENT_EFFECTIVE and event.valid_from:
            step = decode_as(Step, event.type, event.payload)
            effective.append({"position": event.position, "item_id": step.id, "date": event.valid_from,
                              "note": step.note})
            return False
        if row is None:
            return False  # a step of an item registered before this index existed cannot be placed
        if row["entry"] == "item" and (event.type in _RENAMES or event.type == v.ITEM_CORRECTED):
            return self._fold_item(rows, ref, event)
        if event.type == v.SOURCE_REMOVED:
            row.update(state="removed", state_since=event.recorded_at)
        elif event.type == v.SOURCE_UNREACHABLE:
            if row["state"] != "unreachable":
                row["state_since"] = event.recorded_at
            failure = decode_as(o.SourceUnreachable, event.type, event.payload)
            row.update(state="unreachable",
                       last_error=f"{failure.get('error_class', 'error')}: {failure.get('error', '')}".strip())
        elif event.type == v.SOURCE_RECOVERED:
            row.update(state="ok", state_since=event.recorded_at, last_error=None)
        else:
            return False
        return True


    @staticmethod
    def _fold_item(rows: dict[str, dict[str, Any]], ref: str, event: RecordedEvent) -> bool:
        """An item's registration, rename, correction or replaced rename, folded with the record's
        one fold (record_fold): the index keeps what the fold needs for the title (the item's own
        title and its live renames, the ``renames`` column) beside what digests read."""
        p = event.payload
        if event.type in ITEM_REGISTRATIONS:
            registration = Registration.from_payload(p)  # a registration: is_registration
            fold = ItemFold.registered(registration, event.position)
            rows[ref] = {"ref": ref, "entry": "item", "id": registration.id, "items": "[]",
                         "url": _first_url(registration.urls), "state": "active", "state_since": None,
                         "last_error": None, "marks": _marks_json(registration.attributes)}
        else:
            row = rows.get(ref)
            if row is None:
                return False
            fold = _fold_of(row)
            if event.type == v.ITEM_CORRECTED:
                correction = ItemCorrection.from_payload(p)
                fold.correct(correction, event.position)
                if "urls" in correction.changes:
                    row["url"] = _first_url(correction.changes["urls"].new)
                if "attributes" in correction.changes:
                    row["marks"] = _marks_json(correction.changes["attributes"].new)
            elif event.type == v.STEP_CORRECTED:
                fold.correct_step(StepCorrection.from_payload(p), event.position)
            else:
                fold.add(event.position, Step.from_payload(p))
        record = fold.record or {}
        title_zh, title_en = fold.title
        # Only the renames are kept: the index folds no status.
        renames = [
            [e.position, e.step.date, e.step.title_zh, e.step.title_en]
            for e in fold.steps or ()
            if e.step.step == "renamed"
        ]
        rows[ref].update(
            {
                "jurisdiction": record.get("jurisdiction"),
                "kind": fold.kind,
                "title_zh": title_zh or "",
                "title_en": title_en or "",
                "topics": json.dumps(_texts(record.get("topics")), ensure_ascii=False),
                "renames": json.dumps(
                    {"title": [record.get("title_zh"), record.get("title_en")], "renames": renames}, ensure_ascii=False
                )
                if renames
                else None,
            }
        )
        return True


def _fold_of(row: dict[str, Any]) -> ItemFold:
    """The fold of an indexed item, from its row: attributes digests read, and its live renames."""
    saved = (
        json.loads(row["renames"])
        if row.get("renames")
        else {"title": [row["title_zh"], row["title_en"]], "renames": []}
    )
    record = {"id": row["id"], "kind": row["kind"], "jurisdiction": row["jurisdiction"], "title_zh": saved["title"][0],
              "title_en": saved["title"][1], "topics": json.loads(row["topics"])}
    fold = ItemFold(row["id"], row["kind"] or "", record, 0, [])
    for position, date, title_zh, title_en in saved["renames"]:
        fold.add(position, Step(row["id"], "renamed", date, title_zh=title_zh, title_en=title_en))
    return fold


def _renames_in(correction: StepCorrection) -> bool:
    """Does a StepCorrected replace or put in a rename?"""
    return any(side is not None and side.step == "renamed" for side in (correction.old, correction.new))


# What an IndexEntry is read from, in this order (the fold's ``renames`` is not: digests never read it).
ENTRY_COLUMNS = tuple(digest_index.c[name] for name in (
    "ref", "entry", "id", "jurisdiction", "kind", "title_zh", "title_en", "topics", "items", "url", "state",
    "state_since", "last_error", "marks"))


def entry_from_row(row: Sequence[Any]) -> IndexEntry:
    """An index entry from the values of ENTRY_COLUMNS, in order: unpacked by position, which a
    digest's few hundred rows do faster than by name."""
    _, entry, id_, jurisdiction, kind, title_zh, title_en, topics, items, url, state, since, error, marks = row
    return IndexEntry(
        entry, id_, jurisdiction, kind, title_zh, title_en, listed(topics), listed(items), url, state, since, error,
        listed(marks) if marks else (),
    )


@lru_cache(maxsize=4096)  # the same few lists of topics and items come back row after row
def listed(text: str) -> tuple[str, ...]:
    """A JSON list of text as a tuple (the topics, items and marks columns)."""
    return () if text == "[]" else tuple(json.loads(text))


def item_marks(attributes: Any) -> list[str]:
    """What a reader must see beside an item, from its registration's attributes: each flag (a
    conflict with an official source, an anachronism, an approximate figure) with what it is
    against, and that the item itself comes from outside the review, with its source."""
    if not isinstance(attributes, dict):
        return []
    marks = []
    if attributes.get("external"):
        marks.append(f"from outside the review: {attributes.get('source') or 'source not named'}")
    for flag in attributes.get("flags") or ():
        if isinstance(flag, dict) and flag.get("type"):
            against = f" (against {flag['against']})" if flag.get("against") else ""
            marks.append(f"{flag['type']}{against}: {flag.get('note') or ''}".rstrip(": "))
    return marks


def _marks_json(attributes: Any) -> str | None:
    marks = item_marks(attributes)
    return json.dumps(marks, ensure_ascii=False) if marks else None


def _texts(value: Any) -> list[str]:
    """A list of text from a payload; anything else makes the event unreadable (quarantined)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise TypeError(f"{value!r:.60} is not a list of text")
    return value


def load_index(conn: Connection) -> dict[str, IndexEntry]:
    """Every indexed item and source, by ref ("item:<id>", "source:<id>")."""
    return {row[0]: entry_from_row(row) for row in driver_rows(conn, sa.select(*ENTRY_COLUMNS))}


def load_refs(conn: Connection, refs: Iterable[str]) -> dict[str, IndexEntry]:
    """Only these refs, and the items of the sources among them (what a filter matches a page by).

    A digest of 250 changes needs a few hundred entries of an index of tens of thousands: reading
    them all would cost more than rendering the digest."""
    found: dict[str, IndexEntry] = {}
    wanted = sorted(set(refs))
    for _ in range(2):  # the refs asked, then the items of the sources among them
        for chunk in _chunks(wanted):
            for row in driver_rows(conn, sa.select(*ENTRY_COLUMNS).where(digest_index.c.ref.in_(chunk))):
                found[row[0]] = entry_from_row(row)
        wanted = sorted(
            {f"item:{item}" for e in found.values() if e.entry == "source" for item in e.items} - set(found)
        )
    return found


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
