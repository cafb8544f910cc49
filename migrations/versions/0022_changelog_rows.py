"""The changelog read model: changelog_rows, the event's half of each reader's row (issue 12)

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-04

A projection: created empty here; the next changelog fills it from the log (catch-up from
position 0), with what domain/reporting.py decides for each reported event.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: Union[str, Sequence[str], None] = "0018"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "changelog_rows",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(220), nullable=False),
        sa.Column("section", sa.String(10), nullable=False),
        sa.Column("ref_id", sa.String(200), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("date", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("excerpt_truncated", sa.Boolean(), nullable=False),
        sa.Column("date_basis", sa.String(30), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("jurisdiction", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )


def downgrade() -> None:
    op.drop_table("changelog_rows")
