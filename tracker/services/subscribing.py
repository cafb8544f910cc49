"""Subscribe, unsubscribe, forget: subscriptions are events, personal data is not.

Events name a subscriber by an opaque id and carry no address, name or channel URL; those are
kept sealed under the subscriber's own key (services/personal.py). `forget` destroys the key and
what was sealed under it (and the subscriber's .eml copies in the outbox folder), records
SubscriberForgotten with only the opaque id, so the log still verifies, and has the database purge
old copies of the key (SQLite: WAL truncated, secure_delete; PostgreSQL: VACUUM FULL of the keys).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import EventStore, NewEvent
from tracker.core.events import format_time
from tracker.domain import choices
from tracker.domain import payloads_ops as o
from tracker.domain import subscriptions as domain
from tracker.domain.vocabulary import (
    SUBSCRIBER_FORGOTTEN,
    SUBSCRIPTION_CANCELLED,
    SUBSCRIPTION_CREATED,
    subscription_stream,
)
from tracker.errors import NotFoundError, ValidationError
from tracker.mail import channels, eml_name
from tracker.projections import ReadModel
from tracker.projections.digest_index import load_index
from tracker.projections.subscriptions import PENDING
from tracker.schema.operational import channel_outbox, digest_outbox, subscriber_suppressions, subscription_tokens
from tracker.schema.read_models import subscriptions
from tracker.services import personal

if TYPE_CHECKING:
    from tracker.app import App

OWN_PROJECTIONS: tuple[ReadModel, ...] = ("subscriptions", "digest_index")


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    id: str
    subscriber_id: str
    address: str | None  # None once forgotten
    name: str
    cadence: str
    filters: domain.Filters
    status: str
    created_at: str
    existing: bool = False  # subscribe found this same address with these same filters already subscribed
    channels: tuple[str, ...] = ()  # masked channel URLs (tracker.mail.channels.mask), never the URLs


def _metadata(command: str, actor: str) -> dict[str, str]:
    correlation = str(uuid.uuid4())
    return {"actor": actor, "cause": f"cli:{command}", "correlation_id": correlation, "causation_id": correlation}


def subscribe(
    app: App,
    address: str,
    *,
    jurisdictions: Iterable[str] = (),
    kinds: Iterable[str] = (),
    tags: Iterable[str] = (),
    items: Iterable[str] = (),
    cadence: str = "weekly",
    name: str | None = None,
    notify: Iterable[str] = (),
    actor: str = "cli",
    accepted_only: bool = False,
) -> SubscriptionInfo:
    """Record a new subscription; refuses a malformed address or channel URL before writing anything.

    Each `notify` URL (an Apprise URL) is a channel the digest's summary also goes to; subscribing
    the same address with the same filters again adds only channels it does not have yet.
    """
    canonical = domain.validate_address(address)
    urls = list(dict.fromkeys(channels.validate(url) for url in notify))
    filters = domain.Filters.build(jurisdictions, kinds, tags, items, accepted_only)
    domain.validate_cadence(cadence)
    check_known(app, filters)
    label = domain.validate_name(name, f"CGT digest ({filters.describe()})")
    subscription_id = domain.new_subscription_id()
    now = format_time(app.clock())
    store = app.store
    app.fresh(*OWN_PROJECTIONS)
    with app.db.write() as conn:
        subscriber_id = personal.find_subscriber(conn, canonical)
        same = _same_filters(conn, subscriber_id, filters) if subscriber_id is not None else None
        if same is not None:
            subscription_id = same  # one address, the same filters: one subscription, not two
        # Subscribing explicitly is the owner's own act: it lifts a suppression left by `forget`.
        conn.execute(subscriber_suppressions.delete().where(subscriber_suppressions.c.digest.in_(
            _suppression_digests(conn, canonical))))
        if subscriber_id is None:
            subscriber_id = personal.create_subscriber(conn, canonical, now)
        key = personal.key_of_subscriber(conn, subscriber_id)
        assert key is not None  # created with its key, in this same transaction if new
        known = {url for _, url in personal.channel_urls(conn, [subscription_id]).get(subscription_id, [])}
        fresh = [url for url in urls if url not in known]
        for url in fresh:
            personal.add_channel(conn, subscription_id, subscriber_id, key, url, now)
        if same is None:
            conn.execute(subscription_tokens.insert().values(
                subscription_id=subscription_id, token=domain.new_unsubscribe_token()))
            personal.set_name(conn, subscription_id, subscriber_id, key, label)
            # No name in the chain: it is personal data (an address typed into --name stays erasable).
            store.append([NewEvent(
                stream=subscription_stream(subscription_id), type=SUBSCRIPTION_CREATED,
                payload=o.SubscriptionCreated(id=subscription_id, subscriber=subscriber_id,
                                              filters=filters.as_payload(), cadence=cadence),
                metadata=_metadata("subscribe", actor),
            )], expect={subscription_stream(subscription_id): 0}, conn=conn)
    app.fresh(*OWN_PROJECTIONS)
    info = get_subscription(app, subscription_id)
    return replace(info, existing=True) if same is not None and not fresh else info


def legacy_digest(canonical: str) -> str:
    """The unkeyed digest `forget` kept before 0017 (still recognised; no longer written)."""
    return hashlib.sha256(f"tracker-suppressed-address/1\n{canonical}".encode()).hexdigest()


def _suppression_digests(conn: Connection, canonical: str) -> list[str]:
    return [personal.address_index(conn, canonical), legacy_digest(canonical)]


def _same_filters(conn: Connection, subscriber_id: str, filters: domain.Filters) -> str | None:
    """The active subscription of this subscriber with exactly these filters, if any."""
    rows = conn.execute(sa.select(subscriptions.c.id, subscriptions.c.filters).where(
        subscriptions.c.subscriber_id == subscriber_id, subscriptions.c.status == "active",
    ).order_by(subscriptions.c.created_position))
    for row in rows:
        if domain.Filters.from_payload(json.loads(row.filters)) == filters:
            return str(row.id)
    return None


def run_may_subscribe(app: App, canonical: str) -> str | None:
    """Why `tracker run --subscribe` must leave this address alone, or None if it may subscribe it:
    the address has or had a subscription (whoever unsubscribed meant it), or it was forgotten."""
    with app.db.read() as conn:
        known = personal.find_subscriber(conn, canonical)
        if known is not None:
            active = conn.execute(sa.select(sa.func.count()).select_from(subscriptions).where(
                subscriptions.c.subscriber_id == known, subscriptions.c.status == "active")).scalar()
            return "already subscribed" if active else "unsubscribed"
        suppressed = conn.execute(sa.select(subscriber_suppressions.c.reason).where(
            subscriber_suppressions.c.digest.in_(_suppression_digests(conn, canonical)))).first()
    return "forgotten at its owner's request" if suppressed else None


def check_known(app: App, filters: domain.Filters) -> None:
    """Tags and item ids must name something the record or monitoring knows (a typo would match nothing).

    An empty record (before the first `tracker seed`) knows none: it refuses them and says so.
    """
    if not filters.tags and not filters.items:
        return
    app.store  # noqa: B018 - refuses an uninitialised database with a clear error
    app.fresh(*OWN_PROJECTIONS)
    with app.db.read() as conn:
        index = load_index(conn)
    if not index:
        option, value = ("--item", sorted(filters.items)[0]) if filters.items else ("--tag", sorted(filters.tags)[0])
        what = "item id" if option == "--item" else "tag"
        raise ValidationError(f"{option}: unknown {what} {value!r} (the record is empty: run `tracker seed` first)")
    ids = {entry.id for entry in index.values()}
    tags = {tag for entry in index.values() for tag in entry.topics}
    choices.choose(sorted(filters.items), ids, "item id", "--item", limit=12)
    choices.choose(sorted(filters.tags), tags, "tag", "--tag")


def list_subscriptions(app: App, *, include_cancelled: bool = True) -> list[SubscriptionInfo]:
    app.require_ready()
    app.fresh(*OWN_PROJECTIONS)
    with app.db.read() as conn:
        return _infos(conn, None if include_cancelled else subscriptions.c.status == "active")


def get_subscription(app: App, subscription_id: str) -> SubscriptionInfo:
    with app.db.read() as conn:
        found = _infos(conn, subscriptions.c.id == subscription_id)
    if not found:
        raise NotFoundError(f"no subscription {subscription_id!r}")
    return found[0]


def _infos(conn: Connection, condition: sa.ColumnElement[bool] | None) -> list[SubscriptionInfo]:
    query = sa.select(subscriptions).order_by(subscriptions.c.created_position)
    if condition is not None:
        query = query.where(condition)
    rows = conn.execute(query).all()
    ids = [row.id for row in rows]
    urls = personal.channel_urls(conn, ids)
    labels = personal.names(conn, ids)
    addresses = {sid: personal.address_of(conn, sid) for sid in {row.subscriber_id for row in rows}}
    return [
        SubscriptionInfo(row.id, row.subscriber_id, addresses[row.subscriber_id], labels.get(row.id, row.name),
                         row.cadence, domain.Filters.from_payload(json.loads(row.filters)), row.status,
                         row.created_at, channels=tuple(channels.mask(url) for _, url in urls.get(row.id, ())))
        for row in rows
    ]


def unsubscribe(app: App, ref: str, *, actor: str = "cli") -> list[str]:
    """Cancel a subscription by id or unsubscribe token, or every subscription of an address."""
    store = app.store
    app.fresh(*OWN_PROJECTIONS)
    with app.db.write() as conn:
        if "@" in ref:
            canonical = domain.validate_address(ref)
            subscriber_id = personal.find_subscriber(conn, canonical)
            if subscriber_id is None:
                raise NotFoundError("no subscriber with that address")
            ids = list(conn.execute(sa.select(subscriptions.c.id).where(
                subscriptions.c.subscriber_id == subscriber_id, subscriptions.c.status == "active")).scalars())
        else:
            by_token = conn.execute(sa.select(subscription_tokens.c.subscription_id).where(
                subscription_tokens.c.token == ref)).scalar()
            target = by_token or ref
            status = conn.execute(sa.select(subscriptions.c.status).where(subscriptions.c.id == target)).scalar()
            if status is None:
                raise NotFoundError(f"no subscription {ref!r}")
            ids = [target] if status == "active" else []
        _cancel(conn, store, ids, actor, "unsubscribe")
    app.fresh(*OWN_PROJECTIONS)
    return ids


def forget(app: App, address: str, *, actor: str = "cli") -> ForgetResult:
    """Erase an address for good (crypto-shredding: its key is destroyed); returns the opaque
    subscriber id that remains in the log, and whether the database purged old copies too."""
    canonical = domain.validate_address(address)
    store = app.store
    app.fresh(*OWN_PROJECTIONS)
    with app.db.write() as conn:
        subscriber_id = personal.find_subscriber(conn, canonical)
        if subscriber_id is None:
            raise NotFoundError("no subscriber with that address (already forgotten, or never subscribed)")
        sub_ids = list(conn.execute(sa.select(subscriptions.c.id).where(
            subscriptions.c.subscriber_id == subscriber_id)).scalars())
        active = list(conn.execute(sa.select(subscriptions.c.id).where(
            subscriptions.c.subscriber_id == subscriber_id, subscriptions.c.status == "active")).scalars())
        _cancel(conn, store, active, actor, "forget")
        store.append([NewEvent(
            stream=f"subscriber/{subscriber_id}", type=SUBSCRIBER_FORGOTTEN,
            payload=o.SubscriberForgotten(subscriber=subscriber_id), metadata=_metadata("forget", actor),
        )], conn=conn)
        message_ids = list(conn.execute(sa.select(digest_outbox.c.message_id).where(
            digest_outbox.c.subscription_id.in_(sub_ids or [""]))).scalars())
        index = personal.address_index(conn, canonical)
        personal.shred(conn, subscriber_id, sub_ids)
        conn.execute(subscriber_suppressions.delete().where(subscriber_suppressions.c.digest.in_(
            _suppression_digests(conn, canonical))))
        conn.execute(subscriber_suppressions.insert().values(
            digest=index, reason="forgotten", created_at=format_time(app.clock())))
        conn.execute(subscription_tokens.delete().where(subscription_tokens.c.subscription_id.in_(sub_ids or [""])))
    purged = app.db.purge_erased(personal.KEY_TABLES)
    app.fresh(*OWN_PROJECTIONS)
    # The delivered copies in the outbox folder carry the address in their To header.
    outbox = Path(app.settings.home) / "outbox"
    for message_id in message_ids:
        (outbox / eml_name(message_id)).unlink(missing_ok=True)
    return ForgetResult(str(subscriber_id), purged)


@dataclass(frozen=True, slots=True)
class ForgetResult:
    subscriber_id: str
    purged: bool  # False: the database could not purge old copies now (see Database.purge_erased)


def _cancel(conn: Connection, store: EventStore, ids: list[str], actor: str, command: str) -> None:
    if not ids:
        return
    store.append([
        NewEvent(stream=subscription_stream(i), type=SUBSCRIPTION_CANCELLED, payload=o.SubscriptionCancelled(id=i),
                 metadata=_metadata(command, actor))
        for i in ids
    ], conn=conn)
    conn.execute(digest_outbox.update().where(
        digest_outbox.c.subscription_id.in_(ids), digest_outbox.c.status.in_(PENDING),
    ).values(status="cancelled"))
    conn.execute(channel_outbox.update().where(
        channel_outbox.c.subscription_id.in_(ids), channel_outbox.c.status.in_(PENDING),
    ).values(status="cancelled"))
