"""The composition root: the one place that builds the database, the store, the projector and the
adapters (the fetcher, the mail transport) from settings, and hands them to the use cases.

Tests and benchmarks replace an adapter by passing it here (``App(settings, mail=...)``,
``App(settings, fetcher=...)``); no service builds one of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from tracker import migrate
from tracker.core import Database, EventStore, Projector
from tracker.core.store import utc_now
from tracker.domain.upcasters import build_upcaster
from tracker.projections import NAMES, ReadModel, all_projections, projections_named
from tracker.settings import Settings

if TYPE_CHECKING:
    # Built on first use (and imported then): `tracker status` loads neither httpx's transports nor smtplib.
    from tracker.fetching import Fetcher
    from tracker.mail import Transport
    from tracker.services.robots_rules import SharedRobotsStore

FetcherFactory = Callable[[], "Fetcher"]


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        fetcher: FetcherFactory | None = None,
        mail: Transport | None = None,
        read_only: bool = False,
    ) -> None:
        self.settings = settings
        # A process whose database role may only read (the web interface, TRACKER_WEB_READ_ONLY):
        # it never catches the read models up itself; `tracker serve` does.
        self.read_only = read_only
        self.clock = clock
        self._fetcher = fetcher
        self._mail = mail
        self._projectors: dict[frozenset[str], Projector] = {}

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @cached_property
    def store(self) -> EventStore:
        """The store of an initialised, current database (refuses anything else)."""
        migrate.ensure_ready(self.db)
        return EventStore(self.db, clock=self.clock, upcaster=build_upcaster())

    def require_ready(self) -> None:
        """Refuse an uninitialised, foreign or outdated database before doing anything else."""
        self.store  # noqa: B018 - building the store is the check

    @cached_property
    def projector(self) -> Projector:
        return Projector(self.store, all_projections())

    def fresh(self, *read_models: ReadModel) -> None:
        """Bring these read models (all of them when none is named) up to the head of the log.

        Those already at the head are left alone without a write transaction; a read-only
        process reads them as they are.
        """
        if self.read_only:
            return
        projector = self._projector_of(read_models)
        behind = projector.behind(read_models or None)
        if behind:
            projector.catch_up(only=behind)

    def _projector_of(self, read_models: tuple[ReadModel, ...]) -> Projector:
        """The projector of every read model once it is built; until then, one of just these, kept
        for the next call that names them (the scheduler's tick asks for "sources" each time, and
        its projector remembers the stretches of the log found to hold nothing for them). A check
        imports and builds no projection but the sources one (issue 18)."""
        names = frozenset(read_models)
        if not names or "projector" in self.__dict__ or not names <= NAMES:
            return self.projector    # an unknown name is refused there, naming every projection
        if names not in self._projectors:
            self._projectors[names] = Projector(self.store, projections_named(names))
        return self._projectors[names]

    def fetcher(self) -> Fetcher:
        """A new fetcher for one round of checks (use it as ``async with``)."""
        if self._fetcher is not None:
            return self._fetcher()
        from tracker.fetching import FetchConfig, Fetcher
        from tracker.services.host_pace import DatabasePacer

        # Every process paces each host, and keeps what robots.txt says, through the database.
        return Fetcher(FetchConfig.from_settings(self.settings.fetch), pacer=DatabasePacer(self.db),
                       robots=self._robots)

    @cached_property
    def _robots(self) -> SharedRobotsStore:
        from tracker.services.robots_rules import SharedRobotsStore

        return SharedRobotsStore(self.db)

    @cached_property
    def mail(self) -> Transport:
        """Where digests go: SMTP when ``smtp.url`` is set, else .eml files in <home>/outbox."""
        if self._mail is not None:
            return self._mail
        from tracker.mail import transport_from_settings

        smtp = self.settings.smtp
        return transport_from_settings(smtp.url, smtp.username, smtp.password, smtp.timeout,
                                       self.settings.home / "outbox")

    def init(self) -> tuple[str | None, str]:
        return migrate.upgrade(self.db)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
