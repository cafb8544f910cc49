"""The per-host politeness pace, shared by every process through the database.

Each process already spaces its own requests to a host (`fetch.host_delay` between starts, in
the fetcher). Several processes (`tracker serve` on PostgreSQL, or a `tracker check` beside it on
SQLite) would each keep that pace and together exceed it, so every request also reserves its
start in `host_pace`: one atomic upsert moves the host's next allowed time to
max(next allowed, now) + delay and returns it, so that two processes can never take the same
start (PostgreSQL locks the row for the conflict update; SQLite runs writers one at a time).
Times are wall-clock epoch seconds: processes on several machines need synchronised clocks (NTP),
as the leases do.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from tracker.core import Database
from tracker.core.db import upsert_insert
from tracker.schema.operational import host_pace


class DatabasePacer:
    """A `tracker.fetching.Pacer` over the `host_pace` table."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        insert = upsert_insert("sqlite" if db.is_sqlite else "postgresql")
        later = sa.func.max if db.is_sqlite else sa.func.greatest  # SQLite's two-argument max() is scalar
        now, delay = sa.bindparam("now", type_=sa.Float), sa.bindparam("delay", type_=sa.Float)
        self._statement = (
            insert(host_pace).values(host=sa.bindparam("host"), next_at=now + delay)
            .on_conflict_do_update(index_elements=[host_pace.c.host],
                                   set_={"next_at": later(host_pace.c.next_at, now) + delay})
            .returning(host_pace.c.next_at)
        )

    def reserve(self, host: str, delay: float) -> float:
        now = self.clock()
        with self.db.write() as conn:
            next_at = float(conn.execute(self._statement, {"host": host, "now": now, "delay": delay}).scalar_one())
        return max(0.0, next_at - delay - now)


__all__ = ["DatabasePacer"]
