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
from functools import cache
from typing import Any

import sqlalchemy as sa

from tracker.core import Database
from tracker.core.db import prepared_at_once, upsert_insert
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
@dataclass(frozen=True)
class Claimed:
    """A batch of claimed sources, in due order, and whether more were claimable at that moment."""

    ids: list[str]
    more: bool


def _claim_statement(sqlite: bool) -> sa.Update | sa.Select[Any]:
    """The statement that picks up to :limit due, unclaimed sources, claims them and returns them:
    on SQLite an UPDATE ... RETURNING; on PostgreSQL one that also says whether more were due."""
    # One range of the ix_source_state_due index (migration 0030), read in its order, with the
    # source's row looked up per due row (EXISTS): a join let SQLite scan all sources, and
    # `next_due_at IS NULL OR next_due_at <= now` all of source_state, 10,000 rows to find 100 due.
    # The '' is literal: a bound parameter would not match the index's expression.
    due = sa.func.coalesce(_state.c.next_due_at, sa.literal_column("''"))
    now = sa.bindparam("now", type_=sa.String)
    limit = sa.bindparam("limit", type_=sa.Integer)
    active = sa.exists().where(_sources.c.id == _state.c.source_id, _sources.c.active.is_(True))
    query = (
        sa.select(_state.c.source_id)
        .where(due <= now)
        .where(active)
        .where(sa.or_(_state.c.claimed_until.is_(None), _state.c.claimed_until < now))
        .order_by(due, _state.c.source_id)
    )
    values = {"claimed_by": sa.bindparam("holder", type_=sa.String),
              "claimed_until": sa.bindparam("until", type_=sa.String)}
    if sqlite:
        # One statement picks and marks them (a round trip and a statement less per batch than a
        # SELECT then an UPDATE).
        return (_state.update().where(_state.c.source_id.in_(query.limit(limit))).values(**values)
                .returning(_state.c.source_id, _state.c.next_due_at))
    # Rows another process is claiming right now are skipped, not waited for; rows it has just
    # claimed fail the claimed_until test when PostgreSQL re-checks them after the lock. One due
    # row more than the batch is picked (and held for the statement only), so that the answer
    # says whether another batch is due: a tick then asks no more when there is none, where it
    # made one claim more that found nothing (a round trip and 0.15-0.35 ms of the server's).
    # `= ANY(ARRAY(...))` updates the picked rows by primary key: as `IN`, PostgreSQL joined the
    # pick to a scan of all source_state (0.8 ms against 2.8 ms at 10,000).
    picked = query.add_columns(due.label("due")).limit(limit + 1).with_for_update(skip_locked=True).cte("picked")
    batch = sa.select(picked.c.source_id).order_by(picked.c.due, picked.c.source_id).limit(limit)
    claimed = (
        _state.update()
        .where(_state.c.source_id == sa.any_(sa.func.array(batch.scalar_subquery())))
        .values(**values)
        .returning(_state.c.source_id, _state.c.next_due_at)
        .cte("claimed")
    )
    seen = sa.select(sa.func.count()).select_from(picked).scalar_subquery()
    return sa.select(claimed.c.source_id, claimed.c.next_due_at, seen)


@cache
def _claim_sql(dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The claim as the driver's SQL, compiled once per dialect: the SQL, its parameters' order
    (None: by name) and the values SQLAlchemy fixed itself (SQLite's OFFSET 0).

    Building and compiling the statement on each call was most of a claim on SQLite (bench_tick)."""
    compiled = _claim_statement(dialect.name == "sqlite").compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return compiled.string, order, {k: v for k, v in compiled.params.items() if v is not None}


def claim_due_batch(db: Database, holder: str, now: datetime, seconds: float, limit: int) -> Claimed:
    """Claim up to `limit` due, unclaimed sources for `seconds`, most overdue first.

    A source is due when its next_due_at has passed (or was never set). A claim whose
    claimed_until has passed is free again: that is what recovers a killed process's work.
    ``more`` is False when no other source was claimable: on PostgreSQL when the batch took every
    one (the statement looks one row further), on SQLite when the batch came out short.
    """
    with db.lease_write() as conn:
        sql, order, fixed = _claim_sql(conn.dialect)
        params = {**fixed, "now": format_time(now), "limit": limit, "holder": holder,
                  "until": format_time(now + timedelta(seconds=seconds))}
        with prepared_at_once(conn):
            rows = conn.exec_driver_sql(sql, tuple(params[name] for name in order) if order else params).all()
    # RETURNING gives no order: the ids are put back in due order.
    ids = [str(source_id) for _, source_id in sorted((row[1] or "", row[0]) for row in rows)]
    if db.is_sqlite:
        return Claimed(ids, len(ids) == limit)
    return Claimed(ids, bool(rows) and int(rows[0][2]) > limit)


def claim_due_sources(db: Database, holder: str, now: datetime, seconds: float, limit: int) -> list[str]:
    """Claim up to `limit` due, unclaimed sources for `seconds` (see claim_due_batch); their ids."""
    return claim_due_batch(db, holder, now, seconds, limit).ids


def release_sources(db: Database, holder: str, source_ids: list[str] | None = None) -> int:
    """Drop this holder's claims (on the given sources, or all of them); returns how many."""
    query = _state.update().where(_state.c.claimed_by == holder)
    if source_ids is not None:
        if not source_ids:
            return 0
        query = query.where(_state.c.source_id.in_(source_ids))
    with db.lease_write() as conn:
        return int(conn.execute(query.values(claimed_by=None, claimed_until=None)).rowcount)


def extend_sources(db: Database, holder: str, source_ids: list[str], now: datetime, seconds: float) -> int:
    """Push back the end of this holder's claims on these sources (a long check keeps them)."""
    if not source_ids:
        return 0
    with db.lease_write() as conn:
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
    "Claimed",
    "Lease",
    "acquire",
    "claim_due_batch",
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
