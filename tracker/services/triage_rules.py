"""Auto-accept rules: for a register whose fields are official, proposals accepted by a rule.

    adopt_rule(app, "src-federal-register-fda-cgt", actor="alice", steps=("published", "effective"))
    revoke_rule(app, "src-federal-register-fda-cgt", actor="alice")

A rule is an event (TriageRuleAdopted / TriageRuleRevoked, the analyst who adopted it as actor).
After proposals are raised, each one a rule applies to (domain/proposals.Rule.applies) is accepted
through the same path as an analyst's acceptance, with the actor ``rule:<source>`` and the rule's
position in the metadata: the record says the rule accepted it, not a person.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from tracker.app import App
from tracker.core import NewEvent
from tracker.domain import payloads_ops as o
from tracker.domain import proposals as dp
from tracker.domain import vocabulary as v
from tracker.domain.payloads import PayloadError
from tracker.domain.payloads_registry import decode_as
from tracker.errors import NotFoundError, TrackerError, ValidationError
from tracker.schema.read_models import sources
from tracker.services.triage import list_proposals, show_proposal
from tracker.services.triage_accept import accept

log = logging.getLogger(__name__)
RULE_TYPES = frozenset({v.TRIAGE_RULE_ADOPTED, v.TRIAGE_RULE_REVOKED})


def rules(app: App) -> dict[str, dp.Rule]:
    """The rules in force: the latest event of each source's rule stream (few events: read whole)."""
    found: dict[str, dp.Rule] = {}
    for event in app.store.read(types=RULE_TYPES):
        try:
            if event.type == v.TRIAGE_RULE_REVOKED:
                found.pop(decode_as(o.TriageRuleRevoked, event.type, event.payload)["id"], None)
                continue
            rule = decode_as(o.TriageRuleAdopted, event.type, event.payload)
        except PayloadError as exc:  # never written so; a rule event we cannot read adopts nothing
            log.warning("triage rule event at position %d skipped: %s", event.position, exc)
            continue
        found[rule["id"]] = dp.Rule(rule["id"], frozenset(rule["steps"]), rule["new_items"], event.position)
    return found


def _register_kind(app: App, source_id: str) -> str:
    app.fresh("sources")
    with app.db.read() as conn:
        kind = conn.execute(sa.select(sources.c.kind).where(sources.c.id == source_id)).scalar()
    if kind is None:
        raise NotFoundError(f"no source {source_id!r} (see `tracker sources list`)")
    return str(kind)


def adopt_rule(app: App, source_id: str, *, actor: str, steps: Sequence[str] = (), new_items: bool = False) -> int:
    actor = dp.check_actor(actor)
    for step in steps:
        dp.check_step(step)
    kind = _register_kind(app, source_id)
    if kind not in dp.AUTO_ACCEPT_KINDS:
        raise ValidationError(f"source {source_id!r} is a {kind} source: auto-accept is for registers whose fields "
                              f"are official ({', '.join(sorted(dp.AUTO_ACCEPT_KINDS))})")
    [event] = app.store.append([NewEvent(v.triage_rule_stream(source_id), v.TRIAGE_RULE_ADOPTED,
                                         o.TriageRuleAdopted(id=source_id, steps=sorted(set(steps)),
                                                             new_items=new_items),
                                         metadata={"actor": actor, "cause": "triage:rule"})])
    return event.position


def revoke_rule(app: App, source_id: str, *, actor: str) -> int:
    actor = dp.check_actor(actor)
    if source_id not in rules(app):
        raise NotFoundError(f"no auto-accept rule for {source_id!r}")
    [event] = app.store.append(
        [
            NewEvent(
                v.triage_rule_stream(source_id),
                v.TRIAGE_RULE_REVOKED,
                o.TriageRuleRevoked(id=source_id),
                metadata={"actor": actor, "cause": "triage:rule"},
            )
        ]
    )
    return event.position


def apply_rules(app: App, proposal_ids: Sequence[str] | None = None) -> list[str]:
    """Accept the open proposals (these, or all) that a rule in force applies to; their ids."""
    in_force = rules(app)
    if not in_force:
        return []
    wanted = set(proposal_ids) if proposal_ids is not None else None
    accepted = []
    for row in list_proposals(app, state="open"):
        rule = in_force.get(row.source)
        if rule is None or (wanted is not None and row.id not in wanted):
            continue
        proposal = show_proposal(app, row.id).proposal
        if not rule.applies(proposal):
            continue
        try:
            accept(app, row.id, actor=dp.rule_actor(rule.source_id), rule=rule.position)
        except TrackerError:
            continue    # e.g. a suggested id already taken: left open for an analyst, as any proposal
        accepted.append(row.id)
    return accepted


__all__ = ["adopt_rule", "apply_rules", "revoke_rule", "rules"]
