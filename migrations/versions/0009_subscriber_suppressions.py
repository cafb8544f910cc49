"""Suppressed addresses: a forgotten address is never subscribed again by `tracker run --subscribe`

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Tables:
  subscriber_suppressions   SHA-256 digest of a forgotten address (never the address), its reason
                            and when; an explicit `tracker subscribe` of the address removes it
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "subscriber_suppressions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("subscriber_suppressions")
