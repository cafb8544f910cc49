"""Digests through an outbox: prepare (render + record), then send, each step one transaction.

prepare: the rendered message (a compressed draft, tracker.mail) is stored in `digest_outbox` and
DigestPrepared (the positions it
covers, its Message-ID) is appended in the SAME transaction, before any sending. A subscription
with a digest still pending gets no new one until that one is sent, so ranges never overlap.

send (services/delivery.py): every sender claims each prepared message before sending it; once
the server accepts it, DigestSent is appended, the outbox row marked sent and the subscription's
cursor moved to the digest's `to` position, in one transaction. A crash in between resends the
same bytes with the same Message-ID; a passing failure leaves the row prepared for the next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tracker.core import NewEvent
from tracker.core.events import format_time
from tracker.core.store import Head
from tracker.domain import payloads_ops as o
from tracker.domain.vocabulary import DIGEST_PREPARED, subscription_stream
from tracker.errors import ConstraintError, NotFoundError
from tracker.mail import Transport, build_digest_message, message_domain
from tracker.projections import ReadModel
from tracker.projections.digest_index import load_index, load_refs
from tracker.projections.subscriptions import PENDING
from tracker.rendering import DigestView, HeadView, render_digest
from tracker.schema.operational import channel_outbox, digest_outbox
from tracker.services import deadlines, personal, triage_digest
from tracker.services import digest_selection as selection
from tracker.services import digest_view as digest_view_builder
from tracker.services.checkpoints import latest_note
from tracker.services.delivery import DeliveryReport as DeliveryReport
from tracker.services.delivery import send_pending as send_pending
from tracker.services.subscribing import OWN_PROJECTIONS

# Statuses now and dates due come from the record and the registers' read models; open triage
# proposals from theirs.
DIGEST_PROJECTIONS: tuple[ReadModel, ...] = (
    *OWN_PROJECTIONS,
    "record",
    "register_entries",
    "changelog_rows",
    "proposals",
)

if TYPE_CHECKING:
    from tracker.app import App


@dataclass(frozen=True, slots=True)
class Prepared:
    subscription_id: str
    message_id: str
    positions: tuple[int, int]
    count: int
    subject: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A digest rendered but not recorded: what --preview shows and prepare stores."""

    subscription_id: str
    subject: str
    text: str
    html: str
    count: int
    positions: tuple[int, int]
    message_id: str
    message: bytes  # the draft: headers and both parts, compressed (tracker.mail.message_bytes)
    head_hash: str
    view: DigestView | None = None  # what was rendered (for --preview --json); let go once recorded
    channel_body: str = ""  # what each channel of the subscription gets (digest_view.channel_text)


@dataclass
class DigestRun:
    prepared: list[Prepared]
    report: DeliveryReport | None
    skipped_pending: list[str] = field(default_factory=list)


def _metadata(actor: str) -> dict[str, str]:
    correlation = str(uuid.uuid4())
    return {"actor": actor, "cause": "cli:digest", "correlation_id": correlation, "causation_id": correlation}


@dataclass
class Selection:
    """Everything the next digests are made from, read once for all subscriptions."""

    head: Head
    now: datetime
    subs: list[selection.Candidate]
    context: digest_view_builder.Context
    skipped_pending: list[str]


