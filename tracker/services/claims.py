"""Claims, so that several `tracker serve` processes never do the same work twice.

Two kinds, both leases that run out on their own when their holder dies:

- Named leases (table ``service_leases``): the SQLite single-instance lock ``serve:instance``
  and one digest period ``digest:<cadence>:<period start>``. (Outbox messages are claimed one by
  one, by every sender: services/outbox.py.)
  Taking one is one conditional UPDATE (or an INSERT that does nothing on conflict), so two
  processes racing for it cannot both win, on SQLite or PostgreSQL. A lease marked completed is
  never taken again: that is how a digest period is known to have run.
- Claims of due sources: the ``claimed_by``/``claimed_until`` columns of ``source_state``
  (owned by monitoring). On PostgreSQL the due rows are picked with ``SELECT ... FOR UPDATE SKIP
  LOCKED``, so concurrent ticks split the due sources between them without waiting; on SQLite one
  process serves a file (the instance lock) and the same statements run under BEGIN IMMEDIATE.

Times are the store's fixed-width UTC text, so comparisons are text comparisons on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tracker.core import Database
from tracker.core.db import upsert_insert
from tracker.core.events import format_time
from tracker.schema.operational import service_leases
from tracker.schema.operational import source_state as _state
from tracker.schema.read_models import sources as _sources

INSTANCE_LEASE = "serve:instance"


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    acquired_at: str
    expires_at: str
    completed_at: str | None
    note: str | None


def _insert(db: Database) -> Any:
    return upsert_insert("sqlite" if db.is_sqlite else "postgresql")


def acquire(db: Database, name: str, holder: str, now: datetime, seconds: float, *, note: str | None = None) -> bool:
    """Take (or renew) the lease `name` for `seconds`; False if another live holder has it or it is completed."""
    stamp, expires = format_time(now), format_time(now + timedelta(seconds=seconds))
    table = service_leases
    with db.write() as conn:
        # The WHERE is re-checked on the locked row (PostgreSQL) or under the write lock (SQLite):
        # of two racing processes only one sees rowcount 1.
        taken = conn.execute(
            table.update()
            .where(table.c.name == name, table.c.completed_at.is_(None))
            .where(sa.or_(table.c.expires_at < stamp, table.c.holder == holder))
            .values(holder=holder, acquired_at=stamp, expires_at=expires, note=note)
        ).rowcount
        if taken:
            return True
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
        inserted = conn.execute(
            _insert(db)(table)
            .values(name=name, holder=holder, acquired_at=stamp, expires_at=expires, note=note)
            .on_conflict_do_nothing()
            .returning(table.c.name)
        ).first()
        return inserted is not None


def take_over(db: Database, name: str, old_holder: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take the lease from `old_holder` (known to be dead) at once, if it still holds it."""
    table = service_leases
    with db.write() as conn:
        return bool(
            conn.execute(
                table.update()
                .where(table.c.name == name, table.c.holder == old_holder, table.c.completed_at.is_(None))
                .values(
                    holder=holder, acquired_at=format_time(now),
                    expires_at=format_time(now + timedelta(seconds=seconds)),
                )
            ).rowcount
        )


def renew(db: Database, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Extend a lease this holder still has; False if it was lost (expired and taken)."""
    table = service_leases
    with db.write() as conn:
        return bool(
            conn.execute(
                table.update()
                .where(table.c.name == name, table.c.holder == holder, table.c.completed_at.is_(None))
                .values(expires_at=format_time(now + timedelta(seconds=seconds)))
            ).rowcount
        )


def release(db: Database, name: str, holder: str) -> None:
    """Give up an unfinished lease (someone else may take it at once)."""
    table = service_leases
    with db.write() as conn:
        conn.execute(
            table.delete().where(table.c.name == name, table.c.holder == holder, table.c.completed_at.is_(None))
        )


def complete(db: Database, name: str, holder: str, now: datetime, note: str | None = None) -> bool:
    """Mark the work of a lease done for good; False if this holder no longer had it."""
    table = service_leases
    with db.write() as conn:
        return bool(
            conn.execute(
                table.update()
                .where(table.c.name == name, table.c.holder == holder, table.c.completed_at.is_(None))
                .values(completed_at=format_time(now), note=note)
            ).rowcount
        )


def release_unfinished(db: Database, *, keep: str) -> int:
    """Drop every unfinished lease but `keep`. Only for a process that knows it is alone (the
    SQLite instance holder): what a killed predecessor held is then free at once."""
    table = service_leases
    with db.write() as conn:
        return int(
            conn.execute(table.delete().where(table.c.completed_at.is_(None), table.c.name != keep)).rowcount
        )


def get(db: Database, name: str) -> Lease | None:
    with db.read() as conn:
        row = conn.execute(sa.select(service_leases).where(service_leases.c.name == name)).first()
    return Lease(*row) if row else None


def leases(db: Database, prefix: str, limit: int = 50) -> list[Lease]:
    """Leases whose name starts with `prefix`, most recent first."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(service_leases)
            .where(service_leases.c.name.startswith(prefix, autoescape=True))
            .order_by(service_leases.c.acquired_at.desc())
            .limit(limit)
        ).all()
    return [Lease(*row) for row in rows]


