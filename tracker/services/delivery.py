"""Sending what the outboxes hold: one loop over claimed messages, one sender per kind.

Every sender (`tracker digest --send`, `tracker run`, the scheduler of `tracker serve`) goes
through `send_pending`, which claims one prepared message at a time (services/outbox.py) and hands
it to the sender of its kind: e-mail (the injected transport) or an Apprise channel. So two
senders running at once never send the same message twice, on SQLite or PostgreSQL.

What a message becomes:
- accepted by the server (the 250 reply to DATA; a channel's 2xx): DigestSent or DigestNotified
  is appended and the row marked sent in one transaction, before QUIT;
- a passing failure (connection refused, 4xx, timeout, a channel that is down): the row stays
  prepared, its attempts and last error kept, for the next run;
- a permanent refusal of an e-mail (5xx to RCPT or DATA): counted; at mail.max_rejections it is
  marked failed for good and DigestFailed is appended (ids, positions, the SMTP code: nothing
  personal). The subscription's cursor moves past it, so its later digests are not held back;
- its subscription was cancelled or its subscriber forgotten: cancelled, never sent.

Exactly once, and its one honest limit: a sender that dies after the server accepted a message and
before the transaction recording it commits leaves the message prepared and claimed; when the
claim runs out (schedule.lease_seconds), or at once if the dead sender ran on this host, the next
sender sends it again, byte for byte the same, with the same Message-ID. No protocol can close
that window (the server and the database cannot commit together); it lasts one local transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import NewEvent
from tracker.core.events import format_time
from tracker.domain import payloads_ops as o
from tracker.domain.vocabulary import DIGEST_FAILED, DIGEST_NOTIFIED, DIGEST_SENT, subscription_stream
from tracker.errors import DeliveryError, DeliveryRejectedError
from tracker.mail import Transport, channels, message_bytes, sender_address
from tracker.mail.transport import Accepted
from tracker.schema.operational import channel_outbox, digest_cursors, digest_outbox
from tracker.schema.read_models import subscriptions
from tracker.services import outbox, personal
from tracker.services.heartbeat import ProcessIdentity

if TYPE_CHECKING:
    from tracker.app import App


@dataclass
class DeliveryReport:
    transport: str
    sent: list[tuple[str, str, str]] = field(default_factory=list)      # message_id, subscription, where
    failed: list[tuple[str, str, str, int]] = field(default_factory=list)  # message_id, subscription, error, attempts
    given_up: list[tuple[str, str, str, int]] = field(
        default_factory=list
    )  # message_id, subscription, error, rejections
    cancelled: list[str] = field(default_factory=list)                  # message_ids never to be sent


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed message and where it goes (the address or URL: for delivery only, never shown)."""

    message_id: str
    subscription_id: str
    attempts: int
    rejections: int
    positions: tuple[int, int]
    target: str
    content: Any


def _metadata(actor: str) -> dict[str, str]:
    correlation = str(uuid.uuid4())
    return {"actor": actor, "cause": "cli:digest", "correlation_id": correlation, "causation_id": correlation}


