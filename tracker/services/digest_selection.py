"""Which events each subscription's next digest covers, read from the log in one pass.

Every subscription has a cursor: the `to` position of its last sent digest (or the position of
its SubscriptionCreated event). The next digest covers (cursor, head]. One read of the log from
the lowest cursor serves every subscription, and each distinct filter is evaluated once per event,
so a hundred subscriptions cost little more than one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core.rows import driver_rows
from tracker.domain.reporting import clean
from tracker.domain.subscriptions import Filters, Target
from tracker.projections.digest_index import ENTRY_COLUMNS, IndexEntry, entry_from_row, listed
from tracker.projections.subscriptions import PENDING
from tracker.rendering.views import ChangeRow, UpcomingRow
from tracker.schema.operational import (
    digest_cursors,
    digest_outbox,
    source_failures,
    source_state,
    subscription_tokens,
)
from tracker.schema.read_models import changelog_rows, digest_index, record_items, subscriptions
from tracker.services import deadlines, personal
from tracker.services import source_failures as source_failures_service
from tracker.services.entries import Shown, item_kinds, shown_of, source_target, stored_change_row
from tracker.services.source_failures import host_of


@dataclass
class Candidate:
    """An active subscription and what its next digest will hold."""

    id: str
    subscriber_id: str
    name: str
    cadence: str
    filters: Filters
    cursor: int
    token: str
    pending: bool
    new: bool = False  # no digest sent yet: the next one is its welcome
    entries: list[ChangeRow] = field(default_factory=list)


def _candidates_query(by_id: bool, by_cadence: bool) -> sa.Select[Any]:
    cursor = sa.func.coalesce(digest_cursors.c.position, subscriptions.c.created_position)
    pending = (
        sa.select(sa.func.count()).select_from(digest_outbox)
        .where(digest_outbox.c.subscription_id == subscriptions.c.id, digest_outbox.c.status.in_(PENDING))
        .scalar_subquery()
    )
    query = (
        sa.select(subscriptions, cursor.label("cursor"), subscription_tokens.c.token, pending.label("pending"),
                  digest_cursors.c.position.is_(None).label("new"))
        .select_from(
            subscriptions
            .outerjoin(digest_cursors, digest_cursors.c.subscription_id == subscriptions.c.id)
            .outerjoin(subscription_tokens, subscription_tokens.c.subscription_id == subscriptions.c.id)
        )
        .where(subscriptions.c.status == "active")
        .order_by(subscriptions.c.created_position)
    )
    if by_id:
        query = query.where(subscriptions.c.id == sa.bindparam("subscription_id"))
    if by_cadence:
        query = query.where(subscriptions.c.cadence == sa.bindparam("cadence"))
    return query


# Built once per pair of optional filters (see _PERIOD): 0.1 ms of cache key when built per call.
_CANDIDATES = {(by_id, by_cadence): _candidates_query(by_id, by_cadence)
               for by_id in (False, True) for by_cadence in (False, True)}


def candidates(
    conn: Connection, *, subscription_id: str | None = None, cadence: str | None = None,
) -> list[Candidate]:
    query = _CANDIDATES[subscription_id is not None, cadence is not None]
    given = {"subscription_id": subscription_id, "cadence": cadence}
    rows = conn.execute(query, {name: value for name, value in given.items() if value is not None}).all()
    labels = personal.names(conn, [row.id for row in rows])  # sealed; the log has no name since 0017
    return [
        Candidate(row.id, row.subscriber_id, labels.get(row.id, row.name), row.cadence,
                  Filters.from_payload(json.loads(row.filters)), int(row.cursor), row.token or "",
                  bool(row.pending), bool(row.new))
        for row in rows
    ]


Statuses = dict[str, tuple[str | None, str | None]]  # item id -> its status now and the status's date


class PeriodRow(NamedTuple):
    """One reported event of the period as a reader sees it, and what its target is made of: the
    event's own topics (JSON, read only where the index has none and a filter narrows)."""

    row: ChangeRow
    ref: str
    topics: str


