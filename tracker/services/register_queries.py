"""What the registers say: a source's entries as the tracker knows them, and coming deadlines.

Both read the register_entries projection; callers bring it up to date first
(``app.fresh()``; the CLI does).

    entries(app, "src-federal-register-fda-cgt")      # [EntryView], newest official date first
    upcoming_deadlines(store, days=90)                # [DeadlineView], soonest first
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from tracker.app import App
from tracker.core import EventStore
from tracker.domain.dates import start_of
from tracker.errors import NotFoundError
from tracker.schema.read_models import register_deadlines, register_entries, sources


@dataclass(frozen=True)
class EntryView:
    """One register entry: its official identity and when the tracker learned it (log positions)."""

    source_id: str
    identity: dict[str, Any]
    added_position: int
    revised_position: int | None

    def as_json(self) -> dict[str, Any]:
        i = self.identity
        return {
            "source_id": self.source_id, "entry_id": i.get("entry_id"), "title": i.get("title"),
            "date": i.get("date") or None, "precision": i.get("precision"), "type": i.get("type"),
            "url": i.get("url"), "deadlines": i.get("deadlines") or {}, "agency": i.get("agency"),
            "titles": i.get("titles") or {}, "dates": i.get("dates") or {}, "links": i.get("links") or {},
            "added_position": self.added_position, "revised_position": self.revised_position,
        }


def entries(app: App, source_id: str) -> list[EntryView]:
    """A register's entries, newest official date first (undated last), then by id."""
    with app.db.read() as conn:
        source = conn.execute(sa.select(sources.c.kind).where(sources.c.id == source_id)).first()
        if source is None:
            raise NotFoundError(f"no source {source_id!r} (see `tracker sources list`)")
        rows = list(conn.execute(
            sa.select(register_entries.c.entry_id, register_entries.c.identity, register_entries.c.date,
                      register_entries.c.added_position, register_entries.c.revised_position)
            .where(register_entries.c.source_id == source_id)
        ))
    rows.sort(key=lambda r: r.entry_id)
    rows.sort(key=lambda r: r.date or "", reverse=True)
    return [EntryView(source_id, json.loads(r.identity), r.added_position, r.revised_position) for r in rows]


@dataclass(frozen=True)
class DeadlineView:
    """A dated deadline of a register entry (kind e.g. comments_close), for upcoming and calendars."""

    source_id: str
    entry_id: str
    kind: str
    date: str
    starts: dt.date
    title: str
    url: str | None
    jurisdiction: str

    def as_json(self) -> dict[str, Any]:
        # The shape of `tracker upcoming --json` rows, with the entry named in full beside it.
        return {
            "id": self.entry_id, "kind": "register-entry", "jurisdiction": self.jurisdiction, "title_zh": "",
            "title_en": self.title, "step": self.kind, "date": self.date, "precision": "day",
            "approximate": False, "starts": self.starts.isoformat(),
            "deadline": self.kind, "source_id": self.source_id, "entry_id": self.entry_id, "url": self.url,
        }


def upcoming_deadlines(
    store: EventStore, *, days: int = 90, jurisdiction: str | None = None, today: dt.date | None = None,
) -> list[DeadlineView]:
    """Register deadlines after today and within ``days`` days, soonest first."""
    day = today or store.clock().date()
    end = day + timedelta(days=days)
    query = (
        sa.select(register_deadlines.c.source_id, register_deadlines.c.entry_id, register_deadlines.c.kind,
                  register_deadlines.c.date, register_entries.c.title, register_entries.c.url, sources.c.jurisdiction)
        .join(register_entries, sa.and_(register_entries.c.source_id == register_deadlines.c.source_id,
                                         register_entries.c.entry_id == register_deadlines.c.entry_id))
        .outerjoin(sources, sources.c.id == register_deadlines.c.source_id)
        .where(register_deadlines.c.date > day.isoformat(), register_deadlines.c.date <= end.isoformat() + "~")
    )
    if jurisdiction:
        query = query.where(sources.c.jurisdiction == jurisdiction.upper())
    found = []
    with store.db.read() as conn:
        for row in conn.execute(query):
            try:
                starts = start_of(row.date)
            except ValueError:
                continue        # a deadline the register wrote oddly: listed with its entry, not here
            if starts is not None and day < starts <= end:
                found.append(DeadlineView(row.source_id, row.entry_id, row.kind, row.date, starts, row.title,
                                          row.url, row.jurisdiction or "INTL"))
    return sorted(found, key=lambda d: (d.starts, d.jurisdiction, d.source_id, d.entry_id))