class MailSender:
    """E-mail: the stored draft, opened and addressed now (both sealed under the subscriber's key)."""

    table = digest_outbox

    def __init__(self, app: App, transport: Transport, actor: str) -> None:
        self.app, self.transport, self.actor = app, transport, actor
        self.envelope_from = sender_address(app.settings.mail.sender)[1]

    def load(self, conn: Connection, message_id: str) -> Claimed | None:
        t = digest_outbox
        row = conn.execute(sa.select(
            t.c.subscription_id, t.c.attempts, t.c.rejections, t.c.position_from, t.c.position_to, t.c.message,
            subscriptions.c.status.label("sub_status"), subscriptions.c.subscriber_id,
        ).select_from(
            t.outerjoin(subscriptions, subscriptions.c.id == t.c.subscription_id)
        ).where(t.c.message_id == message_id)).first()
        if row is None or row.sub_status != "active":
            return None
        key = personal.key_of_subscriber(conn, row.subscriber_id)
        address = personal.address_of(conn, row.subscriber_id)
        if key is None or address is None:  # forgotten
            return None
        draft = personal.open_message(key, message_id, bytes(row.message))
        return Claimed(message_id, row.subscription_id, int(row.attempts), int(row.rejections),
                       (int(row.position_from), int(row.position_to)), address, draft)

    def deliver(self, message: Claimed, accepted: Accepted) -> str:
        return self.transport.send(message_bytes(message.content, message.target), sender=self.envelope_from,
                                   recipient=message.target, message_id=message.message_id, accepted=accepted)

    def record_sent(self, conn: Connection, message: Claimed, where: str) -> None:
        conn.execute(digest_outbox.update().where(digest_outbox.c.message_id == message.message_id)
                     .values(transport=self.transport.name))
        self.app.store.append([NewEvent(
            stream=subscription_stream(message.subscription_id), type=DIGEST_SENT,
            payload=o.DigestEvent(subscription=message.subscription_id, message_id=message.message_id,
                                  positions=list(message.positions), transport=self.transport.name),
            metadata=_metadata(self.actor), idempotency_key=f"digest-sent:{message.message_id}",
        )], conn=conn)
        move_cursor(conn, message, format_time(self.app.clock()))

    def record_failed(self, conn: Connection, message: Claimed, code: int, rejections: int) -> None:
        self.app.store.append([NewEvent(
            stream=subscription_stream(message.subscription_id), type=DIGEST_FAILED,
            payload=o.DigestEvent(subscription=message.subscription_id, message_id=message.message_id,
                                  positions=list(message.positions), rejections=rejections, code=code),
            metadata=_metadata(self.actor), idempotency_key=f"digest-failed:{message.message_id}",
        )], conn=conn)
        move_cursor(conn, message, format_time(self.app.clock()))


class ChannelSender:
    """An Apprise channel: the summary prepared with the digest, to the channel's URL."""

    table = channel_outbox

    def __init__(self, app: App, actor: str) -> None:
        self.app, self.actor = app, actor

    def load(self, conn: Connection, message_id: str) -> Claimed | None:
        t = channel_outbox
        row = conn.execute(sa.select(
            t.c.subscription_id, t.c.channel_id, t.c.digest_message_id, t.c.attempts, t.c.rejections, t.c.content,
            subscriptions.c.status.label("sub_status"), subscriptions.c.subscriber_id,
            digest_outbox.c.position_from, digest_outbox.c.position_to,
        ).select_from(
            t.outerjoin(subscriptions, subscriptions.c.id == t.c.subscription_id)
            .outerjoin(digest_outbox, digest_outbox.c.message_id == t.c.digest_message_id)
        ).where(t.c.message_id == message_id)).first()
        if row is None or row.sub_status != "active":
            return None
        key = personal.key_of_subscriber(conn, row.subscriber_id)
        url = dict(personal.channel_urls(conn, [row.subscription_id]).get(row.subscription_id, [])).get(row.channel_id)
        if key is None or url is None:  # forgotten, or the channel is gone
            return None
        title, body = personal.open_note(key, message_id, bytes(row.content))
        return Claimed(message_id, row.subscription_id, int(row.attempts), int(row.rejections),
                       (int(row.position_from or 0), int(row.position_to or 0)), url,
                       (row.channel_id, row.digest_message_id, title, body))

    def deliver(self, message: Claimed, accepted: Accepted) -> str:
        _, _, title, body = message.content
        channels.notify(message.target, title=title, body=body)
        return f"channel {channels.mask(message.target)}"

    def record_sent(self, conn: Connection, message: Claimed, where: str) -> None:
        channel_id, digest_message_id, _, _ = message.content
        self.app.store.append([NewEvent(
            stream=subscription_stream(message.subscription_id), type=DIGEST_NOTIFIED,
            payload=o.DigestEvent(subscription=message.subscription_id, message_id=digest_message_id,
                                  channel=channel_id, positions=list(message.positions)),
            metadata=_metadata(self.actor), idempotency_key=f"digest-notified:{message.message_id}",
        )], conn=conn)


