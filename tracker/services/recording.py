"""Recording checks: assessed fetches become events, snapshots and state in one transaction.

``record_batch`` runs in one write transaction: it locks the state rows of the batch, takes
every decision against what is stored *now* (not what the cycle read when it started, so two
checkers at once cannot both report one change), appends the events, stores new snapshots and
versions and updates the state rows. A crash before the commit leaves nothing of the batch;
the next cycle fetches those sources again and decides the same way, under the same
idempotency keys. The decision itself is tracker.domain.changes.decide_check, a pure function:
this module only loads what it compares and writes what it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import EventStore, NewEvent
from tracker.core.events import format_time
from tracker.domain import changes
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads_registry import decode_as
from tracker.domain.sources import Source
from tracker.errors import FetchError, NotFoundError
from tracker.fetching import FetchResult
from tracker.fetching.versions import normaliser_version
from tracker.projections.sources import dialect_insert
from tracker.schema.operational import source_state
from tracker.services import snapshots, source_failures
from tracker.services.content import Content, derive

log = logging.getLogger(__name__)


@dataclass
class Work:
    """One fetch result, assessed off the event loop (hashes, normalised content, compressed body)."""

    source: Source
    result: FetchResult
    fetched_at: datetime
    every_seconds: int
    body_hash: str | None = None
    content_hash: str | None = None
    content: Content | None = None
    compressed: bytes | None = None
    error_class: str | None = None       # the body could not be normalised
    error: str | None = None
    # The previous version's content, derived ahead (off the write transaction) from this snapshot.
    previous: Content | None = None
    previous_snapshot: str | None = None
    previous_body: bytes | None = None    # that snapshot's raw body, which the check holds for proposals
    # A page an operator saved (services/capture.py): {"url", "saved_at"}; None for a fetch.
    capture: dict[str, str] | None = None
    # eCFR: entry_id -> the text diff fields of a new section version (services/ecfr_text.py).
    text_diffs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # At a page's first change: ignore patterns for the lines a second, immediate fetch changed
    # (``source`` then carries them, and ``content`` is derived under them); ``probed`` once that
    # second fetch answered (services/check_volatile.py).
    volatile: tuple[str, ...] = ()
    probed: bool = False


@dataclass(frozen=True)
class SourceOutcome:
    """What one check of one source found. ``outcome`` is one of OUTCOMES."""

    source_id: str
    outcome: str
    error_class: str | None = None
    error: str | None = None
    status: int | None = None
    events: tuple[str, ...] = ()          # types of the events written, in order
    entries: int = 0                      # new register entries reported
    recovered: bool = False


OUTCOMES = ("baselined", "changed", "unchanged", "not_modified", "suspect", "failed", "unreachable", "recovered")


@dataclass
class _Plan:
    events: list[NewEvent] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    snapshot: bool = False
    outcome: str = "unchanged"
    entries: int = 0
    recovered: bool = False


def _metadata(source_id: str, correlation_id: str, captured: bool = False) -> dict[str, Any]:
    if captured:
        return {"actor": "operator", "cause": f"capture:{source_id}", "correlation_id": correlation_id,
                "causation_id": None}
    return {"actor": "tracker", "cause": f"fetch:{source_id}", "correlation_id": correlation_id, "causation_id": None}


def _http(result: FetchResult) -> dict[str, Any]:
    return {
        "status": result.status, "etag": result.headers.get("etag"),
        "last_modified": result.headers.get("last-modified"),
        "content_type": result.headers.get("content-type"), "final_url": result.final_url,
    }


class _Versions:
    """The stream versions of a run of works, read on first use only (most checks write no event and
    need none), all in one statement. Every use comes before the run's append, so all see the
    versions as they were before this batch."""

    def __init__(self, store: EventStore, conn: Connection, streams: Sequence[str]) -> None:
        self._store, self._conn, self._streams = store, conn, streams
        self._known: dict[str, int] | None = None

    def reader(self, stream: str) -> Callable[[], int]:
        def read() -> int:
            if self._known is None:
                self._known = self._store.stream_versions(self._streams, conn=self._conn)
            return self._known[stream]

        return read


def _lock_states(conn: Connection, ids: Sequence[str]) -> dict[str, Any]:
    query = sa.select(source_state).where(source_state.c.source_id.in_(list(ids)))
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()    # SQLite already holds the write lock (BEGIN IMMEDIATE)
    found = {row.source_id: row for row in conn.execute(query)}
    missing = [i for i in ids if i not in found]
    if missing:
        conn.execute(
            dialect_insert(conn)(source_state)
            .values([{"source_id": i, "state": "new", "consecutive_failures": 0} for i in missing])
            .on_conflict_do_nothing(index_elements=[source_state.c.source_id])
        )
        found.update({row.source_id: row for row in conn.execute(query.where(source_state.c.source_id.in_(missing)))})
    return found


# Every column a check writes: one executemany per batch updates them all.
_STATE_COLUMNS = (
    "state", "consecutive_failures", "last_status", "last_error_class", "last_error", "last_success_at",
    "etag", "last_modified", "content_hash", "rules_hash", "normaliser_version", "last_snapshot", "suspect_hash",
    "last_body_hash", "volatile_probed",
)
# What a capture may change: the accepted version only. The site's state is the checks' to tell.
_CAPTURE_COLUMNS = ("content_hash", "rules_hash", "normaliser_version", "last_snapshot", "last_body_hash")


def _previous_content(conn: Connection, work: Work, state: Any) -> Content | None:
    """What the last stored body says under the source's current rules (None if unreadable)."""
    if not state.last_snapshot:
        return None
    try:
        snap = snapshots.load_snapshot(conn, state.last_snapshot)
        return derive(work.source.rules, snap.body, snap.headers, work.source.url)
    except (FetchError, NotFoundError) as exc:
        log.warning("source %s: previous snapshot %s unreadable: %s", work.source.id, state.last_snapshot, exc)
        return None