def select(
    app: App, *, subscription_id: str | None = None, now: datetime | None = None, cadence: str | None = None,
    include_pending: bool = True,
) -> Selection:
    """Read the log once and sort its events into each active subscription's next digest.

    Everything is read in one transaction, each thing once: the period's rows come with the index
    entries and statuses they name; only what the dates due and the failing sources add is asked
    for after them."""
    now = now or app.clock()
    store = app.store
    head = store.head()
    app.fresh(*DIGEST_PROJECTIONS)
    due_days = app.settings.digest.due_days
    with app.db.read() as conn:
        subs = selection.candidates(conn, subscription_id=subscription_id, cadence=cadence)
        if subscription_id is not None and not subs:
            raise NotFoundError(f"no active subscription {subscription_id!r}")
        parts, index, statuses = selection.period_rows(conn, subs, head.position)
        skipped = [s.id for s in subs if s.pending and not include_pending]
        subs = [s for s in subs if include_pending or not s.pending]
        due = deadlines.collect(store, today=now.date(), days=due_days, conn=conn)
        # Failing sources are read one by one (with their targets) only when a filter narrows, their
        # items' kinds only when one asks for kinds; filters that do not narrow read them counted.
        narrows, kinds = any(s.filters.narrows for s in subs), any(s.filters.kinds for s in subs)
        failing_groups = selection.failure_groups(conn) if not all(s.filters.narrows for s in subs) else []
        failing_sources = selection.failing_sources(conn) if narrows else []
        if any(s.new for s in subs):
            index = load_index(conn)  # a welcome counts the items of the whole record its filters match
        elif narrows:  # only what the period, the failing sources and the dates due name
            # (what is shown of them comes with their rows: the index is read here for filters only,
            # and filters that do not narrow refuse nothing the index tells)
            named = selection.deadline_refs(due) | {
                f"item:{item}" for entry in index.values() if entry.entry == "source" for item in entry.items}
            if kinds:
                named |= selection.source_items(failing_sources)
            index.update(load_refs(conn, named - index.keys()))
        note = latest_note(app.db, head.position, conn=conn)
        awaiting = triage_digest.awaiting(app, conn=conn)
    context = digest_view_builder.Context(
        head=HeadView(head.position, head.hash, note), head_time=head.recorded_at or "",
        now=now, index=index,
        statuses=statuses, due=selection.due(due, index, narrows=narrows),
        failing_groups=failing_groups, failing=failing_sources,
        failing_targets=selection.failing_targets(failing_sources, index, kinds=kinds) if narrows else None,
        due_days=due_days, unsubscribe_base=app.settings.mail.unsubscribe_base,
        awaiting=awaiting,
    )
    selection.collect(parts, subs, index)
    return Selection(head, now, subs, context, skipped)


def iter_rendered(app: App, chosen: Selection) -> Iterator[Rendered]:
    """Render one digest at a time (a large digest is never held twice), skipping empty periods.

    A subscription's first digest is its welcome and is always sent."""
    send_empty = app.settings.mail.send_empty
    for sub in chosen.subs:
        if sub.entries or sub.new or send_empty:
            yield render_one(app, sub, digest_view(app, sub, chosen), chosen)


def render_digests(
    app: App, *, subscription_id: str | None = None, now: datetime | None = None, cadence: str | None = None,
) -> tuple[list[Rendered], list[str]]:
    """Render the next digest of each active subscription (for --preview), recording nothing."""
    chosen = select(app, subscription_id=subscription_id, now=now, cadence=cadence)
    return list(iter_rendered(app, chosen)), chosen.skipped_pending


def digest_view(app: App, sub: selection.Candidate, chosen: Selection) -> DigestView:
    """What the templates see for one subscription's digest."""
    return digest_view_builder.build(
        subscription_id=sub.id, name=sub.name, cadence=sub.cadence, filters=sub.filters, token=sub.token,
        entries=sub.entries, welcome=sub.new, context=chosen.context,
    )


def render_one(app: App, sub: selection.Candidate, view: DigestView, chosen: Selection) -> Rendered:
    html, text = render_digest(view)
    head = chosen.head
    subject = f"{sub.name}: {view.summary}"
    positions = (min(sub.cursor + 1, head.position), head.position)  # a welcome may cover no new event
    sender = app.settings.mail.sender
    message_id = f"<digest.{sub.id}.{positions[0]}-{positions[1]}.{head.hash[:12]}@{message_domain(sender)}>"
    message = build_digest_message(
        sender=sender, subject=subject, text=text, html=html, message_id=message_id, date=chosen.now,
        unsubscribe_url=view.unsubscribe_url, unsubscribe_token=sub.token, head=(head.position, head.hash),
        extra={"X-Tracker-Subscription": sub.id},
    )
    return Rendered(sub.id, subject, text, html, view.count, positions, message_id, message, head.hash, view,
                    digest_view_builder.channel_text(view))


def preview_json(rendered: Rendered) -> dict[str, Any]:
    """What `tracker digest --preview --json` prints for one digest: exactly what would be sent."""
    view = asdict(rendered.view) if rendered.view is not None else {}
    view.pop("unsubscribe_url", None)  # carries the subscription's secret token
    return {"subscription": rendered.subscription_id, "subject": rendered.subject, "message_id": rendered.message_id,
            "positions": list(rendered.positions), "count": rendered.count, "text": rendered.text, **view}


WRITE_BATCH = 25  # digests recorded per transaction: few commits, and the write lock held briefly


