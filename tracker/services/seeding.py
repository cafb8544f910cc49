"""Seeding: seed files -> events, idempotently, in one transaction.

Every file is validated before anything is written; then the events of the whole seed are appended
in one atomic append (all or nothing). A second seed of the same files writes nothing. An edited
item appends one ItemCorrected (what changed and why) and its new steps as new step events. A step
whose date or type changed is replaced by a StepCorrected: the step named by the new step's
``corrects``, else the one recorded step of the same type (or date) no longer in the file when
exactly one new step has that type (or date); ``retracted`` steps are withdrawn the same way. A
``renamed`` step is replaced like any other: the record's one fold (record_fold) names the item
again by the latest-dated rename left, in the record projection, replay and the digest index. Any
other step or item no longer in its file is reported, never deleted: history is not rewritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker import resources
from tracker.core import EventStore, NewEvent
from tracker.core.canonical import canonical_json
from tracker.core.projector import log_skipped
from tracker.domain import payloads_ops as o
from tracker.domain import seed_events as se
from tracker.domain import vocabulary as v
from tracker.domain.payloads import Change, ItemCorrection, Reference
from tracker.domain.payloads_registry import decode_as
from tracker.domain.record import RECORD_TYPES, apply_correction, is_record_stream
from tracker.domain.record_fold import ItemFold, apply
from tracker.domain.seeds import SeedItem, SeedSet, load_seeds
from tracker.domain.words import counted
from tracker.errors import SeedError


def default_seed_dir() -> Path:
    """./seeds if the current directory has one, else the seeds shipped with the tracker."""
    here = Path.cwd() / "seeds"
    return here if here.is_dir() else resources.SEEDS


@dataclass
class FileReport:
    """What one seed file wrote. Counts of items; ``written`` counts events."""

    file: str
    written: int = 0
    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    steps: int = 0
    steps_corrected: int = 0
    sources: int = 0
    references: int = 0
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.file}: {counted(self.written, 'event')} written ({counted(self.new, 'new item')}, "
                f"{self.corrected} corrected, {self.unchanged} unchanged, {counted(self.steps, 'new step')}, "
                f"{counted(self.sources, 'source')}, {counted(self.references, 'reference')})")
        if self.steps_corrected:
            text += f"; {counted(self.steps_corrected, 'step')} replaced or retracted (StepCorrected)"
        if self.removed:
            text += f"; NOT deleted, no longer in the file: {', '.join(self.removed)}"
        return text


@dataclass
class SeedReport:
    files: list[FileReport]

    @property
    def written(self) -> int:
        return sum(f.written for f in self.files)

    def file(self, name: str) -> FileReport:
        return next(f for f in self.files if f.file == name)


@dataclass
class _Stored:
    """What earlier seeds (or anything else) recorded: the current attributes and step payloads."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    item_steps: dict[str, list[str]] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)
    step_corrections: dict[str, int] = field(default_factory=dict)
    sources: dict[str, o.SourceRegistered] = field(default_factory=dict)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)


def _read_stored(store: EventStore) -> _Stored:
    """What the record holds, folded as the record projection and replay fold it (record_fold):
    each item's corrected attributes and its live steps, of which those seeds wrote (a step
    accepted in triage is no seed step to correct) keyed by their seed key."""
    stored = _Stored()
    folds: dict[str, ItemFold] = {}
    types = RECORD_TYPES | {v.SOURCE_REGISTERED, v.REFERENCE_REGISTERED}
    for event in store.read(types=types):
        try:
            if event.type == v.SOURCE_REGISTERED:
                source = decode_as(o.SourceRegistered, event.type, event.payload)
                stored.sources[source["id"]] = source
            elif event.type == v.REFERENCE_REGISTERED:
                # kept as stored: a re-seed compares it field by field with the seed's payload
                stored.references[decode_as(Reference, event.type, event.payload).id] = event.payload
            elif event.stream.startswith("reference/"):  # a reference corrected
                stored.corrections[event.stream] = stored.corrections.get(event.stream, 0) + 1
                correction = decode_as(ItemCorrection, event.type, event.payload)
                if correction.id in stored.references:
                    stored.references[correction.id] = apply_correction(
                        stored.references[correction.id],
                        {name: {"old": c.old, "new": c.new} for name, c in correction.changes.items()})
            elif is_record_stream(event.stream):
                counts = {v.ITEM_CORRECTED: stored.corrections, v.STEP_CORRECTED: stored.step_corrections}.get(
                    event.type
                )
                if counts is not None:
                    counts[event.stream] = counts.get(event.stream, 0) + 1
                apply(folds, event)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            log_skipped("seeding", event, exc)
    for item_id, fold in folds.items():
        stored.records[item_id] = fold.record or {}
        for entry in fold.steps or ():
            if entry.registration or not (entry.key or "").startswith("seed:"):
                continue
            key = se.step_key(item_id, {"step": entry.step.step, "date": entry.step.date})
            stored.steps[key] = entry.step.to_payload(with_id=False)
            stored.item_steps.setdefault(item_id, []).append(key)
    return stored


