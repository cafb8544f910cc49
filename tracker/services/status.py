"""How the tracker is doing, for operators: `tracker status` reads this, in text or JSON.

One plain dict (JSON-ready) with five sections:
  scheduler  the last tick and which process ran it, and the processes seen lately (alive or not)
  sources    counts by state (ok, due, failing, unreachable, blocked, new), the worst offenders,
             the next due times
  digests    the last digest of each subscription and the outbox queue by status
  events     event count and head (position, hash)
  projections  checkpoints and the stored events a projection quarantined (could not apply)
A section whose tables are not there yet says so instead of failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.app import App
from tracker.core.events import format_time
from tracker.schema.operational import digest_outbox as _outbox
from tracker.schema.operational import source_state as _state
from tracker.schema.read_models import sources as _sources
from tracker.schema.read_models import subscriptions as _subscriptions
from tracker.services import claims, heartbeat, personal
from tracker.settings import mask_url

STATES = ("ok", "suspect", "failing", "unreachable", "blocked", "new")

def gather(app: App, now: datetime | None = None, *, worst: int = 5, upcoming: int = 5) -> dict[str, Any]:
    """The status report as a plain dict; reads only."""
    now = now or app.clock()
    head = app.store.head()
    stale = app.settings.schedule.instance_lease * 2
    with app.db.read() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        sources = (
            _sources_section(conn, now, worst, upcoming)
            if {"sources", "source_state"} <= tables
            else _missing("source_state")
        )
        digests = _digests_section(conn) if {"subscriptions", "digest_outbox"} <= tables else _missing("digest_outbox")
    return {
        "generated_at": format_time(now),
        "database": app.db.display_url,
        "scheduler": _scheduler_section(app, now, stale),
        "sources": sources,
        "digests": digests,
        "events": {"count": app.store.count(), "head_position": head.position, "head_hash": head.hash,
                   "head_recorded_at": head.recorded_at},
        "projections": projections_report(app, head.position),
    }


def projections_report(app: App, head: int | None = None) -> dict[str, Any]:
    """Each projection's checkpoint against the head, and the stored events it quarantined
    (`tracker projections status --json` prints this)."""
    head = app.store.head().position if head is None else head
    quarantined = app.projector.quarantined()
    listed = []
    for projection in app.projector.projections:
        checkpoint = app.projector.checkpoint(projection.name)
        listed.append({
            "name": projection.name, "checkpoint": checkpoint, "head": head, "behind": max(head - checkpoint, 0),
            "quarantined": [q.as_json() for q in quarantined if q.projection == projection.name],
        })
    return {
        "head_position": head,
        "projections": listed,
        "quarantined": len(quarantined),
        "uncorrected": sum(1 for q in quarantined if q.corrected_by is None),
    }


def _missing(table: str) -> dict[str, Any]:
    return {"available": False, "reason": f"table {table} does not exist yet"}


def _scheduler_section(app: App, now: datetime, stale_seconds: float) -> dict[str, Any]:
    processes = heartbeat.recent(app.db)
    cutoff = format_time(now - timedelta(seconds=stale_seconds))
    for process in processes:
        process["alive"] = process["stopped_at"] is None and process["seen_at"] >= cutoff
    ticked = [p for p in processes if p["last_tick_at"]]
    last = max(ticked, key=lambda p: p["last_tick_at"]) if ticked else None
    periods = [
        {"name": lease.name, "completed_at": lease.completed_at, "by": lease.holder}
        for lease in claims.leases(app.db, "digest:", limit=4)
    ]
    return {
        "last_tick_at": last["last_tick_at"] if last else None,
        "last_tick_by": last["process_id"] if last else None,
        "last_tick": last["last_tick"] if last else None,
        "alive": sum(1 for p in processes if p["alive"]),
        "processes": processes,
        "digest_periods": periods,
    }


def _sources_section(conn: Connection, now: datetime, worst: int, upcoming: int) -> dict[str, Any]:
    stamp = format_time(now)
    active = (
        sa.select(_state)
        .join(_sources, _sources.c.id == _state.c.source_id)
        .where(_sources.c.active.is_(True))
        .subquery()
    )
    by_state = {state: 0 for state in STATES}
    for state, count in conn.execute(sa.select(active.c.state, sa.func.count()).group_by(active.c.state)):
        by_state[str(state)] = int(count)
    due = conn.execute(
        sa.select(sa.func.count()).select_from(active)
        .where(sa.or_(active.c.next_due_at.is_(None), active.c.next_due_at <= stamp))
    ).scalar_one()
    claimed = conn.execute(
        sa.select(sa.func.count()).select_from(active).where(active.c.claimed_until > stamp)
    ).scalar_one()
    offenders = conn.execute(
        sa.select(active.c.source_id, active.c.state, active.c.consecutive_failures, active.c.last_error_class,
                  active.c.last_error, active.c.last_checked_at, _sources.c.url)
        .join(_sources, _sources.c.id == active.c.source_id)
        .where(active.c.state.in_(("failing", "unreachable", "blocked")))
        .order_by(active.c.consecutive_failures.desc(), active.c.source_id)
        .limit(worst)
    ).mappings().all()
    next_due = conn.execute(
        sa.select(active.c.source_id, active.c.next_due_at)
        .where(active.c.next_due_at.is_not(None), active.c.next_due_at > stamp)
        .order_by(active.c.next_due_at, active.c.source_id)
        .limit(upcoming)
    ).mappings().all()
    return {
        "available": True,
        "total": sum(by_state.values()),
        "by_state": by_state,
        "due": int(due),
        "claimed": int(claimed),
        "worst": [
            {"id": row["source_id"], "state": row["state"], "failures": row["consecutive_failures"],
             "error_class": row["last_error_class"], "error": row["last_error"],
             "last_checked_at": row["last_checked_at"], "url": mask_url(str(row["url"]))}
            for row in offenders
        ],
        "next_due": [{"id": row["source_id"], "next_due_at": row["next_due_at"]} for row in next_due],
    }


def _digests_section(conn: Connection) -> dict[str, Any]:
    queue = {"prepared": 0, "failed": 0, "sent": 0}
    for status, count in conn.execute(sa.select(_outbox.c.status, sa.func.count()).group_by(_outbox.c.status)):
        queue[str(status)] = int(count)
    latest = (
        sa.select(_outbox.c.subscription_id, sa.func.max(_outbox.c.created_at).label("created_at"))
        .group_by(_outbox.c.subscription_id)
        .subquery()
    )
    last = {
        row["subscription_id"]: row
        for row in conn.execute(
            sa.select(_outbox.c.subscription_id, _outbox.c.message_id, _outbox.c.status, _outbox.c.created_at,
                      _outbox.c.sent_at, _outbox.c.item_count, _outbox.c.attempts, _outbox.c.last_error)
            .join(latest, sa.and_(latest.c.subscription_id == _outbox.c.subscription_id,
                                  latest.c.created_at == _outbox.c.created_at))
        ).mappings()
    }
    subscriptions = []
    rows = conn.execute(
        sa.select(_subscriptions.c.id, _subscriptions.c.name, _subscriptions.c.cadence, _subscriptions.c.status)
        .order_by(_subscriptions.c.id)
    ).mappings().all()
    labels = personal.names(conn, [row["id"] for row in rows])
    for row in rows:
        digest = last.get(row["id"])
        subscriptions.append(
            {
                "id": row["id"],
                "name": labels.get(row["id"], row["name"]),
                "cadence": row["cadence"],
                "status": row["status"],
                "last_digest": None
                if digest is None
                else {
                    "message_id": digest["message_id"],
                    "status": digest["status"],
                    "prepared_at": digest["created_at"],
                    "sent_at": digest["sent_at"],
                    "items": digest["item_count"],
                    "attempts": digest["attempts"],
                    "error": digest["last_error"],
                },
            }
        )
    # Digests refused for good (DigestFailed): shown until an operator has seen to the address.
    failed = [
        {"message_id": row.message_id, "subscription": row.subscription_id, "rejections": row.rejections,
         "attempts": row.attempts, "prepared_at": row.created_at, "error": row.last_error}
        for row in conn.execute(
            sa.select(_outbox.c.message_id, _outbox.c.subscription_id, _outbox.c.rejections, _outbox.c.attempts,
                      _outbox.c.created_at, _outbox.c.last_error)
            .where(_outbox.c.status == "failed").order_by(_outbox.c.created_at.desc()).limit(20))
    ]
    return {"available": True, "outbox": queue, "subscriptions": subscriptions, "failed": failed}
