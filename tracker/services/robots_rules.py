"""robots.txt rules shared by the tracker's processes through the database.

A fetcher keeps the rules it read in memory (tracker.fetching.robots). `tracker check` run from
cron is a new process each time and would ask every site for its robots.txt on every run; with
this store it asks once per ``robots_ttl`` (a day by default) whichever process asked last. What
is kept is the text the site served (or "no rules" after a 4xx), with the wall-clock time it
expires; a 5xx answer is never kept (the fetcher asks again next time), as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from tracker.core import Database
from tracker.core.db import upsert_insert
from tracker.fetching.robots import RobotsStore, Rules
from tracker.schema.operational import robots_rules


class SharedRobotsStore(RobotsStore):
    """The process's memory store in front of the `robots_rules` table."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        # One clock for both layers: wall-clock seconds compare across processes (as host_pace).
        super().__init__(clock=clock)
        self.db = db
        self._wall = clock
        insert = upsert_insert("sqlite" if db.is_sqlite else "postgresql")
        statement = insert(robots_rules).values(origin=sa.bindparam("origin"), body=sa.bindparam("body"),
                                                expires_at=sa.bindparam("expires_at"))
        self._save = statement.on_conflict_do_update(
            index_elements=[robots_rules.c.origin],
            set_={"body": statement.excluded.body, "expires_at": statement.excluded.expires_at})

    def get(self, origin: str) -> Rules | None:
        rules = super().get(origin)
        if rules is not None:
            return rules
        now = self._wall()
        with self.db.read() as conn:
            row = conn.execute(sa.select(robots_rules.c.body, robots_rules.c.expires_at)
                               .where(robots_rules.c.origin == origin, robots_rules.c.expires_at > now)).first()
        if row is None:
            return None
        rules = Rules.from_text(row.body)
        super().put(origin, rules, row.expires_at - now)
        return rules

    def put(self, origin: str, rules: Rules, ttl: float) -> None:
        super().put(origin, rules, ttl)
        with self.db.write() as conn:
            conn.execute(self._save, {"origin": origin, "body": rules.text, "expires_at": self._wall() + ttl})


__all__ = ["SharedRobotsStore"]
