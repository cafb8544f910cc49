"""Register entries as the tracker knows them, and their deadlines: a read model of the log.

From RegisterEntryAdded and RegisterEntryRevised (the latest state of each entry wins; a
revision carries the whole identity again). Two tables:

  register_entries    one row per (source, official entry id): title, official date and its
                      precision, document type, agency, url, and the whole identity (JSON).
  register_deadlines  one row per (source, entry, deadline kind): the dated deadlines of
                      entries, e.g. kind "comments_close". This is the place a calendar or
                      `tracker upcoming` joins: (kind, date, source_id, entry_id).

Events recorded before entries carried their identity have only entry_id, date, title, url and
fields; their precision is derived from the date and the Federal Register's comments_close_on
is read from their fields, so a rebuild gives old entries their deadlines too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads_registry import decode_as
from tracker.projections.sources import dialect_insert
from tracker.schema.read_models import register_deadlines, register_entries

# Deadlines read from the fields of entries recorded before events carried them.
LEGACY_DEADLINES = {"comments_close_on": "comments_close"}


def _precision(date: str) -> str | None:
    size = len(date)
    return None if not date else "year" if size == 4 else "month" if size == 7 else "day" if size == 10 else "time"


def identity_of(entry: o.RegisterEntry) -> dict[str, Any]:
    """The identity of an entry event, filled in for events recorded before it was carried."""
    def mapping(value: object) -> dict[str, Any]:
        return dict(value) if isinstance(value, Mapping) else {}

    date = str(entry.get("date") or "")
    if "deadlines" in entry:
        deadlines = mapping(entry["deadlines"])
    else:
        fields = mapping(entry.get("fields"))
        deadlines = {kind: str(fields[field]) for field, kind in LEGACY_DEADLINES.items() if fields.get(field)}
    url = entry.get("url")
    return {
        "entry_id": str(entry["entry_id"] or ""), "date": date,
        "precision": entry.get("precision") or _precision(date), "type": str(entry.get("type") or ""),
        "title": str(entry.get("title") or ""), "titles": mapping(entry.get("titles")),
        "agency": str(entry.get("agency") or ""), "url": str(url) if url else None,
        "links": mapping(entry.get("links")), "dates": mapping(entry.get("dates")), "deadlines": deadlines,
    }


class RegisterEntriesProjection:
    name = "register_entries"
    types: frozenset[str] | None = frozenset({v.REGISTER_ENTRY_ADDED, v.REGISTER_ENTRY_REVISED})

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        insert = dialect_insert(conn)
        for event in batch:
            # A payload without id or entry_id raises PayloadError: the projector quarantines it.
            entry = decode_as(o.RegisterEntry, event.type, event.payload)
            source_id, entry_id = str(entry["id"] or ""), str(entry["entry_id"] or "")
            if not source_id or not entry_id:
                continue        # never fail on a stored event: an entry with empty ids names nothing
            identity = identity_of(entry)
            values: dict[str, Any] = {
                "title": identity["title"], "date": identity["date"], "precision": identity["precision"],
                "type": identity["type"][:100], "agency": identity["agency"], "url": identity.get("url"),
                "identity": json.dumps(identity, ensure_ascii=False, sort_keys=True),
            }
            if event.type == v.REGISTER_ENTRY_REVISED:
                values["revised_position"] = event.position
                update = dict(values)
                values["added_position"] = event.position
            else:
                values["added_position"] = event.position
                update = {k: val for k, val in values.items() if k != "added_position"}
            conn.execute(
                insert(register_entries).values(source_id=source_id, entry_id=entry_id, **values)
                .on_conflict_do_update(index_elements=[register_entries.c.source_id, register_entries.c.entry_id],
                                       set_=update)
            )
            conn.execute(register_deadlines.delete().where(
                register_deadlines.c.source_id == source_id, register_deadlines.c.entry_id == entry_id))
            deadlines = [{"source_id": source_id, "entry_id": entry_id, "kind": str(kind)[:60], "date": str(date)}
                         for kind, date in identity["deadlines"].items() if date]
            if deadlines:
                conn.execute(register_deadlines.insert(), deadlines)

    def clear(self, conn: Connection) -> None:
        conn.execute(register_deadlines.delete())
        conn.execute(register_entries.delete())


__all__ = ["RegisterEntriesProjection", "identity_of"]
