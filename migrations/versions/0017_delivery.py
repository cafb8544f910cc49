"""Outbox messages are claimed by their sender; a permanent rejection ends in `failed` (issue 10)

Revision ID: 0017
Revises: 0021
Create Date: 2026-12-04

digest_outbox, channel_outbox: claimed_by/claimed_until (a sender's claim on one prepared message,
with an expiry: a crashed sender's message is sent by the next one) and rejections (permanent 5xx
answers so far). `failed` now means "given up for good"; a message that failed for a passing
reason stays `prepared` with its attempts and last error, so the queued `failed` rows of before
become `prepared` again.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: Union[str, Sequence[str], None] = "0021"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OUTBOXES = ("digest_outbox", "channel_outbox")


def upgrade() -> None:
    for name in OUTBOXES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(120), nullable=True))
            batch.add_column(sa.Column("claimed_until", sa.String(32), nullable=True))
            batch.add_column(sa.Column("rejections", sa.Integer, nullable=False, server_default="0"))
        op.execute(sa.text(f"UPDATE {name} SET status = 'prepared' WHERE status = 'failed'"))


def downgrade() -> None:
    for name in OUTBOXES:
        op.execute(sa.text(f"UPDATE {name} SET status = 'cancelled' WHERE status = 'failed'"))
        with op.batch_alter_table(name) as batch:
            batch.drop_column("rejections")
            batch.drop_column("claimed_until")
            batch.drop_column("claimed_by")
