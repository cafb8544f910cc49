"""Engines for SQLite and PostgreSQL, with the transaction behaviour the store relies on.

SQLite: WAL, a busy timeout, and writers start with BEGIN IMMEDIATE so that two processes queue
for the write lock instead of failing on upgrade. PostgreSQL: READ COMMITTED; appends take one
transaction-scoped advisory lock (see store.py). SQLAlchemy errors about reaching the database
are translated here into the tracker's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from tracker.errors import DatabaseError, DatabaseUnreachableError

SQLITE_BUSY_TIMEOUT_MS = 60_000


def one_line(exc: BaseException) -> str:
    """The first line of a driver's message, without SQLAlchemy's background links."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
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

    def __repr__(self) -> str:
        return f"Database({_describe(self.url)})"

    @property
    def display_url(self) -> str:
        return _describe(self.url)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise DatabaseUnreachableError(f"cannot connect to {self.display_url}: {one_line(exc)}") from None
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database error on {self.display_url}: {one_line(exc)}") from None
        with conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on SQLite WAL)."""
        with self.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: on SQLite it holds the write lock from its first statement."""
        with self.connect() as conn:
            conn.execution_options(tracker_write=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite would defer them).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: an event acknowledged to the caller survives a power cut (NORMAL may lose it).
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("tracker_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
