"""Idempotency keys are unique where they exist: a partial index instead of a unique column

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Most events carry no idempotency key, yet the unique column kept an index entry for every one of
them: one B-tree insertion per event and, for one event per transaction, one page more in every
commit. A unique index over the rows that have a key keeps the same guarantee and serves the
same lookups (`idempotency_key IN (...)` implies IS NOT NULL).

PostgreSQL drops the column's constraint in place. SQLite cannot drop a column constraint, so
the table is rebuilt: every row is copied verbatim (positions, payload text and hashes
unchanged, so the chain verifies as before), and the append-only triggers are created again.
DROP TABLE fires no DELETE trigger.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (
    "position, stream, version, type, schema_version, payload, metadata, recorded_at, valid_from,"
    " idempotency_key, prev_hash, hash"
)
SQLITE_TRIGGERS = [
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE refused'); END""",
]


def _events_table(name: str, *, unique_key: bool) -> None:
    op.create_table(
        name,
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("valid_from", sa.String(40), nullable=True),
        sa.Column("idempotency_key", sa.String(300), nullable=True, unique=unique_key),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream", "version", name="uq_events_stream_version"),
    )


def _rebuild_sqlite(*, unique_key: bool) -> None:
    _events_table("events_rebuilt", unique_key=unique_key)
    op.execute(f"INSERT INTO events_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM events ORDER BY position")
    op.execute("DROP TABLE events")
    op.execute("ALTER TABLE events_rebuilt RENAME TO events")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def _key_constraint() -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("events"):
        if constraint["column_names"] == ["idempotency_key"] and constraint["name"]:
            return str(constraint["name"])
    raise RuntimeError("events has no unique constraint on idempotency_key to replace")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(unique_key=False)
    else:
        op.drop_constraint(_key_constraint(), "events", type_="unique")
    op.create_index(
        "uq_events_idempotency_key", "events", ["idempotency_key"], unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"), postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_events_idempotency_key", "events")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(unique_key=True)
    else:
        op.create_unique_constraint("events_idempotency_key_key", "events", ["idempotency_key"])
