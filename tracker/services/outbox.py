"""Claims on outbox messages: every sender, whatever started it, claims a message before sending it.

The two outboxes (`digest_outbox` for e-mail, `channel_outbox` for Apprise channels) share one
shape: a prepared message, its status and a claim (claimed_by, claimed_until). A sender takes one
prepared message whose claim is free (never taken, or run out) in one transaction: on PostgreSQL
the row is picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent senders take different
messages without waiting); on SQLite the write lock (BEGIN IMMEDIATE) serialises the pick. The
UPDATE re-checks the status and the claim on the row it changes, so of two racing senders only
one ever holds a message.

A claim runs out after `seconds`: a sender killed mid-send leaves its message to the next sender,
which sends the same bytes with the same Message-ID. A holder known dead on this host (its pid is
gone) has its claims freed at once. The claim is let go when the message is recorded sent, failed
or cancelled, or when a passing failure leaves it prepared for a later run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import Database
from tracker.core.events import format_time
from tracker.schema.operational import channel_outbox, digest_outbox
from tracker.services import heartbeat

OUTBOXES: dict[str, sa.Table] = {"mail": digest_outbox, "channel": channel_outbox}


def _free(table: sa.Table, stamp: str) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < stamp)


def claim(
    db: Database, table: sa.Table, holder: str, now: datetime, seconds: float, *,
    subscription_id: str | None = None, exclude: frozenset[str] = frozenset(),
) -> str | None:
    """Claim the oldest prepared, unclaimed message (of one subscription, or any) not in `exclude`;
    its message id, or None when there is none left to claim."""
    stamp = format_time(now)
    query = (
        sa.select(table.c.message_id)
        .where(table.c.status == "prepared", _free(table, stamp))
        .order_by(table.c.created_at, table.c.message_id)
        .limit(1)
    )
    if subscription_id is not None:
        query = query.where(table.c.subscription_id == subscription_id)
    if exclude:
        query = query.where(table.c.message_id.not_in(sorted(exclude)))
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    with db.write() as conn:
        message_id = conn.execute(query).scalar()
        if message_id is None:
            return None
        taken = conn.execute(
            table.update()
            .where(table.c.message_id == message_id, table.c.status == "prepared", _free(table, stamp))
            .values(claimed_by=holder, claimed_until=format_time(now + timedelta(seconds=seconds)))
        ).rowcount
    return str(message_id) if taken else None


def settle(conn: Connection, table: sa.Table, message_id: str, **values: Any) -> bool:
    """Change a message that is still prepared (status, attempts, error ...) and let go of its
    claim, inside the caller's transaction; False if it was no longer prepared (another sender,
    whose claim this one outlived, recorded it first)."""
    return bool(conn.execute(
        table.update().where(table.c.message_id == message_id, table.c.status == "prepared")
        .values(claimed_by=None, claimed_until=None, **values)
    ).rowcount)


def free_dead_claims(db: Database, now: datetime) -> int:
    """Let go of live claims whose holder ran on this host and is gone (killed mid-send)."""
    stamp = format_time(now)
    freed = 0
    for table in OUTBOXES.values():
        with db.read() as conn:
            holders = [str(h) for h in conn.execute(
                sa.select(table.c.claimed_by).distinct()
                .where(table.c.status == "prepared", table.c.claimed_until >= stamp)).scalars()]
        dead = [holder for holder in holders if heartbeat.is_dead_here(holder)]
        if dead:
            with db.write() as conn:
                freed += int(conn.execute(
                    table.update().where(table.c.claimed_by.in_(dead), table.c.status == "prepared")
                    .values(claimed_by=None, claimed_until=None)).rowcount)
    return freed
