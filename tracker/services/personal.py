"""Personal data, sealed under each subscriber's own key, and its erasure (crypto-shredding).

What is personal: a subscriber's address, the names of their subscriptions, their channel URLs,
and the messages prepared for them (subject, welcome, unsubscribe link). None of it enters the
hash chain; all of it is stored only sealed (tracker/signing/sealing.py) under the key in
`subscriber_keys`. Addresses are looked up by their blind index (HMAC-SHA-256 under the
installation's secret in `installation_secrets`, made by migration 0017), never by plaintext.

`shred` deletes the key with everything sealed under it, inside the caller's transaction; the
caller then asks the database to purge old copies (Database.purge_erased). What remains of a
forgotten subscriber: its opaque id in the log, digests' ids and positions, and the blind index of
its address in `subscriber_suppressions` (so `run --subscribe` does not subscribe it again).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.domain import subscriptions as domain
from tracker.errors import UninitialisedDatabaseError
from tracker.schema.operational import (
    channel_outbox,
    digest_outbox,
    installation_secrets,
    subscriber_keys,
    subscribers,
    subscription_channels,
    subscription_names,
)
from tracker.schema.read_models import subscriptions
from tracker.signing.sealing import blind_index, new_key, open_sealed, seal

BLIND_INDEX = "blind-index"


def address_index(conn: Connection, canonical: str) -> str:
    secret = conn.execute(sa.select(installation_secrets.c.secret).where(
        installation_secrets.c.name == BLIND_INDEX)).scalar()
    if secret is None:
        raise UninitialisedDatabaseError("the database has no blind-index secret: run `tracker init` (migration 0017)")
    return blind_index(bytes(secret), canonical)


def find_subscriber(conn: Connection, canonical: str) -> str | None:
    """The subscriber with this address (compared as subscribe normalises it, case-insensitively)."""
    found = conn.execute(sa.select(subscribers.c.id).where(
        subscribers.c.address_index == address_index(conn, canonical))).scalar()
    return None if found is None else str(found)


def create_subscriber(conn: Connection, canonical: str, now: str) -> str:
    subscriber_id = domain.new_subscriber_id()
    key = new_key()
    conn.execute(subscriber_keys.insert().values(subscriber_id=subscriber_id, key=key, created_at=now))
    conn.execute(subscribers.insert().values(
        id=subscriber_id, address_index=address_index(conn, canonical),
        address_sealed=seal(key, canonical.encode("utf-8"), f"address:{subscriber_id}"), created_at=now))
    return subscriber_id


def keys_of(conn: Connection, subscription_ids: Iterable[str]) -> dict[str, tuple[str, bytes]]:
    """Per subscription, (subscriber id, key), for those whose subscriber was not forgotten."""
    ids = sorted(set(subscription_ids))
    found: dict[str, tuple[str, bytes]] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(sa.select(subscriptions.c.id, subscriptions.c.subscriber_id, subscriber_keys.c.key)
                            .join(subscriber_keys, subscriber_keys.c.subscriber_id == subscriptions.c.subscriber_id)
                            .where(subscriptions.c.id.in_(ids[start:start + 500])))
        found.update((row.id, (row.subscriber_id, bytes(row.key))) for row in rows)
    return found


def key_of_subscriber(conn: Connection, subscriber_id: str) -> bytes | None:
    key = conn.execute(
        sa.select(subscriber_keys.c.key).where(subscriber_keys.c.subscriber_id == subscriber_id)
    ).scalar()
    return None if key is None else bytes(key)


def address_of(conn: Connection, subscriber_id: str) -> str | None:
    row = conn.execute(sa.select(subscribers.c.address_sealed, subscriber_keys.c.key)
                       .join(subscriber_keys, subscriber_keys.c.subscriber_id == subscribers.c.id)
                       .where(subscribers.c.id == subscriber_id)).first()
    if row is None:
        return None
    return open_sealed(bytes(row.key), bytes(row.address_sealed), f"address:{subscriber_id}").decode("utf-8")


def set_name(conn: Connection, subscription_id: str, subscriber_id: str, key: bytes, name: str) -> None:
    conn.execute(subscription_names.insert().values(
        subscription_id=subscription_id, subscriber_id=subscriber_id,
        name_sealed=seal(key, name.encode("utf-8"), f"name:{subscription_id}")))


# Built once, the ids bound at execution: SQLAlchemy makes a statement's cache key once per statement
# object (every digest run reads its subscriptions' names).
_NAMES = (
    sa.select(subscription_names.c.subscription_id, subscription_names.c.name_sealed, subscriber_keys.c.key)
    .join(subscriber_keys, subscriber_keys.c.subscriber_id == subscription_names.c.subscriber_id)
    .where(subscription_names.c.subscription_id.in_(sa.bindparam("ids", expanding=True)))
)


def names(conn: Connection, subscription_ids: Iterable[str]) -> dict[str, str]:
    """The names of these subscriptions that can still be read (not forgotten)."""
    ids = sorted(set(subscription_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(_NAMES, {"ids": ids[start:start + 500]})
        found.update((row.subscription_id, open_sealed(bytes(row.key), bytes(row.name_sealed),
                                                        f"name:{row.subscription_id}").decode("utf-8"))
                     for row in rows)
    return found


def channel_urls(conn: Connection, subscription_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Per subscription, its channels as (channel id, URL): for delivery and masking, never for display."""
    ids = sorted(set(subscription_ids))
    found: dict[str, list[tuple[str, str]]] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(subscription_channels.c.subscription_id, subscription_channels.c.id,
                      subscription_channels.c.url_sealed, subscriber_keys.c.key)
            .join(subscriber_keys, subscriber_keys.c.subscriber_id == subscription_channels.c.subscriber_id)
            .where(subscription_channels.c.subscription_id.in_(ids[start:start + 500]))
            .order_by(subscription_channels.c.created_at, subscription_channels.c.id))
        for row in rows:
            url = open_sealed(bytes(row.key), bytes(row.url_sealed), f"channel:{row.id}").decode("utf-8")
            found.setdefault(row.subscription_id, []).append((row.id, url))
    return found


