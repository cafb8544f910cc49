"""Changelogs of the record: Markdown (Keep a Changelog), an Atom feed, a self-contained HTML timeline.

Entries are the events readers are told about (tracker.services.entries), dated by their real-world
date (valid_from, with its precision). An entry whose source gives no date is filed under "date not
given" with the day it was recorded beside it, never under that day. Atom entry ids are
urn:sha256:<event hash>, so regenerating a feed never shows a reader an entry twice. Every output
states the log head it was made from, which `tracker verify --witness` checks later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core.events import format_time
from tracker.core.rows import driver_rows
from tracker.domain import choices
from tracker.domain import vocabulary as v
from tracker.domain.dates import NOT_GIVEN
from tracker.domain.reporting import clean
from tracker.errors import ExportFileError, ValidationError
from tracker.files import write_replacing
from tracker.rendering import AwaitingRow, ChangelogView, ChangeRow, DateGroup, HeadView, YearGroup, render_changelog
from tracker.schema.read_models import changelog_rows, digest_index
from tracker.services import calendar_export, triage_digest
from tracker.services.checkpoints import latest_note
from tracker.services.entries import Shown, group_by_jurisdiction, stored_change_row
from tracker.services.subscribing import OWN_PROJECTIONS

if TYPE_CHECKING:
    from tracker.app import App

FORMATS = ("md", "atom", "html", "ics")
FILE_NAMES = {"md": "changelog.md", "atom": "changelog.atom", "html": "changelog.html", "ics": "deadlines.ics"}
ATOM_LIMIT = 500  # newest entries in the feed; readers keep what they saw, ids never change
TIMELINE_START = 1993
EXCERPT_IN_TIMELINE = 3


def _latest_day(date: str) -> str:
    """The last day a date of any precision may mean: 2025 -> 2025-12-31, 2025-09 -> 2025-09-31."""
    return (date[:10] + "-12-31"[len(date[:10]) - 4:]) if len(date[:10]) < 10 else date[:10]


def collect_rows(
    app: App, *, jurisdictions: Iterable[str] = (), since: str | None = None, newest: int | None = None,
) -> tuple[list[ChangeRow], HeadView, str | None]:
    """Every reported event as a row, position order, filtered; with the head it was read up to.

    Rows come from the changelog read model joined with the digest index, in one query. With
    `newest`, only the last that many rows are wanted (the Atom feed): read backwards, with the
    jurisdiction filter in the query, so a feed never reads the whole log."""
    rows, head, head_time, _ = _collect(app, jurisdictions, since, newest, awaiting=False)
    return rows, head, head_time


def _collect(
    app: App, jurisdictions: Iterable[str], since: str | None, newest: int | None, *, awaiting: bool,
) -> tuple[list[ChangeRow], HeadView, str | None, list[AwaitingRow]]:
    """collect_rows, and (``awaiting``) the open triage proposals: one freshness check for every read
    model they need, then one read transaction for the rows, the checkpoint note and the proposals."""
    if since is not None:
        since = choices.partial(since, "--since")
    wanted = set(choices.jurisdictions(jurisdictions))
    head = app.store.head()
    app.fresh(*OWN_PROJECTIONS, "changelog_rows", *(("proposals",) if awaiting else ()))
    with app.db.read() as conn:
        rows = _read(conn, head.position, wanted, newest if since is None else None)
        note = latest_note(app.db, head.position, conn=conn)
        proposals = [row for row, _ in triage_digest.awaiting(app, frozenset(wanted), conn=conn)] if awaiting else []
    if since is not None:  # an undated entry cannot be said to be on or after any date
        rows = [row for row in rows if row.dated and _latest_day(row.date) >= since]
    if newest is not None:
        rows = rows[-newest:]
    return rows, HeadView(head.position, head.hash, note), head.recorded_at, proposals


# A changelog row's columns (entries.stored_change_row): the stored row without its topics, and
# what it takes from the index: no topics, items or state, which only digests read.
_INDEX_COLUMNS = tuple(digest_index.c[name] for name in (
    "entry", "jurisdiction", "kind", "title_zh", "title_en", "url", "marks"))


def _row_columns() -> tuple[sa.ColumnElement[Any], ...]:
    """The stored row's columns in order, its titles only where the index has no entry for the row's
    item or page (where it has one, entries.stored_change_row shows the index's titles): two long
    texts fewer to read per row, in a changelog of thousands."""
    indexed = digest_index.c.ref.is_not(None)
    return tuple(
        sa.case((indexed, sa.null()), else_=c).label(c.name) if c.name in ("title_zh", "title_en") else c
        for c in changelog_rows.columns if c.name != "topics"
    )


_ROW_COLUMNS = _row_columns()


def _read(conn: Connection, until: int, wanted: set[str], newest: int | None) -> list[ChangeRow]:
    c, i = changelog_rows.c, digest_index.c
    query = (sa.select(*_ROW_COLUMNS, *_INDEX_COLUMNS)
             .select_from(changelog_rows.outerjoin(digest_index, i.ref == c.ref))
             .where(c.position <= until))
    if wanted:  # the row's jurisdiction, as entries.change_row decides it
        shown = sa.func.coalesce(sa.func.nullif(i.jurisdiction, ""), sa.func.nullif(c.jurisdiction, ""), "INTL")
        query = query.where(shown.in_(sorted(wanted)))
    query = query.order_by(c.position.desc()).limit(newest) if newest else query.order_by(c.position)
    width = len(_ROW_COLUMNS)
    known: dict[str, Shown | None] = {}
    rows = []
    for record in driver_rows(conn, query):
        ref = record[3]
        if ref not in known:  # each item's or page's index entry is taken once
            known[ref] = _shown(record[width:]) if record[width] is not None else None
        rows.append(stored_change_row(record, known[ref]))
    return rows[::-1] if newest else rows


def _shown(values: Sequence[Any]) -> Shown:
    _, jurisdiction, kind, title_zh, title_en, url, marks = values
    return Shown(
        jurisdiction, kind, title_zh, title_en, url, tuple(clean(m) for m in json.loads(marks)) if marks else ()
    )


def build_view(
    rows: Sequence[ChangeRow], head: HeadView, head_time: str | None, fmt: str, *,
    jurisdictions: Iterable[str] = (), since: str | None = None, now: datetime,
    awaiting: Sequence[AwaitingRow] = (),
) -> ChangelogView:
    rows = marks_once(rows)
    wanted = tuple(sorted({j.upper() for j in jurisdictions}))
    title = "CGT regulatory changelog" + (f" ({', '.join(wanted)})" if wanted else "")
    base = dict(
        title=title, generated_at=format_time(now), head=head, jurisdictions=wanted or tuple(v.JURISDICTIONS),
        kinds=tuple(sorted({r.kind for r in rows if r.kind})), since=since, count=len(rows),
        feed_id="urn:tracker:changelog" + (":" + "-".join(wanted).lower() if wanted else ""),
        link="", awaiting=tuple(awaiting),
    )
    if fmt == "md":
        by_date: dict[str, list[ChangeRow]] = {}
        for row in rows:
            by_date.setdefault(row.date, []).append(row)
        dates = tuple(DateGroup(d, group_by_jurisdiction(by_date[d])) for d in sorted(by_date, reverse=True) if d)
        undated = by_date.get("", [])
        return ChangelogView(**base, dates=dates, undated=group_by_jurisdiction(undated),  # type: ignore[arg-type]
                             undated_count=len(undated))
    if fmt == "atom":
        newest = tuple(reversed(rows[-ATOM_LIMIT:]))
        return ChangelogView(**{**base, "generated_at": head_time or format_time(now)}, entries=newest)  # type: ignore[arg-type]
    years = timeline_years(rows)
    return ChangelogView(**{**base, "count": sum(y.count for y in years)}, years=years)  # type: ignore[arg-type]


def marks_once(rows: Sequence[ChangeRow]) -> list[ChangeRow]:
    """An item's flags and provenance under its latest row only (the one a reader meets first,
    newest first), not repeated under every step of the item."""
    latest: dict[str, tuple[bool, str, int]] = {}
    for row in rows:
        if row.marks:
            key = (row.dated, row.date, row.position)
            latest[row.ref_id] = max(latest.get(row.ref_id, key), key)
    return [row if not row.marks or latest[row.ref_id][2] == row.position else replace(row, marks=())
            for row in rows]


def timeline_years(rows: Sequence[ChangeRow]) -> tuple[YearGroup, ...]:
    """The years that have entries, newest first (earlier than 1993 under "before 1993"), then the
    entries whose source gives no date in a group of their own ("date not given").

    Within a year entries run newest first, like the years. Steps of the record are listed one by
    one; the changes of one monitored page in one year are folded into one line (how many, first
    and last date, the latest diff excerpt) so the page stays small however busy monitoring is.
    """
    by_year: dict[str, list[ChangeRow]] = {}
    pages: dict[tuple[str, str], list[ChangeRow]] = {}
    for row in rows:
        year = NOT_GIVEN if not row.dated else row.year if row.year >= str(TIMELINE_START) else "before 1993"
        if row.section == "page":
            pages.setdefault((year, row.ref_id), []).append(row)
        else:
            by_year.setdefault(year, []).append(row)
    for (year, _), changes in pages.items():
        by_year.setdefault(year, []).append(_fold(changes))
    order = {NOT_GIVEN: "", "before 1993": "0"}
    result = []
    for year in sorted(by_year, key=lambda y: order.get(y, y), reverse=True):
        year_rows = sorted(by_year[year], key=lambda r: (r.date, r.position), reverse=True)
        result.append(YearGroup(year, group_by_jurisdiction(year_rows), len(year_rows)))
    return tuple(result)


def _fold(changes: list[ChangeRow]) -> ChangeRow:
    last = changes[-1]
    dates = sorted(c.date for c in changes)
    label = last.label if len(changes) == 1 else f"{last.label} ×{len(changes)}"
    note = dates[0] if len(changes) == 1 else f"{dates[0]} to {dates[-1]}"
    return ChangeRow(
        position=last.position, event_hash=last.event_hash, section="page", ref_id=last.ref_id,
        jurisdiction=last.jurisdiction, kind=last.kind, title_zh=last.title_zh, title_en=last.title_en,
        label=label, category=last.category, date=dates[-1], recorded_at=last.recorded_at, note=note,
        url=last.url, excerpt=last.excerpt[:EXCERPT_IN_TIMELINE],
        excerpt_truncated=last.excerpt_truncated or len(last.excerpt) > EXCERPT_IN_TIMELINE,
    )


def render(app: App, fmt: str, *, jurisdictions: Iterable[str] = (), since: str | None = None,
           now: datetime | None = None) -> str:
    """One changelog as text."""
    if fmt not in FORMATS or fmt == "ics":
        raise ValidationError(f"unknown changelog format {fmt!r} (use {', '.join(FORMATS)})")
    # Open triage proposals are listed apart from the record's entries (they are not in it yet).
    rows, head, head_time, awaiting = _collect(app, jurisdictions, since, ATOM_LIMIT if fmt == "atom" else None,
                                               awaiting=True)
    view = build_view(rows, head, head_time, fmt, jurisdictions=jurisdictions, since=since, now=now or app.clock(),
                      awaiting=awaiting)
    return render_changelog(view, fmt)


def write_changelogs(
    app: App, folder: Path | None = None, *, formats: Sequence[str] | None = None,
    jurisdictions: Iterable[str] = (), since: str | None = None, output_file: Path | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """Write changelog.md, changelog.atom, changelog.html and the calendar of due dates, deadlines.ics
    (or the formats asked) into a folder.

    The default folder is <home>/changelog/. With output_file, the one format asked goes there.
    Files are written under a temporary name and renamed, so a reader never sees half a file.
    """
    formats = tuple(formats or FORMATS)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValidationError(f"unknown changelog format(s) {', '.join(unknown)} (use {', '.join(FORMATS)})")
    if output_file is not None and len(formats) != 1:
        raise ValidationError("an output file takes exactly one format")
    jurisdictions = tuple(jurisdictions)
    now = now or app.clock()
    only_atom = formats == ("atom",)
    rows, head, head_time, awaiting = _collect(app, jurisdictions, since, ATOM_LIMIT if only_atom else None,
                                               awaiting=True)
    target_folder = folder if folder is not None else Path(app.settings.home) / "changelog"
    written: list[Path] = []
    for fmt in formats:
        if fmt == "ics":
            target = output_file if output_file is not None else target_folder / FILE_NAMES[fmt]
            written.append(calendar_export.write(app, target, jurisdictions=jurisdictions, now=now)[0])
            continue
        view = build_view(rows, head, head_time, fmt, jurisdictions=jurisdictions, since=since, now=now,
                          awaiting=awaiting)
        text = render_changelog(view, fmt)
        target = output_file if output_file is not None else target_folder / FILE_NAMES[fmt]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_replacing(target, text)
        except OSError as exc:
            raise ExportFileError(f"{target}: cannot write: {exc.strerror}") from None
        written.append(target)
    return written
