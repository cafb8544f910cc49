"""Stored events a projection could not apply are quarantined, not fatal (issue 10)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

projection_quarantine: one row per (projection, position) the projection skipped, with the event's
stream and type and the reason. The log is forever and may hold events an old or buggy version
wrote (or a future one): a read model records what it could not apply and goes on. A rebuild of
the projection deletes its rows and records again what it still cannot apply.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "projection_quarantine",
        sa.Column("projection", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("quarantined_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("projection_quarantine")
