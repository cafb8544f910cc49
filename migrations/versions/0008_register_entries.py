"""Register entries and their deadlines (read models); the normaliser version of each content hash (issue 13)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

register_entries    projection of RegisterEntryAdded / RegisterEntryRevised: one row per entry.
register_deadlines  projection: one row per dated deadline of an entry (kind, date), the place
                    `tracker upcoming` and the calendar join.
source_state.normaliser_version, source_versions.normaliser_version: which normaliser produced a
content hash, so a new one re-baselines quietly instead of reporting every page changed. NULL
for hashes recorded before: the first check after this migration re-normalises the last
accepted body and compares with that.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "register_entries",
        sa.Column("source_id", sa.String(120), primary_key=True),
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("date", sa.String(40), nullable=False),
        sa.Column("precision", sa.String(10), nullable=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("agency", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("identity", sa.Text, nullable=False),
        sa.Column("added_position", sa.BigInteger, nullable=False),
        sa.Column("revised_position", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "register_deadlines",
        sa.Column("source_id", sa.String(120), primary_key=True),
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(60), primary_key=True),
        sa.Column("date", sa.String(40), nullable=False),
    )
    op.create_index("ix_register_deadlines_date", "register_deadlines", ["date"])
    with op.batch_alter_table("source_state") as batch:
        batch.add_column(sa.Column("normaliser_version", sa.String(200), nullable=True))
    with op.batch_alter_table("source_versions") as batch:
        batch.add_column(sa.Column("normaliser_version", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_versions") as batch:
        batch.drop_column("normaliser_version")
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("normaliser_version")
    op.drop_index("ix_register_deadlines_date", table_name="register_deadlines")
    op.drop_table("register_deadlines")
    op.drop_table("register_entries")
