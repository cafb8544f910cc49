"""Auto-accept rules: a register whose fields are official, its proposals accepted by the rule (the
rule, not a person, is the actor), only what the rule names; refused for pages and feeds."""

from __future__ import annotations

import pytest

from tests.triage.conftest import add, record_entries
from tests.triage.test_decisions import FR, POTENCY, PRORULE
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.errors import NotFoundError, ValidationError
from tracker.services import proposing, record_queries, triage, triage_rules

RULE = {"entry_id": "2025-05555", "type": "RULE", "date": "2025-07-01", "agency": "Food and Drug Administration",
        "title": "Human Cells, Tissues, and Cellular and Tissue-Based Products; Technical Amendments",
        "dates": {"publication_date": "2025-06-01", "effective_on": "2025-07-01"}}


def test_a_rule_accepts_what_it_names_and_is_recorded_as_the_actor(app: App) -> None:
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    triage_rules.adopt_rule(app, "fr", actor="alice", steps=("published", "effective"))
    record_entries(app, "fr", RULE, POTENCY, PRORULE)
    report = proposing.raise_proposals(app)
    assert len(report.raised) == 4 and len(report.accepted) == 2      # the RULE's two steps of a known item
    states = sorted((p.step, p.state, p.item_id) for p in triage.list_proposals(app))
    assert states == [("drafted", "open", None), ("drafted", "open", None),
                      ("effective", "accepted", "us-21-cfr-1271"), ("published", "accepted", "us-21-cfr-1271")]
    last = record_queries.history(app.store, "us-21-cfr-1271")[-1]
    assert last.actor == "rule:fr" and "accepted by rule:fr" in last.summary
    [accepted] = [e for e in app.store.read(types=[v.PROPOSAL_ACCEPTED])][:1]
    assert accepted.metadata["actor"] == "rule:fr" and accepted.metadata["rule"] > 0
    assert list(triage_rules.rules(app)) == ["fr"]
    triage_rules.revoke_rule(app, "fr", actor="alice")
    assert triage_rules.rules(app) == {}


def test_rules_are_for_official_registers_only(app: App) -> None:
    add(app, "page", "https://www.fda.gov/guidances", jurisdiction="US")
    with pytest.raises(ValidationError, match="registers whose fields are official"):
        triage_rules.adopt_rule(app, "page", actor="alice")
    with pytest.raises(NotFoundError):
        triage_rules.adopt_rule(app, "nope", actor="alice")
    with pytest.raises(ValidationError, match="TRACKER_ACTOR"):
        triage_rules.adopt_rule(app, "page", actor="")
