"""Subscriptions read model, and the tables of subscribers and the digest outbox (migration 0004).

Only `subscriptions` is a projection (rebuilt from SubscriptionCreated, SubscriptionCancelled and
SubscriberForgotten). `subscribers` holds addresses outside the hash chain on purpose: `forget`
deletes a row and the log still verifies. `digest_outbox` and `digest_cursors` are written by the
digest service in the same transactions as DigestPrepared and DigestSent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.projections.digest_index import DigestIndexProjection
from tracker.domain.vocabulary import SUBSCRIBER_FORGOTTEN, SUBSCRIPTION_CANCELLED, SUBSCRIPTION_CREATED

metadata = sa.MetaData()

subscribers = sa.Table(
    "subscribers", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("address", sa.String(320), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

subscription_tokens = sa.Table(
    "subscription_tokens", metadata,
    sa.Column("subscription_id", sa.String(40), primary_key=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
)

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("subscriber_id", sa.String(40), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("cadence", sa.String(10), nullable=False),
    sa.Column("filters", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_position", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("cancelled_at", sa.String(32), nullable=True),
)

digest_outbox = sa.Table(
    "digest_outbox", metadata,
    sa.Column("message_id", sa.String(255), primary_key=True),
    sa.Column("subscription_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # prepared | sent | failed | cancelled
    sa.Column("position_from", sa.BigInteger, nullable=False),
    sa.Column("position_to", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),  # the rendered draft (tracker.mail): headers + both parts, zlib
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("transport", sa.String(20), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.String(32), nullable=True),
)

digest_cursors = sa.Table(
    "digest_cursors", metadata,
    sa.Column("subscription_id", sa.String(40), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

PENDING = ("prepared", "failed")


class SubscriptionsProjection:
    """Who subscribed to what: one row per subscription, active or cancelled."""

    name = "subscriptions"
    types: frozenset[str] | None = frozenset({SUBSCRIPTION_CREATED, SUBSCRIPTION_CANCELLED, SUBSCRIBER_FORGOTTEN})

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        for event in batch:
            p = event.payload
            if event.type == SUBSCRIPTION_CREATED:
                conn.execute(subscriptions.delete().where(subscriptions.c.id == p["id"]))
                conn.execute(subscriptions.insert().values(
                    id=p["id"], subscriber_id=p["subscriber"], name=p.get("name") or p["id"],
                    cadence=p.get("cadence", "weekly"), filters=json.dumps(p.get("filters", {}), sort_keys=True),
                    status="active", created_position=event.position, created_at=event.recorded_at,
                ))
            elif event.type == SUBSCRIPTION_CANCELLED:
                conn.execute(subscriptions.update().where(
                    subscriptions.c.id == p["id"], subscriptions.c.status == "active",
                ).values(status="cancelled", cancelled_at=event.recorded_at))
            elif event.type == SUBSCRIBER_FORGOTTEN:
                conn.execute(subscriptions.update().where(
                    subscriptions.c.subscriber_id == p["subscriber"], subscriptions.c.status == "active",
                ).values(status="cancelled", cancelled_at=event.recorded_at))

    def clear(self, conn: Connection) -> None:
        conn.execute(subscriptions.delete())


def digest_projections() -> list[SubscriptionsProjection | DigestIndexProjection]:
    """The read models of issue 5, registered in tracker.projections.all_projections()."""
    return [SubscriptionsProjection(), DigestIndexProjection()]