def _version(content: Content | None) -> changes.Version | None:
    return None if content is None else changes.Version(content.text, content.entries)


def _observe(conn: Connection, work: Work, state: Any) -> tuple[changes.Previous, changes.Fetched | changes.Failed]:
    """Load what the decision compares: the accepted version (under the current rules) and this fetch."""
    source, result = work.source, work.result
    # A capture is not the site answering: it neither ends a failure streak nor reports a recovery.
    # A person saved that page on purpose: it needs no second look to be more than a blip.
    previous = changes.Previous(state.content_hash, None, 0 if work.capture else int(state.consecutive_failures),
                                work.content_hash if work.capture else state.suspect_hash)
    if result.outcome == "failed" or work.error_class is not None:
        failed = changes.Failed(work.error_class or result.error_class or "unknown", work.error or result.error or "")
        return previous, failed
    if result.outcome == "not_modified":
        return previous, changes.Fetched(None, not_modified=True)
    assert work.content_hash is not None and work.body_hash is not None
    old_hash: str | None = state.content_hash
    old_content: Content | None = None
    loaded = False
    if old_hash is not None and (state.rules_hash != source.rules.hash
                                 or state.normaliser_version != normaliser_version(source.kind)):
        # The rules or the normaliser changed since the last check: compare like with like, the last
        # accepted body read under the current rules by the current code.
        old_content, loaded = _previous_content(conn, work, state), True
        old_hash = changes.content_hash(old_content.text) if old_content is not None else old_hash
    content = work.content
    if old_hash != work.content_hash:
        if content is None:
            content = derive(source.rules, result.body, result.headers, source.url)
        if old_hash is not None and not loaded:
            if work.previous is not None and work.previous_snapshot == state.last_snapshot:
                old_content = work.previous      # derived ahead under the same rules from the same bytes
            else:
                old_content = _previous_content(conn, work, state)
    previous = changes.Previous(old_hash, _version(old_content), previous.failures, previous.suspect_hash)
    return previous, changes.Fetched(work.content_hash, _version(content), work.body_hash, _http(result),
                                     volatile=work.volatile)


