"""The append-only, hash-chained event store.

Appends are serialised where the chain needs it: on SQLite by the write lock that BEGIN IMMEDIATE
takes, on PostgreSQL by one transaction-scoped advisory lock. Inside that lock the store reads the
head, numbers the new events head+1, head+2, ... and chains their hashes, so positions are dense
and commit in position order on both backends (no sequence, no holes, no reader missing a row
that commits late). Reads page through positions, so memory stays constant however long the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, overload

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from tracker.core.canonical import GENESIS_HASH, ChainHasher, canonical_json
from tracker.core.collector import collector_paused
from tracker.core.db import BulkInsert, Database, driver_mark, one_line
from tracker.core.events import NewEvent, RecordedEvent, Upcaster, format_time
from tracker.core.tree import TreeWriter
from tracker.errors import ConcurrencyError, DatabaseError, EventStoreError, InvalidEventError
from tracker.schema.log import EVENT_COLUMNS, events

ANY_VERSION = -1
APPEND_LOCK_KEY = 0x747261636B  # "track": the one advisory lock all PostgreSQL appends queue on
PAGE_SIZE = 2000
_MICROSECOND = timedelta(microseconds=1)
_IN_CHUNK = 500  # bound on IN (...) lists
_KNOWN_VERSIONS_MAX = 100_000  # streams whose version a store remembers between appends
_BULK = 100  # events in one append from which the cyclic collector waits for the batch (collector.py)
_raw_decode = json.JSONDecoder().raw_decode
_new_tuple = tuple.__new__


def _decode(text: str) -> Any:
    """json.loads for the stored text, which is canonical: no whitespace around the value.

    raw_decode skips the two whitespace scans of json.loads; anything it does not consume
    whole goes to json.loads, which decodes it or raises exactly as before.
    """
    try:
        value, end = _raw_decode(text)
    except json.JSONDecodeError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Head(NamedTuple):
    position: int
    hash: str
    recorded_at: str | None


EMPTY_HEAD = Head(0, GENESIS_HASH, None)



class EventStore:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        upcaster: Upcaster | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.upcaster = upcaster or Upcaster()
        self._upcast_types = self.upcaster.types  # live view: types registered later count too
        self._last_metadata: tuple[str, dict[str, Any]] = ("", {})
        # Stream versions as of the head this store last appended (see _versions_for).
        self._known_versions: dict[str, int] = {}
        self._known_head: str | None = None
        self._mark = driver_mark(db.is_sqlite)
        self._driver_errors = db.driver_errors
        self._insert = BulkInsert("events", EVENT_COLUMNS, sqlite=db.is_sqlite)
        self._tree = TreeWriter(sqlite=db.is_sqlite)  # the Merkle tree, extended in the same transaction

    # -- writing ---------------------------------------------------------------------------

    def append(
        self,
        new_events: Sequence[NewEvent],
        *,
        expect: Mapping[str, int] | None = None,
        conn: Connection | None = None,
    ) -> Sequence[RecordedEvent]:
        """Append events atomically; return them as recorded, in the order given.

        ``expect`` maps a stream to the version it must be at now (0: must not exist yet); on a
        mismatch ConcurrencyError is raised and nothing is written. An event whose idempotency key
        is already stored is not written again: the stored event is returned in its place.
        Pass ``conn`` (from ``Database.write()``) to append inside a wider transaction.
        """
        batch, wanted = list(new_events), dict(expect) if expect else {}
        errors = self._driver_errors
        try:
            if conn is None:
                with self.db.driver_write() as cursor:
                    return self._append(cursor, batch, wanted)
            # Inside the caller's transaction: its driver connection, so SQLAlchemy's transaction
            # (BEGIN IMMEDIATE on SQLite) is the one these statements run in.
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                return self._append(cursor, batch, wanted)
            finally:
                cursor.close()
        except errors.IntegrityError as exc:
            raise EventStoreError(f"append refused by the database: {one_line(exc)}") from None
        except errors.Error as exc:
            raise DatabaseError(f"append failed: {one_line(exc)}") from None

    def _append(self, cursor: Any, batch: list[NewEvent], expect: dict[str, int]) -> Sequence[RecordedEvent]:
        """The append itself, on a driver cursor inside a write transaction."""
        if not batch and not expect:
            return []
        if not self.db.is_sqlite:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))

        stored = self._stored_by_key(cursor, [e.idempotency_key for e in batch if e.idempotency_key])
        fresh: list[NewEvent] = []
        seen_keys: set[str] = set()
        for e in batch:
            if e.idempotency_key is not None:
                if e.idempotency_key in stored or e.idempotency_key in seen_keys:
                    continue
                seen_keys.add(e.idempotency_key)
            fresh.append(e)
        if not fresh and batch:
            return [stored[e.idempotency_key] for e in batch if e.idempotency_key]

        streams = {e.stream for e in fresh} | expect.keys()
        if len(streams) == 1:  # one stream, the usual small append: head and version in one statement
            (stream,) = streams
            head, version = self._head_and_version(cursor, stream)
            versions = {stream: version}
        else:
            head = _head(cursor)
            versions = self._versions_for(cursor, head, streams)
        for stream, expected in expect.items():
            if expected != ANY_VERSION and versions.get(stream, 0) != expected:
                raise ConcurrencyError(stream, expected, versions.get(stream, 0))

        recorded_at = format_time(self.clock())
        if head.recorded_at is not None and recorded_at < head.recorded_at:
            recorded_at = head.recorded_at  # transaction time never runs backwards along the chain
        if len(fresh) >= _BULK:
            with collector_paused():
                rows = _chain(fresh, versions, head, recorded_at)
        else:
            rows = _chain(fresh, versions, head, recorded_at)
        recorded = _Appended(rows, self._to_event)
        if rows:
            self._insert(cursor, rows)  # many rows per statement on SQLite
            self._tree.append(cursor, head.position, head.hash, rows)
            self._remember(versions, rows[-1][11])
        if not stored and not seen_keys:
            return recorded  # no idempotency key in the batch: every event is new, in order
        return _in_batch_order(batch, stored, recorded)

    def _stored_by_key(self, cursor: Any, keys: list[str]) -> dict[str, RecordedEvent]:
        found: dict[str, RecordedEvent] = {}
        if not keys:
            return found
        for chunk in _chunks(sorted(set(keys)), _IN_CHUNK):
            marks = ", ".join([self._mark] * len(chunk))
            cursor.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE idempotency_key IN ({marks})", chunk)
            for row in cursor.fetchall():
                event = self._to_event(row)
                found[event.idempotency_key] = event  # type: ignore[index]
        return found

    def _head_and_version(self, cursor: Any, stream: str) -> tuple[Head, int]:
        cursor.execute(
            "SELECT position, hash, recorded_at, (SELECT max(version) FROM events WHERE stream = "
            f"{self._mark}) FROM events ORDER BY position DESC LIMIT 1",
            (stream,),
        )
        row = cursor.fetchone()
        if row is None:  # an empty log: every stream is new
            return EMPTY_HEAD, 0
        return Head(int(row[0]), row[1], row[2]), int(row[3] or 0)

    def _versions_for(self, cursor: Any, head: Head, streams: set[str]) -> dict[str, int]:
        """Current versions of ``streams`` (0 for a new one), asking the database only when needed.

        What this store learnt at its last append stays exact for as long as the head is the
        event it appended then: any other append (another process, another store) or a rollback
        of that append moves the head, and the cache is dropped. Called under the append lock.
        """
        if head.hash != self._known_head:
            self._known_versions.clear()
        known = self._known_versions
        versions = {stream: known[stream] for stream in streams if stream in known}
        missing = streams - versions.keys()
        if missing:
            found = self._stream_versions(cursor, missing)
            versions.update({stream: found.get(stream, 0) for stream in missing})
        return versions

    def _remember(self, versions: dict[str, int], head_hash: str) -> None:
        if len(self._known_versions) + len(versions) > _KNOWN_VERSIONS_MAX:
            self._known_versions.clear()
        self._known_versions.update(versions)
        self._known_head = head_hash

    def _stream_versions(self, cursor: Any, streams: set[str]) -> dict[str, int]:
        """The current version of each stream that has events.

        max(version) per stream, each answered by one seek at the end of its stretch of the
        (stream, version) index: a GROUP BY over "stream IN (...)" would read every version of
        every stream, so an append to a long stream would cost more the longer it grows.
        """
        versions: dict[str, int] = {}
        for chunk in _chunks(sorted(streams), _IN_CHUNK):
            marks = ", ".join([f"({self._mark})"] * len(chunk))
            cursor.execute(
                f"WITH wanted(stream) AS (VALUES {marks}) SELECT wanted.stream,"
                " (SELECT max(version) FROM events WHERE events.stream = wanted.stream) FROM wanted",
                chunk,
            )
            versions.update({stream: int(version) for stream, version in cursor.fetchall() if version is not None})
        return versions

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> Head:
        with self.db.read() as conn:
            return _head(_driver_cursor(conn))

    def stream_versions(self, streams: Iterable[str], *, conn: Connection) -> dict[str, int]:
        """The version of each stream (0 for one without events), read in ``conn``'s transaction:
        one statement for a batch of streams instead of one each."""
        wanted = set(streams)
        errors = self._driver_errors
        try:
            cursor = _driver_cursor(conn)
            try:
                found = self._stream_versions(cursor, wanted)
            finally:
                cursor.close()
        except errors.Error as exc:
            raise DatabaseError(f"reading stream versions failed: {one_line(exc)}") from None
        return {stream: found.get(stream, 0) for stream in wanted}

    def stream_version(self, stream: str) -> int:
        with self.db.read() as conn:
            return self._stream_versions(_driver_cursor(conn), {stream}).get(stream, 0)

    def position_at(self, moment: datetime) -> int:
        """The last position recorded at or before ``moment`` (0 if none): what was known then.

        Transaction time never decreases along the chain, so a binary search over positions
        answers this without an index on recorded_at (one index less on every append).
        """
        stamp = format_time(moment)
        with self.db.read() as conn:
            low, high = 0, _head(_driver_cursor(conn)).position
            while low < high:
                middle = (low + high + 1) // 2
                recorded_at = conn.exec_driver_sql(
                    f"SELECT recorded_at FROM events WHERE position = {self._mark}", (middle,)
                ).scalar_one()
                if recorded_at <= stamp:
                    low = middle
                else:
                    high = middle - 1
        return low

    def read(
        self,
        *,
        after: int = 0,
        until: int | None = None,
        stream: str | None = None,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until_time: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[RecordedEvent]:
        """Events in position order, filtered; pages through the log in constant memory."""
        for page in self._pages(after, until, stream, types, since, until_time, page_size):
            yield from map(self._to_event, page)

    def rows(
        self,
        *,
        after: int = 0,
        until: int | None = None,
        stream: str | None = None,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until_time: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[tuple[Any, ...]]:
        """Stored rows exactly as written (for export and verification), in position order."""
        for page in self._pages(after, until, stream, types, since, until_time, page_size):
            yield from page

    def _pages(
        self,
        after: int,
        until: int | None,
        stream: str | None,
        types: Iterable[str] | None,
        since: datetime | None,
        until_time: datetime | None,
        page_size: int,
    ) -> Iterator[list[tuple[Any, ...]]]:
        if since is not None:
            after = max(after, self.position_at(since - _MICROSECOND))
        if until_time is not None:
            bound = self.position_at(until_time)
            until = bound if until is None else min(until, bound)
        mark = self._mark
        conditions: list[str] = [f"position > {mark}"]
        params: list[Any] = []
        if until is not None:
            conditions.append(f"position <= {mark}")
            params.append(until)
        if stream is not None:
            conditions.append(f"stream = {mark}")
            params.append(stream)
        if types is not None:
            wanted = sorted(set(types))
            if not wanted:
                return
            if self.db.is_sqlite and len(wanted) > 1 and wanted[0][:1] == wanted[-1][:1] != "":
                # Types of one family (Source*): the narrow range they span, first. SQLite rejects a
                # row outside it in one comparison, where the IN list costs a lookup per row: a scan
                # of a million events for the 22,000 of the sources read model, 0.14 -> 0.11 s. A
                # range as wide as the record's (Agency... to Watch...) would only add comparisons.
                conditions.append(f"type BETWEEN {mark} AND {mark}")
                params.extend((wanted[0], wanted[-1]))
            conditions.append(f"type IN ({', '.join([mark] * len(wanted))})")
            params.extend(wanted)
        # Plain SQL on the driver's cursor: its rows are tuples as they come, where SQLAlchemy's
        # result processing cost a third of a full read.
        query = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {' AND '.join(conditions)}"
                 f" ORDER BY position LIMIT {int(page_size)}")
        position = after
        errors = self._driver_errors
        try:
            with self.db.connect() as conn:
                while True:
                    with conn.begin():  # one short transaction per page: a slow consumer holds none open
                        cursor = _driver_cursor(conn)
                        cursor.execute(query, (position, *params))
                        page: list[tuple[Any, ...]] = cursor.fetchall()
                        cursor.close()
                    if not page:
                        return
                    yield page
                    if len(page) < page_size:
                        return
                    position = page[-1][0]
        except (SQLAlchemyError, errors.Error) as exc:
            raise DatabaseError(f"reading events failed: {one_line(exc)}") from None

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() or 0)

    def _to_event(self, row: Sequence[Any]) -> RecordedEvent:
        (position, stream, version, type_, schema_version, payload, metadata,
         recorded_at, valid_from, key, prev_hash, digest) = row
        upcast = _decode(payload)
        if type_ in self._upcast_types:
            schema_version, upcast = self.upcaster.upcast(type_, schema_version, upcast)
        # Consecutive events usually share their metadata (a flat map): decode it once. The pair is
        # read once into a local, so threads sharing this store never mix two pairs.
        cached = self._last_metadata
        if metadata != cached[0]:
            cached = self._last_metadata = (metadata, _decode(metadata))
        # tuple.__new__ directly: the NamedTuple's own __new__ is a Python call of its own.
        return _new_tuple(RecordedEvent, (
            position, stream, version, type_, schema_version, upcast, dict(cached[1]),
            recorded_at, valid_from, key, prev_hash, digest,
        ))


def _driver_cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _head(cursor: Any) -> Head:
    cursor.execute("SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1")
    row = cursor.fetchone()
    return Head(int(row[0]), row[1], row[2]) if row else EMPTY_HEAD


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _chain(
    fresh: list[NewEvent], versions: dict[str, int], head: Head, recorded_at: str
) -> list[tuple[Any, ...]]:
    """Number, encode and hash the new events after ``head``: the rows to insert.

    One pass with plain locals: this loop is most of the cost of a large append. The hash is
    event_hash's, with the netstrings that neighbours share built once (ChainHasher).
    """
    rows: list[tuple[Any, ...]] = []
    prev_hash, position = head.hash, head.position
    digest_of = ChainHasher().hash
    last_metadata: object = None
    metadata_text = ""
    for e in fresh:
        position += 1
        stream = e.stream
        version = versions[stream] = versions.get(stream, 0) + 1
        try:
            payload_text = canonical_json(e.payload)
            if e.metadata != last_metadata:  # a batch usually repeats one metadata dict
                metadata_text, last_metadata = canonical_json(e.metadata), e.metadata
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidEventError(f"{e.type} on {stream}: payload is not JSON: {exc}") from None
        type_, schema_version, valid_from, key = e.type, e.schema_version, e.valid_from, e.idempotency_key
        digest = digest_of(
            prev_hash, position, stream, version, type_, schema_version,
            recorded_at, valid_from, key, payload_text, metadata_text,
        )
        rows.append((
            position, stream, version, type_, schema_version, payload_text, metadata_text,
            recorded_at, valid_from, key, prev_hash, digest,
        ))
        prev_hash = digest
    return rows


class _Appended(Sequence[RecordedEvent]):
    """The events one append wrote, built from their stored rows when asked for.

    Most callers look at a few fields of a few of them, or none: building every event (and
    copying its payload) cost a tenth of a large append. Built from the stored JSON, each is
    exactly what read() gives for its position.
    """

    __slots__ = ("_rows", "_to_event")

    def __init__(self, rows: list[tuple[Any, ...]], to_event: Callable[[Sequence[Any]], RecordedEvent]) -> None:
        self._rows, self._to_event = rows, to_event

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> RecordedEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedEvent]: ...

    def __getitem__(self, index: int | slice) -> RecordedEvent | list[RecordedEvent]:
        if isinstance(index, slice):
            return [self._to_event(row) for row in self._rows[index]]
        return self._to_event(self._rows[index])

    def __repr__(self) -> str:
        return f"<{len(self)} appended events>"


def _in_batch_order(
    batch: list[NewEvent], stored: dict[str, RecordedEvent], recorded: Sequence[RecordedEvent]
) -> list[RecordedEvent]:
    """The batch as recorded, in the order given: a stored (or repeated) key gives the stored event."""
    result: list[RecordedEvent] = []
    fresh_recorded = iter(recorded)
    known = dict(stored)
    for e in batch:
        key = e.idempotency_key
        if key is not None and key in known:
            result.append(known[key])
            continue
        event = next(fresh_recorded)
        result.append(event)
        if key is not None:
            known[key] = event
    return result
