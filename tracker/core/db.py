"""Engines for SQLite and PostgreSQL, with the transaction behaviour the store relies on.

SQLite: WAL, a busy timeout, and writers start with BEGIN IMMEDIATE so that two processes queue
for the write lock instead of failing on upgrade. PostgreSQL: READ COMMITTED; appends take one
transaction-scoped advisory lock (see store.py). SQLAlchemy errors about reaching the database
are translated here into the tracker's own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import chain
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.pool import NullPool

from tracker.errors import (
    ConstraintError,
    DatabaseError,
    DatabaseUnreachableError,
    TrackerError,
    UninitialisedDatabaseError,
)

SQLITE_BUSY_TIMEOUT_MS = 60_000
# 16 KiB pages: an append of many events rewrites fewer, fuller B-tree pages (bench_store, batches
# of 1,000: 0.53x the floor with 4 KiB, 0.59x with 8 KiB, 0.63x with 16 KiB), while one event per
# transaction writes bigger WAL frames (0.66x with 8 KiB, 0.63x with 16 KiB). New databases only.
SQLITE_PAGE_SIZE = 16384
SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, which the tracker keeps
# Every connection's writes: FULL, an event acknowledged to the caller survives a power cut (NORMAL
# may lose it); the WAL copied back into the file every SQLITE_AUTOCHECKPOINT_PAGES pages. Set at
# connect, and set back after a lease write (Database.lease_write) relaxes them for one statement.
SQLITE_DURABLE_PRAGMAS = ("PRAGMA synchronous = FULL", f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}")
# PostgreSQL's lease connections (Database.lease_write) ping the server before a statement only
# after this long unused: a tick's claims, seconds apart, then pay one round trip each, not two.
LEASE_PING_AFTER_IDLE_S = 1.0


def driver_mark(sqlite: bool) -> str:
    """The parameter placeholder of SQL given to the driver itself (sqlite3: qmark; psycopg: format),
    where SQLAlchemy's per-statement work would cost more than the database's."""
    return "?" if sqlite else "%s"


@contextmanager
def prepared_at_once(conn: Connection) -> Iterator[None]:
    """The block's statements prepared on PostgreSQL at their first execution on the connection,
    not psycopg's sixth (prepare_threshold 5): for the statements a tick runs each time, behind()'s
    and the claim's. Preparing is a round trip of its own, which otherwise fell in a later tick
    (bench_tick's round 3, strace) instead of `serve`'s first, and each execution until then
    parsed and planned the statement afresh. Nothing on SQLite."""
    driver = conn.connection.driver_connection
    if conn.dialect.name == "sqlite" or driver is None:
        yield
        return
    threshold = driver.prepare_threshold
    driver.prepare_threshold = 0
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def one_line(exc: BaseException) -> str:
    """The first line of a driver's message, without SQLAlchemy's background links."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def upsert_insert(dialect_name: str) -> Any:
    """The INSERT construct of a backend, with on_conflict_do_nothing/do_update.

    Only that backend's dialect module is imported: PostgreSQL's costs about 20 ms at start-up,
    which a command on SQLite never pays (bench/bench_startup.py).
    """
    if dialect_name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert
    from sqlalchemy.dialects import postgresql

    return postgresql.insert


def _describe(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


class Database:
    """One engine and the two kinds of transaction the tracker uses: read and write."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = sa.make_url(url)
        except ArgumentError:
            raise DatabaseUnreachableError(f"malformed database URL {url!r}") from None
        if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
            raise DatabaseUnreachableError(
                f"unsupported database {_describe(parsed)!r}: use sqlite:///PATH or postgresql+psycopg://..."
            )
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() == "postgresql":
            from tracker.schema.log import postgresql_options

            postgresql_options()
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        # A SQLite file is created only by `tracker init` (allow_create): a read-only command on a
        # missing file says so, instead of leaving an empty database (and its folder) behind.
        self._sqlite_file: Path | None = None
        self._may_create = False
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
                self._sqlite_file = Path(parsed.database).expanduser()
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            if parsed.database in (None, "", ":memory:"):
                kwargs["poolclass"] = NullPool
            # File databases keep a small pool: closing SQLite's last connection checkpoints the
            # WAL, which would otherwise cost milliseconds per transaction.
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = sa.create_engine(parsed, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise DatabaseUnreachableError(f"cannot use database {_describe(parsed)}: {one_line(exc)}") from None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        # driver_write's kept connection: SQLite files only (see there).
        self._keep_writer = self.is_sqlite and kwargs.get("poolclass") is not NullPool
        self._writer_lock = threading.Lock()
        self._writer: tuple[int, Any] | None = None
        self._inherited: list[Any] = []
        # Lease writes and peeks on PostgreSQL: a pool of their own (see lease_write).
        self._lease_engine = None if self.is_sqlite else _lease_engine(parsed, echo)

    def __repr__(self) -> str:
        return f"Database({_describe(self.url)})"

    @property
    def display_url(self) -> str:
        return _describe(self.url)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._connecting():
            conn = self.engine.connect()
        with self._translating(), conn:
            yield conn

    def allow_create(self) -> None:
        """Let the next connection create the SQLite file (and its folder): `tracker init` only."""
        self._may_create = True
        if self._sqlite_file is not None:
            self._sqlite_file.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _translating(self) -> Iterator[None]:
        """SQLAlchemy errors leaving a connection or transaction, as the tracker's own: the one
        boundary, so that services and the CLI never see a SQLAlchemy type. Code that expects an
        error (a lost race on a unique key) catches it inside the block, or catches ConstraintError."""
        try:
            yield
        except SAIntegrityError as exc:
            raise ConstraintError(f"refused by {self.display_url}: {one_line(exc)}") from exc
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database error on {self.display_url}: {one_line(exc)}") from exc

    @contextmanager
    def _connecting(self) -> Iterator[None]:
        """Errors while reaching the database, as the tracker's own."""
        if self._sqlite_file is not None and not self._may_create and not self._sqlite_file.exists():
            raise UninitialisedDatabaseError(
                f"no database at {self._sqlite_file}: `tracker init` creates one "
                "(or name another with --db or TRACKER_DATABASE_URL)"
            )
        try:
            yield
        except OperationalError as exc:
            raise DatabaseUnreachableError(f"cannot connect to {self.display_url}: {one_line(exc)}") from None
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database error on {self.display_url}: {one_line(exc)}") from None

    @contextmanager
    def _lock_waits(self) -> Iterator[None]:
        """SQLite's "database is locked" after the busy timeout, as one line saying what it means."""
        try:
            yield
        except Exception as exc:
            if self.is_sqlite and "database is locked" in str(getattr(exc, "orig", None) or exc):
                raise DatabaseError(
                    f"{self.display_url} stayed locked for over {SQLITE_BUSY_TIMEOUT_MS // 1000} s: another process "
                    "is writing to it (a long `tracker projections rebuild`?); try again when it has finished"
                ) from None
            raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on SQLite WAL)."""
        with self._lock_waits(), self.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: on SQLite it holds the write lock from its first statement."""
        with self._lock_waits(), self.connect() as conn:
            conn.execution_options(tracker_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def peek(self) -> Iterator[Connection]:
        """Reads that need no snapshot across their statements: on PostgreSQL each runs on its own
        (autocommit), without the BEGIN and COMMIT round trips of a read transaction; on SQLite,
        where those cost no round trip, a read transaction."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self._autocommit() as conn:
            yield conn

    @contextmanager
    def lease_write(self) -> Iterator[Connection]:
        """A write of one statement to working state that a crash may lose: claims, which run out
        by themselves and are dropped when a process starts alone.

        PostgreSQL runs the statement in autocommit, without the BEGIN and COMMIT of a transaction.
        SQLite commits it without waiting for the disk (synchronous NORMAL: a power cut may lose
        it, never corrupt the file) and without checkpointing the WAL, which the next durable
        write does: a claim's commit fsynced, and now and then copied the checks' pages back
        into the file (10-40 ms landing on one claim, bench/bench_tick.py). Only one statement:
        on PostgreSQL two would not be atomic.
        """
        if not self.is_sqlite:
            with self._autocommit() as conn:
                yield conn
            return
        with self._lock_waits(), self.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA synchronous = NORMAL")
            driver.execute("PRAGMA wal_autocheckpoint = 0")
            try:
                conn.execution_options(tracker_write=True)
                with conn.begin():
                    yield conn
            finally:  # as _configure_sqlite left them: every other write is durable and checkpoints
                for pragma in SQLITE_DURABLE_PRAGMAS:
                    driver.execute(pragma)

    @contextmanager
    def _autocommit(self) -> Iterator[Connection]:
        """A connection of the PostgreSQL lease pool: each statement commits on its own (no BEGIN,
        no COMMIT) and without waiting for the disk (see _lease_engine)."""
        assert self._lease_engine is not None
        with self._connecting():
            conn = self._lease_engine.connect()
        with self._translating(), conn:
            yield conn

    @contextmanager
    def driver_write(self) -> Iterator[Any]:
        """A write transaction on the driver's own connection, yielding its cursor.

        The store's append path, where SQLAlchemy's work per statement, per transaction and per
        pool checkout cost as much as SQLite's own: one append per transaction took 2.5x the bare
        sqlite3 time. Driver exceptions reach the caller untranslated (see ``driver_errors``).

        On a SQLite file one connection is kept for these writes and lent to one thread at a
        time: SQLite lets only one writer in at once anyway, so queueing on a mutex here loses
        nothing, and the connection keeps its page cache. PostgreSQL checks a connection out of
        the pool each time, with its pre-ping, so a restarted server costs no failed append.
        """
        if not self._keep_writer:
            with self._checkout() as pooled:
                yield from self._transaction(pooled)
            return
        with self._writer_lock, self._lock_waits():
            pooled = self._kept_writer()
            try:
                yield from self._transaction(pooled)
            except BaseException as exc:
                if not isinstance(exc, TrackerError):  # the connection's state is unknown: start afresh
                    self._writer = None
                    pooled.close()
                raise

    def _transaction(self, pooled: Any) -> Iterator[Any]:
        driver = pooled.driver_connection
        cursor = driver.cursor()
        try:
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")  # take the write lock now (see _on_begin)
            try:
                yield cursor
            except BaseException:
                with suppress(Exception):  # a broken connection: the original error matters
                    driver.rollback()
                raise
            if self.is_sqlite:
                cursor.execute("COMMIT")  # a cached statement; sqlite3's commit() prepares one each time
            else:
                driver.commit()
        finally:
            cursor.close()

    @contextmanager
    def _checkout(self) -> Iterator[Any]:
        with self._connecting():
            pooled = self.engine.raw_connection()
        try:
            yield pooled
        finally:
            pooled.close()  # back to the pool, which rolls back anything left open

    def _kept_writer(self) -> Any:
        """The kept SQLite write connection of this process (called under the writer lock)."""
        if self._writer is not None and self._writer[0] == os.getpid():
            return self._writer[1]
        if self._writer is not None:  # inherited across fork: the parent's, never to be touched
            self._inherited.append(self._writer[1])
        with self._connecting():
            pooled = self.engine.raw_connection()
        self._writer = (os.getpid(), pooled)
        return pooled

    def purge_erased(self, tables: Sequence[str]) -> bool:
        """After an erasure, leave no old copy of the erased rows in the database's own files.

        SQLite (secure_delete is on, so the main file holds zeros where they were): checkpoint the
        WAL, whose older frames still hold the pages as they were, and truncate it. PostgreSQL:
        VACUUM FULL each table, which rewrites it into a new file without its dead tuples (a plain
        VACUUM would leave their bytes in the page's free space). False if it could not be done
        now (a SQLite reader kept the WAL busy; a role not allowed to VACUUM FULL); the erasure
        itself stands either way. WAL segments and backups the server keeps are beyond reach here.
        """
        with self._translating(), self._checkout() as pooled:
            driver = pooled.driver_connection
            cursor = driver.cursor()
            try:
                if self.is_sqlite:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    return bool(cursor.fetchone()[0] == 0)
                driver.rollback()
                driver.autocommit = True
                try:
                    for table in tables:
                        cursor.execute(f"VACUUM FULL {table}")
                except self.driver_errors.Error:
                    return False
                finally:
                    driver.autocommit = False
                return True
            finally:
                cursor.close()

    @property
    def driver_errors(self) -> Any:
        """The driver's DB-API module, whose Error classes driver_write lets through."""
        return self.engine.dialect.loaded_dbapi

    def dispose(self) -> None:
        with self._writer_lock:
            if self._writer is not None and self._writer[0] == os.getpid():
                self._writer[1].close()
            self._writer = None
        self.engine.dispose()
        if self._lease_engine is not None:
            self._lease_engine.dispose()


class BulkInsert:
    """INSERT of many rows through a driver cursor.

    On SQLite many rows go in one statement: executemany pays the driver a bind-step-reset
    round per row, a tenth of an append or a rebuild (measured). psycopg's executemany already
    pipelines, so PostgreSQL gets it as is.
    """

    ROWS_PER_STATEMENT_PARAMETERS = 999  # SQLite's oldest limit on parameters per statement

    def __init__(self, table: str, columns: Sequence[str], *, sqlite: bool) -> None:
        mark = driver_mark(sqlite)
        row = f"({', '.join([mark] * len(columns))})"
        self.sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {row}"
        self.per_statement = max(1, self.ROWS_PER_STATEMENT_PARAMETERS // len(columns)) if sqlite else 1
        self.multi_sql = self.sql + f", {row}" * (self.per_statement - 1)

    def __call__(self, cursor: Any, rows: Sequence[Sequence[Any]]) -> None:
        size = self.per_statement
        if size == 1 or len(rows) < size:
            cursor.executemany(self.sql, rows)
            return
        full = len(rows) - len(rows) % size
        cursor.executemany(self.multi_sql, [
            tuple(chain.from_iterable(rows[start:start + size])) for start in range(0, full, size)
        ])
        if full < len(rows):
            cursor.executemany(self.sql, rows[full:])


def _lease_engine(url: sa.URL, echo: bool) -> Engine:
    """PostgreSQL's pool for lease writes and peeks: autocommit, synchronous_commit off, and a
    ping only before a statement on a connection unused for LEASE_PING_AFTER_IDLE_S.

    synchronous_commit off: a lease write returns before its WAL record reaches the disk (the
    record is flushed by the WAL writer within 3 x wal_writer_delay, or by the next durable commit
    of any session, such as the check recorded next). A server crash in that window can lose
    the last claims, releases or extensions, never corrupt anything nor reorder them after a
    durable write: a lost claim makes its sources claimable again while their checker may still
    be at work, which a claim that runs out during a slow check already allows (claims are
    leases: they never were the only guard); a lost release or extension leaves a claim to run
    out. SQLite's lease writes skip the disk wait for the same reason (lease_write). The wait
    cost a claim of 50 a third of its time: median 1.1-1.2 ms against 1.3-2.1 ms in a loop, the
    slowest 2-5 ms against 4.5-8 ms.

    plan_cache_mode force_generic_plan: a prepared statement (prepared_at_once) is planned once,
    not for each of its first five executions as PostgreSQL does before it may settle on a
    generic plan: planning the claim takes the server 0.5 ms (EXPLAIN ANALYZE), paid by each
    claim of `serve`'s first ticks (bench_tick's round 1, always the worst). The generic plans
    read the same indexes (the claim: ix_source_state_due's range, then the primary keys). The
    statements of this pool are the tick's few, each planned for any parameters.

    The idle ping: the main pool pings on every checkout (pool_pre_ping), a round trip as long
    as the statement it guards; a connection used a moment ago is no likelier to be dead than
    one pinged a moment ago, so only the first lease write of a tick pays it.
    """
    engine = sa.create_engine(url, echo=echo, isolation_level="AUTOCOMMIT", pool_size=2)
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # One round trip (a query without parameters may hold two statements).
        dbapi_conn.execute("SET synchronous_commit = off; SET plan_cache_mode = force_generic_plan")
        if not dbapi_conn.autocommit:
            dbapi_conn.commit()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["tracker_used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get("tracker_used_at")
        if used_at is None or time.monotonic() - used_at < LEASE_PING_AFTER_IDLE_S:
            return  # just connected, or used a moment ago
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError() from exc  # the pool connects afresh and retries
            raise

    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite would defer them).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # Only a database without tables takes a page size (tracker init's first connection).
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        for pragma in SQLITE_DURABLE_PRAGMAS:
            cursor.execute(pragma)
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted content is overwritten with zeros, not left in free pages (erasure: `tracker forget`).
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("tracker_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
