"""Figures for operators' monitoring (the web interface's /healthz and /metrics); reads only.

  checks     check outcomes recorded in the log (baselined, changed, unreachable, recovered) and the
             counts of the last scheduler tick
  sources    active sources by state
  digests    the outbox by status (prepared and failed are the queue)
  log        head position and event count; the latest signed checkpoint
  scheduler  the age of the freshest heartbeat of a running `tracker serve`
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.schema.log import events
from tracker.schema.operational import digest_outbox, scheduler_heartbeats, source_state
from tracker.schema.read_models import sources
from tracker.services import checkpoints

CHECK_OUTCOMES = {v.SOURCE_BASELINED: "baselined", v.SOURCE_CHANGED: "changed",
                  v.SOURCE_UNREACHABLE: "unreachable", v.SOURCE_RECOVERED: "recovered"}
SOURCE_STATES = ("ok", "suspect", "failing", "unreachable", "blocked", "new")


@dataclass(frozen=True)
class Heartbeat:
    seen_at: str | None  # the freshest heartbeat of a process that has not stopped
    age_seconds: float | None
    alive: bool


@dataclass(frozen=True)
class Figures:
    head_position: int
    head_recorded_at: str | None
    checks: dict[str, int]
    last_tick: dict[str, int]
    sources: dict[str, int]
    outbox: dict[str, int]
    heartbeat: Heartbeat
    checkpoint_size: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    return max(0.0, (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())


def heartbeat_age(app: App, now: datetime | None = None) -> Heartbeat:
    now = now or app.clock()
    with app.db.read() as conn:
        seen = conn.execute(sa.select(sa.func.max(scheduler_heartbeats.c.seen_at))
                            .where(scheduler_heartbeats.c.stopped_at.is_(None))).scalar()
    age = _age(seen, now)
    return Heartbeat(seen, age, age is not None and age <= app.settings.schedule.instance_lease * 2)


def gather(app: App, now: datetime | None = None) -> Figures:
    now = now or app.clock()
    head = app.store.head()
    with app.db.read() as conn:
        checks = {name: 0 for name in CHECK_OUTCOMES.values()}
        for kind, count in conn.execute(sa.select(events.c.type, sa.func.count())
                                        .where(events.c.type.in_(sorted(CHECK_OUTCOMES))).group_by(events.c.type)):
            checks[CHECK_OUTCOMES[str(kind)]] = int(count)
        by_state = dict.fromkeys(SOURCE_STATES, 0)
        for state, count in conn.execute(
            sa.select(source_state.c.state, sa.func.count())
            .select_from(sources.outerjoin(source_state, source_state.c.source_id == sources.c.id))
            .where(sources.c.active.is_(True)).group_by(source_state.c.state)
        ):
            name = str(state or "new")   # never checked yet
            by_state[name] = by_state.get(name, 0) + int(count)
        outbox = {"prepared": 0, "failed": 0, "sent": 0}
        for status, count in conn.execute(sa.select(digest_outbox.c.status, sa.func.count())
                                          .group_by(digest_outbox.c.status)):
            outbox[str(status)] = int(count)
        summary = conn.execute(sa.select(scheduler_heartbeats.c.last_tick_summary)
                               .where(scheduler_heartbeats.c.last_tick_at.is_not(None))
                               .order_by(scheduler_heartbeats.c.last_tick_at.desc()).limit(1)).scalar()
    last_tick = {str(k): int(val) for k, val in (json.loads(summary) if summary else {}).items()
                 if isinstance(val, int | float) and not isinstance(val, bool)}
    kept = checkpoints.latest_checkpoint(app.db)
    return Figures(head.position, head.recorded_at, checks, last_tick, by_state, outbox, heartbeat_age(app, now),
                   kept.tree_size if kept else None)
