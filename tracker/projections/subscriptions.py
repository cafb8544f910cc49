"""Subscriptions read model, and the tables of subscribers and the digest outbox (migration 0004).

Only `subscriptions` is a projection (rebuilt from SubscriptionCreated, SubscriptionCancelled and
SubscriberForgotten); it holds no personal data (no address, no name). Addresses, names and
channel URLs are kept sealed outside the hash chain (services/personal.py): `forget` destroys the
subscriber's key and the log still verifies. `digest_outbox` and `digest_cursors` are written by
the digest services in the same transactions as DigestPrepared and DigestSent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.domain import payloads_ops as o
from tracker.domain.payloads_registry import decode_as
from tracker.domain.vocabulary import SUBSCRIBER_FORGOTTEN, SUBSCRIPTION_CANCELLED, SUBSCRIPTION_CREATED
from tracker.projections.digest_index import DigestIndexProjection
from tracker.schema.read_models import subscriptions

# Outbox statuses still to be sent ("failed" is final since 0017: see schema/operational.py).
PENDING = ("prepared",)


class SubscriptionsProjection:
    """Who subscribed to what: one row per subscription, active or cancelled."""

    name = "subscriptions"
    types: frozenset[str] | None = frozenset({SUBSCRIPTION_CREATED, SUBSCRIPTION_CANCELLED, SUBSCRIBER_FORGOTTEN})

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        for event in batch:
            if event.type == SUBSCRIPTION_CREATED:
                created = decode_as(o.SubscriptionCreated, event.type, event.payload)
                conn.execute(subscriptions.delete().where(subscriptions.c.id == created["id"]))
                conn.execute(subscriptions.insert().values(
                    # The name is personal data, kept sealed (services/personal.py): never copied here,
                    # even from an event of before 0017 that carries one.
                    id=created["id"], subscriber_id=created["subscriber"], name=created["id"],
                    cadence=created["cadence"], filters=json.dumps(created["filters"], sort_keys=True),
                    status="active", created_position=event.position, created_at=event.recorded_at,
                ))
            elif event.type == SUBSCRIPTION_CANCELLED:
                cancelled = decode_as(o.SubscriptionCancelled, event.type, event.payload)
                conn.execute(subscriptions.update().where(
                    subscriptions.c.id == cancelled["id"], subscriptions.c.status == "active",
                ).values(status="cancelled", cancelled_at=event.recorded_at))
            elif event.type == SUBSCRIBER_FORGOTTEN:
                forgotten = decode_as(o.SubscriberForgotten, event.type, event.payload)
                conn.execute(subscriptions.update().where(
                    subscriptions.c.subscriber_id == forgotten["subscriber"], subscriptions.c.status == "active",
                ).values(status="cancelled", cancelled_at=event.recorded_at))

    def clear(self, conn: Connection) -> None:
        conn.execute(subscriptions.delete())


def digest_projections() -> list[SubscriptionsProjection | DigestIndexProjection]:
    """The read models of issue 5, registered in tracker.projections.all_projections()."""
    return [SubscriptionsProjection(), DigestIndexProjection()]
