"""Raising proposals: what checks recorded, read back from the log, becomes ProposalRaised events.

    report = raise_proposals(app)             # from where the last run stopped (checks call this)
    report = raise_proposals(app, after=0)    # the whole log again: raises only what is missing

Reads SourceChanged, RegisterEntryAdded and RegisterEntryRevised after the cursor (``triage_cursor``);
derives drafts (domain/derivation.py; for a list page, the rows of the two raw versions the
change compared, from the stored snapshots); matches each against the record (domain/matching.py:
an index over the record's items and the identifiers and links of accepted proposals); appends
ProposalRaised with the change as its causation and the key ``proposal:<key>``. Because every
input is in the log or in content-addressed snapshots, and the key comes from the evidence, a
second run, or a run from position 0, raises nothing twice. The cursor moves in the same
transaction as the events. A proposal the record already answers (the matched item holds that
step on that date) is not raised: a register's first check lists its whole history, much of it
in the record already.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.app import App
from tracker.core import NewEvent, RecordedEvent
from tracker.core.projector import log_skipped
from tracker.domain import payloads_ops as o
from tracker.domain import proposals as dp
from tracker.domain import vocabulary as v
from tracker.domain.payloads_registry import decode_as
from tracker.errors import FetchError, NotFoundError
from tracker.projections.sources import dialect_insert
from tracker.schema.operational import snapshots as snapshot_rows
from tracker.schema.operational import source_versions, triage_cursor
from tracker.schema.read_models import record_items, record_steps, sources, triage_proposals
from tracker.services import snapshots

if TYPE_CHECKING:
    from tracker.domain.matching import RecordIndex

log = logging.getLogger(__name__)

TRIGGERS = v.RAISES_PROPOSALS
CURSOR = "derivation"
BATCH = 500
MAX_ROW_PROPOSALS = 200    # a page redesign is one change to look at, not thousands of proposals


@dataclass
class RaiseReport:
    read: int = 0
    raised: list[str] = field(default_factory=list)
    already: int = 0
    cursor: int = 0
    accepted: list[str] = field(default_factory=list)    # by an auto-accept rule

    def summary(self) -> str:
        return (f"{len(self.raised)} proposal(s) raised from {self.read} change(s)"
                + (f"; {self.already} raised before" if self.already else "")
                + (f"; {len(self.accepted)} accepted by auto-accept rules" if self.accepted else ""))


def record_index(conn: Connection) -> RecordIndex:
    """The record's items, with the links and identifiers accepted proposals gave them."""
    from tracker.domain.matching import IndexedItem, RecordIndex  # see raise_proposals

    index = RecordIndex()
    for row in conn.execute(sa.select(record_items.c.id, record_items.c.jurisdiction, record_items.c.kind,
                                      record_items.c.title_zh, record_items.c.title_en, record_items.c.attributes)):
        urls = json.loads(row.attributes).get("urls") or []
        index.add(IndexedItem(row.id, row.jurisdiction, row.kind, row.title_zh, row.title_en,
                              tuple(str(u) for u in urls if u)))
    for item_id, step, day in conn.execute(sa.select(record_steps.c.item_id, record_steps.c.step, record_steps.c.date)):
        index.add_step(item_id, step, day)
    accepted = sa.select(triage_proposals.c.item_id, triage_proposals.c.identifier, triage_proposals.c.url).where(
        triage_proposals.c.state == "accepted")
    for item_id, identifier, url in conn.execute(accepted):
        index.add_identifier(identifier or "", item_id)
        index.add_url(url, item_id)
    return index


def _sources(conn: Connection, ids: Iterable[str] | None = None,
             ) -> dict[str, tuple[dp.SourceInfo, str | None, list[str]]]:
    """The sources (all, or those of ``ids``) as derivation sees them."""
    found = {}
    query = sa.select(sources.c.id, sources.c.kind, sources.c.jurisdiction, sources.c.title, sources.c.select_css,
                      sources.c["items"])
    if ids is not None:
        query = query.where(sources.c.id.in_(sorted(ids)))
    for row in conn.execute(query):
        info = dp.SourceInfo(row.id, row.kind, row.jurisdiction or "INTL", row.title)
        found[row.id] = (info, row.select_css, json.loads(row[5]))
    return found


# A page's versions with their snapshots' headers, built once (see snapshots._LOAD): one statement
# per changed page at the end of a check.
_VERSIONS = (
    sa.select(source_versions, snapshot_rows.c.headers)
    .outerjoin(snapshot_rows, snapshot_rows.c.hash == source_versions.c.snapshot)
    .where(source_versions.c.source_id == sa.bindparam("source_id")).order_by(source_versions.c.id)
)


