"""The composition root: the one place that wires settings, database, store and services together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from tracker import migrate
from tracker.core import Database, EventStore, Projector
from tracker.core.store import utc_now
from tracker.domain.upcasters import build_upcaster
from tracker.projections import all_projections
from tracker.settings import Settings


class App:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @cached_property
    def store(self) -> EventStore:
        """The store of an initialised, current database (refuses anything else)."""
        migrate.ensure_ready(self.db)
        return EventStore(self.db, clock=self.clock, upcaster=build_upcaster())

    @cached_property
    def projector(self) -> Projector:
        return Projector(self.store, all_projections())

    def init(self) -> tuple[str | None, str]:
        return migrate.upgrade(self.db)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
