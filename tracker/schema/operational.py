"""Operational tables: written beside the log by the services, never rebuilt from it.

A rebuild of the read models leaves these alone. Some hold what must stay outside the hash chain
on purpose (personal data, sealed: `tracker forget` destroys a key and the log still verifies);
the others are the working state of monitoring, delivery and the scheduler.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema import metadata

# -- monitoring (services/recording.py, snapshots.py, claims.py) -------------------------------
# One row per source: what the last check found and when the next is due. The sources projection
# inserts a row ("new", due now) when a source is registered, so a scheduler can claim it at once;
# next_due_at NULL means due now. claimed_by/claimed_until are the scheduler's claims.
source_state = sa.Table(
    "source_state", metadata,
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("last_checked_at", sa.String(32), nullable=True),
    sa.Column("last_success_at", sa.String(32), nullable=True),
    sa.Column("next_due_at", sa.String(32), nullable=True, index=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error_class", sa.String(40), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("rules_hash", sa.String(64), nullable=True),     # the rules content_hash was computed under
    sa.Column("normaliser_version", sa.String(200), nullable=True),   # and the normaliser (None: before 0008)
    sa.Column("last_snapshot", sa.String(64), nullable=True),       # the last body kept (snapshots.hash)
    # The last body accepted, by hash only: it differs from last_snapshot when the page changed only
    # in ignored text, which is not kept (migration 0020).
    sa.Column("last_body_hash", sa.String(64), nullable=True),
    # A suspect version (near-empty, or most of the text gone) the next check must confirm.
    sa.Column("suspect_hash", sa.String(64), nullable=True),
    # Whether a second, immediate fetch has looked for volatile lines (services/check_volatile.py).
    sa.Column("volatile_probed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("claimed_by", sa.String(100), nullable=True),
    sa.Column("claimed_until", sa.String(32), nullable=True),
    # The due query's own order (services/claims.py): never-set (due now) first, then by time. One
    # range over this index finds the due rows; `next_due_at IS NULL OR ...` scanned all of them.
    sa.Index("ix_source_state_due", sa.func.coalesce(sa.column("next_due_at"), sa.literal_column("''")), "source_id"),
)

# The sources failing now (state failing, unreachable or blocked), one row each with the failure
# class and host a digest's "sources needing attention" lines count: written with source_state in
# the same transaction (services/source_failures.py), so a digest reads them grouped, not all of
# source_state. One row per source, not a count per group: checkers of different sources never
# write the same row.
source_failures = sa.Table(
    "source_failures", metadata,
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("error_class", sa.String(40), nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    # What a digest reads, grouped: the index alone, in its order (SQLite: 0.07 ms against 0.32 for
    # 1,000 failing sources, no sort).
    sa.Index("ix_source_failures_groups", "state", "error_class", "host"),
)

# Raw bodies by SHA-256, zlib-compressed, with their headers (deduplicated).
snapshots = sa.Table(
    "snapshots", metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),          # zlib
    sa.Column("headers", sa.Text, nullable=False),              # JSON object, lower-case names
    sa.Column("size", sa.BigInteger, nullable=False),           # raw size
    sa.Column("first_seen_at", sa.String(32), nullable=False),
)

# Each distinct raw body a source served, in order, and the position of the event it caused
# (NULL when it changed nothing that counts).
source_versions = sa.Table(
    "source_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.String(120), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=True),
    sa.Column("snapshot", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("fetched_at", sa.String(32), nullable=False),
    sa.Column("normaliser_version", sa.String(200), nullable=True),
    sa.Index("ix_source_versions_source", "source_id", "id"),
)

# -- subscribers and delivery (services/subscribing.py, personal.py, digesting.py, delivery.py) ---
# Personal data (addresses, subscription names, channel URLs, prepared messages) is stored only
# sealed under its subscriber's own key (tracker/signing/sealing.py: AES-256-GCM); `tracker forget`
# deletes the key, which makes every remaining copy (a backup, a dead tuple, a WAL page) unreadable.
subscriber_keys = sa.Table(
    "subscriber_keys", metadata,
    sa.Column("subscriber_id", sa.String(40), primary_key=True),
    sa.Column("key", sa.LargeBinary, nullable=False),  # 32 random bytes
    sa.Column("created_at", sa.String(32), nullable=False),
)

# Secrets of this installation: "blind-index", the HMAC key of address look-ups (made by 0017).
installation_secrets = sa.Table(
    "installation_secrets", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("secret", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# Opaque subscriber id -> the address, sealed; found by its blind index (HMAC of the address).
subscribers = sa.Table(
    "subscribers", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("address_index", sa.String(64), nullable=False, unique=True),
    sa.Column("address_sealed", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# A subscription's name (what --name gave, or the default label), sealed: not in the hash chain.
subscription_names = sa.Table(
    "subscription_names", metadata,
    sa.Column("subscription_id", sa.String(40), primary_key=True),
    sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
    sa.Column("name_sealed", sa.LargeBinary, nullable=False),
)

# Addresses whose owner was erased by `forget`: their blind index only (keyed: without the
# installation's secret a dictionary of addresses cannot be tested against it), so `tracker run
# --subscribe` recognises the address if named again and does not subscribe it behind its owner's
# back. An explicit `tracker subscribe` lifts it. (Rows written before 0017 are an unkeyed SHA-256.)
subscriber_suppressions = sa.Table(
    "subscriber_suppressions", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# Channels a subscription is announced on besides e-mail (Apprise URLs: Slack, Teams, webhooks).
# A URL often is a secret (a webhook token): sealed under the subscriber's key, erased by `forget`;
# events and outputs name a channel by its opaque id, and show its URL only masked.
subscription_channels = sa.Table(
    "subscription_channels", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("subscription_id", sa.String(40), nullable=False, index=True),
    sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
    sa.Column("url_sealed", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# What each channel is to receive of a prepared digest, written in the same transaction as the
# digest's outbox row and DigestPrepared: prepared -> sent | cancelled (like digest_outbox; a channel
# that is down keeps its message prepared, with its attempts and last error).
channel_outbox = sa.Table(
    "channel_outbox", metadata,
    sa.Column("message_id", sa.String(255), primary_key=True),  # the digest's Message-ID + "#" + channel id
    sa.Column("digest_message_id", sa.String(255), nullable=False),
    sa.Column("subscription_id", sa.String(40), nullable=False),
    sa.Column("channel_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("content", sa.LargeBinary, nullable=False),  # {"title", "body"} as JSON, sealed (empty once forgotten)
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.String(32), nullable=True),
    # A sender's claim on this message (services/outbox.py): no other sender takes it until
    # claimed_until passes, so a crashed sender's message is sent by the next one.
    sa.Column("claimed_by", sa.String(120), nullable=True),
    sa.Column("claimed_until", sa.String(32), nullable=True),
    sa.Column("rejections", sa.Integer, nullable=False, server_default="0"),  # permanent (5xx) refusals so far
)

# The opaque unsubscribe token of each subscription (List-Unsubscribe links).
subscription_tokens = sa.Table(
    "subscription_tokens", metadata,
    sa.Column("subscription_id", sa.String(40), primary_key=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
)

# Rendered digests (compressed drafts without the To header: tracker.mail), written in the same
# transactions as DigestPrepared and DigestSent: prepared -> sent | failed | cancelled. A passing
# failure leaves the row prepared (attempts, last_error); `failed` is final: the server refused
# the message for good mail.max_rejections times (DigestFailed).
digest_outbox = sa.Table(
    "digest_outbox", metadata,
    sa.Column("message_id", sa.String(255), primary_key=True),
    sa.Column("subscription_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),  # prepared | sent | failed | cancelled
    sa.Column("position_from", sa.BigInteger, nullable=False),
    sa.Column("position_to", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    # The rendered draft (tracker.mail: headers + both parts, zlib), sealed under the subscriber's
    # key: its subject and welcome name the subscription. Emptied by `forget`.
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("transport", sa.String(20), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.String(32), nullable=True),
    # A sender's claim on this message (services/outbox.py): no other sender takes it until
    # claimed_until passes, so a crashed sender's message is sent by the next one.
    sa.Column("claimed_by", sa.String(120), nullable=True),
    sa.Column("claimed_until", sa.String(32), nullable=True),
    sa.Column("rejections", sa.Integer, nullable=False, server_default="0"),  # permanent (5xx) refusals so far
    sa.UniqueConstraint("subscription_id", "position_from", name="uq_digest_outbox_range"),
)

# Per subscription, the last position a sent digest covered (moved with DigestSent).
digest_cursors = sa.Table(
    "digest_cursors", metadata,
    sa.Column("subscription_id", sa.String(40), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# The per-host pace shared by every process (services/host_pace.py): the earliest time (epoch
# seconds) the next request to a host may start. One row per host, updated by one atomic upsert.
host_pace = sa.Table(
    "host_pace", metadata,
    sa.Column("host", sa.String(300), primary_key=True),
    sa.Column("next_at", sa.Float, nullable=False),
)

# robots.txt as last read from each origin (services/robots_rules.py), shared by the tracker's
# processes until it expires (wall-clock epoch seconds; RFC 9309: at most 24 hours). body NULL:
# the site answered 4xx, so no rules apply. A 5xx answer is never kept.
robots_rules = sa.Table(
    "robots_rules", metadata,
    sa.Column("origin", sa.String(300), primary_key=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# -- the scheduler (services/claims.py, heartbeat.py) -------------------------------------------
# Named leases with an expiry: the SQLite single-instance lock, one digest period, the outbox
# sender. A row whose expires_at has passed belongs to nobody; completed_at set means done for good.
service_leases = sa.Table(
    "service_leases", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(120), nullable=False),
    sa.Column("acquired_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("completed_at", sa.String(32), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

# One row per `tracker serve` process, renewed while it lives.
# Each full verification of the hash chain (`tracker verify`, the web audit page): when, by whom,
# how far, and the result; /metrics and `tracker status` show the latest. Kept to the last 100.
verify_runs = sa.Table(
    "verify_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("by", sa.String(20), nullable=False),  # "cli", "web"
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("head_position", sa.BigInteger, nullable=False),
    sa.Column("events", sa.BigInteger, nullable=False),
    sa.Column("bad_position", sa.BigInteger, nullable=True),
    sa.Column("problem", sa.Text, nullable=True),
)

scheduler_heartbeats = sa.Table(
    "scheduler_heartbeats", metadata,
    sa.Column("process_id", sa.String(120), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("seen_at", sa.String(32), nullable=False, index=True),
    sa.Column("last_tick_at", sa.String(32), nullable=True),
    sa.Column("last_tick_summary", sa.Text, nullable=True),
    sa.Column("stopped_at", sa.String(32), nullable=True),
)

# -- signed checkpoints (services/checkpoints.py) -----------------------------------------------
# Every signed tree head, kept as the exact note text that was signed (a C2SP checkpoint): listed
# by `tracker checkpoints list`, carried by digests and changelogs. The key is never stored.
checkpoints = sa.Table(
    "checkpoints", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tree_size", sa.BigInteger, nullable=False),
    sa.Column("root_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("key_name", sa.String(200), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

# -- triage (services/triage.py) ---------------------------------------------------------------
# What an analyst typed (a reason, a note): it may hold personal data, so it stays outside the hash
# chain; the decision event carries only the opaque ref. Deleting a row leaves the log verifying.
triage_texts = sa.Table(
    "triage_texts", metadata,
    sa.Column("ref", sa.String(40), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# How far through the log proposals have been derived (services/proposing.py): one row. Derivation
# is idempotent (proposal keys), so losing this row only means deriving again from the start.
triage_cursor = sa.Table(
    "triage_cursor", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)
