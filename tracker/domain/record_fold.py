"""The one fold of the regulatory record: the state of one item, event by event.

The record projection (incremental and rebuild), the replay, seeding (what the record holds, to
diff a seed against) and the digest index all fold an item's events here; the rules themselves
(which step gives which status, which date wins) are record.py's.

The state is the item's attributes (``record``: the registration's payload with every
ItemCorrected applied), its live steps in log order (a StepCorrected takes the steps it replaces
out and puts its new step in at its own position) and what they give: the status with its date,
and the name (the latest-dated rename with a title names the item; on equal start the one
recorded later). ``status`` and ``naming`` are always what folding ``steps`` from scratch gives:
``add`` appends one step, which is that fold's next move, and every correction folds again.

A reader may keep the steps (``steps`` a list: replay, seeding) or not (``steps`` None: the record
projection keeps them in record_steps, and loads them only for the few events that fold again).
The state is changed in place: a rebuild folds a million events, and a new object each would
cost more than the fold (bench/bench_projections.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

from tracker.core import RecordedEvent
from tracker.domain import vocabulary as v
from tracker.domain.dates import start_of
from tracker.domain.payloads import ItemCorrection, Registration, Step, StepCorrection
from tracker.domain.record import REGISTRATION_STATUS, STEP_STATUS, apply_correction, is_registration, step_status

# Fields an ItemCorrected cannot change: the item's id and kind fix its stream.
_FIXED = frozenset({"id", "kind"})


class Entry(NamedTuple):
    """One live step of an item: the step, where it was recorded, when it starts, and the key of
    the event that recorded it (seeding finds the steps seeds wrote by it)."""

    position: int
    step: Step
    start: date | None
    registration: bool = False
    key: str | None = None


class Evaluation(NamedTuple):
    """What a list of steps gives: status, its date, that date's start and basis, the naming step."""

    status: str | None
    status_date: str | None
    status_start: date | None
    date_basis: str | None
    naming: Entry | None


# step_status of every (kind, step), looked up once per fold rather than worked out per step.
_STATUSES: dict[str, dict[str, str | None]] = {
    kind: {step: step_status(kind, step) for step in (*v.STEP_EVENTS, *STEP_STATUS)} for kind in REGISTRATION_STATUS
}


def entry(position: int, step: Step, key: str | None = None, registration: bool = False) -> Entry:
    return Entry(position, step, start_of(step.date), registration, key)


def _names(item: Entry, naming: Entry | None) -> bool:
    """Does this rename take the name over from the current naming one?"""
    if item.step.title_zh is None or item.start is None:
        return False
    return naming is None or naming.start is None or item.start >= naming.start


def evaluate(kind: str, steps: Iterable[Entry]) -> Evaluation:
    """Status and name from an item's steps in log order (record.py's rules)."""
    status, status_date, status_start, basis = REGISTRATION_STATUS.get(kind), None, None, None
    naming = None
    for item in steps:
        if item.registration:
            status, status_date, status_start = REGISTRATION_STATUS.get(kind), item.step.date, item.start
            basis = item.step.date_basis
            continue
        new = step_status(kind, item.step.step)
        # An undated step (the seeds refuse one) never takes the status.
        if new is not None and item.start is not None and (status_start is None or item.start >= status_start):
            status, status_date, status_start, basis = new, item.step.date, item.start, item.step.date_basis
        if item.step.step == "renamed" and _names(item, naming):
            naming = item
    return Evaluation(status, status_date, status_start, basis, naming)


