"""Scheduler heartbeats and claims (issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

scheduler_heartbeats: one row per `tracker serve` process, renewed while it lives.
service_leases: named leases with an expiry. They hold the SQLite single-instance lock
("serve:instance"), the claim on one digest period ("digest:daily:2026-11-24T07:00Z") and the
outbox sender ("outbox:send"). A row whose expires_at has passed belongs to nobody; a row with
completed_at set records that its work is done and is never taken again.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeats",
        sa.Column("process_id", sa.String(120), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("seen_at", sa.String(32), nullable=False),
        sa.Column("last_tick_at", sa.String(32), nullable=True),
        sa.Column("last_tick_summary", sa.Text, nullable=True),
        sa.Column("stopped_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_scheduler_heartbeats_seen_at", "scheduler_heartbeats", ["seen_at"])
    op.create_table(
        "service_leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(120), nullable=False),
        sa.Column("acquired_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("completed_at", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("service_leases")
    op.drop_index("ix_scheduler_heartbeats_seen_at", table_name="scheduler_heartbeats")
    op.drop_table("scheduler_heartbeats")
