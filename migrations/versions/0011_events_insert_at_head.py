"""The database refuses an insert into events that is not the next position, chained to the head (issue 10)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

The triggers of 0001 refuse UPDATE and DELETE, but an insert was checked by nothing but the
primary key: SQLite's `REPLACE INTO events ...` deletes the row it collides with (no DELETE
trigger fires for a conflict resolution) and writes a new one, and an insert with made-up hashes
was stored as given. Now every insert must be exactly the head's position + 1 with the head's
hash as prev_hash (64 zeros for position 1), on both backends. Each check is one look-up by
primary key (SQLite's MAX(rowid) reads the last leaf of the table's B-tree).

What no trigger can prevent: anyone who can write the SQLite file (or owns the PostgreSQL
tables) can DROP TRIGGER, or rebuild the table. Witnesses and signed checkpoints detect that
(README, "What the database cannot prevent").
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ZERO = "0" * 64

SQLITE = f"""CREATE TRIGGER events_insert_at_head BEFORE INSERT ON events
WHEN NEW.position IS NOT (SELECT COALESCE(MAX(position), 0) + 1 FROM events)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM events WHERE position = NEW.position - 1), '{ZERO}')
BEGIN
  SELECT RAISE(ABORT, 'events is append-only: an insert must take the next position, with the head''s hash as prev_hash');
END"""

POSTGRES = [
    f"""CREATE FUNCTION events_insert_at_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous text;
BEGIN
  IF NEW.position = 1 THEN
    previous := '{ZERO}';
  ELSE
    SELECT hash INTO previous FROM events WHERE position = NEW.position - 1;
  END IF;
  IF previous IS NULL OR NEW.prev_hash IS DISTINCT FROM previous
     OR EXISTS (SELECT 1 FROM events WHERE position >= NEW.position) THEN
    RAISE EXCEPTION 'events is append-only: an insert must take the next position, with the head''s hash as prev_hash (position % refused)', NEW.position;
  END IF;
  RETURN NEW;
END $$""",
    """CREATE TRIGGER events_insert_at_head BEFORE INSERT ON events
       FOR EACH ROW EXECUTE FUNCTION events_insert_at_head()""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE)
    else:
        for statement in POSTGRES:
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_insert_at_head" + ("" if op.get_bind().dialect.name == "sqlite" else " ON events"))
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS events_insert_at_head()")