def prune(db: Database, before: datetime) -> int:
    """Delete completed leases finished before `before`, and long-expired unfinished ones."""
    cutoff = format_time(before)
    table = service_leases
    with db.write() as conn:
        return int(
            conn.execute(
                table.delete().where(
                    sa.or_(
                        sa.and_(table.c.completed_at.is_not(None), table.c.completed_at < cutoff),
                        sa.and_(table.c.completed_at.is_(None), table.c.expires_at < cutoff),
                    )
                )
            ).rowcount
        )


# -- due sources ---------------------------------------------------------------------------
def claim_due_sources(db: Database, holder: str, now: datetime, seconds: float, limit: int) -> list[str]:
    """Claim up to `limit` due, unclaimed sources for `seconds`, most overdue first; their ids.

    A source is due when its next_due_at has passed (or was never set). A claim whose
    claimed_until has passed is free again: that is what recovers a killed process's work.
    """
    stamp = format_time(now)
    # Driven from source_state's next_due_at index, with the source's row looked up per due row
    # (EXISTS): a join let SQLite scan all sources, 10,000 of them to find 100 due.
    active = sa.exists().where(_sources.c.id == _state.c.source_id, _sources.c.active.is_(True))
    query = (
        sa.select(_state.c.source_id)
        .where(active)
        .where(sa.or_(_state.c.next_due_at.is_(None), _state.c.next_due_at <= stamp))
        .where(sa.or_(_state.c.claimed_until.is_(None), _state.c.claimed_until < stamp))
        .order_by(_state.c.next_due_at.asc().nulls_first(), _state.c.source_id)
        .limit(limit)
    )
    if not db.is_sqlite:
        # Rows another process is claiming right now are skipped, not waited for; rows it has
        # just claimed fail the claimed_until test when PostgreSQL re-checks them after the lock.
        query = query.with_for_update(skip_locked=True)
    # One statement picks and marks them (a round trip and a statement less per batch than a
    # SELECT then an UPDATE); RETURNING gives no order, so the ids are put back in due order.
    claim = (
        _state.update()
        .where(_state.c.source_id.in_(query))
        .values(claimed_by=holder, claimed_until=format_time(now + timedelta(seconds=seconds)))
        .returning(_state.c.source_id, _state.c.next_due_at)
    )
    with db.write() as conn:
        rows = conn.execute(claim).all()
    return [str(source_id) for _, source_id in sorted((due or "", source_id) for source_id, due in rows)]


def release_sources(db: Database, holder: str, source_ids: list[str] | None = None) -> int:
    """Drop this holder's claims (on the given sources, or all of them); returns how many."""
    query = _state.update().where(_state.c.claimed_by == holder)
    if source_ids is not None:
        if not source_ids:
            return 0
        query = query.where(_state.c.source_id.in_(source_ids))
    with db.write() as conn:
        return int(conn.execute(query.values(claimed_by=None, claimed_until=None)).rowcount)


def extend_sources(db: Database, holder: str, source_ids: list[str], now: datetime, seconds: float) -> int:
    """Push back the end of this holder's claims on these sources (a long check keeps them)."""
    if not source_ids:
        return 0
    with db.write() as conn:
        return int(
            conn.execute(
                _state.update()
                .where(_state.c.claimed_by == holder, _state.c.source_id.in_(source_ids))
                .values(claimed_until=format_time(now + timedelta(seconds=seconds)))
            ).rowcount
        )


def source_claim_holders(db: Database) -> list[str]:
    """The processes holding claims on sources now (to find those that died)."""
    with db.read() as conn:
        return [str(row) for row in conn.execute(
            sa.select(_state.c.claimed_by).where(_state.c.claimed_by.is_not(None)).distinct()
        ).scalars()]


def release_all_sources(db: Database) -> int:
    """Drop every claim. Only for a process that knows it is alone (the SQLite instance holder)."""
    with db.write() as conn:
        return int(
            conn.execute(
                _state.update().where(_state.c.claimed_by.is_not(None)).values(claimed_by=None, claimed_until=None)
            ).rowcount
        )


__all__ = [
    "INSTANCE_LEASE",
    "Lease",
    "acquire",
    "claim_due_sources",
    "complete",
    "extend_sources",
    "get",
    "leases",
    "prune",
    "release",
    "release_all_sources",
    "release_unfinished",
    "release_sources",
    "renew",
    "service_leases",
    "source_claim_holders",
    "take_over",
]
