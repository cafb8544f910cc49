"""Subscriptions, subscriber addresses (outside the chain), digest outbox (issue 5)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Tables:
  subscribers           opaque subscriber id -> e-mail address: personal data, outside the hash chain;
                        `tracker forget` deletes the row for good
  subscription_tokens   the opaque unsubscribe token of each subscription (List-Unsubscribe links)
  subscriptions         projection of SubscriptionCreated / SubscriptionCancelled / SubscriberForgotten
  digest_outbox         rendered digests (compressed drafts without the To header: tracker.mail),
                        prepared -> sent | failed | cancelled
  digest_cursors        per subscription, the last position a sent digest covered (moved with DigestSent)
  digest_index          projection: item and source attributes (jurisdiction, kind, topics, titles, state)
  digest_effective      projection: dated InstrumentEffective steps, for "takes effect in the next 90 days"
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "subscription_tokens",
        sa.Column("subscription_id", sa.String(40), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("cadence", sa.String(10), nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_position", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("cancelled_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "digest_outbox",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("position_from", sa.BigInteger, nullable=False),
        sa.Column("position_to", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("transport", sa.String(20), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=True),
        sa.UniqueConstraint("subscription_id", "position_from", name="uq_digest_outbox_range"),
    )
    op.create_index("ix_digest_outbox_status", "digest_outbox", ["status"])
    op.create_table(
        "digest_cursors",
        sa.Column("subscription_id", sa.String(40), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "digest_index",
        sa.Column("ref", sa.String(220), primary_key=True),
        sa.Column("entry", sa.String(10), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(10), nullable=True),
        sa.Column("kind", sa.String(30), nullable=True),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("state_since", sa.String(32), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_table(
        "digest_effective",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("date", sa.String(40), nullable=False, index=True),
        sa.Column("note", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("digest_effective")
    op.drop_table("digest_index")
    op.drop_table("digest_cursors")
    op.drop_index("ix_digest_outbox_status", table_name="digest_outbox")
    op.drop_table("digest_outbox")
    op.drop_table("subscriptions")
    op.drop_table("subscription_tokens")
    op.drop_table("subscribers")
