"""Suspect versions await confirmation; volatile lines found at the baseline are ignored (issue 10)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

source_state.suspect_hash: the hash of a near-empty version (or one that lost most of the text)
that the next check must see again before it is recorded as a change.
sources.volatile: the ignore patterns the tracker proposed for lines that differed between two
immediate fetches at the baseline (SourceVolatileIgnored; SourceVolatileRevoked takes them back).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: Union[str, Sequence[str], None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.add_column(sa.Column("suspect_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("volatile", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("volatile")
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("suspect_hash")
