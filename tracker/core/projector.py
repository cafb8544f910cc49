"""Projections catch up from their checkpoint; each batch and its checkpoint commit together.

So a crash between two batches loses nothing and applies nothing twice, and a rebuild from
position 0 goes through exactly the same code as the incremental path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.core.collector import collector_paused
from tracker.core.events import RecordedEvent
from tracker.schema.read_models import projection_checkpoints
from tracker.core.store import EventStore
from tracker.errors import NotFoundError

READ_PAGE_SIZE = 5000


class Projection(Protocol):
    """A read model that owns its tables and is rebuilt from the log alone."""

    name: str
    # Event types it reads; None reads everything.
    types: frozenset[str] | None

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None: ...

    def clear(self, conn: Connection) -> None: ...


@runtime_checkable
class BulkProjection(Projection, Protocol):
    """A projection that rebuilds from every batch of the log in one go (see Projector.rebuild)."""

    def rebuild(self, conn: Connection, batches: Iterable[Sequence[RecordedEvent]]) -> None: ...


class _Counted:
    """The batches, counting the events that went through."""

    def __init__(self, batches: Iterator[list[RecordedEvent]]) -> None:
        self._batches, self.events = batches, 0

    def __iter__(self) -> Iterator[list[RecordedEvent]]:
        for batch in self._batches:
            self.events += len(batch)
            yield batch


class Projector:
    """Catches projections up in batches of ``batch_size`` events, one transaction each.

    A rebuild replays the whole log in one transaction, in larger batches
    (``rebuild_batch_size``): the events of one batch are held in memory, which bounds it.
    """

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        batch_size: int = 5000,
        rebuild_batch_size: int = 30_000,
    ) -> None:
        self.store = store
        self.projections = list(projections)
        self.batch_size = batch_size
        self.rebuild_batch_size = max(batch_size, rebuild_batch_size)

    def catch_up(self, only: Sequence[str] | None = None) -> dict[str, int]:
        """Bring each projection up to the head; returns events applied per projection."""
        return {projection.name: self._catch_up_one(projection, self.batch_size) for projection in self._select(only)}

    def rebuild(self, only: Sequence[str] | None = None) -> dict[str, int]:
        """Drop each read model's rows and replay the whole log into it: one transaction each.

        Readers see the old read model until the new one commits whole, and a rebuild that fails
        leaves the old one in place. A projection with a ``rebuild`` method of its own
        (BulkProjection) gets every batch in that transaction, so it can write what only the
        end state needs once; the others get ``apply`` per batch. On SQLite the rebuild holds the
        write lock throughout, so appends wait for it (seconds for a million events).
        """
        applied: dict[str, int] = {}
        for projection in self._select(only):
            # A rebuild is a command of its own (tracker projections rebuild), never a service thread.
            with collector_paused(), self.store.db.write() as conn:
                self._lock_checkpoint(conn, projection.name)
                target = self.store.head().position  # appends wait on SQLite; later ones catch up
                projection.clear(conn)
                batches = _Counted(self._batches(target, projection.types, self.rebuild_batch_size))
                if isinstance(projection, BulkProjection):
                    projection.rebuild(conn, batches)
                else:
                    for batch in batches:
                        projection.apply(conn, batch)
                self._set_checkpoint(conn, projection.name, target)
            applied[projection.name] = batches.events
        return applied

    def _batches(self, until: int, types: frozenset[str] | None, size: int) -> Iterator[list[RecordedEvent]]:
        events = self.store.read(until=until, types=types, page_size=min(size, READ_PAGE_SIZE))
        while batch := list(islice(events, size)):
            yield batch

    def checkpoint(self, name: str) -> int:
        with self.store.db.read() as conn:
            value = conn.execute(
                sa.select(projection_checkpoints.c.position).where(projection_checkpoints.c.name == name)
            ).scalar()
        return int(value or 0)

    def _select(self, only: Sequence[str] | None) -> list[Projection]:
        if only is None:
            return self.projections
        names = {p.name for p in self.projections}
        unknown = sorted(set(only) - names)
        if unknown:
            raise NotFoundError(f"unknown projection(s): {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        return [p for p in self.projections if p.name in set(only)]

    def _catch_up_one(self, projection: Projection, batch_size: int) -> int:
        total = 0
        target = self.store.head().position
        while True:
            with self.store.db.write() as conn:
                position = self._lock_checkpoint(conn, projection.name)
                if position >= target:
                    return total
                batch = self._page(position, target, projection.types, batch_size)
                if batch:
                    projection.apply(conn, batch)
                    total += len(batch)
                # A short page means nothing of interest is left up to the target.
                end = batch[-1].position if len(batch) == batch_size else target
                self._set_checkpoint(conn, projection.name, end)

    def _page(self, after: int, until: int, types: frozenset[str] | None, batch_size: int) -> list[RecordedEvent]:
        page: list[RecordedEvent] = []
        # The query pages stay small whatever the batch: the rows of one page are alive at once.
        page_size = min(batch_size, READ_PAGE_SIZE)
        for event in self.store.read(after=after, until=until, types=types, page_size=page_size):
            page.append(event)
            if len(page) == batch_size:
                break
        return page

    def _lock_checkpoint(self, conn: Connection, name: str) -> int:
        insert = postgresql.insert if not self.store.db.is_sqlite else sqlite.insert
        conn.execute(insert(projection_checkpoints).values(name=name, position=0).on_conflict_do_nothing())
        query = sa.select(projection_checkpoints.c.position).where(projection_checkpoints.c.name == name)
        if not self.store.db.is_sqlite:
            query = query.with_for_update()  # one catcher-up per projection at a time
        return int(conn.execute(query).scalar_one())

    def _set_checkpoint(self, conn: Connection, name: str, position: int) -> None:
        conn.execute(
            projection_checkpoints.update().where(projection_checkpoints.c.name == name).values(position=position)
        )
