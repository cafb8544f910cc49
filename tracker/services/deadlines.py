"""Dated obligations ahead, read from one place for `upcoming`, digests and the calendar.

A deadline is a kind (``effective``, ``comments_close``, or another dated step of the record), the
date as its source gives it, and what it belongs to (an item of the record, or an official register
entry). Sources of deadlines:

  * the record: every dated step of an item (``record_steps``): mostly instruments taking effect;
  * official register entries: the ``register_deadlines`` read model (a Federal Register comment
    period closing, ...), which callers bring up to date with the record projection.

Another source joins by adding a function to ``SOURCES`` that yields Deadline values.
A date of month or year precision counts from the first day of its period (the month-precision
rule, tracker.domain.dates) and is never given a day it does not have: ``ends`` is its last day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import EventStore
from tracker.core.rows import driver_rows
from tracker.domain.dates import parse_partial, precision_of
from tracker.schema.read_models import record_items, record_steps, register_deadlines, register_entries, sources

EFFECTIVE = "effective"
COMMENTS_CLOSE = "comments_close"  # as the register_entries read model names it
REGISTER_ENTRY = "register-entry"
LABELS = {EFFECTIVE: "takes effect", COMMENTS_CLOSE: "comments close", "drafted": "draft for comment",
          "trial": "issued for trial", "published": "published", "superseded": "superseded",
          "repealed": "repealed", "withdrawn": "withdrawn", "amended": "amended", "renamed": "renamed"}


# Not frozen: a digest makes one per date due (145 in bench_formats) and a frozen dataclass's
# __init__ (object.__setattr__ per field) took 3.2 us against 1.0. Nothing changes one once made.
@dataclass(slots=True)
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
    entry_id: str = ""  # a register entry's official id (its source is item_id)

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
        if self.item_kind == REGISTER_ENTRY:  # the row shape issue 13 gave register deadlines
            return {
                "id": self.entry_id, "kind": REGISTER_ENTRY, "jurisdiction": self.jurisdiction, "title_zh": "",
                "title_en": self.title_en, "step": self.kind, "date": self.date, "precision": "day",
                "approximate": False, "starts": self.starts.isoformat(), "deadline": self.kind,
                "source_id": self.item_id, "entry_id": self.entry_id, "url": self.url or None,
            }
        # "kind" and "step" as `tracker upcoming --json` has always named them (item kind, step).
        return {
            "id": self.item_id, "kind": self.item_kind, "jurisdiction": self.jurisdiction, "title_zh": self.title_zh,
            "title_en": self.title_en, "step": self.kind, "deadline": self.kind, "label": self.label,
            "date": self.date, "date_known": True, "precision": self.precision, "approximate": self.precision != "day",
            "starts": self.starts.isoformat(), "ends": self.ends.isoformat(), "ref": self.ref, "url": self.url,
            "note": self.note, "uid": self.uid,
        }


@lru_cache(maxsize=4096)  # a run meets the same few hundred dates again and again (items share them)
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


@lru_cache(maxsize=8192)  # an item's attributes come back unchanged run after run (digests, calendar)
def _first_url(attributes: str) -> str:
    urls = json.loads(attributes or "{}").get("urls")
    if isinstance(urls, list) and urls and isinstance(urls[0], str):
        return urls[0]
    return urls if isinstance(urls, str) else ""


def _not_ended(column: Any) -> Any:
    """Text order prefilter: dates whose period may end on or after the first day (bound as its
    ``month`` "YYYY-MM" and its ``year``). A day or a month before that month cannot ("2026-11-30" <
    "2026-12"), nor a year before its year; its year itself ("2026") sorts below its months and is
    asked for by name. ``period`` decides."""
    return sa.or_(column >= sa.bindparam("month"), column == sa.bindparam("year"))


def _record_query(bounded: bool) -> sa.Select[Any]:
    s, i = record_steps.c, record_items.c
    query = (
        sa.select(s.item_id, s.step, s.date, s.note, i.kind, i.jurisdiction, i.title_zh, i.title_en, i.attributes)
        .join(record_items, i.id == s.item_id)
        .where(_not_ended(s.date))
    )
    # nor one after the last day ("2027-01" > "2026-12-31"; "2026-12" still sorts below it)
    return query.where(s.date <= sa.bindparam("last")) if bounded else query


def _registers_query(bounded: bool) -> sa.Select[Any]:
    d, e = register_deadlines.c, register_entries.c
    query = (
        sa.select(d.source_id, d.entry_id, d.kind, d.date, e.title, e.url, e.type, sources.c.jurisdiction)
        .join(register_entries, sa.and_(e.source_id == d.source_id, e.entry_id == d.entry_id))
        .outerjoin(sources, sources.c.id == d.source_id)
        .where(d.date >= sa.bindparam("year"))
    )
    return query.where(d.date <= sa.bindparam("last")) if bounded else query  # last: with "~", after a time part


# Built once (without and with a last day), the window bound at execution: SQLAlchemy makes a
# statement's cache key once per statement object (about 0.1 ms a statement when built per call).
_RECORD = {bounded: _record_query(bounded) for bounded in (False, True)}
_REGISTERS = {bounded: _registers_query(bounded) for bounded in (False, True)}


def from_record(conn: Connection, first: dt.date, last: dt.date | None) -> Iterator[Deadline]:
    window = {"month": first.strftime("%Y-%m"), "year": str(first.year)}
    if last is not None:
        window["last"] = last.isoformat()
    for item_id, step, date, note, kind, jurisdiction, title_zh, title_en, attributes in driver_rows(
            conn, _RECORD[last is not None], window):
        span = period(date)
        if span is None or span[1] < first or (last is not None and span[0] > last):
            continue
        yield Deadline(step, date, span[0], span[1], f"item:{item_id}", item_id, jurisdiction, kind, title_zh,
                       title_en, _first_url(attributes), note or "")


def from_registers(conn: Connection, first: dt.date, last: dt.date | None) -> Iterator[Deadline]:
    """Deadlines of official register entries, from the register_entries read model (issue 13)."""
    window = {"year": str(first.year)}
    if last is not None:
        window["last"] = last.isoformat() + "~"  # "~" sorts after a time part
    for source_id, entry_id, kind, date, title, url, type_, jurisdiction in driver_rows(
            conn, _REGISTERS[last is not None], window):
        span = period(str(date))
        if span is None:
            continue  # a deadline the register wrote oddly: listed with its entry, not here
        yield Deadline(str(kind), str(date)[:10], span[0], span[1], f"entry:{source_id}/{entry_id}",
                       str(source_id), jurisdiction or "INTL", REGISTER_ENTRY, "", str(title or entry_id),
                       str(url or ""), str(type_ or ""), entry_id=str(entry_id))


# Each source yields the deadlines whose period meets [first, last] (no end: last is None), read
# in the caller's transaction.
SOURCES: tuple[Callable[[Connection, dt.date, dt.date | None], Iterable[Deadline]], ...] = (from_record, from_registers)


def collect(
    store: EventStore, *, today: dt.date | None = None, days: int | None = None, jurisdictions: Iterable[str] = (),
    conn: Connection | None = None,
) -> list[Deadline]:
    """Deadlines not yet past (today included; a month or a year until its last day) that start
    within `days` days (given), soonest first. The record projection must be caught up by the caller.

    Read in ``conn``'s transaction when given (a digest reads all it needs in one), else in one of its own."""
    if conn is None:
        with store.db.read() as own:
            return collect(store, today=today, days=days, jurisdictions=jurisdictions, conn=own)
    day = today or store.clock().date()
    last = day + timedelta(days=days) if days is not None else None
    wanted = set(jurisdictions)
    found = []
    for source in SOURCES:
        for deadline in source(conn, day, last):
            if deadline.ends < day:
                continue
            if last is not None and deadline.starts > last:
                continue
            if wanted and deadline.jurisdiction not in wanted:
                continue
            found.append(deadline)
    return sorted(found, key=lambda d: (d.starts, d.jurisdiction, d.ref, d.kind))
