"""Monitoring: check log, snapshots, source state (issue 4)

Tables:
  sources          projection of SourceRegistered / SourceRemoved / SourceRulesAdopted
  source_state     operational: one row per source, what the last check found, when it is due
                   (the scheduler claims due rows with FOR UPDATE SKIP LOCKED on PostgreSQL)
  snapshots        raw bodies, content-addressed by SHA-256, zlib-compressed, deduplicated
  source_versions  every distinct raw body a source served, in order, with the event it caused

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("jurisdiction", sa.String(20), nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("select_css", sa.Text, nullable=True),
        sa.Column("ignore", sa.Text, nullable=False),
        sa.Column("every_seconds", sa.Integer, nullable=True),
        sa.Column("respect_robots", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("origin", sa.String(100), nullable=False),
        sa.Column("registered_position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "source_state",
        sa.Column("source_id", sa.String(120), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("last_checked_at", sa.String(32), nullable=True),
        sa.Column("last_success_at", sa.String(32), nullable=True),
        sa.Column("next_due_at", sa.String(32), nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error_class", sa.String(40), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("last_modified", sa.Text, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("rules_hash", sa.String(64), nullable=True),
        sa.Column("last_snapshot", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_until", sa.String(32), nullable=True),
    )
    op.create_index("ix_source_state_next_due_at", "source_state", ["next_due_at"])
    op.create_table(
        "snapshots",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("first_seen_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "source_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(120), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=True),
        sa.Column("snapshot", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("fetched_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_source_versions_source", "source_versions", ["source_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_source_versions_source", table_name="source_versions")
    op.drop_table("source_versions")
    op.drop_table("snapshots")
    op.drop_index("ix_source_state_next_due_at", table_name="source_state")
    op.drop_table("source_state")
    op.drop_table("sources")
