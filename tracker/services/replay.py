"""Bitemporal replay: the record as the tracker knew it (as-of) of the world on a day (valid-at).

``replay(store, as_of, valid_at)`` folds the log up to the as-of position and evaluates each item
on the valid-at day, in one streaming pass holding one small state per item (never the steps).

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

from tracker.core import EventStore, RecordedEvent
from tracker.core.projector import log_skipped
from tracker.domain import vocabulary as v
from tracker.domain.dates import precision_of, start_of
from tracker.domain.record import (
    REGISTRATION_STATUS,
    RECORD_TYPES,
    apply_correction,
    is_record_stream,
    is_registration,
    registration_step,
    replaced_step,
    replacement_step,
    step_status,
)
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


class _Fold:
    """The state of one item on the valid-at day, updated event by event."""

    __slots__ = ("record", "position", "recorded_at", "folded_start", "steps_start", "status", "status_date",
                 "status_start", "title", "title_start", "date_basis", "seen")

    def __init__(self, event: RecordedEvent, valid_at: date) -> None:
        self.record = dict(event.payload)
        self.position = event.position
        self.recorded_at = event.recorded_at
        self.folded_start: date | None = None  # the date the registration itself carries
        self.steps_start: date | None = None  # the earliest of the other dated steps
        self.status: str | None = REGISTRATION_STATUS.get(self.record["kind"])
        self.status_date: str | None = None
        self.status_start: date | None = None
        self.title: tuple[str, str] | None = None
        self.title_start: date | None = None
        self.date_basis: str | None = None
        # The status-bearing steps folded so far (status, date, start, basis), in log order: a
        # corrected registration date that held the status is folded again with them.
        self.seen: list[tuple[str, str | None, date, str | None]] = []
        folded = registration_step(event.payload)
        if folded is not None:
            start = start_of(folded["date"])
            self.folded_start = start
            if start is not None and start <= valid_at:
                self.status_date, self.status_start, self.date_basis = folded["date"], start, folded.get("date_basis")

    def step(self, payload: dict[str, Any], valid_at: date) -> None:
        start = start_of(payload.get("date"))
        if start is None:
            return
        if self.steps_start is None or start < self.steps_start:
            self.steps_start = start
        if start > valid_at:
            return
        status = step_status(self.record["kind"], str(payload.get("step")))
        if status is not None:
            self.seen.append((status, payload.get("date"), start, payload.get("date_basis")))
            if self.status_start is None or start >= self.status_start:
                self.status, self.status_date, self.status_start = status, payload.get("date"), start
                self.date_basis = payload.get("date_basis")
        if payload.get("step") == "renamed" and payload.get("title_zh") and (self.title_start is None or start >= self.title_start):
            self.title = (payload["title_zh"], payload.get("title_en") or self.record["title_en"])
            self.title_start = start

    def correct(self, changes: dict[str, Any], valid_at: date) -> None:
        self.record = apply_correction(self.record, changes)
        if "step_folded" in changes:
            old = registration_step({"step_folded": changes["step_folded"].get("old")})
            new = registration_step({"step_folded": changes["step_folded"].get("new")})
            start = start_of(new["date"]) if new else None
            self.folded_start = start
            # The status the registration gave is folded again from its corrected date and the
            # steps seen so far, as the record projection does (domain.record.refold_status).
            if self.status_date == (old["date"] if old else None):
                self.status, self.status_date, self.status_start = REGISTRATION_STATUS.get(self.record["kind"]), None, None
                self.date_basis = None
                if new is not None and start is not None and start <= valid_at:
                    self.status_date, self.status_start, self.date_basis = new["date"], start, new.get("date_basis")
                for status, day, begins, basis in self.seen:
                    if self.status_start is None or begins >= self.status_start:
                        self.status, self.status_date, self.status_start, self.date_basis = status, day, begins, basis

    @property
    def first_start(self) -> date | None:
        starts = [s for s in (self.folded_start, self.steps_start) if s is not None]
        return min(starts) if starts else None

    def state(self) -> ItemState:
        r = self.record
        title_zh, title_en = self.title or (r["title_zh"], r["title_en"])
        status = self.status
        if r["kind"] in v.LIFECYCLE_KINDS and self.status_start is None:
            status = None  # no status-bearing step by valid_at (e.g. undated in the source)
        return ItemState(
            id=str(r["id"]), kind=r["kind"], jurisdiction=r["jurisdiction"], title_zh=title_zh, title_en=title_en,
            issuer=r.get("issuer"), discipline=r.get("discipline"), topics=list(r.get("topics") or []),
            status=status, status_date=self.status_date, recorded_at=self.recorded_at,
            registered_position=self.position, date_basis=self.date_basis,
        )


def _apply(fold: _Fold, event: RecordedEvent, day: date) -> None:
    if event.type == v.ITEM_CORRECTED:
        fold.correct(event.payload.get("changes") or {}, day)
    elif "step" in event.payload:
        fold.step(event.payload, day)


def _refold(events: list[RecordedEvent], day: date) -> _Fold:
    """One item's stream, with every step a later StepCorrected replaces left out and each
    replacement folded where the correction was recorded."""
    replaced: dict[tuple[str, str], int] = {}  # (step, date) -> position of the last correction replacing it
    for event in events:
        old = replaced_step(event.payload) if event.type == v.STEP_CORRECTED else None
        if old is not None:
            replaced[old] = event.position
    fold: _Fold | None = None
    for event in events:
        if is_registration(event):
            fold = _Fold(event, day)
            continue
        if fold is None:
            continue
        step = replacement_step(event.payload) if event.type == v.STEP_CORRECTED else event.payload
        if step is None or (event.type != v.STEP_CORRECTED and "step" not in step):
            _apply(fold, event, day)  # ItemCorrected, or a retraction (nothing to fold)
            continue
        if replaced.get((str(step.get("step")), str(step.get("date"))), 0) > event.position:
            continue  # replaced by a correction recorded later
        fold.step(step, day)
    assert fold is not None  # the stream was found through its registration
    return fold


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
    items: dict[str, _Fold] = {}
    streams: dict[str, str] = {}
    corrected: set[str] = set()
    if until > 0:
        for event in store.read(until=until, types=RECORD_TYPES):
            if not is_record_stream(event.stream):
                continue
            item_id = str(event.payload.get("id"))
            try:
                if is_registration(event):
                    items[item_id] = _Fold(event, day)
                    streams[item_id] = event.stream
                elif event.type == v.STEP_CORRECTED:
                    corrected.add(item_id)
                elif item_id in items:
                    _apply(items[item_id], event, day)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                log_skipped("replay", event, exc)
    # A step correction takes back a step already folded: the few items with one are folded again
    # from their own stream (the pass above keeps no steps, only each item's state).
    for item_id in sorted(corrected & set(streams)):
        items[item_id] = _refold(list(store.read(stream=streams[item_id], until=until)), day)
    states = []
    for fold in items.values():
        first = fold.first_start
        if first is not None and first > day:
            continue  # its first dated step comes later: not yet part of the world
        state = fold.state()
        if dated_only and not state.date_known:
            continue
        if jurisdiction and state.jurisdiction != jurisdiction.upper():
            continue
        if kind and not (state.kind == kind or (kind == "instrument" and state.kind in v.INSTRUMENT_KINDS)):
            continue
        states.append(state)
    return sorted(states, key=lambda s: (s.jurisdiction, s.id))
