"""What the scheduler asks about digests before it prepares or sends any: plain reads."""

from __future__ import annotations

import sqlalchemy as sa

from tracker.core import Database
from tracker.projections.subscriptions import PENDING
from tracker.schema.operational import digest_outbox
from tracker.schema.read_models import subscriptions


def subscriptions_due(db: Database, cadence: str, since: str) -> tuple[list[str], list[str]]:
    """(due, all): active subscriptions of `cadence` with no digest prepared since `since` (a manual
    `tracker digest --send` counts), and all active ones of that cadence."""
    with db.read() as conn:
        every = [str(row) for row in conn.execute(
            sa.select(subscriptions.c.id)
            .where(subscriptions.c.cadence == cadence, subscriptions.c.status == "active")
            .order_by(subscriptions.c.id)
        ).scalars()]
        done = {str(row) for row in conn.execute(
            sa.select(digest_outbox.c.subscription_id).where(digest_outbox.c.created_at >= since).distinct()
        ).scalars()}
    return [sub for sub in every if sub not in done], every


def outbox_waiting(db: Database) -> int:
    """Digests prepared or failed, waiting to be sent."""
    with db.read() as conn:
        return int(conn.execute(
            sa.select(sa.func.count()).select_from(digest_outbox).where(digest_outbox.c.status.in_(PENDING))
        ).scalar_one())
