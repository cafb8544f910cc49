"""The changelog read model: the event's half of every reader's row, one row per reported event.

A changelog lists every reported event of the log; deciding each one's label, date, note and
excerpt from its payload on every run cost more than rendering the changelog (bench_formats).
This projection decides it once per event (domain/reporting.py, the same function digests use)
and a changelog reads the rows joined with the digest index, which gives the item's or page's
titles, jurisdiction, kind, link and flags as they are now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.domain.reporting import REPORTED_TYPES, Reported, reported
from tracker.schema.read_models import changelog_rows


def row_values(r: Reported) -> dict[str, object]:
    return {
        "position": r.position, "event_hash": r.event_hash, "recorded_at": r.recorded_at, "ref": r.ref,
        "section": r.section, "ref_id": r.ref_id, "label": r.label, "category": r.category, "date": r.date,
        "note": r.note, "url": r.url, "excerpt": "\n".join(r.excerpt), "excerpt_truncated": r.excerpt_truncated,
        "date_basis": r.date_basis, "provenance": r.provenance, "jurisdiction": r.jurisdiction, "kind": r.kind,
        "title_zh": r.title_zh, "title_en": r.title_en, "topics": json.dumps(list(r.topics), ensure_ascii=False),
    }


def from_row(row: Sequence[Any], *, topics: bool = True) -> Reported:
    """A stored row (the table's columns in order) back as the event's half of a reader's row.

    ``topics=False`` leaves out the topics, which only digest filters read. The columns are all
    NOT NULL and typed, so values are taken as the driver gives them; only SQLite's booleans (0/1),
    the excerpt's lines and the topics' JSON are converted."""
    (position, event_hash, recorded_at, ref, section, ref_id, label, category, date, note, url, excerpt,
     truncated, basis, provenance, jurisdiction, kind, title_zh, title_en, topic_list) = row[:20]
    return Reported(
        position, event_hash, recorded_at, ref, section, ref_id, label, category, date, note, url,
        tuple(excerpt.split("\n")) if excerpt else (), bool(truncated), basis, provenance, jurisdiction, kind,
        title_zh, title_en, tuple(json.loads(topic_list)) if topics and topic_list != "[]" else (),
    )


class ChangelogRowsProjection:
    name = "changelog_rows"
    types: frozenset[str] | None = REPORTED_TYPES

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        rows = []
        for e in batch:
            part = reported(e.position, e.hash, e.recorded_at, e.stream, e.type, e.payload, e.valid_from)
            if part is not None:
                rows.append(row_values(part))
        if rows:
            conn.execute(changelog_rows.insert(), rows)

    def clear(self, conn: Connection) -> None:
        conn.execute(changelog_rows.delete())