def _page_rows(conn: Connection, event: RecordedEvent, change: o.SourceChanged, select: str | None, url: str,
               held: Mapping[str, bytes] | None = None,
               ) -> tuple[list[dp.PageRow], list[dp.PageRow], str | None]:
    """The rows of the two raw versions a SourceChanged compared (old, new, new snapshot).

    ``held``: raw bodies by snapshot hash that the caller still has (a check that just fetched
    the new body and read the old one); snapshots are addressed by their body's SHA-256, so a held
    body is the stored one, and only its headers are read, with the versions."""
    versions = conn.execute(_VERSIONS, {"source_id": change["id"]}).all()
    new = next((version for version in versions if version.position == event.position), None)
    if new is None:
        return [], [], None
    old = next((version for version in reversed(versions)
                if version.id < new.id and version.content_hash == change["old_hash"]), None)
    if old is None:
        return [], [], new.snapshot

    # Imported here: lxml is loaded when a list page changed, not by every `tracker check` (issue 18).
    from tracker.fetching.rows import changed_rows_of_bodies

    def body(version: sa.Row[Any]) -> tuple[bytes, str | None]:
        kept = held.get(version.snapshot) if held else None
        if kept is not None and version.headers is not None:
            return kept, json.loads(version.headers).get("content-type")
        snap = snapshots.load_snapshot(conn, version.snapshot)
        return snap.body, snap.headers.get("content-type")

    # Rows both versions hold unchanged are left out: they can be neither added, changed nor removed.
    before, after = changed_rows_of_bodies(body(old), body(new), url, select)
    return ([dp.PageRow(*row) for row in before], [dp.PageRow(*row) for row in after],
            new.snapshot)


def _default_kind(conn: Connection, items: list[str]) -> str | None:
    """The kind most of a page's linked items have: a list of approved products proposes products."""
    if not items:
        return None
    kinds = Counter(conn.execute(sa.select(record_items.c.kind).where(record_items.c.id.in_(items[:500]))).scalars())
    kind = kinds.most_common(1)[0][0] if kinds else None
    return kind if kind in dp.KINDS else None


def drafts_of(conn: Connection, event: RecordedEvent,
              known: dict[str, tuple[dp.SourceInfo, str | None, list[str]]], *,
              history: bool = False, held: Mapping[str, bytes] | None = None) -> list[dp.Draft]:
    """The drafts one trigger event gives (none for a source unknown or of a kind without rules;
    none for an old entry a register listed at its first check, unless ``history``); ``held``
    as for _page_rows."""
    if event.type == v.SOURCE_CHANGED:
        change = decode_as(o.SourceChanged, event.type, event.payload)
        known_source = known.get(change["id"])
        if known_source is None or known_source[0].kind != "html":
            return []
        source, select, items = known_source
        url = str(change.get("url") or "")
        if not url:
            url = conn.execute(sa.select(sources.c.url).where(sources.c.id == source.id)).scalar() or ""
        old, new, snapshot = _page_rows(conn, event, change, select, url, held)
        if not old and not new:
            return []       # no row added, changed or removed: most changes of a page
        from tracker.domain import derivation  # see raise_proposals

        evidence = dp.Evidence(event.position, event.type, change["new_hash"] or snapshot)
        changes = derivation.row_changes(old, new, day_first=source.jurisdiction == "EU")[:MAX_ROW_PROPOSALS]
        return derivation.from_rows(source, changes, evidence, _default_kind(conn, items))
    return _entry_drafts(event, known, history)


def _entry_drafts(event: RecordedEvent, known: dict[str, tuple[dp.SourceInfo, str | None, list[str]]],
                  history: bool) -> list[dp.Draft]:
    from tracker.domain import derivation  # see raise_proposals

    p = decode_as(o.RegisterEntry, event.type, event.payload)
    if (
        p.get("baseline")
        and not history
        and not derivation.news_at_baseline(p, date.fromisoformat(event.recorded_at[:10]))
    ):
        return []
    found = known.get(p["id"])
    if found is None:
        return []
    evidence = dp.Evidence(event.position, event.type, None, str(p["entry_id"] or ""), (_entry_line(p),))
    return derivation.from_entry(found[0], p, evidence)


def _entry_line(p: o.RegisterEntry) -> str:
    deadlines = p.get("deadlines")
    parts = [str(p["entry_id"] or ""), str(p.get("type") or ""), str(p.get("date") or ""), str(p.get("title") or "")]
    if isinstance(deadlines, dict):
        parts += [f"{kind} {day}" for kind, day in deadlines.items()]
    return " | ".join(part for part in parts if part)


def _cursor(conn: Connection) -> int:
    return int(conn.execute(sa.select(triage_cursor.c.position).where(triage_cursor.c.name == CURSOR)).scalar() or 0)


def _set_cursor(conn: Connection, position: int) -> None:
    conn.execute(dialect_insert(conn)(triage_cursor).values(name=CURSOR, position=position)
                 .on_conflict_do_update(index_elements=[triage_cursor.c.name], set_={"position": position}))


