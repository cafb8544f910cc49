"""Flags and provenance beside an item in digests and changelogs: digest_index.marks (issue 16)

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-04

digest_index.marks: a JSON list of what a reader must see beside an item (its flags: a conflict
with an official source, an anachronism, an approximate figure; and that the item comes from
outside the review, with its source). The index is a projection: it is emptied and its checkpoint
dropped here, so the next read rebuilds it from the log with the column filled.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: Union[str, Sequence[str], None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("digest_index", sa.Column("marks", sa.Text(), nullable=True))
    op.execute("DELETE FROM digest_index")
    op.execute("DELETE FROM digest_effective")
    op.execute("DELETE FROM projection_quarantine WHERE projection = 'digest_index'")
    op.execute("DELETE FROM projection_checkpoints WHERE name = 'digest_index'")


def downgrade() -> None:
    with op.batch_alter_table("digest_index") as batch:
        batch.drop_column("marks")
