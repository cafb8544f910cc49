"""Accepting a proposal: the regulatory events it stands for, written into the record.

The analyst may correct any field first (the item, a new item's id, the step, the date, the
titles, the kind). Then, in one transaction:

  - for an item the record holds: the step event (InstrumentPublished, ProductApproved, ...) on
    the item's stream;
  - for a new item: its registration (InstrumentRegistered, ProductApproved, ProgramEstablished
    with the step folded in, as seeds write them) and, unless folded, its step;
  - ProposalAccepted on the proposal's stream (item, step, date, the events written, the note's ref).

Each regulatory event cites the proposal and the evidence in ``triage`` (proposal id, source,
evidence position, content hash or register entry, link) and names its origin in ``source``, and
its metadata names the analyst: `tracker history ITEM` shows both. Keys ``triage:<id>:...`` make
an acceptance idempotent and keep re-seeding from taking these steps for seed steps.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tracker.app import App
from tracker.core import NewEvent
from tracker.core.events import format_time
from tracker.domain import payloads_ops as o
from tracker.domain import proposals as dp
from tracker.domain import vocabulary as v
from tracker.domain.payloads import Step
from tracker.domain.record import FOLDED_STEP, REGISTRATION_TYPE
from tracker.domain.seed_events import step_type
from tracker.errors import ValidationError
from tracker.projections.proposals import proposal_of
from tracker.schema.read_models import record_items
from tracker.services.triage import DecisionResult, keep_text, load_for_decision, metadata


def citation(proposal: dp.Proposal, actor: str) -> dict[str, Any]:
    d, e = proposal.draft, proposal.draft.evidence
    return {"proposal": proposal.id, "source": d.source_id, "evidence_position": e.position, "evidence_type": e.type,
            "content_hash": e.content_hash, "entry_id": e.entry_id, "identifier": d.identifier or None, "url": d.url,
            "accepted_by": actor}


def _step(item_id: str, step: str, date: str, proposal: dp.Proposal, cited: dict[str, Any],
          titles: tuple[str, str] | None) -> Step:
    """The accepted step, from outside the review, citing the proposal (its ``extra``)."""
    d = proposal.draft
    title_zh, title_en = titles if step == "renamed" and titles is not None else (None, None)
    return Step(item_id, step, date, d.note or None, d.issuer or None, None, title_zh, title_en,
                {"external": True, "source": d.url or f"source {d.source_id}", "triage": cited})


def _registration(item_id: str, kind: str, title_zh: str, title_en: str, proposal: dp.Proposal,
                  folded: Step | None, cited: dict[str, Any]) -> dict[str, Any]:
    d = proposal.draft
    payload: dict[str, Any] = {
        "id": item_id, "jurisdiction": d.jurisdiction, "kind": kind, "title_zh": title_zh, "title_en": title_en,
        "issuer": d.issuer or None, "topics": [], "discipline": None, "urls": [d.url] if d.url else [],
        "citation": None, "notes": None, "relations": [], "attributes": {}, "seed_file": None,
        "external": True, "source": d.url or f"source {d.source_id}", "triage": cited,
    }
    if kind in FOLDED_STEP:
        payload.update(step_folded=folded.to_payload(with_id=False) if folded else None,
                       date=folded.date if folded else None)
    return payload


def accept(app: App, proposal_id: str, *, actor: str, item: str | None = None, new: str | None = None,
           step: str | None = None, date: str | None = None, title_zh: str | None = None, title_en: str | None = None,
           kind: str | None = None, note: str | None = None, rule: int | None = None) -> DecisionResult:
    """Write the proposal's regulatory events (as corrected) and ProposalAccepted; see the module doc.
    ``rule``: the position of the auto-accept rule accepting it (its actor is then ``rule:<source>``)."""
    actor = actor if rule is not None else dp.check_actor(actor)
    if item is not None and new is not None:
        raise ValidationError("give --item (an item the record holds) or --new (a new item's id), not both")
    for value, what in ((item, "--item"), (new, "--new")):
        if value is not None:
            dp.check_item_id(value, what)
    step, kind, date = dp.check_step(step), dp.check_kind(kind), dp.check_date(date)
    text = dp.check_text(note, "note")
    row, version = load_for_decision(app, proposal_id, v.PROPOSAL_ACCEPTED)
    proposal = proposal_of(row)
    d = proposal.draft
    app.fresh("record")
    target = new or item or d_match(proposal) or proposal.suggested_id
    with app.db.read() as conn:
        existing = conn.execute(sa.select(record_items.c.kind, record_items.c.title_zh, record_items.c.title_en)
                                .where(record_items.c.id == target)).first()
    creating = new is not None or (item is None and proposal.match.item_id is None)
    if creating and existing is not None:
        raise ValidationError(f"item {target!r} is already in the record: pass --item {target} to add a step to it, "
                              "or --new ID for a new item")
    if not creating and existing is None:
        raise ValidationError(f"no item {target!r} in the record: pass --new {target} to create it")
    step = step or d.step
    day = date or d.date or None
    if not day:
        raise ValidationError("the proposal has no date: pass --date YYYY[-MM[-DD]]")
    item_kind = (kind or d.kind) if creating else str(existing.kind)  # type: ignore[union-attr]
    if not creating and kind is not None and kind != item_kind:
        raise ValidationError(f"item {target!r} is a {item_kind}; --kind applies only to a new item")
    if item_kind is None:
        raise ValidationError("the proposal names no kind: pass --kind " + "|".join(dp.KINDS))
    dp.check_step_fits(step, item_kind)
    names = (title_zh if title_zh is not None else d.title_zh, title_en if title_en is not None else d.title_en)
    if creating and not (names[0] or names[1]):
        raise ValidationError("a new item needs a title: pass --title-en or --title-zh")
    if step == "renamed" and not (title_zh or title_en):
        raise ValidationError("a renamed step needs the new title: pass --title-zh and --title-en")
    cited = citation(proposal, actor)
    meta = metadata(actor, proposal_id)
    if rule is not None:
        meta["rule"] = rule
    stream = v.item_stream(item_kind, target)
    events: list[NewEvent] = []
    accepted = _step(target, step, day, proposal, cited, names if step == "renamed" else None)
    folded = creating and FOLDED_STEP.get(item_kind) == step
    if creating:
        folded_step = accepted if folded else None
        events.append(NewEvent(stream, REGISTRATION_TYPE[item_kind],
                               _registration(target, item_kind, names[0], names[1], proposal, folded_step, cited),
                               metadata=meta, valid_from=day if folded else None,
                               idempotency_key=f"triage:{proposal_id}:registered"))
    if not folded:
        events.append(NewEvent(stream, step_type(item_kind, step), accepted.to_payload(), metadata=meta, valid_from=day,
                               idempotency_key=f"triage:{proposal_id}:step"))
    with app.db.write() as conn:
        note_ref = keep_text(conn, text, format_time(app.clock()))
        written = app.store.append(events, conn=conn)
        decision = NewEvent(v.proposal_stream(proposal_id), v.PROPOSAL_ACCEPTED, o.ProposalAccepted(
            id=proposal_id, item_id=target, new_item=creating, step=step, date=day, kind=item_kind,
            title_zh=names[0], title_en=names[1], events=[e.position for e in written], note_ref=note_ref,
        ), metadata=meta, idempotency_key=f"triage:{proposal_id}:accepted")
        recorded = app.store.append([decision], expect={decision.stream: version}, conn=conn)
    return DecisionResult(proposal_id, v.PROPOSAL_ACCEPTED, recorded[0].position, target, creating,
                          tuple(e.position for e in written))


def d_match(proposal: dp.Proposal) -> str | None:
    return proposal.match.item_id


__all__ = ["accept", "citation"]
