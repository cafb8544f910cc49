"""Proposals from register entries, matched against the record, and the analyst's decisions:
accept (into the record, citing the evidence), reject, defer, assign, assess; history and replay."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.triage.conftest import Clock, add, entry_event, record_entries
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.errors import ConcurrencyError, NotFoundError, ValidationError
from tracker.schema.operational import triage_texts
from tracker.services import proposing, record_queries, triage
from tracker.services.replay import ItemState, replay

FR = "https://www.federalregister.gov/api/v1/documents.json"
POTENCY: dict[str, Any] = {
    "entry_id": "2023-28295",
    "type": "NOTICE",
    "date": "2023-12-28",
    "title": "Potency Assurance for Cellular and Gene Therapy Products; Draft Guidance for Industry; Availability",
    "agency": "Food and Drug Administration",
    "url": "https://www.federalregister.gov/d/2023-28295",
    "dates": {"publication_date": "2023-12-28", "comments_close_on": "2024-03-27"},
    "deadlines": {"comments_close": "2024-03-27"},
}
PRORULE: dict[str, Any] = {
    "entry_id": "2025-01234",
    "type": "PRORULE",
    "date": "2025-03-04",
    "title": "Current Good Tissue Practice for Human Cell Therapy Establishments",
    "agency": "Food and Drug Administration",
    "url": "https://www.federalregister.gov/d/2025-01234",
    "dates": {"publication_date": "2025-03-04"},
    "deadlines": {"comments_close": "2025-06-02"},
}


def states(found: list[ItemState]) -> dict[str, ItemState]:
    return {state.id: state for state in found}


def raised(app: App, source: str = "fr", *entries: Mapping[str, Any]) -> list[triage.ProposalSummary]:
    record_entries(app, source, *entries)
    proposing.raise_proposals(app)
    return triage.list_proposals(app)


@pytest.fixture
def fr(app: App) -> App:
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    return app


def test_a_draft_guidance_notice_is_proposed_as_a_step_of_the_matching_item(fr: App) -> None:
    [p] = raised(fr, "fr", POTENCY)
    assert (p.state, p.step, p.kind, p.date, p.precision, p.match, p.source) == (
        "open", "drafted", "guidance", "2023-12-28", "day", "us-potency-guidance", "fr")
    view = triage.show_proposal(fr, p.id)
    assert "English title close to" in view.match.reason
    assert view.proposal.draft.deadlines == {"comments_close": "2024-03-27"}
    assert view.evidence.type == v.REGISTER_ENTRY_ADDED and view.evidence.entry_id == "2023-28295"
    assert "comments_close 2024-03-27" in view.evidence.lines[0]
    [raised_event] = fr.store.read(stream=v.proposal_stream(p.id))
    assert raised_event.metadata["causation_id"] == p.evidence_position


def test_raising_again_or_from_the_start_raises_nothing_twice(fr: App) -> None:
    raised(fr, "fr", POTENCY, PRORULE)
    again = proposing.raise_proposals(fr, after=0)
    assert again.raised == [] and again.already == 2
    assert proposing.raise_proposals(fr).read == 0
    # A revision of the entry that changes nothing a proposal is made of raises nothing new.
    record_entries(
        fr, "fr", {**POTENCY, "title": POTENCY["title"] + " ", "deadlines": {"comments_close": "2024-04-01"}}
    )
    assert proposing.raise_proposals(fr).raised == []
    assert len(triage.list_proposals(fr)) == 2


def test_accepting_writes_the_step_citing_the_proposal_and_the_analyst(fr: App, clock: Clock) -> None:
    [p] = raised(fr, "fr", POTENCY)
    clock.advance(days=1)
    before_accept = fr.store.head().position
    result = triage.accept(fr, p.id, actor="alice", note="called the sponsor, Dr. Example")
    assert (result.item_id, result.new_item, len(result.events)) == ("us-potency-guidance", False, 1)
    [step] = fr.store.read(after=result.events[0] - 1, until=result.events[0])
    assert step.type == v.INSTRUMENT_DRAFTED and step.valid_from == "2023-12-28"
    assert step.metadata["actor"] == "alice"
    assert (
        step.payload["triage"]["proposal"] == p.id
        and step.payload["triage"]["evidence_position"] == p.evidence_position
    )
    assert "Dr. Example" not in str(step.payload) and "Dr. Example" not in str(
        list(fr.store.read(stream=v.proposal_stream(p.id)))
    )

    history = record_queries.history(fr.store, "us-potency-guidance")
    assert history[-1].step == "drafted" and history[-1].actor == "alice"
    assert "accepted by alice from fr" in history[-1].summary and f"#{p.evidence_position}" in history[-1].summary
    now = states(replay(fr.store, valid_at=datetime(2024, 1, 1).date()))
    assert now["us-potency-guidance"].status == "draft"
    earlier = states(replay(fr.store, as_of=before_accept, valid_at=datetime(2024, 1, 1).date()))
    assert earlier["us-potency-guidance"].status != "draft"

    view = triage.show_proposal(fr, p.id)
    assert view.summary.state == "accepted" and view.summary.item_id == "us-potency-guidance"
    assert view.decisions[-1].actor == "alice" and view.decisions[-1].text == "called the sponsor, Dr. Example"
    with pytest.raises(ValidationError, match="already accepted"):
        triage.reject(fr, p.id, actor="bob", reason="no")


def test_accepting_as_a_new_item_registers_it(fr: App) -> None:
    [p] = raised(fr, "fr", PRORULE)
    assert p.match is None and p.step == "drafted" and p.kind == "regulation"
    result = triage.accept(
        fr, p.id, actor="alice", new="us-cgtp-establishments-rule", title_zh="人类细胞治疗机构现行良好组织规范"
    )
    assert result.new_item and len(result.events) == 2
    fr.fresh("record")
    shown = record_queries.history(fr.store, "us-cgtp-establishments-rule")
    assert [h.step for h in shown] == ["added to the record", "drafted"]
    state = states(replay(fr.store))["us-cgtp-establishments-rule"]
    assert state.status == "draft"


def test_a_product_authorisation_is_folded_into_a_new_products_registration(app: App) -> None:
    add(app, "ema", "https://www.ema.europa.eu/en/documents/report/medicines-output-medicines_json-report_en.json",
        kind="ema-medicines", jurisdiction="EU")
    [p] = raised(app, "ema", {"entry_id": "EMEA/H/C/009999", "type": "Authorised", "date": "2025-05-02",
                             "title": "Newcel", "agency": "European Medicines Agency",
                             "dates": {"marketing_authorisation": "2025-05-02"}, "titles": {"inn": "newcel-leucel"}})
    assert (p.kind, p.step, p.match) == ("product", "approved", None)
    result = triage.accept(app, p.id, actor="carol")
    assert result.new_item and result.item_id == "eu-newcel" and len(result.events) == 1
    assert states(replay(app.store))[result.item_id].status == "approved"


def test_reject_defer_assign_assess_and_filters(fr: App) -> None:
    a, b = raised(fr, "fr", POTENCY, PRORULE)
    triage.assign(fr, a.id, actor="alice", to="bob")
    triage.defer(fr, b.id, actor="alice", until="2027-01-15")
    triage.assess(fr, a.id, actor="bob", impact="high", products=("eu-kymriah",), due="2026-02-01", note="check labels")
    assert [p.id for p in triage.list_proposals(fr, assignee="bob")] == [a.id]
    assert [p.id for p in triage.list_proposals(fr, state="deferred")] == [b.id]
    assert triage.list_proposals(fr, jurisdiction="CN") == []
    triage.reject(fr, b.id, actor="alice", reason="outside the scope")
    shown = triage.show_proposal(fr, b.id)
    assert shown.summary.state == "rejected" and shown.decisions[-1].text == "outside the scope"
    assert triage.show_proposal(fr, a.id).summary.impact == "high"
    # The reason is outside the chain: erasing it leaves the log verifying and the decision in place.
    with fr.db.write() as conn:
        conn.execute(triage_texts.delete())
    assert triage.show_proposal(fr, b.id).decisions[-1].text is None


@pytest.mark.parametrize(("call", "message"), [
    (lambda app, pid: triage.accept(app, pid, actor=""), "TRACKER_ACTOR"),
    (lambda app, pid: triage.accept(app, pid, actor="a", step="launched"), "step 'launched' refused"),
    (lambda app, pid: triage.accept(app, pid, actor="a", date="2025-02-30"), "not a real date"),
    (lambda app, pid: triage.accept(app, pid, actor="a", item="nope"), "no item 'nope'"),
    (lambda app, pid: triage.accept(app, pid, actor="a", new="us-potency-guidance"), "already in the record"),
    (lambda app, pid: triage.accept(app, pid, actor="a", item="x", new="y"), "not both"),
    (lambda app, pid: triage.accept(app, pid, actor="a", step="approved"), "does not fit"),
    (lambda app, pid: triage.defer(app, pid, actor="a", until="soon"), "--until refused"),
    (lambda app, pid: triage.assess(app, pid, actor="a", impact="huge"), "impact 'huge' refused"),
    (lambda app, pid: triage.assign(app, pid, actor="a", to="bob\nsmith"), "assignee"),
    (lambda app, pid: triage.reject(app, pid, actor="a", reason="  "), "empty"),
])
def test_bad_input_is_refused_before_anything_is_written(fr: App, call, message: str) -> None:  # type: ignore[no-untyped-def]
    [p] = raised(fr, "fr", POTENCY)
    head = fr.store.head().position
    with pytest.raises(ValidationError, match=message):
        call(fr, p.id)
    assert fr.store.head().position == head


def test_unknown_ids(fr: App) -> None:
    with pytest.raises(NotFoundError):
        triage.show_proposal(fr, "p-000000000000")
    with pytest.raises(ValidationError):
        triage.show_proposal(fr, "../etc")


def test_two_analysts_at_once_one_wins(fr: App, monkeypatch: pytest.MonkeyPatch) -> None:
    [p] = raised(fr, "fr", POTENCY)
    from tracker.services import triage as service
    real = service.load_for_decision

    def stale(app: App, proposal_id: str, decision: str):  # type: ignore[no-untyped-def]
        row, version = real(app, proposal_id, decision)
        return row, version - 1     # read before the other analyst's decision

    triage.assign(fr, p.id, actor="alice", to="bob")
    monkeypatch.setattr(service, "load_for_decision", stale)
    with pytest.raises(ConcurrencyError):
        triage.assign(fr, p.id, actor="carol", to="dave")


def test_clock_is_not_in_the_key(fr: App, clock: Clock) -> None:
    record_entries(fr, "fr", POTENCY)
    first = proposing.derive_all(fr, fr.store.read(types=proposing.TRIGGERS))
    clock.now = datetime(2030, 1, 1, tzinfo=UTC)
    again = proposing.derive_all(fr, fr.store.read(types=proposing.TRIGGERS))
    assert [p.key for p in first] == [p.key for p in again]
    with fr.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(triage_texts)).scalar() == 0


def test_a_conditional_authorisation_turned_standard_is_an_amendment(app: App) -> None:
    add(app, "ema", "https://www.ema.europa.eu/en/documents/report/medicines-output-medicines_json-report_en.json",
        kind="ema-medicines", jurisdiction="EU")
    entry: dict[str, Any] = {
        "entry_id": "EMEA/H/C/004090",
        "type": "Authorised (conditional approval)",
        "date": "2018-08-22",
        "title": "Kymriah",
        "dates": {"marketing_authorisation": "2018-08-22"},
    }
    record_entries(app, "ema", entry)
    app.store.append(
        [
            entry_event(
                "ema",
                {
                    **entry,
                    "type": "Authorised",
                    "dates": {**entry["dates"], "last_updated": "2025-06-30"},
                    "changes": {"type": {"old": entry["type"], "new": "Authorised"}},
                },
                revised=True,
            )
        ]
    )
    proposing.raise_proposals(app)
    steps = sorted((p.step, p.date, p.match) for p in triage.list_proposals(app))
    assert steps == [("amended", "2025-06-30", "eu-kymriah"), ("approved", "2018-08-22", "eu-kymriah")]


def test_a_deferral_lapses_on_its_day_and_the_proposal_is_open_again(fr: App, clock: Clock) -> None:
    a, b = raised(fr, "fr", POTENCY, PRORULE)
    with pytest.raises(ValidationError, match="a deferral runs to a later day than today"):
        triage.defer(fr, b.id, actor="alice", until="2026-11-24")  # the clock's today
    triage.defer(fr, b.id, actor="alice", until="2026-12-01")
    assert {p.id for p in triage.list_proposals(fr, state="open")} == {a.id}
    clock.advance(days=7)  # 2026-12-01: the day it was deferred to
    assert {p.id for p in triage.list_proposals(fr, state="open")} == {a.id, b.id}
    assert triage.list_proposals(fr, state="deferred") == []
    assert triage.show_proposal(fr, b.id).summary.state == "open"
    assert triage.accept(fr, b.id, actor="alice").position > 0  # decided like any open proposal
