"""Outbox claims and `failed` for good; personal data sealed under per-subscriber keys (issue 10)

Revision ID: 0017
Revises: 0021
Create Date: 2026-12-04

digest_outbox, channel_outbox: claimed_by/claimed_until (a sender's claim on one prepared message,
with an expiry: a crashed sender's message is sent by the next one) and rejections (permanent 5xx
answers so far). `failed` now means "given up for good"; a message that failed for a passing
reason stays `prepared` with its attempts and last error, so the queued `failed` rows of before
become `prepared` again.

Crypto-shredding (tracker/signing/sealing.py, services/personal.py): subscriber_keys (one AES-256
key per subscriber), installation_secrets (the blind-index HMAC secret, made here) and
subscription_names (sealed). Existing plaintext is sealed under new keys and the plaintext columns
dropped: subscribers.address -> address_index (HMAC) + address_sealed; subscription_channels.url ->
url_sealed; channel_outbox.title/body -> content (sealed); digest_outbox.message sealed and its
subject dropped. A pending message whose subscriber has no key (forgotten, or unknown to the
subscriptions read model) cannot be sealed: it is emptied and cancelled. Names already in the
chain (SubscriptionCreated before 0017) stay there: an append-only log cannot forget them.
"""
import json
from datetime import datetime, timezone
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.signing.sealing import blind_index, new_key, open_sealed, seal

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
    _seal_personal_data()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seal_personal_data() -> None:
    bind = op.get_bind()
    now = _now()
    op.create_table(
        "subscriber_keys",
        sa.Column("subscriber_id", sa.String(40), primary_key=True),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    installation = op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("secret", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    names = op.create_table(
        "subscription_names",
        sa.Column("subscription_id", sa.String(40), primary_key=True),
        sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
        sa.Column("name_sealed", sa.LargeBinary, nullable=False),
    )
    secret = new_key()
    bind.execute(installation.insert().values(name="blind-index", secret=secret, created_at=now))

    # subscribers: one key each; the address sealed, found by its blind index.
    people = bind.execute(sa.text("SELECT id, address, created_at FROM subscribers")).all()
    op.drop_table("subscribers")
    subscribers = op.create_table(
        "subscribers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("address_index", sa.String(64), nullable=False, unique=True),
        sa.Column("address_sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    keys: dict[str, bytes] = {}
    for person in people:
        keys[person.id] = key = new_key()
        bind.execute(sa.text("INSERT INTO subscriber_keys (subscriber_id, key, created_at) VALUES (:s, :k, :c)"),
                     {"s": person.id, "k": key, "c": now})
        bind.execute(subscribers.insert().values(
            id=person.id, address_index=blind_index(secret, person.address),
            address_sealed=seal(key, person.address.encode("utf-8"), f"address:{person.id}"),
            created_at=person.created_at))

    rows = bind.execute(sa.text("SELECT id, subscriber_id, name FROM subscriptions")).all()
    owner = {row.id: row.subscriber_id for row in rows}
    for row in rows:
        if row.subscriber_id in keys:
            bind.execute(names.insert().values(
                subscription_id=row.id, subscriber_id=row.subscriber_id,
                name_sealed=seal(keys[row.subscriber_id], row.name.encode("utf-8"), f"name:{row.id}")))

    # The read model no longer copies names out of the log (an old event may carry one).
    bind.execute(sa.text("UPDATE subscriptions SET name = id"))

    channels = bind.execute(sa.text(
        "SELECT id, subscription_id, subscriber_id, url, created_at FROM subscription_channels")).all()
    op.drop_table("subscription_channels")
    sealed_channels = op.create_table(
        "subscription_channels",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False, index=True),
        sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
        sa.Column("url_sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    for channel in channels:
        if channel.subscriber_id in keys:
            bind.execute(sealed_channels.insert().values(
                id=channel.id, subscription_id=channel.subscription_id, subscriber_id=channel.subscriber_id,
                url_sealed=seal(keys[channel.subscriber_id], channel.url.encode("utf-8"), f"channel:{channel.id}"),
                created_at=channel.created_at))

    with op.batch_alter_table("channel_outbox") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary, nullable=True))
    for note in bind.execute(sa.text("SELECT message_id, subscription_id, title, body FROM channel_outbox")).all():
        key = keys.get(owner.get(note.subscription_id, ""))
        text = json.dumps({"title": note.title, "body": note.body}, ensure_ascii=False).encode("utf-8")
        content = seal(key, text, f"note:{note.message_id}") if key else b""
        bind.execute(sa.text("UPDATE channel_outbox SET content = :c" + ("" if key else ", status = "
                             "CASE WHEN status = 'prepared' THEN 'cancelled' ELSE status END") + " WHERE message_id = :m"),
                     {"c": content, "m": note.message_id})
    with op.batch_alter_table("channel_outbox") as batch:
        batch.drop_column("title")
        batch.drop_column("body")
        batch.alter_column("content", existing_type=sa.LargeBinary, nullable=False)

    for digest in bind.execute(sa.text("SELECT message_id, subscription_id, message FROM digest_outbox")).all():
        key = keys.get(owner.get(digest.subscription_id, ""))
        message = seal(key, bytes(digest.message), f"message:{digest.message_id}") if key else b""
        bind.execute(sa.text("UPDATE digest_outbox SET message = :c" + ("" if key else ", status = "
                             "CASE WHEN status = 'prepared' THEN 'cancelled' ELSE status END") + " WHERE message_id = :m"),
                     {"c": message, "m": digest.message_id})
    with op.batch_alter_table("digest_outbox") as batch:
        batch.drop_column("subject")


def _open_personal_data() -> None:
    """Back to plaintext columns (what 0016 had), opening what the keys still open."""
    bind = op.get_bind()
    keys = {row.subscriber_id: bytes(row.key) for row in bind.execute(sa.text(
        "SELECT subscriber_id, key FROM subscriber_keys"))}
    owner = {row.id: row.subscriber_id for row in bind.execute(sa.text("SELECT id, subscriber_id FROM subscriptions"))}
    with op.batch_alter_table("digest_outbox") as batch:
        batch.add_column(sa.Column("subject", sa.Text, nullable=False, server_default=""))
    for digest in bind.execute(sa.text("SELECT message_id, subscription_id, message FROM digest_outbox")).all():
        key = keys.get(owner.get(digest.subscription_id, ""))
        message = open_sealed(key, bytes(digest.message), f"message:{digest.message_id}") if key and digest.message else b""
        bind.execute(sa.text("UPDATE digest_outbox SET message = :c WHERE message_id = :m"),
                     {"c": message, "m": digest.message_id})
    with op.batch_alter_table("channel_outbox") as batch:
        batch.add_column(sa.Column("title", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("body", sa.Text, nullable=False, server_default=""))
    for note in bind.execute(sa.text("SELECT message_id, subscription_id, content FROM channel_outbox")).all():
        key = keys.get(owner.get(note.subscription_id, ""))
        value = json.loads(open_sealed(key, bytes(note.content), f"note:{note.message_id}")) if key and note.content \
            else {"title": "", "body": ""}
        bind.execute(sa.text("UPDATE channel_outbox SET title = :t, body = :b WHERE message_id = :m"),
                     {"t": value["title"], "b": value["body"], "m": note.message_id})
    with op.batch_alter_table("channel_outbox") as batch:
        batch.drop_column("content")
        batch.alter_column("title", existing_type=sa.Text, server_default=None)
        batch.alter_column("body", existing_type=sa.Text, server_default=None)
    with op.batch_alter_table("digest_outbox") as batch:
        batch.alter_column("subject", existing_type=sa.Text, server_default=None)
    channels = bind.execute(sa.text(
        "SELECT id, subscription_id, subscriber_id, url_sealed, created_at FROM subscription_channels")).all()
    op.drop_table("subscription_channels")
    plain_channels = op.create_table(
        "subscription_channels",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False, index=True),
        sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    for channel in channels:
        if channel.subscriber_id in keys:
            url = open_sealed(keys[channel.subscriber_id], bytes(channel.url_sealed), f"channel:{channel.id}")
            bind.execute(plain_channels.insert().values(
                id=channel.id, subscription_id=channel.subscription_id, subscriber_id=channel.subscriber_id,
                url=url.decode("utf-8"), created_at=channel.created_at))
    people = bind.execute(sa.text("SELECT id, address_sealed, created_at FROM subscribers")).all()
    op.drop_table("subscribers")
    plain = op.create_table(
        "subscribers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    for person in people:
        if person.id in keys:
            address = open_sealed(keys[person.id], bytes(person.address_sealed), f"address:{person.id}")
            bind.execute(plain.insert().values(id=person.id, address=address.decode("utf-8"),
                                               created_at=person.created_at))
    for row in bind.execute(sa.text("SELECT subscription_id, subscriber_id, name_sealed FROM subscription_names")).all():
        if row.subscriber_id in keys:
            name = open_sealed(keys[row.subscriber_id], bytes(row.name_sealed), f"name:{row.subscription_id}")
            bind.execute(sa.text("UPDATE subscriptions SET name = :n WHERE id = :i"),
                         {"n": name.decode("utf-8"), "i": row.subscription_id})
    op.drop_table("subscription_names")
    op.drop_table("installation_secrets")
    op.drop_table("subscriber_keys")


def downgrade() -> None:
    _open_personal_data()
    for name in OUTBOXES:
        op.execute(sa.text(f"UPDATE {name} SET status = 'cancelled' WHERE status = 'failed'"))
        with op.batch_alter_table(name) as batch:
            batch.drop_column("rejections")
            batch.drop_column("claimed_until")
            batch.drop_column("claimed_by")
