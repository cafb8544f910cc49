"""Dated obligations ahead, read from one place for `upcoming`, digests and the calendar.

A deadline is a kind (``effective``, ``comments-close``, or another dated step of the record), the
date as its source gives it, and what it belongs to (an item of the record, or an official register
entry). Sources of deadlines:

  * the record: every dated step of an item (``record_steps``): mostly instruments taking effect;
  * official register entries (RegisterEntryAdded) whose fields carry a comment period end
    (the Federal Register's ``comments_close_on``).

Another source joins by adding a function to ``SOURCES`` that yields Deadline values.
A date of month or year precision counts from the first day of its period (the month-precision
rule, tracker.domain.dates) and is never given a day it does not have: ``ends`` is its last day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
import datetime as dt
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from tracker.core import EventStore
from tracker.domain import vocabulary as v
from tracker.domain.dates import parse_partial, precision_of
from tracker.projections.digest_index import load_refs
from tracker.schema.read_models import record_items, record_steps

EFFECTIVE = "effective"
COMMENTS_CLOSE = "comments-close"
LABELS = {EFFECTIVE: "takes effect", COMMENTS_CLOSE: "comments close", "drafted": "draft for comment",
          "trial": "issued for trial", "published": "published", "superseded": "superseded",
          "repealed": "repealed", "withdrawn": "withdrawn", "amended": "amended", "renamed": "renamed"}
COMMENT_FIELDS = ("comments_close_on", "comment_date")  # Federal Register documents API


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str
    date: str  # as given: YYYY, YYYY-MM or YYYY-MM-DD
    starts: dt.date
    ends: dt.date  # the last day the date may mean (== starts for a day)
    ref: str  # "item:<id>" or "entry:<source id>/<entry id>"
    item_id: str  # the item, or the source of a register entry
    jurisdiction: str
    item_kind: str
    title_zh: str
    title_en: str
    url: str
    note: str

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)

    @property
    def precision(self) -> str:
        return precision_of(self.date) or "day"

    @property
    def uid(self) -> str:
        """Stable across runs and machines: what it is and when, never when it was computed."""
        return f"{self.kind}.{self.ref.replace(':', '.').replace('/', '.')}.{self.date}@cgt-tracker"

    def as_json(self) -> dict[str, Any]:
        # "kind" and "step" as `tracker upcoming --json` has always named them (item kind, step).
        return {
            "id": self.item_id, "kind": self.item_kind, "jurisdiction": self.jurisdiction, "title_zh": self.title_zh,
            "title_en": self.title_en, "step": self.kind, "deadline": self.kind, "label": self.label,
            "date": self.date, "date_known": True, "precision": self.precision, "approximate": self.precision != "day",
            "starts": self.starts.isoformat(), "ends": self.ends.isoformat(), "ref": self.ref, "url": self.url,
            "note": self.note, "uid": self.uid,
        }


def period(text: str) -> tuple[dt.date, dt.date] | None:
    """First and last day a (partial) date may mean; None if it is not a date."""
    try:
        found = parse_partial(text[:10])
    except ValueError:
        return None
    start = found.start
    if found.precision == "day":
        return start, start
    if found.precision == "month":
        return start, dt.date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)
    return start, dt.date(start.year, 12, 31)


def _first_url(attributes: str) -> str:
    urls = json.loads(attributes or "{}").get("urls")
    if isinstance(urls, list) and urls and isinstance(urls[0], str):
        return urls[0]
    return urls if isinstance(urls, str) else ""


def from_record(store: EventStore, first: dt.date, last: dt.date | None) -> Iterator[Deadline]:
    query = (
        sa.select(record_steps.c.item_id, record_steps.c.step, record_steps.c.date, record_steps.c.note,
                  record_items.c.kind, record_items.c.jurisdiction, record_items.c.title_zh,
                  record_items.c.title_en, record_items.c.attributes)
        .join(record_items, record_items.c.id == record_steps.c.item_id)
        # Text order prefilter: a date whose year is before the window's cannot fall in it, nor one
        # after its last day ("2027-01" > "2026-12-31"; "2026" and "2026-12" still compare below it).
        .where(record_steps.c.date >= str(first.year))
    )
    if last is not None:
        query = query.where(record_steps.c.date <= last.isoformat())
    with store.db.read() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        span = period(row.date)
        if span is None or span[1] < first or (last is not None and span[0] > last):
            continue
        yield Deadline(row.step, row.date, span[0], span[1], f"item:{row.item_id}", row.item_id, row.jurisdiction,
                       row.kind, row.title_zh, row.title_en, _first_url(row.attributes), row.note or "")


def from_registers(store: EventStore, first: dt.date, last: dt.date | None) -> Iterator[Deadline]:
    # A scan of the log by type: a read model of register entries (issue 13) should replace it.
    found = []
    for event in store.read(types=[v.REGISTER_ENTRY_ADDED]):
        p = event.payload
        fields = p.get("fields") or {}
        closes = next((str(fields[f]) for f in COMMENT_FIELDS if isinstance(fields, dict) and fields.get(f)), None)
        span = period(closes) if closes else None
        if closes is not None and span is not None and span[1] >= first and (last is None or span[0] <= last):
            found.append((p, fields, closes, span))
    with store.db.read() as conn:
        index = load_refs(conn, {f"source:{p.get('id', '')}" for p, *_ in found})
    for p, fields, closes, span in found:
        source_id = str(p.get("id", ""))
        info = index.get(f"source:{source_id}")
        yield Deadline(COMMENTS_CLOSE, closes[:10], span[0], span[1], f"entry:{source_id}/{p.get('entry_id', '')}",
                       source_id, (info.jurisdiction if info else None) or "US", "register-entry", "",
                       str(p.get("title") or p.get("entry_id") or ""), str(p.get("url") or ""),
                       str(fields.get("type") or "") if isinstance(fields, dict) else "")


# Each source yields the deadlines whose period meets [first, last] (no end: last is None).
SOURCES: tuple[Callable[[EventStore, dt.date, dt.date | None], Iterable[Deadline]], ...] = (from_record, from_registers)


def collect(
    store: EventStore, *, today: dt.date | None = None, days: int | None = None, jurisdictions: Iterable[str] = (),
) -> list[Deadline]:
    """Deadlines not yet past (today included; a month or a year until its last day) that start
    within `days` days (given), soonest first. The record projection must be caught up by the caller."""
    day = today or store.clock().date()
    last = day + timedelta(days=days) if days is not None else None
    wanted = set(jurisdictions)
    found = []
    for source in SOURCES:
        for deadline in source(store, day, last):
            if deadline.ends < day:
                continue
            if last is not None and deadline.starts > last:
                continue
            if wanted and deadline.jurisdiction not in wanted:
                continue
            found.append(deadline)
    return sorted(found, key=lambda d: (d.starts, d.jurisdiction, d.ref, d.kind))
