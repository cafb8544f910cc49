"""merkle_nodes keyed by the order in which nodes complete

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

The first version of migration 0007 keyed merkle_nodes by (level, index): every append then wrote
into one B-tree page per level, and batched appends ran at 0.80x of the store without the tree.
Keyed by id = (leaves up to the node's end << 6) | level, nodes are written at the right edge of
the table in the order they complete. 0007 now creates that table; a database migrated by the
first 0007 still has the old one, which is rebuilt here from the chain hashes (nothing refers to
it; this is 0013: 0008-0012 were taken meanwhile). Downgrading keeps the new table: it is what
0007 creates now.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.core.tree import build_nodes

revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
       BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
       BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only: DELETE refused'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE TRIGGER merkle_nodes_no_update_delete BEFORE UPDATE OR DELETE ON merkle_nodes
       FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    """CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
       FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()""",
]


def upgrade() -> None:
    conn = op.get_bind()
    columns = {column["name"] for column in sa.inspect(conn).get_columns("merkle_nodes")}
    if "level" not in columns:
        return  # created by the current 0007: nothing to do
    op.drop_table("merkle_nodes")  # its triggers go with it
    op.create_table(
        "merkle_nodes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    build_nodes(conn)
    for statement in SQLITE_TRIGGERS if conn.dialect.name == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    pass
