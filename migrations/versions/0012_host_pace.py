"""The per-host politeness pace shared by every process (issue 10)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

host_pace: per host (host:port), the earliest time (epoch seconds) the next request may start,
moved forward by every request of every process (tracker.services.host_pace).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "host_pace",
        sa.Column("host", sa.String(300), primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("host_pace")