class ItemFold:
    """The state of one item. ``record`` may be None where a reader has not loaded the attributes
    (the projection's light rows); ``steps`` None where it does not keep the steps."""

    __slots__ = ("id", "kind", "record", "registered_position", "updated_position", "steps", "status", "status_date",
                 "status_start", "date_basis", "naming", "latest", "_statuses")

    def __init__(self, item_id: str, kind: str, record: dict[str, Any] | None, registered_position: int,
                 steps: list[Entry] | None) -> None:
        self.id, self.kind, self.record = item_id, kind, record
        self.registered_position = self.updated_position = registered_position
        self.steps = steps
        self.status: str | None = REGISTRATION_STATUS.get(kind)
        self.status_date: str | None = None
        self.status_start: date | None = None
        self.date_basis: str | None = None
        self.naming: Entry | None = None
        # No step starts after this (an upper bound: a correction may have taken the latest out).
        self.latest: date | None = None
        self._statuses = _STATUSES.get(kind, {})

    @classmethod
    def registered(
        cls, registration: Registration, position: int, keep_steps: bool = True, key: str | None = None
    ) -> ItemFold:
        fold = cls(registration.id, registration.kind, dict(registration.record), position, [] if keep_steps else None)
        if registration.folded is not None:
            first = entry(position, registration.folded, key, registration=True)
            if fold.steps is not None:
                fold.steps.append(first)
            fold.status_date, fold.status_start, fold.date_basis = first.step.date, first.start, first.step.date_basis
            fold.latest = first.start
        return fold

    # -- the events ----------------------------------------------------------------------------

    def add(self, position: int, step: Step, key: str | None = None) -> None:
        """A step recorded after every step folded so far (the fold's next move: the same as
        evaluate() of the steps with this one appended, without going over them again)."""
        start = start_of(step.date)
        if self.steps is not None:
            self.steps.append(Entry(position, step, start, False, key))
        if start is not None and (self.latest is None or start > self.latest):
            self.latest = start
        new = self._statuses.get(step.step)
        if new is not None and start is not None and (self.status_start is None or start >= self.status_start):
            self.status, self.status_date, self.status_start, self.date_basis = new, step.date, start, step.date_basis
        if step.step == "renamed":  # rare: the rule is _names', as evaluate() applies it
            renamed = Entry(position, step, start, False, key)
            if _names(renamed, self.naming):
                self.naming = renamed
        self.updated_position = position

    def correct(self, correction: ItemCorrection, position: int) -> list[int]:
        """An ItemCorrected: fields take their new value; a corrected ``step_folded`` replaces the
        registration's step; a ``step:<type>:<date>`` change replaces the payload of those steps
        recorded before it. Gives the positions of the steps whose payload changed."""
        changes = {name: {"old": c.old, "new": c.new} for name, c in correction.changes.items() if name not in _FIXED}
        if self.record is not None:
            self.record = apply_correction(self.record, changes)
        touched: list[int] = []
        if "step_folded" in changes:
            touched.extend(self._refold_registration(changes["step_folded"]["new"]))
        for name, change in correction.changes.items():
            if name.startswith("step:") and self.steps is not None and isinstance(change.new, dict):
                _, step, day = name.split(":", 2)
                for index, item in enumerate(self.steps):
                    if (
                        item.step.step == step
                        and item.step.date == day
                        and not item.registration
                        and item.position < position
                    ):
                        self.steps[index] = item._replace(step=Step.from_payload(change.new, self.id))
                        touched.append(item.position)
        if touched:
            self.refold()
        self.updated_position = position
        return touched

    def _refold_registration(self, new: Any) -> list[int]:
        steps = self._steps()
        folded = Step.from_payload(new, self.id) if isinstance(new, dict) and new.get("date") else None
        kept = [s for s in steps if not s.registration]
        first = [entry(self.registered_position, folded, registration=True)] if folded is not None else []
        steps[:] = first + kept
        return [self.registered_position]

    def correct_step(self, correction: StepCorrection, position: int, key: str | None = None) -> list[int]:
        """A StepCorrected: every step of the old type and date recorded before it goes (never the
        registration's), the new step (if any) is recorded here. Gives the positions removed."""
        steps = self._steps()
        removed = []
        if correction.old is not None:
            old_step, old_date = correction.old
            kept = []
            for item in steps:
                if (
                    item.step.step == old_step
                    and item.step.date == old_date
                    and not item.registration
                    and item.position < position
                ):
                    removed.append(item.position)
                else:
                    kept.append(item)
            steps[:] = kept
        if correction.new is not None:
            steps.append(entry(position, correction.new, key))
        self.refold()
        self.updated_position = position
        return removed

    def refold(self) -> None:
        steps = self._steps()
        self.status, self.status_date, self.status_start, self.date_basis, self.naming = evaluate(self.kind, steps)
        self.latest = max((item.start for item in steps if item.start is not None), default=None)

    def _steps(self) -> list[Entry]:
        if self.steps is None:
            raise RuntimeError(f"item {self.id}: the fold needs the item's steps loaded for this event")
        return self.steps

    # -- what it gives -------------------------------------------------------------------------

    @property
    def title(self) -> tuple[str, str]:
        """(title_zh, title_en) after every step: see title_by."""
        return self.title_by(self.naming)

    def title_by(self, naming: Entry | None) -> tuple[str, str]:
        """The naming rename's title (its English title, else the item's own), or the item's own."""
        record = self.record or {}
        if naming is not None:
            return str(naming.step.title_zh), naming.step.title_en or str(record.get("title_en") or "")
        return str(record.get("title_zh") or ""), str(record.get("title_en") or "")

    def at(self, valid_at: date) -> Evaluation:
        """The item on a day: folded from the steps that start by then (the registration's step
        stays, undated, if it starts later: the item is registered, its date not yet reached)."""
        if self.latest is None or self.latest <= valid_at:
            # Every step starts by then: the fold's own state is that evaluation (most items, most days).
            return Evaluation(self.status, self.status_date, self.status_start, self.date_basis, self.naming)
        kept = []
        for item in self._steps():
            if item.start is not None and item.start <= valid_at:
                kept.append(item)
            elif item.registration:
                kept.append(item._replace(step=item.step._replace(date=None, extra=None), start=None))
        return evaluate(self.kind, kept)

    @property
    def first_start(self) -> date | None:
        """The start of the item's earliest dated step (its registration's included)."""
        starts = [item.start for item in self._steps() if item.start is not None]
        return min(starts) if starts else None


def apply(folds: dict[str, ItemFold], event: RecordedEvent) -> ItemFold | None:
    """Fold one event of the record into ``folds`` (by item id), keeping every item's steps: the
    fold as replay and seeding use it. Gives the item's fold (None for an event of an item never
    registered). A payload of the wrong shape raises PayloadError (a ValueError)."""
    payload = event.payload
    if is_registration(event):
        fold = ItemFold.registered(Registration.from_payload(payload), event.position, key=event.idempotency_key)
        folds[fold.id] = fold
        return fold
    found = folds.get(str(payload.get("id")))
    if found is None:
        return None
    if event.type == v.ITEM_CORRECTED:
        found.correct(ItemCorrection.from_payload(payload), event.position)
    elif event.type == v.STEP_CORRECTED:
        found.correct_step(StepCorrection.from_payload(payload), event.position, event.idempotency_key)
    elif "step" in payload:
        found.add(event.position, Step.from_payload(payload), event.idempotency_key)
    return found