def _chunks(events: Iterator[RecordedEvent]) -> Iterator[list[RecordedEvent]]:
    while chunk := list(islice(events, BATCH)):
        yield chunk


def raise_proposals(app: App, *, after: int | None = None, history: bool = False,
                    held: Mapping[str, bytes] | None = None) -> RaiseReport:
    """Derive and raise the proposals of the trigger events after the cursor (or ``after``);
    ``history`` also proposes the old entries registers listed at their first check; ``held``:
    raw bodies by snapshot hash the caller still has (a check's), read instead of the stored ones."""
    app.fresh("sources", "record", "proposals")
    report = RaiseReport()
    with app.db.read() as conn:
        start = _cursor(conn) if after is None else after
    # The record's index, and derivation's rules (about 10 ms of importing, mostly compiling their
    # patterns), are loaded at the first draft: most changes a check records give none (issue 18).
    index = _Index()
    head = app.store.head().position
    for chunk in _chunks(app.store.read(after=start, until=head, types=TRIGGERS)):
        report.read += len(chunk)
        with app.db.read() as conn:
            # The sources this chunk's changes name, not all of them (issue 18: 3.4 MB at 10,000).
            known = _sources(conn, {str(event.payload.get("id")) for event in chunk})
        _raise_chunk(app, chunk, known, index, report, move_cursor=after is None, history=history, held=held)
    with app.db.write() as conn:
        if after is None or head > _cursor(conn):
            _set_cursor(conn, head)
    report.cursor = head
    if report.raised:
        # Imported here: the triage rules (and the seed vocabulary they load, about 9 ms) matter only
        # when something was raised; most changes a check records raise nothing (issue 18).
        from tracker.services.triage_rules import apply_rules

        report.accepted = apply_rules(app, report.raised)
    return report


def _raise_chunk(app: App, chunk: list[RecordedEvent],
                 known: dict[str, tuple[dp.SourceInfo, str | None, list[str]]],
                 index: _Index, report: RaiseReport, *, move_cursor: bool, history: bool = False,
                 held: Mapping[str, bytes] | None = None) -> None:
    new_events: list[NewEvent] = []
    seen: set[str] = set()
    with app.db.read() as conn:
        for event in chunk:
            try:
                drafts = drafts_of(conn, event, known, history=history, held=held)
            except (FetchError, NotFoundError, TypeError, ValueError, KeyError, AttributeError) as exc:
                log_skipped("triage", event, exc)
                continue
            for draft in drafts:
                record = index.of(conn)
                proposal = propose(draft, record)
                if proposal.key in seen or record.recorded(proposal.match.item_id, draft.step, draft.date):
                    # Raised in this run already, or the record holds this very step: nothing to decide.
                    continue
                seen.add(proposal.key)
                new_events.append(_raised(proposal, event))
    with app.db.write() as conn:
        before = app.store.head().position
        recorded = app.store.append(new_events, conn=conn) if new_events else []
        if move_cursor:
            _set_cursor(conn, chunk[-1].position)
    for event in recorded:
        if event.position > before:
            report.raised.append(decode_as(o.ProposalRaised, event.type, event.payload)["id"])
        else:
            report.already += 1


class _Index:
    """record_index, read at its first use by one run of raise_proposals."""

    def __init__(self) -> None:
        self._index: RecordIndex | None = None

    def of(self, conn: Connection) -> RecordIndex:
        if self._index is None:
            self._index = record_index(conn)
        return self._index


def propose(draft: dp.Draft, index: RecordIndex) -> dp.Proposal:
    """The draft matched against the record; a draft of no known kind takes its item's kind."""
    match = index.match(draft)
    if draft.kind is None and match.item_id is not None:
        draft = replace(draft, kind=index.items[match.item_id].kind)
    return dp.propose(draft, match, index.items.keys())


def _raised(proposal: dp.Proposal, cause: RecordedEvent) -> NewEvent:
    return NewEvent(
        stream=v.proposal_stream(proposal.id), type=v.PROPOSAL_RAISED, payload=proposal.payload(),
        metadata={"actor": "tracker", "cause": f"triage:derive:{cause.type}", "causation_id": cause.position},
        idempotency_key=dp.idempotency_key(proposal.key),
    )


def derive_all(app: App, events: Iterable[RecordedEvent]) -> list[dp.Proposal]:
    """The proposals these events give, without writing anything (for tests and benchmarks)."""
    app.fresh("sources", "record", "proposals")
    found: list[dp.Proposal] = []
    with app.db.read() as conn:
        known, index = _sources(conn), record_index(conn)
        for event in events:
            found.extend(propose(draft, index) for draft in drafts_of(conn, event, known))
    return found


__all__ = ["RaiseReport", "derive_all", "drafts_of", "propose", "raise_proposals", "record_index"]