Sender = MailSender | ChannelSender  # by kind: outbox.OUTBOXES names their tables


def move_cursor(conn: Connection, message: Claimed, now: str) -> None:
    """The subscription's next digest starts after this one (sent, or failed for good)."""
    current = conn.execute(sa.select(digest_cursors.c.position).where(
        digest_cursors.c.subscription_id == message.subscription_id)).scalar()
    to = message.positions[1]
    if current is None:
        conn.execute(digest_cursors.insert().values(
            subscription_id=message.subscription_id, position=to, message_id=message.message_id, updated_at=now))
    elif int(current) < to:
        conn.execute(digest_cursors.update().where(digest_cursors.c.subscription_id == message.subscription_id)
                     .values(position=to, message_id=message.message_id, updated_at=now))


def send_pending(
    app: App, transport: Transport | None = None, *, actor: str = "cli", subscription_id: str | None = None,
    holder: str | None = None,
) -> DeliveryReport:
    """Claim and send every prepared message (of one subscription, or all): e-mail, then channels.

    ``transport`` defaults to the app's (SMTP, or .eml files in the outbox folder); ``holder``
    names the claims (default: this process). A message whose attempt fails in this run is not
    tried again in it."""
    transport = transport or app.mail
    app.require_ready()
    holder = holder or ProcessIdentity.current().process_id
    report = DeliveryReport(transport.name)
    outbox.free_dead_claims(app.db, app.clock())
    seconds = app.settings.schedule.lease_seconds
    senders: tuple[Sender, ...] = (MailSender(app, transport, actor), ChannelSender(app, actor))
    for sender in senders:
        tried: set[str] = set()
        while (message_id := outbox.claim(app.db, sender.table, holder, app.clock(), seconds,
                                          subscription_id=subscription_id, exclude=frozenset(tried))) is not None:
            tried.add(message_id)
            _send_one(app, sender, message_id, report)
    return report


def _send_one(app: App, sender: Sender, message_id: str, report: DeliveryReport) -> None:
    table = sender.table
    with app.db.read() as conn:
        message = sender.load(conn, message_id)
    if message is None:
        with app.db.write() as conn:
            outbox.settle(conn, table, message_id, status="cancelled")
        report.cancelled.append(message_id)
        return
    attempts = message.attempts + 1
    recorded: list[str] = []

    def accepted(where: str) -> None:
        with app.db.write() as conn:
            if outbox.settle(conn, table, message_id, status="sent", attempts=attempts, last_error=None,
                             sent_at=format_time(app.clock())):
                sender.record_sent(conn, message, where)
        recorded.append(where)

    try:
        where = sender.deliver(message, accepted)
    except DeliveryRejectedError as exc:
        _rejected(app, sender, message, attempts, exc, report)
        return
    except DeliveryError as exc:
        with app.db.write() as conn:
            outbox.settle(conn, table, message_id, attempts=attempts, last_error=str(exc)[:1000])
        report.failed.append((message_id, message.subscription_id, str(exc), attempts))
        return
    if not recorded:
        accepted(where)
    report.sent.append((message_id, message.subscription_id, where))


def _rejected(app: App, sender: Sender, message: Claimed, attempts: int,
              exc: DeliveryRejectedError, report: DeliveryReport) -> None:
    rejections = message.rejections + 1
    error = str(exc)[:1000]
    final = rejections >= app.settings.mail.max_rejections and isinstance(sender, MailSender)
    with app.db.write() as conn:
        changed = outbox.settle(conn, sender.table, message.message_id, attempts=attempts, rejections=rejections,
                                last_error=error, **({"status": "failed"} if final else {}))
        if final and changed and isinstance(sender, MailSender):
            sender.record_failed(conn, message, exc.code, rejections)
    if final:
        report.given_up.append((message.message_id, message.subscription_id, error, rejections))
    else:
        report.failed.append((message.message_id, message.subscription_id, error, attempts))
