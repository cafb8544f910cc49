"""Channels besides e-mail: Apprise URLs per subscription (outside the chain) and their outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Tables:
  subscription_channels   channel id -> subscription, subscriber and Apprise URL (personal data:
                          a URL may hold a webhook secret; erased by `tracker forget`)
  channel_outbox          per prepared digest and channel, the message to send: prepared -> sent |
                          failed | cancelled, written with DigestPrepared, sent exactly once
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "subscription_channels",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False, index=True),
        sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "channel_outbox",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("digest_message_id", sa.String(255), nullable=False),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("channel_outbox")
    op.drop_table("subscription_channels")