def _period_query() -> sa.Select[Any]:
    c, i, r = changelog_rows.c, digest_index.c, record_items.c
    return (
        sa.select(changelog_rows, *ENTRY_COLUMNS, r.status, r.status_date)
        .select_from(changelog_rows.outerjoin(digest_index, i.ref == c.ref)
                     .outerjoin(record_items, sa.and_(i.entry == "item", r.id == c.ref_id)))
        .where(c.position > sa.bindparam("after"), c.position <= sa.bindparam("until"))
        .order_by(c.position)
    )


# Built once, its positions bound at execution: SQLAlchemy makes a statement's cache key once per
# statement object, which cost 0.15 ms for this one when it was built at each call.
_PERIOD = _period_query()
# Where a period row's values sit: the changelog row's columns, then the index entry's, then the status.
_COLUMN = {name: n for n, name in enumerate(changelog_rows.columns.keys())}
_REF, _REF_ID, _TOPICS = _COLUMN["ref"], _COLUMN["ref_id"], _COLUMN["topics"]
_INDEX = slice(len(_COLUMN), len(_COLUMN) + len(ENTRY_COLUMNS))
_STATUS = _INDEX.stop


def period_rows(
    conn: Connection, subs: list[Candidate], until: int
) -> tuple[list[PeriodRow], dict[str, IndexEntry], Statuses]:
    """The reported events after the lowest cursor, as the changelog read model keeps them: one
    read for every subscription (an event it could not read is quarantined there, not here).

    Each row comes with what the digest index says of its item or page and, for an item, its
    status now (the record): the index entries and statuses the period names, in the same query.
    Each stored row becomes its reader's row directly (entries.stored_change_row), each item's or
    page's index half once."""
    if not subs:
        return [], {}, {}
    rows: list[PeriodRow] = []
    index: dict[str, IndexEntry] = {}
    shown: dict[str, Shown | None] = {}
    statuses: Statuses = {}
    after = min(sub.cursor for sub in subs)
    for stored in driver_rows(conn, _PERIOD, {"after": after, "until": until}):
        ref = stored[_REF]
        if ref not in shown:
            if stored[_INDEX.start] is None:    # no index entry (its first column is its key)
                shown[ref] = None
            else:
                info = index[ref] = entry_from_row(stored[_INDEX])
                shown[ref] = shown_of(info)
                if info.entry == "item":
                    statuses[stored[_REF_ID]] = stored[_STATUS], stored[_STATUS + 1]
        rows.append(PeriodRow(stored_change_row(stored, shown[ref]), ref, stored[_TOPICS]))
    return rows, index, statuses


# What filters that do not narrow read of a target: only whether the tracker alone saw it (a page
# change); they refuse nothing else, so a period's targets are built only when some filter narrows.
_SEEN, _MACHINE = (Target(None, frozenset(), frozenset(), frozenset(), machine=m) for m in (False, True))


def target_of(part: PeriodRow, index: dict[str, IndexEntry]) -> Target:
    """What subscription filters match for one event of the period."""
    row, info = part.row, index.get(part.ref)
    if row.section == "page":
        return source_target(row.ref_id, row.jurisdiction, info, index, machine=True)
    topics = frozenset(info.topics) if info else frozenset(listed(part.topics))
    return Target(row.jurisdiction, frozenset({row.kind}), topics, frozenset({row.ref_id}))


def collect(parts: list[PeriodRow], subs: list[Candidate], index: dict[str, IndexEntry]) -> None:
    """Fill each candidate's entries with the matching events in (its cursor, until]."""
    by_filters: dict[Filters, list[Candidate]] = {}
    for sub in subs:
        by_filters.setdefault(sub.filters, []).append(sub)
    groups = list(by_filters.items())
    narrows = any(filters.narrows for filters in by_filters)
    for part in parts:
        row = part.row
        target = target_of(part, index) if narrows else _MACHINE if row.section == "page" else _SEEN
        for filters, members in groups:
            if filters.matches(target):
                for sub in members:
                    if row.position > sub.cursor:
                        sub.entries.append(row)


def deadline_refs(found: list[deadlines.Deadline]) -> set[str]:
    return {f"item:{d.item_id}" if d.ref.startswith("item:") else f"source:{d.item_id}" for d in found}


