"""The last body seen, by hash only: a noisy page that changed nothing stores nothing (issue 18)

Revision ID: 0020
Revises: 0022
Create Date: 2026-12-04

source_state.last_body_hash: the SHA-256 of the last body a check accepted. A body whose text,
under the source's rules, is the accepted text (it differs only in ignored lines) is no longer
kept as a snapshot and a version: its hash goes here, so that the same bytes served again are
not normalised again, and last_snapshot stays the last body kept.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: Union[str, Sequence[str], None] = "0022"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.add_column(sa.Column("last_body_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("last_body_hash")
