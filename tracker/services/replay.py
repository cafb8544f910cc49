"""Bitemporal replay: the record as the tracker knew it (as-of) of the world on a day (valid-at).

``replay(store, as_of, valid_at)`` folds the log up to the as-of position with the record's one
fold (tracker.domain.record_fold, the record projection's too), then evaluates each item on the
valid-at day from its live steps (a step correction takes a step already folded back, so the
fold keeps each item's steps: a small tuple per step).

Rules (month-precision rule in tracker.domain.dates; status rules in tracker.domain.record):
  * as_of: a position (int), a moment (datetime: the last position recorded at or before it), or
    None for the head. An item recorded after as_of is absent.
  * valid_at: a day (default: today by the store's clock). A step counts if its date, read as the
    first day of its period ("2025-09" -> 2025-09-01), is on or before valid_at.
  * An item is part of the world from its first dated step. An item the source gives no date for
    at all is known to exist but not since when: it is shown on every valid-at day with its status
    marked ``date_known: false`` ("date not given"), never dated by the day it was recorded, unless
    ``dated_only`` asks for items with a dated status only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tracker.core import EventStore
from tracker.core.collector import collector_paused
from tracker.core.projector import log_skipped
from tracker.domain import vocabulary as v
from tracker.domain.dates import precision_of
from tracker.domain.record import RECORD_TYPES, is_record_stream, is_registration
from tracker.domain.record_fold import ItemFold, apply
from tracker.errors import NotFoundError


@dataclass(frozen=True)
class ItemState:
    """One item as known at as_of, of the world on valid_at."""

    id: str
    kind: str
    jurisdiction: str
    title_zh: str
    title_en: str
    issuer: str | None
    discipline: str | None
    topics: list[str]
    status: str | None
    status_date: str | None
    recorded_at: str
    registered_position: int
    # Where status_date comes from (seeds/README.md: stated, cited-source, review, title, external);
    # None when the step that set the status does not say (read: stated).
    date_basis: str | None = None

    @property
    def precision(self) -> str | None:
        return precision_of(self.status_date)

    @property
    def date_known(self) -> bool:
        return self.status_date is not None

    def as_json(self) -> dict[str, Any]:
        precision = self.precision
        return {
            "id": self.id, "kind": self.kind, "jurisdiction": self.jurisdiction,
            "title_zh": self.title_zh, "title_en": self.title_en, "issuer": self.issuer,
            "discipline": self.discipline, "topics": self.topics, "status": self.status,
            "status_date": self.status_date, "date_known": self.date_known, "precision": precision,
            "approximate": precision is not None and precision != "day",
            "recorded_at": self.recorded_at, "registered_position": self.registered_position,
            "date_basis": self.date_basis,
        }


def state_of(fold: ItemFold, recorded_at: str, valid_at: date) -> ItemState:
    """The item of a fold on the valid-at day: its steps that start by then, folded."""
    r = fold.record or {}
    on_day = fold.at(valid_at)
    title_zh, title_en = fold.title_by(on_day.naming)
    return ItemState(
        id=fold.id, kind=fold.kind, jurisdiction=r["jurisdiction"], title_zh=title_zh, title_en=title_en,
        issuer=r.get("issuer"), discipline=r.get("discipline"), topics=list(r.get("topics") or []),
        status=on_day.status, status_date=on_day.status_date, recorded_at=recorded_at,
        registered_position=fold.registered_position, date_basis=on_day.date_basis,
    )


def resolve_as_of(store: EventStore, as_of: int | datetime | None) -> int:
    """The last position an as-of value means (head for None)."""
    if as_of is None:
        return store.head().position
    if isinstance(as_of, datetime):
        return store.position_at(as_of)
    if as_of < 0:
        raise NotFoundError(f"position {as_of} does not exist (positions start at 1)")
    return min(as_of, store.head().position)


def replay(
    store: EventStore,
    as_of: int | datetime | None = None,
    valid_at: date | None = None,
    jurisdiction: str | None = None,
    kind: str | None = None,
    dated_only: bool = False,
) -> list[ItemState]:
    """Items known at as_of that exist on valid_at (default today), sorted by jurisdiction and id.

    ``kind`` is an item kind, or ``instrument`` for laws, regulations, directives and guidances.
    ``dated_only`` leaves out items whose status on valid_at has no date (``date_known`` false).
    """
    until = resolve_as_of(store, as_of)
    day = valid_at or store.clock().date()
    folds: dict[str, ItemFold] = {}
    recorded: dict[str, str] = {}
    # As-of is the read's bound; valid-at is applied to each fold's steps at the end (state_of). The
    # folds keep every step, cycle-free tuples the collector would walk again and again (a quarter
    # of the replay, measured): paused as for a rebuild.
    with collector_paused():
        for event in store.read(until=until, types=RECORD_TYPES) if until > 0 else ():
            if not is_record_stream(event.stream):
                continue
            try:
                fold = apply(folds, event)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                log_skipped("replay", event, exc)
                continue
            if fold is not None and is_registration(event):
                recorded[fold.id] = event.recorded_at
    states = []
    for fold in folds.values():
        first = fold.first_start
        if first is not None and first > day:
            continue  # its first dated step comes later: not yet part of the world
        state = state_of(fold, recorded[fold.id], day)
        if dated_only and not state.date_known:
            continue
        if jurisdiction and state.jurisdiction != jurisdiction.upper():
            continue
        if kind and not (state.kind == kind or (kind == "instrument" and state.kind in v.INSTRUMENT_KINDS)):
            continue
        states.append(state)
    return sorted(states, key=lambda s: (s.jurisdiction, s.id))