def _annotate(work: Work, emit: changes.Emit) -> dict[str, Any]:
    """The payload, with what the fetch brought beside the decision: a capture's provenance on the
    version events, an eCFR section's text diff on its entry."""
    if work.capture and emit.type in (v.SOURCE_BASELINED, v.SOURCE_CHANGED):
        return {**emit.payload, "capture": dict(work.capture)}
    if work.text_diffs and emit.type == v.REGISTER_ENTRY_ADDED:
        extra = work.text_diffs.get(str(decode_as(o.RegisterEntry, emit.type, emit.payload)["entry_id"]))
        if extra:
            return {**emit.payload, **extra}
    return emit.payload


def _plan(conn: Connection, work: Work, state: Any, threshold: int, version: Callable[[], int],
          meta: dict[str, Any]) -> _Plan:
    previous, current = _observe(conn, work, state)
    step = changes.decide_check(work.source.id, work.source.url, previous, current,
                                threshold=threshold, stream_version=version)
    stream = v.source_stream(work.source.id)
    plan = _Plan(
        [NewEvent(stream, e.type, _annotate(work, e), meta, valid_from=e.valid_from, idempotency_key=e.key)
         for e in step.events],
        {"state": step.state, "consecutive_failures": step.failures, "last_status": work.result.status,
         "last_error_class": step.error_class, "last_error": step.error, "suspect_hash": step.suspect},
        outcome=step.outcome, entries=step.entries, recovered=step.recovered,
    )
    if isinstance(current, changes.Failed):
        return plan
    plan.state["last_success_at"] = format_time(work.fetched_at)
    if work.probed and (step.accept or work.volatile):
        # A suspect version (an empty blip) does not use the probe up: the page's real next change
        # must still be told apart from its volatile lines.
        plan.state["volatile_probed"] = True
    headers = work.result.headers
    if current.not_modified:
        for name, header in (("etag", "etag"), ("last_modified", "last-modified")):
            if headers.get(header):
                plan.state[name] = headers[header]
        return plan
    if step.accept:
        # The validators describe the accepted version only: a 304 must never stand for a suspect one.
        plan.state.update(etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                          content_hash=work.content_hash, rules_hash=work.source.rules.hash,
                          normaliser_version=normaliser_version(work.source.kind), last_body_hash=work.body_hash)
        if only_ignored_text_changed(work, state, previous):
            return plan         # its hash only: last_snapshot stays the last body kept
        plan.state["last_snapshot"] = work.body_hash
        plan.snapshot = work.body_hash != state.last_snapshot
    return plan


def only_ignored_text_changed(work: Work, state: Any, previous: changes.Previous) -> bool:
    """A new body whose text, under the rules and code of the accepted one, is the accepted text.

    Such a body differs in ignored text only and is not kept (issue 18: a noisy page stored about
    1.7 KB a sweep for nothing); the last body kept reads as the same text, so diffs, `sources try`
    and a later change of rules start from it. Kept as before: a capture (a person saved it on
    purpose), and the first body read under new rules or a new normaliser (its version records them).
    """
    source = work.source
    return (work.capture is None and state.last_snapshot is not None and work.body_hash != state.last_snapshot
            and previous.content_hash is not None and previous.content_hash == work.content_hash
            and state.rules_hash == source.rules.hash and state.normaliser_version == normaliser_version(source.kind))


def _unique_runs(works: Sequence[Work]) -> Iterator[Sequence[Work]]:
    """The batch cut where a source comes again: each run plans against versions nothing in the
    run has moved (a source checked twice in one batch is planned after its first append)."""
    start, seen = 0, set[str]()
    for index, work in enumerate(works):
        if work.source.id in seen:
            yield works[start:index]
            start, seen = index, set[str]()
        seen.add(work.source.id)
    yield works[start:]


