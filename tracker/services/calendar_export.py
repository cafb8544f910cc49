"""The calendar of due dates (`tracker calendar`, and beside the changelogs): deadlines as iCalendar."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.domain import choices
from tracker.errors import ExportFileError
from tracker.files import write_replacing
from tracker.rendering import CalendarEntry, render_calendar
from tracker.services import deadlines
from tracker.services.deadlines import Deadline

if TYPE_CHECKING:
    from tracker.app import App

FILE_NAME = "deadlines.ics"


def entry(deadline: Deadline) -> CalendarEntry:
    title = " / ".join(t for t in (deadline.title_zh, deadline.title_en) if t)
    coarse = "" if deadline.precision == "day" else (
        f" The source gives only the {deadline.precision} ({deadline.date}): the event spans it.")
    description = (f"{deadline.label}: {deadline.date}.{coarse}\n{title}\n{deadline.ref}"
                   + (f"\n{deadline.note}" if deadline.note else "") + (f"\n{deadline.url}" if deadline.url else ""))
    return CalendarEntry(
        uid=deadline.uid, starts=deadline.starts, ends=deadline.ends,
        summary=f"[{deadline.jurisdiction}] {deadline.label}: {title}", description=description,
        url=deadline.url, jurisdiction=deadline.jurisdiction, kind=deadline.kind,
    )


def render(app: App, *, jurisdictions: Iterable[str] = (), now: datetime | None = None) -> tuple[bytes, int]:
    """The .ics bytes of every due date from today on (in these jurisdictions), and how many events."""
    wanted = choices.jurisdictions(jurisdictions)
    store = app.store
    head = store.head()
    app.fresh()
    today = (now or app.clock()).date()
    found = deadlines.collect(store, today=today, jurisdictions=wanted)
    stamp = (datetime.fromisoformat(head.recorded_at.replace("Z", "+00:00")) if head.recorded_at
             else datetime(1970, 1, 1, tzinfo=UTC))
    name = "CGT regulatory deadlines" + (f" ({', '.join(sorted(wanted))})" if wanted else "")
    return render_calendar(map(entry, found), name=name, stamp=stamp), len(found)


def write(
    app: App, target: Path, *, jurisdictions: Iterable[str] = (), now: datetime | None = None
) -> tuple[Path, int]:
    data, count = render(app, jurisdictions=jurisdictions, now=now)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_replacing(target, data)
    except OSError as exc:
        raise ExportFileError(f"{target}: cannot write: {exc.strerror}") from None
    return target, count
