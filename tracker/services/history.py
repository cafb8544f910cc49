"""A source's stored history: compare any two versions, and replay it under other noise rules.

Every distinct raw body a source served is a version (see snapshots.py); the text compared is
derived from it under the rules asked for, so ``diff`` always shows text as the current rules
see it, and ``try_rules`` shows which past changes a new ignore pattern or selector would have
reported or suppressed, before an operator adopts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import pairwise

from sqlalchemy.engine import Connection

from tracker.app import App
from tracker.core.events import format_time
from tracker.domain import changes
from tracker.domain.sources import Rules, Source
from tracker.errors import FetchError, NotFoundError, ValidationError
from tracker.services import snapshots
from tracker.services.content import derive, validate_rules
from tracker.services.snapshots import Version
from tracker.services.sources_admin import get_source


@dataclass(frozen=True)
class VersionDiff:
    source_id: str
    old: Version
    new: Version
    diff: str


@dataclass(frozen=True)
class ReplayedChange:
    """One step of the history (a version and the one before it) under old and new rules."""

    old: Version
    new: Version
    reported: bool          # an event was recorded for it at the time
    would_report: bool      # the new rules see a change
    diff: str               # under the new rules (bounded as in an event)


@dataclass(frozen=True)
class TryReport:
    source_id: str
    rules: Rules
    versions: int
    steps: list[ReplayedChange]

    @property
    def suppressed(self) -> list[ReplayedChange]:
        return [s for s in self.steps if s.reported and not s.would_report]

    @property
    def still_reported(self) -> list[ReplayedChange]:
        return [s for s in self.steps if s.would_report]


def _text(conn: Connection, source: Source, rules: Rules, version: Version) -> str:
    snap = snapshots.load_snapshot(conn, version.snapshot)
    try:
        return derive(rules, snap.body, snap.headers, source.url).text
    except FetchError as exc:
        return f"[version {version.id} cannot be read under these rules: {exc}]"


def _history(app: App, source_id: str) -> tuple[Source, list[Version]]:
    source = get_source(app, source_id)
    with app.db.read() as conn:
        found = snapshots.versions(conn, source_id)
    if not found:
        raise NotFoundError(f"source {source_id!r} has no stored version yet: run `tracker check --source {source_id}`")
    return source, found


def _moment(text: str, end_of_day: bool) -> str:
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return format_time(datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{text!r} is neither an event position nor a date (YYYY-MM-DD) or ISO datetime"
        ) from None
    return format_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _pick(found: Sequence[Version], ref: str, source_id: str) -> Version:
    """The version current at an event position or a date (the last one at or before it)."""
    ref = ref.strip()
    if ref.isdigit():
        position = int(ref)
        hits = [v for v in found if v.position is not None and v.position <= position]
        what = f"at or before position {position}"
    else:
        moment = _moment(ref, end_of_day=True)
        hits = [v for v in found if v.fetched_at <= moment]
        what = f"fetched by {ref}"
    if not hits:
        raise NotFoundError(f"source {source_id!r} has no version {what}")
    return hits[-1]


def diff_versions(app: App, source_id: str, from_ref: str | None = None, to_ref: str | None = None) -> VersionDiff:
    """The full unified diff between two versions, under the source's current rules.

    Defaults: ``to`` the latest version, ``from`` the latest one before it whose text differs.
    """
    source, found = _history(app, source_id)
    new = _pick(found, to_ref, source_id) if to_ref else found[-1]
    with app.db.read() as conn:
        new_text = _text(conn, source, source.rules, new)
        if from_ref:
            old = _pick(found, from_ref, source_id)
            old_text = _text(conn, source, source.rules, old)
        else:
            old, old_text = new, new_text
            for candidate in reversed([v for v in found if v.id < new.id]):
                old, old_text = candidate, _text(conn, source, source.rules, candidate)
                if old_text != new_text:
                    break
    diff = changes.unified_diff(
        old_text, new_text, old_label=f"{source_id} {old.fetched_at}", new_label=f"{source_id} {new.fetched_at}",
        max_lines=None, max_bytes=None,
    )
    return VersionDiff(source_id, old, new, diff.text)


def try_rules(app: App, source_id: str, *, ignore: Sequence[str], select: str | None = None) -> TryReport:
    """Replay the stored history of a source under other rules; nothing is written."""
    source, found = _history(app, source_id)
    trial = source.with_rules(select if select is not None else source.select, ignore)
    validate_rules(trial.rules)
    steps: list[ReplayedChange] = []
    with app.db.read() as conn:
        previous_text = _text(conn, source, trial.rules, found[0])
        for before, after in pairwise(found):
            text = _text(conn, source, trial.rules, after)
            would = changes.content_hash(text) != changes.content_hash(previous_text)
            diff = changes.unified_diff(previous_text, text, old_label=before.fetched_at, new_label=after.fetched_at)
            steps.append(ReplayedChange(before, after, after.position is not None, would, diff.text if would else ""))
            previous_text = text
    return TryReport(source_id, trial.rules, len(found), steps)


@dataclass(frozen=True)
class ChangeTexts:
    """One change of a source as a reader compares it: the version before and after, both texts
    derived under the source's current rules."""

    source_id: str
    old: Version | None  # None: the first version (nothing before it)
    new: Version
    old_text: str
    new_text: str


def list_versions(app: App, source_id: str) -> list[Version]:
    """Every stored version of a source, oldest first (none yet: an empty list)."""
    get_source(app, source_id)  # NotFoundError for an unknown source
    with app.db.read() as conn:
        return snapshots.versions(conn, source_id)


def change_texts(app: App, source_id: str, version_id: int) -> ChangeTexts:
    """The texts of one version and of the version before it (both under the current rules)."""
    source = get_source(app, source_id)
    with app.db.read() as conn:
        found = snapshots.versions(conn, source_id)
        index = next((i for i, version in enumerate(found) if version.id == version_id), None)
        if index is None:
            raise NotFoundError(f"source {source_id!r} has no version {version_id}")
        new = found[index]
        old = found[index - 1] if index else None
        new_text = _text(conn, source, source.rules, new)
        old_text = _text(conn, source, source.rules, old) if old is not None else ""
    return ChangeTexts(source_id, old, new, old_text, new_text)


def raw_snapshot(app: App, source_id: str, version_id: int) -> snapshots.Snapshot:
    """The body exactly as the source served it for one version (with the headers kept)."""
    for version in list_versions(app, source_id):
        if version.id == version_id:
            with app.db.read() as conn:
                return snapshots.load_snapshot(conn, version.snapshot)
    raise NotFoundError(f"source {source_id!r} has no version {version_id}")
