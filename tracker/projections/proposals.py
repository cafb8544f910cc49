"""Triage as the analysts see it: each proposal, its state and its decisions. A read model of the log.

One fold (``fold``) from ProposalRaised and the decision events to a proposal's row; both the
incremental path and a rebuild go through it, so they agree (tests/triage/test_property.py).

  triage_proposals   one row per proposal: the raised fields, state (open, accepted, rejected,
                     deferred), assignee, deferral, impact, the item an acceptance wrote to
  triage_decisions   every decision in log order, with its analyst (the event's actor)

A decision on a proposal the projection does not know (its ProposalRaised quarantined) is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import RecordedEvent
from tracker.core.canonical import canonical_json
from tracker.domain import payloads_ops as o
from tracker.domain import proposals as dp
from tracker.domain import vocabulary as v
from tracker.domain.payloads_registry import decode_as
from tracker.schema.read_models import triage_decisions, triage_proposals

_COLUMNS = tuple(c.name for c in triage_proposals.columns)


def raised_row(event: RecordedEvent) -> dict[str, Any]:
    """The row of a newly raised proposal."""
    proposal = dp.Proposal.from_payload(decode_as(o.ProposalRaised, event.type, event.payload))
    d = proposal.draft
    return {
        "id": proposal.id, "state": "open", "source_id": d.source_id[:120], "jurisdiction": d.jurisdiction[:10],
        "kind": d.kind, "step": d.step, "title_zh": d.title_zh, "title_en": d.title_en, "date": d.date or None,
        "identifier": d.identifier or None, "url": d.url, "match_item": proposal.match.item_id, "item_id": None,
        "assignee": None, "deferred_until": None, "impact": None, "evidence_position": d.evidence.position,
        "raised_position": event.position, "updated_position": event.position,
        "proposal": canonical_json(event.payload),
    }


def fold(row: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
    """A proposal's row after one decision event (the one fold of this read model). A decision
    lacking a field of its type raises PayloadError (the projector quarantines it)."""
    kind, payload = event.type, event.payload
    new = dict(row, updated_position=event.position)
    if kind == v.PROPOSAL_ACCEPTED:
        new.update(state="accepted", item_id=decode_as(o.ProposalAccepted, kind, payload)["item_id"],
                   deferred_until=None)
    elif kind == v.PROPOSAL_REJECTED:
        decode_as(o.ProposalRejected, kind, payload)
        new.update(state="rejected", deferred_until=None)
    elif kind == v.PROPOSAL_DEFERRED:
        new.update(state="deferred", deferred_until=decode_as(o.ProposalDeferred, kind, payload)["until"])
    elif kind == v.PROPOSAL_ASSIGNED:
        new.update(assignee=decode_as(o.ProposalAssigned, kind, payload)["to"])
    elif kind == v.PROPOSAL_ASSESSED:
        new.update(impact=decode_as(o.ProposalAssessed, kind, payload)["impact"])
    return new


_proposal_event = o.decoder(o.ProposalEvent)


def proposal_id_of(event: RecordedEvent) -> str:
    """The id every event of a proposal's stream carries (PayloadError when it lacks one)."""
    found: o.ProposalEvent = _proposal_event(event.payload)
    return str(found["id"])


def decision_row(event: RecordedEvent) -> dict[str, Any]:
    actor = event.metadata.get("actor")
    return {"position": event.position, "proposal_id": proposal_id_of(event), "type": event.type,
            "actor": str(actor)[:80] if actor else None, "recorded_at": event.recorded_at,
            "details": canonical_json({k: val for k, val in event.payload.items() if k != "id"})}


class ProposalsProjection:
    name = "proposals"
    types: frozenset[str] | None = frozenset(dp.TYPES)

    def apply(self, conn: Connection, batch: Sequence[RecordedEvent]) -> None:
        ids = sorted({proposal_id_of(e) for e in batch})
        rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for stored in conn.execute(sa.select(triage_proposals).where(triage_proposals.c.id.in_(chunk))):
                rows[stored.id] = dict(stored._mapping)
        existing = set(rows)
        decisions: list[dict[str, Any]] = []
        for event in batch:
            proposal_id = proposal_id_of(event)
            if event.type == v.PROPOSAL_RAISED:
                if proposal_id not in rows:
                    rows[proposal_id] = raised_row(event)
            elif proposal_id in rows:
                rows[proposal_id] = fold(rows[proposal_id], event)
                decisions.append(decision_row(event))
        for proposal_id, row in rows.items():
            if proposal_id in existing:
                conn.execute(triage_proposals.update().where(triage_proposals.c.id == proposal_id)
                             .values({k: row[k] for k in _COLUMNS if k != "id"}))
            else:
                conn.execute(triage_proposals.insert().values(row))
        if decisions:
            conn.execute(triage_decisions.insert(), decisions)

    def clear(self, conn: Connection) -> None:
        conn.execute(triage_decisions.delete())
        conn.execute(triage_proposals.delete())


def proposal_of(row: Mapping[str, Any]) -> dp.Proposal:
    return dp.Proposal.from_payload(json.loads(row["proposal"]))


__all__ = ["ProposalsProjection", "decision_row", "fold", "proposal_of", "raised_row"]
