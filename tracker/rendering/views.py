"""View dataclasses: everything a template sees, and nothing else.

Text here is plain text (titles, notes, fetched diff lines); the templates escape it for their
format (HTML and Atom by Jinja2's autoescape, Markdown by the `md` filter), so fetched text can
never inject markup. Control characters that XML forbids are stripped when a view is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tracker.domain.dates import NOT_GIVEN, basis_note
from tracker.domain.reporting import clean as clean  # re-exported: every view cleans text the same way


def when(date: str | None, basis: str | None = None) -> str:
    """A real-world date for readers: "2025-09", "2025 (the review's date, ...)" or "date not given"."""
    if not date:
        return NOT_GIVEN
    note = basis_note(basis)
    return f"{date} ({note})" if note else date


@dataclass(frozen=True, slots=True)
class HeadView:
    position: int
    hash: str
    checkpoint: str = ""  # the latest signed checkpoint note at or below this head ("" when none is kept)

    @property
    def line(self) -> str:
        """The witness line every digest and changelog carries (parsed by `tracker verify --witness`)."""
        return f"Log head: position {self.position}, hash {self.hash}"


# Not frozen, unlike the other views: a changelog builds one per reported event of the log, and a
# frozen dataclass's __init__ (object.__setattr__ per field) took three times as long (measured:
# 13.4 against 4.6 us for 20 fields). Nothing changes a row once built (dataclasses.replace copies).
@dataclass(slots=True)
class ChangeRow:
    """One event as a reader sees it: a step of a regulatory item or a change of a monitored page."""

    position: int
    event_hash: str
    section: str  # "item" or "page"
    ref_id: str
    jurisdiction: str
    kind: str
    title_zh: str
    title_en: str
    label: str  # "published", "takes effect", "page changed", ...
    category: str  # Keep a Changelog: Added, Changed, Deprecated, Removed, Fixed
    date: str  # the real-world date with the precision the source gives; "" when it gives none
    recorded_at: str  # when the tracker learned it (never shown as the date of the world)
    note: str
    url: str
    excerpt: tuple[str, ...] = ()
    excerpt_truncated: bool = False
    date_basis: str = ""  # where the date comes from when the source does not state it (domain.dates.DATE_BASIS_NOTES)
    marks: tuple[str, ...] = ()  # the item's flags and provenance (digest_index.item_marks)
    provenance: str = ""  # a step from outside the review: its source

    @property
    def dated(self) -> bool:
        return bool(self.date)

    @property
    def year(self) -> str:
        return self.date[:4]

    @property
    def when(self) -> str:
        """The date of the world as a reader sees it: as given, with its basis when not stated, or "date not given"."""
        return when(self.date, self.date_basis)

    @property
    def date_note(self) -> str:
        """Where the date comes from when the source does not state it ("" when it does)."""
        return basis_note(self.date_basis) if self.date else ""

    @property
    def recorded_day(self) -> str:
        return self.recorded_at[:10]


@dataclass(frozen=True, slots=True)
class JurisdictionGroup:
    code: str
    name: str
    rows: tuple[ChangeRow, ...]


# Not frozen either, for the same reason: a digest builds one of these per date due, item and page
# (in bench_formats 145, 175 and 75: 0.6 ms of object.__setattr__ when frozen). Built once, never changed.
@dataclass(slots=True)
class UpcomingRow:
    """A date due: an item taking effect, a comment period closing, another dated step."""

    date: str
    item_id: str
    jurisdiction: str
    kind: str
    title_zh: str
    title_en: str
    note: str
    label: str = "takes effect"
    url: str = ""


@dataclass(slots=True)  # not frozen: see UpcomingRow
class ItemEntry:
    """Digest: one item (or one official register entry) with every step of the period under it."""

    ref_id: str
    jurisdiction: str
    kind: str
    title_zh: str
    title_en: str
    url: str
    status: str  # the item's status now ("" when it has none)
    status_when: str  # its date as given, or "date not given"
    action: str  # why it is listed: "status change", "new official document", "changed", "new in the record"
    steps: tuple[ChangeRow, ...]
    marks: tuple[str, ...] = ()  # the item's flags and provenance, shown under its title


@dataclass(slots=True)  # not frozen: see UpcomingRow
class PageEntry:
    """Digest: one monitored page whose changes no item of the record explains yet."""

    source_id: str
    jurisdiction: str
    title: str
    url: str
    changes: int
    first_seen: str
    last_seen: str
    excerpt: tuple[str, ...]
    excerpt_truncated: bool


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Digest: the sources failing with one failure class, counted, with their hosts."""

    error_class: str
    state: str
    count: int
    hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WelcomeView:
    """The first digest of a subscription: what it covers, before any change is listed."""

    matching_items: int
    due: tuple[UpcomingRow, ...]
    attention: tuple[FailureGroup, ...]


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One all-day event of the iCalendar file: a due date of the record or a register entry."""

    uid: str
    starts: dt.date
    ends: dt.date  # inclusive: the last day a month- or year-precision date may mean
    summary: str
    description: str
    url: str
    jurisdiction: str
    kind: str


@dataclass(frozen=True, slots=True)
class AwaitingRow:
    """An open triage proposal, as digests show it: awaiting an analyst's decision."""

    id: str
    jurisdiction: str
    step: str
    kind: str
    title_zh: str
    title_en: str
    when: str           # the official date as given, or "date not given"
    url: str
    evidence: str       # where it was seen: source and event position
    match: str          # the item it would change, or "" for a new item


@dataclass(frozen=True, slots=True)
class DigestView:
    """One digest, in the order a reader acts on it: documents and status changes, dates due,
    page changes not yet tied to an item, reported figures, sources needing attention."""

    subscription_id: str
    subscription_name: str
    filters: str
    cadence: str
    period_start: str
    period_end: str
    generated_at: str
    head: HeadView
    count: int  # entries listed: items, register entries, pages and figures
    summary: str  # what the subject says after the name
    welcome: WelcomeView | None
    actions: tuple[ItemEntry, ...]
    due: tuple[UpcomingRow, ...]
    due_days: int
    pages: tuple[PageEntry, ...]
    figures: tuple[ItemEntry, ...]
    attention: tuple[FailureGroup, ...]
    unsubscribe_url: str
    awaiting: tuple[AwaitingRow, ...] = ()     # open triage proposals its filters match


@dataclass(frozen=True, slots=True)
class DateGroup:
    """Changelog: one date, then its entries by jurisdiction."""

    date: str
    groups: tuple[JurisdictionGroup, ...]


@dataclass(frozen=True, slots=True)
class YearGroup:
    """Timeline: one year, then its entries by jurisdiction."""

    year: str
    groups: tuple[JurisdictionGroup, ...]
    count: int


@dataclass(frozen=True, slots=True)
class ChangelogView:
    title: str
    generated_at: str
    head: HeadView
    jurisdictions: tuple[str, ...]
    kinds: tuple[str, ...]
    since: str | None
    count: int
    dates: tuple[DateGroup, ...] = ()
    undated: tuple[JurisdictionGroup, ...] = ()  # Markdown: entries whose source gives no date
    undated_count: int = 0
    years: tuple[YearGroup, ...] = ()
    entries: tuple[ChangeRow, ...] = ()  # Atom: newest first
    awaiting: tuple[AwaitingRow, ...] = ()  # open triage proposals: not in the record until accepted
    feed_id: str = ""
    link: str = ""
