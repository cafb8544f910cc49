"""The questions asked of one item or of the coming months: history, show, upcoming.

``history`` reads the item's stream in the log; ``show`` and ``upcoming`` read the record
projection (``show`` the sources one too), so callers bring them up to date first
(``App.fresh("record", "sources")``; the CLI and the web interface do).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tracker.core import EventStore, RecordedEvent
from tracker.core.projector import log_skipped
from tracker.domain.dates import precision_of
from tracker.domain.payloads import ItemCorrection, PayloadError, Reference, Registration, Step, StepCorrection
from tracker.domain.payloads_registry import RecordPayload, decode_record
from tracker.domain.record import STREAM_CATEGORIES
from tracker.errors import NotFoundError
from tracker.schema.read_models import record_items, record_relations, record_steps
from tracker.schema.read_models import sources as source_table

ADDED_TO_RECORD = "added to the record"  # a registration event: bookkeeping of the tracker


def _not_found(item_id: str) -> NotFoundError:
    return NotFoundError(f"no item {item_id!r} in the record (ids are listed by `tracker replay`)")


def _date_json(text: str | None) -> dict[str, Any]:
    precision = precision_of(text)
    return {"date": text, "date_known": text is not None and text != "", "precision": precision,
            "approximate": precision is not None and precision != "day"}


@dataclass(frozen=True)
class HistoryEntry:
    """One event of an item's timeline, with both times and its cause."""

    position: int
    recorded_at: str
    valid_from: str | None
    type: str
    step: str | None
    summary: str
    cause: str | None
    actor: str | None
    changes: dict[str, Any] | None
    date_basis: str | None = None  # "conventional": the seeds assign this date, the source does not state it
    # A step that came through triage: the proposal, the source and evidence, who accepted it.
    triage: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position, "recorded_at": self.recorded_at, "valid_from": self.valid_from,
            "date_known": bool(self.valid_from),
            "precision": precision_of(self.valid_from), "type": self.type, "step": self.step,
            "summary": self.summary, "cause": self.cause, "actor": self.actor, "changes": self.changes,
            "date_basis": self.date_basis, "triage": self.triage,
        }


def _summary(item: RecordPayload, cited: Mapping[str, Any] | None, type_: str) -> str:
    return _plain_summary(item, type_) + (_evidence(cited) if cited else "")


def _plain_summary(item: RecordPayload, type_: str) -> str:
    if isinstance(item, Registration):
        # Bookkeeping, not a regulatory event: never "registered".
        return f"added to the record ({item.kind}): {item.title_zh} / {item.title_en}"
    if isinstance(item, ItemCorrection):
        return f"corrected {', '.join(sorted(item.changes))}: {item.reason or ''}".rstrip(": ")
    if isinstance(item, StepCorrection):
        what = f"{item.new.step} {item.new.date}" if item.new is not None else "retracted"
        old = f"{item.old.step} {item.old.date}" if item.old is not None else "None None"  # as before: no old step
        return f"step {old} -> {what}: {item.reason or ''}".rstrip(": ")
    if isinstance(item, Reference):
        return type_
    text = item.step or type_
    if item.title_zh:
        text += f" -> {item.title_zh} / {item.title_en}"
    return f"{text}: {item.note}" if item.note else text


def _triage(item: RecordPayload) -> dict[str, Any] | None:
    cited = (
        item.triage if isinstance(item, Step) else item.record.get("triage") if isinstance(item, Registration) else None
    )
    return dict(cited) if isinstance(cited, dict) else None


def _evidence(cited: Mapping[str, Any]) -> str:
    """Where a triaged step came from, and who accepted it."""
    what = f"entry {cited['entry_id']}" if cited.get("entry_id") else (
        f"page version {str(cited['content_hash'])[:12]}" if cited.get("content_hash") else "a change")
    return (f" [triage {cited.get('proposal')}: {what} of {cited.get('source')} #{cited.get('evidence_position')}"
            + (f" {cited['url']}" if cited.get("url") else "") + f", accepted by {cited.get('accepted_by')} from "
            f"{cited.get('source')}]")


def _date_basis(item: RecordPayload) -> str | None:
    return item.date_basis if isinstance(item, Registration | Step) else None


def _step_of(item: RecordPayload) -> str | None:
    if isinstance(item, Registration):
        return ADDED_TO_RECORD
    if isinstance(item, StepCorrection):
        return "corrected"
    return item.step if isinstance(item, Step) else None