def record_batch(
    store: EventStore, works: Sequence[Work], *, threshold: int, correlation_id: str
) -> list[SourceOutcome]:
    """Decide and record a batch of assessed fetches in one transaction; one outcome each.

    Every decision is taken first, then the batch is written in a few statements whatever its
    size: one append for all its events, one insert of the new snapshots, one of the versions,
    one update of the state rows (issue 18: per-source statements were most of a first run's
    writing).
    """
    if not works:
        return []
    outcomes: list[SourceOutcome] = []
    updates: list[dict[str, Any]] = []
    with store.db.write() as conn:
        states = _lock_states(conn, [w.source.id for w in works])
        for run in _unique_runs(works):
            versions = _Versions(store, conn, [v.source_stream(work.source.id) for work in run])
            plans = [_plan(conn, work, states[work.source.id], threshold,
                           versions.reader(v.source_stream(work.source.id)),
                           _metadata(work.source.id, correlation_id, captured=work.capture is not None))
                     for work in run]
            events = [e for plan in plans for e in plan.events]
            appended = store.append(events, conn=conn) if events else []
            new_snapshots: list[snapshots.NewSnapshot] = []
            new_versions: list[dict[str, Any]] = []
            taken = 0
            for work, plan in zip(run, plans, strict=True):
                recorded = appended[taken:taken + len(plan.events)]
                taken += len(plan.events)
                source, state = work.source, states[work.source.id]
                fetched = format_time(work.fetched_at)
                if plan.snapshot and work.body_hash is not None and work.content_hash is not None:
                    compressed = (
                        work.compressed if work.compressed is not None else snapshots.compress(work.result.body)
                    )
                    new_snapshots.append(snapshots.NewSnapshot(work.body_hash, compressed, len(work.result.body),
                                                               work.result.headers, fetched))
                    position = next((e.position for e in recorded
                                     if e.type not in (v.SOURCE_RECOVERED, v.SOURCE_VOLATILE_IGNORED)), None)
                    new_versions.append({"source_id": source.id, "position": position, "snapshot": work.body_hash,
                                         "content_hash": work.content_hash, "fetched_at": fetched,
                                         "normaliser_version": normaliser_version(source.kind)})
                updates.append(_state_row(work, plan, state, fetched))
                outcomes.append(SourceOutcome(
                    source.id, plan.outcome,
                    error_class=plan.state.get("last_error_class"), error=plan.state.get("last_error"),
                    status=work.result.status, events=tuple(e.type for e in recorded), entries=plan.entries,
                    recovered=plan.recovered,
                ))
            snapshots.save_snapshots(conn, new_snapshots)
            snapshots.add_versions(conn, new_versions)
        # One executemany; the SET clause comes from the keys of the rows (key_id is the WHERE).
        conn.execute(source_state.update().where(source_state.c.source_id == sa.bindparam("key_id")), updates)
        source_failures.track(conn, states, updates, {work.source.id: work.source.url for work in works})
    return outcomes


def _state_row(work: Work, plan: _Plan, state: Any, fetched: str) -> dict[str, Any]:
    """The source's state row after this check (a capture changes the accepted version only)."""
    source = work.source
    if work.capture is not None:
        row = {name: (plan.state.get(name, getattr(state, name)) if name in _CAPTURE_COLUMNS
                      else getattr(state, name)) for name in _STATE_COLUMNS}
        row.update(key_id=source.id, last_checked_at=state.last_checked_at, claimed_by=state.claimed_by,
                   claimed_until=state.claimed_until, next_due_at=state.next_due_at)
        return row
    row = {name: plan.state.get(name, getattr(state, name)) for name in _STATE_COLUMNS}
    row.update(
        key_id=source.id, last_checked_at=fetched, claimed_by=None, claimed_until=None,
        next_due_at=format_time(work.fetched_at + timedelta(seconds=work.every_seconds)),
    )
    return row
