"""Which events each subscription's next digest covers, read from the log in one pass.

Every subscription has a cursor: the `to` position of its last sent digest (or the position of
its SubscriptionCreated event). The next digest covers (cursor, head]. One read of the log from
the lowest cursor serves every subscription, and each distinct filter is evaluated once per event,
so a hundred subscriptions cost little more than one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import EventStore
from tracker.domain.subscriptions import Filters, Target
from tracker.projections.digest_index import IndexEntry
from tracker.projections.subscriptions import PENDING
from tracker.schema.operational import digest_cursors, digest_outbox, source_state, subscription_tokens
from tracker.schema.read_models import digest_effective, subscriptions
from tracker.rendering.views import FailingRow, UpcomingRow, clean
from tracker.services.entries import REPORTED_TYPES, Entry, to_entry

UPCOMING_DAYS = 90


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
    entries: list[Entry] = field(default_factory=list)


def candidates(
    conn: Connection, *, subscription_id: str | None = None, cadence: str | None = None,
) -> list[Candidate]:
    cursor = sa.func.coalesce(digest_cursors.c.position, subscriptions.c.created_position)
    pending = (
        sa.select(sa.func.count()).select_from(digest_outbox)
        .where(digest_outbox.c.subscription_id == subscriptions.c.id, digest_outbox.c.status.in_(PENDING))
        .scalar_subquery()
    )
    query = (
        sa.select(subscriptions, cursor.label("cursor"), subscription_tokens.c.token, pending.label("pending"))
        .select_from(
            subscriptions
            .outerjoin(digest_cursors, digest_cursors.c.subscription_id == subscriptions.c.id)
            .outerjoin(subscription_tokens, subscription_tokens.c.subscription_id == subscriptions.c.id)
        )
        .where(subscriptions.c.status == "active")
        .order_by(subscriptions.c.created_position)
    )
    if subscription_id is not None:
        query = query.where(subscriptions.c.id == subscription_id)
    if cadence is not None:
        query = query.where(subscriptions.c.cadence == cadence)
    return [
        Candidate(row.id, row.subscriber_id, row.name, row.cadence,
                  Filters.from_payload(json.loads(row.filters)), int(row.cursor), row.token or "",
                  bool(row.pending))
        for row in conn.execute(query)
    ]


def collect(store: EventStore, subs: list[Candidate], until: int, index: dict[str, IndexEntry]) -> None:
    """Fill each candidate's entries with the matching events in (its cursor, until]."""
    if not subs:
        return
    by_filters: dict[Filters, list[Candidate]] = {}
    for sub in subs:
        by_filters.setdefault(sub.filters, []).append(sub)
    groups = list(by_filters.items())
    start = min(sub.cursor for sub in subs)
    for event in store.read(after=start, until=until, types=REPORTED_TYPES):
        entry = to_entry(event, index)
        if entry is None:
            continue
        for filters, members in groups:
            if filters.matches(entry.target):
                for sub in members:
                    if event.position > sub.cursor:
                        sub.entries.append(entry)


def _window_overlaps(text: str, first: date, last: date) -> str | None:
    """The sort key of a dated step if it can fall inside [first, last]; year-only dates cannot be placed."""
    try:
        if len(text) >= 10:
            day = date.fromisoformat(text[:10])
            return text[:10] if first <= day <= last else None
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            start = date(year, month, 1)
            end = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
            return text if start <= last and end >= first else None
    except ValueError:
        return None
    return None


def upcoming(conn: Connection, index: dict[str, IndexEntry], now: datetime) -> list[tuple[UpcomingRow, Target]]:
    """Dated InstrumentEffective steps that fall in the next 90 days, soonest first."""
    first = now.date()
    last = first + timedelta(days=UPCOMING_DAYS)
    found: list[tuple[str, UpcomingRow, Target]] = []
    query = sa.select(digest_effective).where(digest_effective.c.date >= f"{first.year}")
    for row in conn.execute(query):
        key = _window_overlaps(row.date, first, last)
        info = index.get(f"item:{row.item_id}")
        if key is None or info is None:
            continue
        jurisdiction = info.jurisdiction or "INTL"
        view = UpcomingRow(row.date, row.item_id, jurisdiction, info.kind or "", clean(info.title_zh),
                           clean(info.title_en), clean(row.note))
        target = Target(jurisdiction, frozenset({info.kind or ""}), frozenset(info.topics), frozenset({row.item_id}))
        found.append((key, view, target))
    found.sort(key=lambda t: (t[0], t[1].item_id))
    return [(view, target) for _, view, target in found]


def failing(conn: Connection, index: dict[str, IndexEntry]) -> list[tuple[FailingRow, Target]]:
    """Sources failing now: from monitoring's source_state when it has rows, else from the log."""
    rows: list[tuple[str, str, int, str, str]] = []
    c = source_state.c
    if sa.inspect(conn).has_table("source_state") and conn.execute(sa.select(sa.func.count()).select_from(source_state)).scalar():
        query = sa.select(
            c.source_id, c.state, c.consecutive_failures, c.last_error_class, c.last_error, c.last_checked_at,
        ).where(c.state.in_(("failing", "unreachable", "blocked"))).order_by(c.source_id)
        for r in conn.execute(query):
            error = ": ".join(part for part in (r.last_error_class, r.last_error) if part)
            rows.append((r.source_id, r.state, int(r.consecutive_failures or 0), error, r.last_checked_at or ""))
    else:
        for entry in index.values():
            if entry.entry == "source" and entry.state == "unreachable":
                rows.append((entry.id, entry.state, 0, entry.last_error or "", entry.state_since or ""))
        rows.sort()
    result: list[tuple[FailingRow, Target]] = []
    for source_id, state, failures, error, since in rows:
        info = index.get(f"source:{source_id}")
        jurisdiction = (info.jurisdiction if info else None) or "INTL"
        items = info.items if info else ()
        kinds = frozenset(i.kind for i in (index.get(f"item:{x}") for x in items) if i is not None and i.kind)
        view = FailingRow(source_id, clean((info.title_en if info else "") or source_id),
                          (info.url if info else "") or "", jurisdiction, state, clean(error)[:300],
                          since[:16].replace("T", " "), failures)
        target = Target(jurisdiction, kinds, frozenset(info.topics if info else ()), frozenset({source_id, *items}))
        result.append((view, target))
    return result
