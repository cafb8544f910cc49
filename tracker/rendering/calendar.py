"""iCalendar (RFC 5545) files written with the icalendar library: one all-day event per due date.

UIDs come from what a deadline is (its kind, item and date), never from when the file was made, so
a calendar client that subscribes to or re-imports the file updates its events instead of adding
copies. DTSTAMP is the time of the log head the file was made from: the same log gives the same
bytes. A date of month or year precision spans its whole period (DTEND is exclusive).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from tracker.rendering.views import CalendarEntry

PRODID = "-//CGT Regulatory Tracker//tracker//EN"


def render_calendar(entries: Iterable[CalendarEntry], *, name: str, stamp: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.starts)
        event.add("dtend", entry.ends + timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        if entry.url:
            event.add("url", entry.url)
        event.add("categories", [entry.jurisdiction, entry.kind])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