def prepare_digests(
    app: App, *, subscription_id: str | None = None, now: datetime | None = None, cadence: str | None = None,
    actor: str = "cli",
) -> list[Prepared]:
    """Render and record the next digest of each subscription (or one), ready to send.

    An empty period prepares nothing (unless mail.send_empty). A subscription whose previous
    digest is still pending is skipped until that one is sent. Each digest's outbox row and its
    DigestPrepared event commit together (several digests may share that transaction).
    """
    chosen = select(app, subscription_id=subscription_id, now=now, cadence=cadence, include_pending=False)
    prepared: list[Prepared] = []
    created = format_time(chosen.now)
    metadata = _metadata(actor)
    batch: list[Rendered] = []
    for rendered in iter_rendered(app, chosen):
        # Only the compressed draft is kept: the rendered parts of a large digest are let go now.
        batch.append(Rendered(rendered.subscription_id, rendered.subject, "", "", rendered.count,
                              rendered.positions, rendered.message_id, rendered.message, rendered.head_hash,
                              None, rendered.channel_body))
        if len(batch) == WRITE_BATCH:
            prepared += _record(app, batch, created, metadata)
            batch = []
    if batch:
        prepared += _record(app, batch, created, metadata)
    return prepared


def _record(app: App, batch: list[Rendered], created: str, metadata: dict[str, str]) -> list[Prepared]:
    try:
        with app.db.write() as conn:
            busy = set(conn.execute(sa.select(digest_outbox.c.subscription_id).where(
                digest_outbox.c.subscription_id.in_([r.subscription_id for r in batch]),
                digest_outbox.c.status.in_(PENDING),
            )).scalars())
            keys = personal.keys_of(conn, [r.subscription_id for r in batch])
            # busy: prepared by another process; no key: forgotten since the selection
            fresh = [r for r in batch if r.subscription_id not in busy and r.subscription_id in keys]
            if not fresh:
                return []
            # The draft (its subject and welcome name the subscription) is stored only sealed under
            # the subscriber's key: `forget` makes every copy of it unreadable.
            conn.execute(digest_outbox.insert(), [{
                "message_id": r.message_id, "subscription_id": r.subscription_id, "status": "prepared",
                "position_from": r.positions[0], "position_to": r.positions[1], "head_hash": r.head_hash,
                "item_count": r.count,
                "message": personal.seal_message(keys[r.subscription_id][1], r.message_id, r.message),
                "attempts": 0, "last_error": None, "transport": None, "created_at": created, "sent_at": None,
            } for r in fresh])
            # Each channel's message is prepared with the digest, so a crash before sending resends it as is.
            urls = personal.channel_urls(conn, [r.subscription_id for r in fresh])
            notes = [{
                "message_id": f"{r.message_id}#{channel_id}", "digest_message_id": r.message_id,
                "subscription_id": r.subscription_id, "channel_id": channel_id, "status": "prepared",
                "content": personal.seal_note(keys[r.subscription_id][1], f"{r.message_id}#{channel_id}",
                                              r.subject, r.channel_body),
                "attempts": 0, "last_error": None, "created_at": created, "sent_at": None,
            } for r in fresh for channel_id, _ in urls.get(r.subscription_id, ())]
            if notes:
                conn.execute(channel_outbox.insert(), notes)
            app.store.append([NewEvent(
                stream=subscription_stream(r.subscription_id), type=DIGEST_PREPARED,
                payload=o.DigestEvent(subscription=r.subscription_id, message_id=r.message_id,
                                      positions=list(r.positions), count=r.count,
                                      head={"position": r.positions[1], "hash": r.head_hash}),
                metadata=metadata, idempotency_key=f"digest-prepared:{r.message_id}",
            ) for r in fresh], conn=conn)
    except ConstraintError:
        # A concurrent prepare recorded one of these ranges first: that one stands; retry one by one.
        if len(batch) == 1:
            return []
        return [p for r in batch for p in _record(app, [r], created, metadata)]
    return [Prepared(r.subscription_id, r.message_id, r.positions, r.count, r.subject) for r in fresh]


def run_digests(
    app: App, send: bool = True, *, transport: Transport | None = None, subscription_id: str | None = None,
    cadence: str | None = None, now: datetime | None = None,
) -> DigestRun:
    """What `tracker digest --send` and `tracker run` call: prepare, then send what is pending (of
    `subscription_id` only, when given), claiming each message (services/delivery.py)."""
    prepared = prepare_digests(app, subscription_id=subscription_id, now=now, cadence=cadence)
    report = send_pending(app, transport, subscription_id=subscription_id) if send else None
    return DigestRun(prepared, report)
