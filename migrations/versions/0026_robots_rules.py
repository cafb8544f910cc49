"""robots.txt rules shared by the tracker's processes: robots_rules (issue 13)

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-04

An operational table (not rebuilt from the log): the robots.txt each origin served, kept until it
expires, so a `tracker check` started by cron does not ask every site for it on every run.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: Union[str, Sequence[str], None] = "0023"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "robots_rules",
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("origin"),
    )


def downgrade() -> None:
    op.drop_table("robots_rules")