def _entry(e: RecordedEvent) -> HistoryEntry:
    try:
        item = decode_record(e.type, e.payload)
    except PayloadError as exc:  # shown, not hidden: the timeline is the whole stream, a bad event too
        log_skipped("history", e, exc)
        return HistoryEntry(position=e.position, recorded_at=e.recorded_at, valid_from=e.valid_from, type=e.type,
                            step=None, summary=f"unreadable payload: {exc}", cause=e.metadata.get("cause"),
                            actor=e.metadata.get("actor"), changes=None)
    cited = _triage(item)
    return HistoryEntry(
        position=e.position, recorded_at=e.recorded_at, valid_from=e.valid_from, type=e.type,
        step=_step_of(item), summary=_summary(item, cited, e.type),
        cause=e.metadata.get("cause"), actor=e.metadata.get("actor"),
        # as written: {field: {"old": .., "new": ..}}
        changes={k: {"old": c.old, "new": c.new} for k, c in item.changes.items()}
        if isinstance(item, ItemCorrection) else None,
        date_basis=_date_basis(item), triage=cited,
    )


def item_events(store: EventStore, item_id: str) -> list[RecordedEvent]:
    for category in STREAM_CATEGORIES:
        events = list(store.read(stream=f"{category}/{item_id}"))
        if events:
            return events
    raise _not_found(item_id)


def history(store: EventStore, item_id: str) -> list[HistoryEntry]:
    """The whole timeline of one item: recorded time, valid time, and the seed or fetch that caused it."""
    return [_entry(e) for e in item_events(store, item_id)]


@dataclass
class ItemView:
    """One item from the record projection: its row, steps, relations both ways and sources."""

    item: dict[str, Any]
    steps: list[dict[str, Any]]
    relations: list[dict[str, Any]]
    related_by: list[dict[str, Any]]
    sources: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item, "steps": self.steps, "relations": self.relations,
                "related_by": self.related_by, "sources": self.sources}


def _item_row(row: Any) -> dict[str, Any]:
    item = dict(row)
    item["topics"] = json.loads(item["topics"])
    item["attributes"] = json.loads(item["attributes"])
    item["status_precision"] = precision_of(item["status_date"])
    item["status_date_known"] = bool(item["status_date"])
    return item


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def show(store: EventStore, item_id: str) -> ItemView:
    with store.db.read() as conn:
        row = conn.execute(sa.select(record_items).where(record_items.c.id == item_id)).mappings().first()
        if row is None:
            raise _not_found(item_id)
        steps = [
            {
                **dict(s),
                "precision": precision_of(s["date"]),
                "date_known": bool(s["date"]),
                "details": _json(s["details"]),
            }
            for s in conn.execute(
                sa.select(record_steps).where(record_steps.c.item_id == item_id).order_by(record_steps.c.position)
            ).mappings()
        ]
        outgoing = [
            {**dict(r), "details": _json(r["details"])}
            for r in conn.execute(
                sa.select(record_relations)
                .where(record_relations.c.item_id == item_id)
                .order_by(record_relations.c.relation, record_relations.c.target_id)
            ).mappings()
        ]
        incoming = [
            {**dict(r), "details": _json(r["details"])}
            for r in conn.execute(
                sa.select(record_relations)
                .where(record_relations.c.target_id == item_id)
                .order_by(record_relations.c.relation, record_relations.c.item_id)
            ).mappings()
        ]
        # The sources read model holds each source's latest registration (its items) and whether it
        # was removed: one query over the sources, not a scan of the whole log per item shown.
        candidates = conn.execute(
            sa.select(source_table.c.id, source_table.c.url, source_table.c.title, source_table.c["items"])
            .where(source_table.c.active.is_(True), source_table.c["items"].like(f'%{json.dumps(item_id)}%'))
        ).all()
    sources = {r.id: {"id": r.id, "url": r.url, "title": r.title} for r in candidates if item_id in json.loads(r.items)}
    return ItemView(_item_row(row), steps, outgoing, incoming, sorted(sources.values(), key=lambda s: s["id"]))


@dataclass(frozen=True)
class Upcoming:
    item_id: str
    kind: str
    jurisdiction: str
    title_zh: str
    title_en: str
    step: str
    date: str
    starts: dt.date

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "kind": self.kind,
            "jurisdiction": self.jurisdiction,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "step": self.step,
            **_date_json(self.date),
            "starts": self.starts.isoformat(),
        }


def upcoming(
    store: EventStore,
    *,
    days: int = 90,
    jurisdiction: str | None = None,
    today: dt.date | None = None,
) -> list[Upcoming]:
    """Every dated step of the record that starts after today and within ``days`` days (dates count
    from the first day of their period), soonest first: read from tracker.services.deadlines."""
    from tracker.services import deadlines

    found = deadlines.collect(
        store, today=today, days=days, jurisdictions=[jurisdiction.upper()] if jurisdiction else ()
    )
    return [Upcoming(d.item_id, d.item_kind, d.jurisdiction, d.title_zh, d.title_en, d.kind, d.date, d.starts)
            for d in found if d.ref.startswith("item:")]
