"""Projections catch up from their checkpoint; each batch and its checkpoint commit together.

So a crash between two batches loses nothing and applies nothing twice, and a rebuild from
position 0 goes through exactly the same code as the incremental path.

A stored event a projection cannot apply (written by an old or buggy version, or by a future
one) never stops it: each batch is applied under a savepoint; when it fails, its events are
applied one by one, and the one that fails is quarantined (projection_quarantine: position,
stream, type, reason), skipped, and the projection goes on. `tracker status` and `tracker
projections status` show what is quarantined; a later event on the same stream (an operator's
correction) is shown as correcting it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core.collector import collector_paused
from tracker.core.db import driver_mark, prepared_at_once, upsert_insert
from tracker.core.events import RecordedEvent, format_time
from tracker.core.store import EventStore
from tracker.errors import DatabaseError, NotFoundError
from tracker.schema.log import events as events_table
from tracker.schema.read_models import projection_checkpoints, projection_quarantine

log = logging.getLogger(__name__)

READ_PAGE_SIZE = 5000
REASON_MAX_CHARS = 500


def log_skipped(reader: str, event: RecordedEvent, exc: Exception) -> None:
    """A reader that folds the log itself (replay, digests, changelogs, seeding) skips a stored
    event it cannot read, says so and goes on; the projections record theirs as quarantined."""
    log.warning("%s: skipped the stored event at position %d (%s) it cannot read: %s",
                reader, event.position, event.type, _reason(exc))


@dataclass(frozen=True)
class Quarantined:
    """A stored event a projection skipped, and the later event of its stream that corrects it."""

    projection: str
    position: int
    stream: str
    type: str
    reason: str
    quarantined_at: str
    corrected_by: int | None

    def as_json(self) -> dict[str, object]:
        return {"projection": self.projection, "position": self.position, "stream": self.stream, "type": self.type,
                "reason": self.reason, "quarantined_at": self.quarantined_at, "corrected_by": self.corrected_by}


def _reason(exc: BaseException) -> str:
    """One line naming what went wrong (database errors carry their statement: cut it)."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split()) or "no message"
    line = f"{type(exc).__name__}: {text}"
    return line if len(line) <= REASON_MAX_CHARS else line[:REASON_MAX_CHARS - 3] + "..."


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
        # name -> (checkpoint, head): no event of the projection's types lies in (checkpoint, head].
        self._nothing_new: dict[str, tuple[int, int]] = {}

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
                conn.execute(
                    projection_quarantine.delete().where(projection_quarantine.c.projection == projection.name)
                )
                batches = _Counted(self._batches(target, projection.types, self.rebuild_batch_size))
                if isinstance(projection, BulkProjection) and self._bulk(conn, projection, batches):
                    pass
                else:
                    # Batch by batch: an event that cannot be applied is quarantined, not fatal.
                    batches = _Counted(self._batches(target, projection.types, self.rebuild_batch_size))
                    for batch in batches:
                        self._apply(conn, projection, batch)
                self._set_checkpoint(conn, projection.name, target)
            applied[projection.name] = batches.events
        return applied

    @staticmethod
    def _bulk(conn: Connection, projection: BulkProjection, batches: Iterable[Sequence[RecordedEvent]]) -> bool:
        """The one-go rebuild; False (and nothing of it kept) if some event stopped it."""
        try:
            with conn.begin_nested():
                projection.rebuild(conn, batches)
        except DatabaseError:
            raise
        except Exception:  # noqa: BLE001 - some stored event stopped it: go batch by batch
            return False
        return True

    def _apply(self, conn: Connection, projection: Projection, batch: Sequence[RecordedEvent]) -> None:
        """Apply a batch; if it fails, apply its events one by one and quarantine those that fail."""
        try:
            with conn.begin_nested():
                projection.apply(conn, batch)
            return
        except DatabaseError:
            raise       # the database itself is unusable: no event is to blame
        except Exception as exc:  # noqa: BLE001 - a stored event we cannot apply must not stop the projection
            if len(batch) == 1:
                self._quarantine(conn, projection.name, batch[0], exc)
                return
        for event in batch:
            try:
                with conn.begin_nested():
                    projection.apply(conn, [event])
            except DatabaseError:
                raise
            except Exception as exc:  # noqa: BLE001 - quarantined, see the module docstring
                self._quarantine(conn, projection.name, event, exc)

    def _quarantine(self, conn: Connection, name: str, event: RecordedEvent, exc: Exception) -> None:
        log.error("projection %s: event at position %d (%s) quarantined: %s", name, event.position, event.type,
                  _reason(exc))
        insert = upsert_insert(conn.dialect.name)
        conn.execute(insert(projection_quarantine).values(
            projection=name, position=event.position, stream=event.stream, type=event.type, reason=_reason(exc),
            quarantined_at=format_time(self.store.clock()),
        ).on_conflict_do_nothing())

    def quarantined(self, only: Sequence[str] | None = None) -> list[Quarantined]:
        """What the projections skipped, in position order, each with the later event of its
        stream (of a type the projection reads, itself not quarantined) that corrects it, if any."""
        found: list[Quarantined] = []
        with self.store.db.read() as conn:
            for projection in self._select(only):
                rows = conn.execute(
                    sa.select(projection_quarantine).where(projection_quarantine.c.projection == projection.name)
                    .order_by(projection_quarantine.c.position)
                ).all()
                skipped = {row.position for row in rows}
                for row in rows:
                    later = sa.select(events_table.c.position).where(
                        events_table.c.stream == row.stream, events_table.c.position > row.position,
                    ).order_by(events_table.c.position).limit(len(skipped) + 1)
                    if projection.types is not None:
                        later = later.where(events_table.c.type.in_(sorted(projection.types)))
                    corrected = next((p for p in conn.execute(later).scalars() if p not in skipped), None)
                    found.append(Quarantined(projection.name, int(row.position), row.stream, row.type, row.reason,
                                             row.quarantined_at, corrected))
        return found

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

    def behind(self, only: Sequence[str] | None = None) -> list[str]:
        """The projections (of ``only``) with events to apply past their checkpoint: reads only.

        A projection of some types only is not behind when none of its events lies past its
        checkpoint: the scheduler's tick asks this of the sources read model, and the events since
        its last tick are checks, not sources. Passing over them needs no write transaction (a
        catch-up each tick: 1.5-2.5 ms on SQLite, 7 ms on PostgreSQL; this: 0.15 and 0.4 ms); once
        they are more than a catch-up batch, a catch-up moves the stored checkpoint past them, so
        that no reader scans far. The stretch found empty is remembered, so the next call reads
        only the events after it.
        """
        projections = self._select(only)
        sql, params = self._behind_query(projections)
        # One statement (one snapshot, one round trip): the head, and per projection its
        # checkpoint and whether an event of its types lies past it (see _behind_query).
        with self.store.db.peek() as conn:
            # The driver's SQL: the tick asks this each time, and SQLAlchemy's work per statement
            # was as much as the database's here.
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                with prepared_at_once(conn):
                    cursor.execute(sql, params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        head = int(row[0])
        return [p.name for n, p in enumerate(projections)
                if self._has_events(p, int(row[1 + 2 * n]), head, row[2 + 2 * n])]

    def _behind_query(self, projections: Sequence[Projection]) -> tuple[str, tuple[Any, ...]]:
        """behind()'s statement and parameters: a row of the head, then per projection its
        checkpoint and, for a projection of some types whose checkpoint is behind the head by at
        most a catch-up batch, whether one of its events lies between where the last look ended
        (the remembered empty stretch) and the head; NULL where no such look is needed, so that
        the events are only read when the answer depends on them."""
        mark = driver_mark(self.store.db.is_sqlite)
        columns, tables, flag_params, name_params = ["h.head"], [], [], []
        for n, projection in enumerate(projections):
            cp = f"c{n}.cp"
            tables.append(f"(SELECT coalesce(max(position), 0) AS cp FROM projection_checkpoints"
                          f" WHERE name = {mark}) AS c{n}")
            name_params.append(projection.name)
            if projection.types is None:
                columns += [cp, "NULL"]
                continue
            types = sorted(projection.types)
            checked, up_to = self._nothing_new.get(projection.name, (-1, 0))
            columns += [cp, f"CASE WHEN {cp} < h.head AND h.head - {cp} <= {mark} THEN EXISTS (SELECT 1 FROM events"
                            f" WHERE position > CASE WHEN {cp} = {mark} THEN {mark} ELSE {cp} END"
                            f" AND position <= h.head AND type IN ({', '.join([mark] * len(types))})) END"]
            flag_params += [self.batch_size, checked, up_to, *types]
        sql = (f"SELECT {', '.join(columns)} FROM (SELECT coalesce(max(position), 0) AS head FROM events) AS h"
               + "".join(f", {table}" for table in tables))
        return sql, (*flag_params, *name_params)

    def _has_events(self, projection: Projection, checkpoint: int, head: int, found: object) -> bool:
        if checkpoint >= head:
            return False
        if projection.types is None or head - checkpoint > self.batch_size:
            return True
        if found:
            return True
        # Nothing of its types in (checkpoint, head]: the log is append-only, so that stays true.
        self._nothing_new[projection.name] = (checkpoint, head)
        return False

    def _select(self, only: Sequence[str] | None) -> list[Projection]:
        if only is None:
            return self.projections
        names = {p.name for p in self.projections}
        unknown = sorted(set(only) - names)
        if unknown:
            raise NotFoundError(
                f"unknown projection(s): {', '.join(map(repr, unknown))} (known: {', '.join(sorted(names))})"
            )
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
                    self._apply(conn, projection, batch)
                    total += len(batch)
                # A short page means nothing of interest is left up to the target.
                full = len(batch) == batch_size
                self._set_checkpoint(conn, projection.name, batch[-1].position if full else target)
            if not full:
                return total  # at the target: no transaction more to find that out

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
        insert = upsert_insert(conn.dialect.name)
        conn.execute(insert(projection_checkpoints).values(name=name, position=0).on_conflict_do_nothing())
        query = sa.select(projection_checkpoints.c.position).where(projection_checkpoints.c.name == name)
        if not self.store.db.is_sqlite:
            query = query.with_for_update()  # one catcher-up per projection at a time
        return int(conn.execute(query).scalar_one())

    def _set_checkpoint(self, conn: Connection, name: str, position: int) -> None:
        conn.execute(
            projection_checkpoints.update().where(projection_checkpoints.c.name == name).values(position=position)
        )
