"""The event log: one row per event, append-only (database triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from tracker.schema import metadata

# Timestamps are fixed-format UTC text (2026-11-24T21:28:28.123456Z): exact, sortable and hashed
# identically on every backend. payload and metadata are the canonical JSON text that was hashed.
_KEY_PRESENT = text("idempotency_key IS NOT NULL")

events = Table(
    "events",
    metadata,
    # On SQLite an INTEGER primary key is the rowid itself: one B-tree less to maintain per append.
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("stream", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("valid_from", String(40), nullable=True),
    Column("idempotency_key", String(300), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream", "version", name="uq_events_stream_version"),
    # Unique where present: most events have no key and need no index entry (migration 0006);
    # the same WHERE on PostgreSQL is given by postgresql_options().
    Index("uq_events_idempotency_key", "idempotency_key", unique=True, sqlite_where=_KEY_PRESENT),
)


def postgresql_options() -> None:
    """Complete the catalogue with its PostgreSQL-only options; Database calls it for a PostgreSQL
    URL, whose dialect is then imported anyway (and migrations/env.py and the catalogue test
    reach PostgreSQL through a Database).

    Named in Index(), postgresql_where made SQLAlchemy import its PostgreSQL dialect (with its five
    drivers' modules) to check the name, in every process: 14 ms of CPU and 2.3 MB at the start
    of each command on SQLite (bench/bench_startup.py).
    """
    (index,) = (index for index in events.indexes if index.name == "uq_events_idempotency_key")
    index.dialect_kwargs["postgresql_where"] = _KEY_PRESENT


# No index on recorded_at or type: transaction time grows with position (store.position_at
# searches positions), and catch-up scans by position anyway; every index costs each append.

# The Merkle tree over the log (core/tree.py): the hash of each perfect aligned subtree of at least
# 16 leaves, written in the append transaction. Never updated: a node is fixed once its leaves exist.
# id = (leaves up to its end << 6) | level: ids grow as nodes complete, so appends write at the
# right edge (on SQLite the rowid itself, as events.position).
merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

EVENT_COLUMNS = tuple(c.name for c in events.columns)
