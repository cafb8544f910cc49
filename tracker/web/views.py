"""View dataclasses of the pages: everything a web template sees, and nothing else.

Two times are kept apart everywhere: ``world`` is when something happened in the world, as the
source gives it (with its precision, or "date not given"); ``recorded`` is when the tracker
learned it (transaction time). Text is plain; the templates escape it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tracker.domain.dates import NOT_GIVEN, precision_of
from tracker.services.history import ChangeTexts
from tracker.services.record_browse import ItemPage, ItemQuery
from tracker.services.record_queries import HistoryEntry
from tracker.services.replay import ItemState
from tracker.services.sources_admin import SourceView
from tracker.web.diffview import SideBySide


def world(date: str | None, basis: str | None = None) -> str:
    """A date of the world for readers: "2025-09 (month)", "2026-05-01", or "date not given"."""
    if not date:
        return NOT_GIVEN
    precision = precision_of(date)
    text = date if precision in (None, "day") else f"{date} ({precision})"
    return f"{text}, conventional date" if basis == "conventional" else text


def link(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", 0)}
    return f"{path}?{urlencode(kept)}" if kept else path


@dataclass(frozen=True, slots=True)
class RecordView:
    page: ItemPage
    facets: dict[str, list[str]]
    query: ItemQuery

    def page_link(self, number: int) -> str:
        q = self.query
        return link("/", jurisdiction=q.jurisdiction, kind=q.kind, status=q.status, topic=q.topic, q=q.q, page=number)


@dataclass(frozen=True, slots=True)
class TimelineStep:
    position: int
    world: str
    date_known: bool
    recorded: str
    step: str
    summary: str
    evidence: str  # the seed file, fetch, register entry or triage decision that caused it
    actor: str
    type: str

    @classmethod
    def of(cls, entry: HistoryEntry) -> TimelineStep:
        return cls(entry.position, world(entry.valid_from, entry.date_basis), bool(entry.valid_from), entry.recorded_at,
                   entry.step or entry.type, entry.summary, entry.cause or "", entry.actor or "", entry.type)


@dataclass(frozen=True, slots=True)
class PageChange:
    """A stored version of one of the item's monitored pages: evidence a reader can open side by side."""

    source_id: str
    version_id: int
    fetched_at: str  # recorded time
    position: int | None
    first: bool  # the baseline (nothing before it)


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: dict[str, Any]
    status_world: str
    urls: tuple[str, ...]
    citation: str
    notes: str
    structure: tuple[str, ...]  # flags, provenance, classes, stages, time limits (domain.record.structure_lines)
    steps: tuple[dict[str, Any], ...]
    relations: tuple[dict[str, Any], ...]
    related_by: tuple[dict[str, Any], ...]
    sources: tuple[dict[str, Any], ...]
    timeline: tuple[TimelineStep, ...]
    head_position: int
    today: str
    page_changes: tuple[PageChange, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplayView:
    as_of: str
    valid_at: str
    jurisdiction: str
    kind: str
    position: int  # the log position as_of resolved to
    states: tuple[ItemState, ...]
    link: str
    ran: bool

    @staticmethod
    def world(state: ItemState) -> str:
        return world(state.status_date, state.date_basis)


@dataclass(frozen=True, slots=True)
class SourcesView:
    sources: tuple[SourceView, ...]
    state: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class VersionRow:
    id: int
    fetched_at: str
    position: int | None
    content_hash: str
    snapshot: str


@dataclass(frozen=True, slots=True)
class SourceDetail:
    source: SourceView
    versions: tuple[VersionRow, ...]


@dataclass(frozen=True, slots=True)
class ChangeView:
    source: SourceView
    change: ChangeTexts
    diff: SideBySide
