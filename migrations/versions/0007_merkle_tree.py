"""The Merkle tree over the log (RFC 9162) and signed checkpoints

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

merkle_nodes holds the hash of every perfect aligned subtree of at least 16 leaves, keyed by the
order in which nodes complete (a first version of this file keyed it by (level, index): 0013
rebuilds such a table). The store extends it inside each append from now on (tracker/core/tree.py).
For a store made before this
migration the tree is built here from the chain hashes already stored, reading them in position
order in pages (memory stays flat however long the log). Nodes, like events, are never updated
or deleted: triggers refuse it.

checkpoints keeps every signed tree head as the exact note text that was signed.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.core.tree import build_nodes

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
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
    create_nodes_table()
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    build_tree()


def create_nodes_table() -> None:
    """merkle_nodes keyed by node id = (leaves up to the node's end << 6) | level (see core/tree.py)."""
    op.create_table(
        "merkle_nodes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )


def build_tree() -> None:
    """Fill merkle_nodes from the stored chain hashes, then refuse its updates and deletes."""
    conn = op.get_bind()
    build_nodes(conn)
    for statement in SQLITE_TRIGGERS if conn.dialect.name == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("checkpoints")
    op.drop_table("merkle_nodes")  # its triggers go with it (the PostgreSQL function is 0001's)