def due(
    found: list[deadlines.Deadline], index: dict[str, IndexEntry], *, narrows: bool = True,
) -> list[tuple[UpcomingRow, Target]]:
    """Dates due (tracker.services.deadlines), soonest first, with what filters match (built only
    when some filter of the run ``narrows``: see _SEEN)."""
    rows: list[tuple[UpcomingRow, Target]] = []
    for d in found:
        item = d.ref.startswith("item:")
        if not narrows:
            target = _SEEN if item else _MACHINE
        elif item:
            info = index.get(f"item:{d.item_id}")
            target = Target(d.jurisdiction, frozenset({d.item_kind}), frozenset(info.topics if info else ()),
                            frozenset({d.item_id}))
        else:
            # a register entry's deadline: not in the record
            target = source_target(d.item_id, d.jurisdiction, index.get(f"source:{d.item_id}"), index, machine=True)
        row = UpcomingRow(d.date, d.item_id, d.jurisdiction, d.item_kind, clean(d.title_zh), clean(d.title_en),
                          clean(d.note), d.label, d.url)
        rows.append((row, target))
    return rows


class FailingSource(NamedTuple):
    """A source failing now, as a digest counts it (one line per failure class, with its hosts), and
    its index columns a filter reads (topics and items as stored: JSON, read only if a filter narrows)."""

    id: str
    state: str
    error_class: str
    host: str
    jurisdiction: str | None
    topics: str | None
    items: str | None


def _checked(conn: Connection) -> bool:
    """Has any source a state row? Until one has, what fails is what the log says (the index)."""
    return conn.execute(sa.select(source_state.c.source_id).limit(1)).first() is not None


def failing_sources(conn: Connection) -> list[FailingSource]:
    """Sources failing now, each with the few index columns a filter reads: what a digest whose
    filters narrow matches one by one. From source_failures (kept with source_state) when any
    source was checked, else from the log (the index)."""
    f, i = source_failures.c, digest_index.c
    query = (
        sa.select(f.source_id, f.state, f.error_class, f.host, i.jurisdiction, i.topics, i["items"])
        .select_from(source_failures.outerjoin(digest_index, i.ref == sa.literal("source:") + f.source_id))
    )
    rows = [FailingSource(*row) for row in driver_rows(conn, query)]
    if not rows and not _checked(conn):
        rows = _unchecked(conn)
    rows.sort()
    return rows


def failure_groups(conn: Connection) -> list[source_failures_service.Group]:
    """Sources failing now counted by (state, failure class, host): all a digest whose filters do
    not narrow needs (every failing source matches them), read grouped, a few dozen rows."""
    found = source_failures_service.groups(conn)
    if not found and not _checked(conn):
        found = source_failures_service.count_groups((r.state, r.error_class, r.host) for r in _unchecked(conn))
    return found


def _unchecked(conn: Connection) -> list[FailingSource]:
    """No source checked yet (source_state empty): the sources the log says are unreachable."""
    i = digest_index.c
    unreachable = sa.select(i.id, i.state, i.last_error, i.url, i.jurisdiction, i.topics, i["items"]).where(
        i.entry == "source", i.state == "unreachable")
    return [FailingSource(source_id, state, (error or "").partition(":")[0], host_of(url or ""), jurisdiction,
                          topics, items)
            for source_id, state, error, url, jurisdiction, topics, items in driver_rows(conn, unreachable)]


def source_items(rows: list[FailingSource]) -> set[str]:
    """The refs of the failing sources' items (what their kinds are read from)."""
    return {f"item:{item}" for source in rows if source.items for item in listed(source.items)}


def failing_targets(rows: list[FailingSource], index: dict[str, IndexEntry], *, kinds: bool) -> list[Target]:
    """What filters match for each failing source (as entries.source_target builds it). ``kinds``:
    some filter reads kinds, and ``index`` holds the sources' items; otherwise none reads them."""
    targets: list[Target] = []
    for source in rows:
        items = listed(source.items) if source.items else ()
        targets.append(Target(source.jurisdiction or "INTL", item_kinds(items, index) if kinds else frozenset(),
                              frozenset(listed(source.topics)) if source.topics else frozenset(),
                              frozenset({source.id, *items})))
    return targets