def seed(store: EventStore, paths: Sequence[Path], *, actor: str = "cli") -> SeedReport:
    """Validate every file, then append what is new or changed in one transaction.

    Raises SeedError (naming file, item and field) and writes nothing if any file is bad.
    """
    stored = _read_stored(store)
    seeds = load_seeds(list(paths), known_ids=stored.records)
    run_id = uuid.uuid4().hex
    reports = {f.name: FileReport(f.name) for f in seeds.files}
    planned: list[tuple[str, NewEvent]] = []

    def meta(file: str) -> dict[str, Any]:
        return {"actor": actor, "cause": f"seed:{file}", "correlation_id": run_id, "causation_id": None}

    for item in seeds.items():
        planned.extend((item.file, e) for e in _item_events(item, stored, reports[item.file], meta(item.file)))
    for seed_file in seeds.files:
        for reference in seed_file.references:
            planned.extend(
                (seed_file.name, e)
                for e in _reference_events(reference, stored, reports[seed_file.name], meta(seed_file.name))
            )
    present = {item.id for item in seeds.items()}
    for file, payload in se.source_payloads(seeds):
        source = _source_event(payload, stored, meta(file), present)
        if source is not None:
            reports[file].sources += 1
            planned.append((file, source))
    _report_removed(seeds, stored, reports)

    head = store.head().position
    recorded = store.append([event for _, event in planned]) if planned else []
    for (file, _), written in zip(planned, recorded, strict=True):
        if written.position > head:  # another seed may have written the same keys meanwhile
            reports[file].written += 1
    return SeedReport(list(reports.values()))


def _item_events(item: SeedItem, stored: _Stored, report: FileReport, metadata: dict[str, Any]) -> list[NewEvent]:
    _, own_steps = se.split_steps(item)
    old = stored.records.get(item.id)
    if old is None:
        report.new += 1
        report.steps += len(own_steps)
        return [se.registration_event(item, metadata)] + [se.step_event(item, s, metadata) for s in own_steps]
    if old.get("kind") != item.kind:
        raise SeedError(f"{item.file}: item {item.id!r}: field 'kind': cannot change from {old.get('kind')!r} to "
                        f"{item.kind!r} (the item's stream is fixed; give the item a new id); nothing was written")
    events: list[NewEvent] = []
    changes = se.diff(old, se.registration_payload(item))
    seen_keys = set()
    added = []
    for step in own_steps:
        key = se.step_key(item.id, step)
        seen_keys.add(key)
        if key not in stored.steps:
            added.append(step)
        elif canonical_json(stored.steps[key]) != canonical_json(step):
            changes[f"step:{step['step']}:{step['date']}"] = {"old": stored.steps[key], "new": step}
    missing = {
        key: stored.steps[key]
        for key in stored.item_steps.get(item.id, [])
        if key not in seen_keys and key in stored.steps
    }
    stream = v.item_stream(item.kind, item.id)
    for old_step, new_step, reason in _pair_corrections(item, missing, added):
        number = stored.step_corrections.get(stream, 0) + report.steps_corrected + 1
        events.append(se.step_correction_event(item, number, old_step, new_step, reason, metadata))
        report.steps_corrected += 1
        missing.pop(se.step_key(item.id, {"step": old_step[0], "date": old_step[1]}))
        if new_step is not None:
            added.remove(new_step)
    for step in added:
        events.append(se.step_event(item, step, metadata))
        report.steps += 1
    for key in missing:
        report.notes.append(f"{item.id}: step {key.split(':', 3)[-1]} is no longer in {item.file}; kept in the record")
    if changes:
        number = stored.corrections.get(v.item_stream(item.kind, item.id), 0) + 1
        events.insert(0, se.correction_event(item, number, changes, metadata))
        report.corrected += 1
    elif not events:
        report.unchanged += 1
    return events


