"""Who is serving: one heartbeat row per `tracker serve` process, renewed while it lives.

A process is named ``host:pid:token`` (the token tells apart two lives of a recycled pid). The
row records when it started, when it was last seen, its last scheduler tick and a short summary
of that tick, and when it stopped cleanly. `tracker status` reads these rows; housekeeping
deletes rows older than the retention.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tracker.core import Database
from tracker.core.events import format_time
from tracker.schema.operational import scheduler_heartbeats


@dataclass(frozen=True)
class ProcessIdentity:
    """This process, as other processes and operators see it."""

    host: str
    pid: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @classmethod
    def current(cls) -> ProcessIdentity:
        return cls(socket.gethostname(), os.getpid())

    @property
    def process_id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"


def parse_process_id(process_id: str) -> tuple[str, int] | None:
    """(host, pid) of a ``host:pid:token`` name, or None if it is not one."""
    host, _, rest = process_id.rpartition(":")
    host, _, pid = host.rpartition(":")
    return (host, int(pid)) if host and pid.isdigit() else None


def is_dead_here(process_id: str) -> bool:
    """True only when the process ran on this host and no process with its pid is alive now.

    A pid alive on this host might be a recycled one: it is then treated as alive, and the lease
    simply runs out. Processes on other hosts are never judged from here.
    """
    parsed = parse_process_id(process_id)
    if parsed is None or parsed[0] != socket.gethostname():
        return False
    try:
        os.kill(parsed[1], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def beat(db: Database, me: ProcessIdentity, now: datetime, role: str) -> None:
    """Create or renew this process's row (seen_at = now)."""
    stamp = format_time(now)
    with db.write() as conn:
        updated = conn.execute(
            scheduler_heartbeats.update()
            .where(scheduler_heartbeats.c.process_id == me.process_id)
            .values(seen_at=stamp, role=role)
        ).rowcount
        if not updated:
            conn.execute(
                scheduler_heartbeats.insert().values(
                    process_id=me.process_id, host=me.host, pid=me.pid, role=role,
                    started_at=stamp, seen_at=stamp,
                )
            )


def record_tick(db: Database, me: ProcessIdentity, now: datetime, summary: dict[str, Any]) -> None:
    stamp = format_time(now)
    with db.write() as conn:
        conn.execute(
            scheduler_heartbeats.update()
            .where(scheduler_heartbeats.c.process_id == me.process_id)
            .values(last_tick_at=stamp, seen_at=stamp, last_tick_summary=json.dumps(summary, sort_keys=True))
        )


def mark_stopped(db: Database, me: ProcessIdentity, now: datetime) -> None:
    with db.write() as conn:
        conn.execute(
            scheduler_heartbeats.update()
            .where(scheduler_heartbeats.c.process_id == me.process_id)
            .values(stopped_at=format_time(now))
        )


def served_since(db: Database) -> str | None:
    """When the earliest process still on record started: scheduled work owed from then on."""
    with db.read() as conn:
        value = conn.execute(sa.select(sa.func.min(scheduler_heartbeats.c.started_at))).scalar()
    return str(value) if value is not None else None


def prune(db: Database, before: datetime) -> int:
    """Delete rows of processes not seen since `before`; returns how many."""
    with db.write() as conn:
        return int(
            conn.execute(
                scheduler_heartbeats.delete().where(scheduler_heartbeats.c.seen_at < format_time(before))
            ).rowcount
        )


def recent(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The most recently seen processes, newest first, as plain dicts."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(scheduler_heartbeats).order_by(scheduler_heartbeats.c.seen_at.desc()).limit(limit)
        ).mappings().all()
    result = []
    for row in rows:
        item = dict(row)
        summary = item.pop("last_tick_summary")
        item["last_tick"] = json.loads(summary) if summary else None
        result.append(item)
    return result
