"""What the holder of an unsubscribe token may do, and nothing more: see the subscription the token
names, unsubscribe (RFC 8058 one-click), or change its filters.

A token is the only credential here (no login, no cookie): it is looked up among tokens only, never
taken for a subscription id (ids are in the log; tokens are not). Writing goes through
tracker.services.subscribing, as the CLI does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tracker.errors import NotFoundError
from tracker.schema.operational import digest_cursors, subscription_tokens
from tracker.services import subscribing
from tracker.services.subscribing import SubscriptionInfo

if TYPE_CHECKING:
    from tracker.app import App

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def _unknown() -> NotFoundError:
    return NotFoundError(
        "this unsubscribe link is not valid (it may be mistyped, or belong to a subscription erased since)"
    )


def subscription_id_for(app: App, token: str) -> str:
    if not _TOKEN.match(token):
        raise _unknown()
    with app.db.read() as conn:
        found = conn.execute(sa.select(subscription_tokens.c.subscription_id)
                             .where(subscription_tokens.c.token == token)).scalar()
    if found is None:
        raise _unknown()
    return str(found)


def token_of(app: App, subscription_id: str) -> str:
    with app.db.read() as conn:
        found = conn.execute(sa.select(subscription_tokens.c.token)
                             .where(subscription_tokens.c.subscription_id == subscription_id)).scalar()
    if found is None:
        raise _unknown()
    return str(found)


def show(app: App, token: str) -> SubscriptionInfo:
    return subscribing.get_subscription(app, subscription_id_for(app, token))


def unsubscribe(app: App, token: str, *, actor: str) -> list[str]:
    """Cancel the subscription the token names; an already cancelled one is left as it is (returns [])."""
    return subscribing.unsubscribe(app, subscription_id_for(app, token), actor=actor)


def change_filters(app: App, token: str, *, jurisdictions: Iterable[str], kinds: Iterable[str], cadence: str,
                   actor: str) -> tuple[SubscriptionInfo, str]:
    """Replace the subscription by one with these filters (same address, name and channels kept by
    the address); returns the new subscription and its token.

    A new subscription takes over the old one's token and digest cursor: the links in digests
    already sent keep working, and the next digest goes on from the last one (no second welcome).
    When the address already had a subscription with these filters, that one is kept as it is."""
    info = show(app, token)
    if info.address is None or info.status != "active":
        raise NotFoundError("this subscription is no longer active: subscribe again to change its filters")
    fresh = subscribing.subscribe(app, info.address, jurisdictions=jurisdictions, kinds=kinds,
                                  tags=info.filters.tags, items=info.filters.items, cadence=cadence,
                                  name=info.name, actor=actor)
    if fresh.id == info.id:
        return fresh, token
    subscribing.unsubscribe(app, info.id, actor=actor)
    if fresh.existing:
        return fresh, token_of(app, fresh.id)
    _carry_over(app, info.id, fresh.id)
    return fresh, token


def _carry_over(app: App, old_id: str, new_id: str) -> None:
    """The old subscription's token and digest cursor, moved to the one that replaces it."""
    t, c = subscription_tokens.c, digest_cursors.c
    with app.db.write() as conn:
        conn.execute(subscription_tokens.delete().where(t.subscription_id == new_id))
        conn.execute(subscription_tokens.update().where(t.subscription_id == old_id).values(subscription_id=new_id))
        cursor = conn.execute(sa.select(digest_cursors).where(c.subscription_id == old_id)).first()
        if (
            cursor is not None
            and conn.execute(sa.select(c.position).where(c.subscription_id == new_id)).first() is None
        ):
            conn.execute(digest_cursors.insert().values(
                subscription_id=new_id, position=cursor.position, message_id=cursor.message_id,
                updated_at=cursor.updated_at))