def _pair_corrections(item: SeedItem, missing: dict[str, dict[str, Any]], added: list[dict[str, Any]],
                      ) -> list[tuple[tuple[str, str], dict[str, Any] | None, str]]:
    """(old (type, date), new step or None, reason) for each recorded step the file replaces.

    A new step's ``corrects`` names the step it replaces; otherwise a recorded step no longer in
    the file pairs with a new step of the same type (its date was wrong), then of the same date
    (its type was wrong), when exactly one of each is left. ``retracted`` withdraws a step.
    """
    left = {key: (str(s["step"]), str(s["date"])) for key, s in missing.items()}
    new = list(added)
    pairs: list[tuple[tuple[str, str], dict[str, Any] | None, str]] = []

    def take(key: str, step: dict[str, Any] | None, reason: str) -> None:
        pairs.append((left.pop(key), step, reason))
        if step is not None:
            new.remove(step)

    for step in list(new):
        wanted = item.replaces.get((step["step"], step["date"]))
        key = se.step_key(item.id, {"step": wanted[0], "date": wanted[1]}) if wanted else None
        if wanted is not None and key in left:
            note = f"step {wanted[0]} {wanted[1]} corrected by {step['step']} {step['date']}"
            take(key, step, f"seed file {item.file}: {note}")
    for field_index in (0, 1):  # same type (date corrected), then same date (type corrected)
        for value in sorted({s["step"] if field_index == 0 else s["date"] for s in new}):
            olds = [k for k, ref in left.items() if ref[field_index] == value]
            news = [s for s in new if (s["step"] if field_index == 0 else s["date"]) == value]
            if len(olds) == 1 and len(news) == 1:
                old_ref = left[olds[0]]
                take(
                    olds[0],
                    news[0],
                    f"seed file {item.file}: step {old_ref[0]} {old_ref[1]} corrected to {news[0]['step']} "
                    f"{news[0]['date']}",
                )
    for entry in item.retracted:
        key = se.step_key(item.id, entry)
        if key in left:
            take(key, None, f"seed file {item.file}: step {entry['step']} {entry['date']} retracted: {entry['reason']}")
    return pairs


def _reference_events(reference: Any, stored: _Stored, report: FileReport, metadata: dict[str, Any]) -> list[NewEvent]:
    ident = str(reference.number)  # a reference's id is its number (seed_events.reference_payload)
    old = stored.references.get(ident)
    if old is None:
        report.references += 1
        return [se.reference_event(reference, metadata)]
    changes = se.diff(old, se.reference_payload(reference))
    if not changes:
        return []
    stream = f"reference/{reference.number}"
    number = stored.corrections.get(stream, 0) + 1
    report.references += 1
    correction = ItemCorrection(ident, {name: Change(c["old"], c["new"]) for name, c in changes.items()},
                                f"seed file {reference.file} edited: {', '.join(changes)} changed")
    return [NewEvent(
        stream=stream, type=v.ITEM_CORRECTED, metadata=metadata, payload=correction.to_payload(),
        idempotency_key=f"seed:reference:{reference.number}:corrected:{number}",
    )]


def _source_event(
    payload: o.SourceRegistered, stored: _Stored, metadata: dict[str, Any], present: set[str]
) -> NewEvent | None:
    old = stored.sources.get(payload["id"])
    if old is not None:
        # Seeding part of the files must not drop the items other files documented; an item these
        # files define but no longer link is dropped: a page is tied only to what it documents.
        kept = {i for i in old.get("items") or [] if i not in present}
        payload = {**payload, "items": sorted(set(payload["items"]) | kept)}
        if canonical_json(old) == canonical_json(payload):
            return None
    return se.source_event(payload, metadata)


def _report_removed(seeds: SeedSet, stored: _Stored, reports: dict[str, FileReport]) -> None:
    present = {item.id for item in seeds.items()}
    for item_id, record in sorted(stored.records.items()):
        file = record.get("seed_file")
        if file in reports and item_id not in present:
            reports[file].removed.append(item_id)
