"""Triage, the analyst's side: list and show proposals, and decide on them.

    rows = list_proposals(app, state="open", jurisdiction="US")
    view = show_proposal(app, "p-0123456789ab")
    accept(app, "p-0123456789ab", actor="alice", step="published", date="2025-09-28")   # triage_accept.py
    reject(app, "p-0123456789ab", actor="alice", reason="a duplicate of the 2024 notice")
    defer(app, "p-0123456789ab", actor="alice", until="2026-01-15")
    assign(app, "p-0123456789ab", actor="alice", to="bob")
    assess(app, "p-0123456789ab", actor="alice", impact="high", products=("kymriah",), due="2026-02-01")

Each decision is validated before anything is written, appended on the proposal's stream at the
version it was read at (two analysts deciding at once: one wins, the other is told), with the
analyst as the event's actor. Reasons and notes go to ``triage_texts`` in the same transaction and
the event carries their opaque ref. The results are plain dataclasses a CLI or a web page renders.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.app import App
from tracker.core import NewEvent
from tracker.core.events import format_time
from tracker.domain import payloads_ops as o
from tracker.domain import proposals as dp
from tracker.domain import vocabulary as v
from tracker.domain.dates import precision_of
from tracker.errors import NotFoundError, ValidationError
from tracker.projections.proposals import proposal_of
from tracker.schema.operational import triage_texts
from tracker.schema.read_models import triage_decisions, triage_proposals

LIST_LIMIT = 1000


@dataclass(frozen=True)
class ProposalSummary:
    """One row of the triage queue (``tracker triage list --json`` prints ``as_json``)."""

    id: str
    state: str
    source: str
    jurisdiction: str
    evidence_position: int
    step: str
    kind: str | None
    title_zh: str
    title_en: str
    date: str | None
    url: str | None
    match: str | None
    identifier: str | None = None
    assignee: str | None = None
    deferred_until: str | None = None
    impact: str | None = None
    item_id: str | None = None
    raised_position: int = 0

    @property
    def precision(self) -> str | None:
        return precision_of(self.date)

    @property
    def title(self) -> str:
        return self.title_en or self.title_zh

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "state": self.state, "source": self.source, "jurisdiction": self.jurisdiction,
            "evidence_position": self.evidence_position, "step": self.step, "kind": self.kind,
            "title_zh": self.title_zh, "title_en": self.title_en, "date": self.date, "precision": self.precision,
            "url": self.url, "match": self.match, "identifier": self.identifier, "assignee": self.assignee,
            "deferred_until": self.deferred_until, "impact": self.impact, "item_id": self.item_id,
            "raised_position": self.raised_position,
        }


@dataclass(frozen=True)
class Decision:
    """A decision on a proposal: who, when, what; ``text`` is the reason or note typed (if kept)."""

    position: int
    type: str
    actor: str | None
    recorded_at: str
    details: dict[str, Any]
    text: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "type": self.type, "actor": self.actor, "recorded_at": self.recorded_at,
                "details": self.details, "text": self.text}


@dataclass(frozen=True)
class ProposalView:
    """A proposal in full: its fields, evidence excerpt, the match (why) and the alternatives."""

    summary: ProposalSummary
    proposal: dp.Proposal
    decisions: tuple[Decision, ...] = ()

    @property
    def evidence(self) -> dp.Evidence:
        return self.proposal.draft.evidence

    @property
    def match(self) -> dp.Match:
        return self.proposal.match

    def as_json(self) -> dict[str, Any]:
        d = self.proposal.draft
        return {
            **self.summary.as_json(), "issuer": d.issuer, "titles": dict(d.titles), "deadlines": dict(d.deadlines),
            "note": d.note, "check": d.check, "origin": d.origin, "suggested_id": self.proposal.suggested_id,
            "evidence": self.evidence.as_json(), "match_reason": self.match.reason, "match_score": self.match.score,
            "alternatives": [c.as_json() for c in self.match.alternatives],
            "decisions": [decision.as_json() for decision in self.decisions],
        }


@dataclass(frozen=True)
class DecisionResult:
    """What a decision wrote: its event's position, and for an acceptance the record's events."""

    proposal_id: str
    type: str
    position: int
    item_id: str | None = None
    new_item: bool = False
    events: tuple[int, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.proposal_id, "type": self.type, "position": self.position, "item_id": self.item_id,
                "new_item": self.new_item, "events": list(self.events)}


def _state(row: Mapping[str, Any], today: str) -> str:
    """A deferral lapses on its day: the proposal is open again (no event needed: the date decides)."""
    until = row["deferred_until"]
    return "open" if row["state"] == "deferred" and until is not None and until <= today else str(row["state"])


def _summary(row: Mapping[str, Any], today: str) -> ProposalSummary:
    return ProposalSummary(
        id=row["id"], state=_state(row, today), source=row["source_id"], jurisdiction=row["jurisdiction"],
        evidence_position=int(row["evidence_position"]), step=row["step"], kind=row["kind"],
        title_zh=row["title_zh"], title_en=row["title_en"], date=row["date"], url=row["url"],
        match=row["match_item"], identifier=row["identifier"], assignee=row["assignee"],
        deferred_until=row["deferred_until"], impact=row["impact"], item_id=row["item_id"],
        raised_position=int(row["raised_position"]),
    )


@lru_cache(maxsize=64)  # built once per shape, values bound at execution: every digest lists the open ones
def _list_query(state: str | None, by_jurisdiction: bool, by_assignee: bool, limit: int) -> sa.Select[Any]:
    c = triage_proposals.c
    today = sa.bindparam("today", type_=c.deferred_until.type)
    lapsed = sa.and_(c.state == "deferred", c.deferred_until.is_not(None), c.deferred_until <= today)
    query = sa.select(triage_proposals)
    if state == "open":
        query = query.where(sa.or_(c.state == "open", lapsed))
    elif state == "deferred":
        query = query.where(c.state == "deferred", sa.not_(lapsed))
    elif state is not None:
        query = query.where(c.state == state)
    if by_jurisdiction:
        query = query.where(c.jurisdiction == sa.bindparam("jurisdiction"))
    if by_assignee:
        query = query.where(c.assignee == sa.bindparam("assignee"))
    return query.order_by(c.raised_position.desc()).limit(limit)


def list_proposals(app: App, *, state: str | None = None, jurisdiction: str | None = None,
                   assignee: str | None = None, limit: int = LIST_LIMIT,
                   conn: Connection | None = None) -> list[ProposalSummary]:
    """The queue, newest first, filtered by state, jurisdiction and assignee.

    With ``conn``, read in that transaction (a digest's or changelog's), whose caller has brought
    the proposals read model up to date."""
    if state is not None and state not in dp.STATES:
        raise ValidationError(f"state {state!r} refused: use one of {', '.join(dp.STATES)}")
    if jurisdiction is not None and jurisdiction not in v.JURISDICTIONS:
        raise ValidationError(f"jurisdiction {jurisdiction!r} refused: use one of {', '.join(v.JURISDICTIONS)}")
    if conn is None:
        app.fresh("proposals")
    today = app.clock().date().isoformat()
    query = _list_query(state, jurisdiction is not None, assignee is not None, limit)
    given = {"today": today, "jurisdiction": jurisdiction, "assignee": assignee}
    parameters = {name: value for name, value in given.items() if value is not None}
    if conn is None:
        with app.db.read() as own:
            rows = own.execute(query, parameters).mappings().all()
    else:
        rows = conn.execute(query, parameters).mappings().all()
    return [_summary(dict(row), today) for row in rows]


def _row(conn: Connection, proposal_id: str) -> Mapping[str, Any]:
    dp.check_proposal_id(proposal_id)
    row = conn.execute(sa.select(triage_proposals).where(triage_proposals.c.id == proposal_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no proposal {proposal_id!r} (see `tracker triage list`)")
    return dict(row)


def _texts(conn: Connection, refs: Sequence[str]) -> dict[str, str]:
    if not refs:
        return {}
    rows = conn.execute(sa.select(triage_texts.c.ref, triage_texts.c.text).where(triage_texts.c.ref.in_(list(refs))))
    return {row.ref: row.text for row in rows}


def show_proposal(app: App, proposal_id: str) -> ProposalView:
    dp.check_proposal_id(proposal_id)
    app.fresh("proposals")
    with app.db.read() as conn:
        row = _row(conn, proposal_id)
        decided = conn.execute(sa.select(triage_decisions).where(triage_decisions.c.proposal_id == proposal_id)
                               .order_by(triage_decisions.c.position)).mappings().all()
        details = [json.loads(d["details"]) for d in decided]
        refs = [str(ref) for detail in details for key in ("note_ref", "reason_ref") if (ref := detail.get(key))]
        texts = _texts(conn, refs)
    decisions = tuple(
        Decision(int(d["position"]), d["type"], d["actor"], d["recorded_at"], detail,
                 texts.get(str(detail.get("note_ref") or detail.get("reason_ref") or "")))
        for d, detail in zip(decided, details, strict=True)
    )
    return ProposalView(_summary(row, app.clock().date().isoformat()), proposal_of(row), decisions)


# -- decisions ----------------------------------------------------------------------------------


def metadata(actor: str, proposal_id: str) -> dict[str, Any]:
    return {"actor": actor, "cause": f"triage:{proposal_id}", "correlation_id": f"triage-{secrets.token_hex(6)}"}


def keep_text(conn: Connection, text: str | None, now: str) -> str | None:
    """Store a typed text outside the chain; its opaque ref, or None when there is none."""
    if text is None:
        return None
    ref = f"t-{secrets.token_hex(12)}"
    conn.execute(triage_texts.insert().values(ref=ref, text=text, created_at=now))
    return ref


def load_for_decision(app: App, proposal_id: str, decision: str) -> tuple[Mapping[str, Any], int]:
    """The proposal's row (refusing a decision its state does not allow) and its stream's version."""
    dp.check_proposal_id(proposal_id)
    app.fresh("proposals")
    with app.db.read() as conn:
        row = _row(conn, proposal_id)
    dp.check_transition(row["state"], decision)
    return row, app.store.stream_version(v.proposal_stream(proposal_id))


Keep = Callable[[str | None], str | None]


def _decide(app: App, proposal_id: str, decision: str, actor: str,
            payload: Callable[[Keep], o.ProposalEvent]) -> DecisionResult:
    """Append one decision; ``payload`` builds its typed payload, keeping the texts it is given
    outside the chain (``keep`` gives their refs) in the same transaction."""
    _, version = load_for_decision(app, proposal_id, decision)
    with app.db.write() as conn:
        now = format_time(app.clock())
        event = NewEvent(stream=v.proposal_stream(proposal_id), type=decision,
                         payload=payload(lambda text: keep_text(conn, text, now)),
                         metadata=metadata(actor, proposal_id))
        recorded = app.store.append([event], expect={event.stream: version}, conn=conn)
    return DecisionResult(proposal_id, decision, recorded[0].position)


def reject(app: App, proposal_id: str, *, actor: str, reason: str) -> DecisionResult:
    actor = dp.check_actor(actor)
    text = dp.check_text(reason, "reason")
    return _decide(app, proposal_id, v.PROPOSAL_REJECTED, actor,
                   lambda keep: o.ProposalRejected(id=proposal_id, reason_ref=keep(text)))


def defer(app: App, proposal_id: str, *, actor: str, until: str) -> DecisionResult:
    actor = dp.check_actor(actor)
    day = dp.check_date(until, "--until")
    today = app.clock().date().isoformat()
    if day is not None and day <= today:
        raise ValidationError(f"--until {day} refused: a deferral runs to a later day than today ({today})")
    return _decide(app, proposal_id, v.PROPOSAL_DEFERRED, actor,
                   lambda _keep: o.ProposalDeferred(id=proposal_id, until=day))


def assign(app: App, proposal_id: str, *, actor: str, to: str) -> DecisionResult:
    actor = dp.check_actor(actor)
    name = dp.check_name(to, "assignee")
    return _decide(
        app, proposal_id, v.PROPOSAL_ASSIGNED, actor, lambda _keep: o.ProposalAssigned(id=proposal_id, to=name)
    )


def assess(app: App, proposal_id: str, *, actor: str, impact: str, products: Sequence[str] = (),
           due: str | None = None, note: str | None = None) -> DecisionResult:
    actor = dp.check_actor(actor)
    impact = dp.check_impact(impact)
    listed = sorted({dp.check_item_id(p.strip(), "product") for item in products for p in item.split(",") if p.strip()})
    day = dp.check_date(due, "--due")
    text = dp.check_text(note, "note")
    return _decide(app, proposal_id, v.PROPOSAL_ASSESSED, actor, lambda keep: o.ProposalAssessed(
        id=proposal_id, impact=impact, products=listed, due=day, note_ref=keep(text)))


# Accepting writes into the record: its own module, offered here with the other decisions.
from tracker.services.triage_accept import accept  # noqa: E402

__all__ = ["Decision", "DecisionResult", "ProposalSummary", "ProposalView", "accept", "assess", "assign", "defer",
           "list_proposals", "reject", "show_proposal"]