def add_channel(conn: Connection, subscription_id: str, subscriber_id: str, key: bytes, url: str, now: str) -> None:
    channel_id = domain.new_channel_id()
    conn.execute(subscription_channels.insert().values(
        id=channel_id, subscription_id=subscription_id, subscriber_id=subscriber_id,
        url_sealed=seal(key, url.encode("utf-8"), f"channel:{channel_id}"), created_at=now))


def seal_message(key: bytes, message_id: str, draft: bytes) -> bytes:
    return seal(key, draft, f"message:{message_id}")


def open_message(key: bytes, message_id: str, sealed: bytes) -> bytes:
    return open_sealed(key, sealed, f"message:{message_id}")


def seal_note(key: bytes, message_id: str, title: str, body: str) -> bytes:
    """A channel's message (title and body), sealed."""
    text = json.dumps({"title": title, "body": body}, ensure_ascii=False)
    return seal(key, text.encode("utf-8"), f"note:{message_id}")


def open_note(key: bytes, message_id: str, sealed: bytes) -> tuple[str, str]:
    value = json.loads(open_sealed(key, sealed, f"note:{message_id}"))
    return str(value["title"]), str(value["body"])


def shred(conn: Connection, subscriber_id: str, subscription_ids: list[str]) -> None:
    """Destroy the subscriber's key and everything sealed under it (the caller's transaction)."""
    ids = subscription_ids or [""]
    conn.execute(subscriber_keys.delete().where(subscriber_keys.c.subscriber_id == subscriber_id))
    conn.execute(subscribers.delete().where(subscribers.c.id == subscriber_id))
    conn.execute(subscription_names.delete().where(subscription_names.c.subscriber_id == subscriber_id))
    conn.execute(subscription_channels.delete().where(subscription_channels.c.subscriber_id == subscriber_id))
    conn.execute(channel_outbox.delete().where(channel_outbox.c.subscription_id.in_(ids)))
    # The digests' rows stay (ids, positions, status: what the log also says); their content goes.
    conn.execute(digest_outbox.update().where(digest_outbox.c.subscription_id.in_(ids)).values(message=b""))


# What PostgreSQL rewrites after an erasure (VACUUM FULL): the keys. Everything else erased was
# ciphertext under them; rewriting large outboxes on every `forget` would buy nothing more.
KEY_TABLES = ("subscriber_keys",)
