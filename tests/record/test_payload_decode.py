"""Every payload the writers really write decodes with its registered definition.

The definitions of payloads_ops.py were written from the comments of vocabulary.py; this runs the
real services (the real seeds, checks of pages served from 127.0.0.1, a rule, a removal, triage
decisions, a subscription and its digest sent to an .eml file, a forgotten subscriber) on each
backend and decodes every stored event, so a required field a writer leaves out fails here.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import Clock, add, make_settings
from tests.record.conftest import REAL_SEEDS
from tracker import migrate
from tracker.app import App
from tracker.core import EventStore, NewEvent
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads import PayloadError, Registration, Step
from tracker.domain.payloads_registry import REGISTRY, decode, decode_as, decode_record
from tracker.services import digesting, sources_admin, subscribing, triage, triage_rules
from tracker.services.checking import check_sources
from tracker.services.seeding import seed

REGISTERS = Path(__file__).resolve().parent.parent / "data" / "registers"


def test_not_required_fields_are_not_required() -> None:
    """Python 3.11 takes a NotRequired field of a TypedDict with string annotations for a required
    one: the keys decode demands are those the definitions mean."""
    assert o.SourceRemoved.__required_keys__ == {"id"}
    assert o.RegisterEntry.__required_keys__ == {"id", "entry_id"}
    assert o.SourceChanged.__required_keys__ == {"id", "old_hash", "new_hash"}
    assert o.DigestEvent.__required_keys__ == {"subscription", "message_id"}
    assert o.ProposalRaised.__required_keys__ == {"id"}
    assert o.ProposalDeferred.__required_keys__ == {"id", "until"}


def test_a_type_a_registration_and_a_step_share_decodes_by_the_shape() -> None:
    """ProgramEstablished is a program's registration (its step folded in) or, for a program the
    record holds already, a step (a triage acceptance writes one): domain/record.is_registration."""
    step = decode(v.PROGRAM_ESTABLISHED, {"id": "cn-x", "step": "established", "date": "2024-05", "note": None,
                                          "by": None, "citation": None, "external": True, "source": "a page"})
    assert isinstance(step, Step) and step.external and step.source == "a page"
    registration = decode(v.PROGRAM_ESTABLISHED, {"id": "cn-x", "kind": "program", "jurisdiction": "CN",
                                                  "title_zh": "项目", "title_en": "Program", "step_folded": None})
    assert isinstance(registration, Registration)
    assert isinstance(decode_record(v.PROGRAM_ESTABLISHED, {"id": "cn-x", "step": "established", "date": None}), Step)
    with pytest.raises(TypeError):
        decode_as(Registration, v.PROGRAM_ESTABLISHED, {"id": "cn-x", "step": "established", "date": None})
    with pytest.raises(TypeError):
        decode_as(o.SourceRemoved, v.SOURCE_REGISTERED, {"id": "src-x"})
    with pytest.raises(PayloadError, match="entry_id"):
        decode_as(o.RegisterEntry, v.REGISTER_ENTRY_ADDED, {"id": "src-x"})


# Shapes older code wrote, which the log keeps for good: each must still decode.
OLD_SHAPES = [
    # register entries recorded before they carried their identity (projections/register_entries.py)
    (v.REGISTER_ENTRY_ADDED, {"id": "src-fr", "entry_id": "2019-1", "date": "2019-05-01", "title": "A rule",
                              "url": "https://fr/2019-1", "fields": {"comments_close_on": "2019-07-01"}}),
    # subscriptions of before 0017 named their subscriber in the chain
    (v.SUBSCRIPTION_CREATED, {"id": "sub-1", "subscriber": "s-1", "filters": {}, "cadence": "weekly",
                              "name": "Alice"}),
    # a source registered by hand, with only its identity
    (v.SOURCE_REGISTERED, {"id": "src-x", "url": "https://x", "kind": "html"}),
    (v.SOURCE_REMOVED, {"id": "src-x"}),
    (v.SOURCE_UNREACHABLE, {"id": "src-x"}),
    (v.DIGEST_SENT, {"subscription": "sub-1", "message_id": "<m@x>"}),
]


@pytest.mark.parametrize(("type_name", "payload"), OLD_SHAPES, ids=[t for t, _ in OLD_SHAPES])
def test_old_shapes_still_decode(type_name: str, payload: dict[str, object]) -> None:
    assert decode(type_name, payload) == payload


def test_a_schema_1_source_is_upcast_by_the_store_then_decodes(store: EventStore) -> None:
    store.append([NewEvent("source/src-old", v.SOURCE_REGISTERED, {"id": "src-old", "url": "https://old"},
                          schema_version=1)])
    [read] = store.read()
    assert read.payload["kind"] == "html"
    assert decode_as(o.SourceRegistered, read.type, read.payload)["kind"] == "html"


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    application = App(make_settings(db_url, home=str(tmp_path / "home")), clock=Clock())
    migrate.upgrade(application.db)
    yield application
    application.close()


def listing(rows: list[tuple[str, str, str]]) -> Reply:
    body = "".join(f"<tr><td><a href='{href}'>{title}</a></td><td>{day}</td></tr>" for href, title, day in rows)
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Guidance</title></head><body><main>"
            "<h1>Guidance documents</h1><table class='listing'><thead><tr><th>Title</th><th>Date</th></tr></thead>"
            f"<tbody>{body}</tbody></table></main></body></html>")
    return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, page.encode("utf-8"))


BEFORE = [("/doc/1", "Potency Assurance for Cellular and Gene Therapy Products", "2025-01-10")]
AFTER = [
    *BEFORE,
    ("/doc/2", "Considerations for the Use of Artificial Intelligence in Cell Therapy Manufacturing", "2026-11-20"),
    ("/doc/3", "Human Gene Therapy Products Incorporating Human Genome Editing", "2026-11-21"),
    ("/doc/4", "Frequently Asked Questions on Developing Potency Assurance Strategies", "2026-11-22"),
]


def test_every_event_of_a_realistic_run_decodes(app: App, server: LocalServer, tmp_path: Path) -> None:
    clock = app.clock
    assert isinstance(clock, Clock)
    seed(app.store, [REAL_SEEDS])
    edited = tmp_path / "seeds"
    shutil.copytree(REAL_SEEDS, edited)
    cn = edited / "cn_guidelines.toml"
    cn.write_text(cn.read_text(encoding="utf-8").replace("(Trial)", "(Trial Version)", 1), encoding="utf-8")
    refs = edited / "references.toml"
    refs.write_text(refs.read_text(encoding="utf-8").replace("2024(6): 46-55.", "2024(6): 46-56.", 1), encoding="utf-8")
    seed(app.store, [edited])  # the edited item and reference: ItemCorrected on each stream
    assert [e.payload["changes"]["text"]["new"][-9:] for e in app.store.read(stream="reference/1")
            if e.type == v.ITEM_CORRECTED] == ["): 46-56."]
    head = app.store.head().position
    seed(app.store, [edited])  # read back through the corrections: nothing left to correct
    assert app.store.head().position == head
    served = {"rows": BEFORE}
    down = {"flaky": False}
    server.route("/list", lambda _seen: listing(served["rows"]))
    server.route("/flaky", lambda _seen: Reply(503, {}, b"down") if down["flaky"] else listing(BEFORE))
    add(app, "agency-list", server.url("/list"), jurisdiction="US", title="Agency guidance list", tags=["guidance"])
    add(app, "agency-flaky", server.url("/flaky"), jurisdiction="US", title="A flaky page")
    add(app, "agency-spare", server.url("/flaky"), jurisdiction="US", title="A page soon removed")
    assert check_sources(app, ["agency-list", "agency-flaky"]).by_source()["agency-list"].outcome == "baselined"
    # A page whose counter differs between two immediate fetches (at its first change, the second
    # check): its volatile line, then taken back.
    hits = {"n": 0}

    def counter(_seen: object) -> Reply:
        hits["n"] += 1
        return listing([*BEFORE, ("/visits", f"Visits today: {hits['n']}", "2026-11-24")])

    server.route("/visits", counter)
    add(app, "agency-visits", server.url("/visits"), jurisdiction="US", title="A page with a counter")
    check_sources(app, ["agency-visits"])
    check_sources(app, ["agency-visits"])
    sources_admin.revoke_volatile(app, "agency-visits", reason="the counter is news after all")
    # A register: its entries at the baseline, a revision, and an auto-accept rule adopted and revoked.
    register = json.loads((REGISTERS / "federal-register-documents.json").read_text(encoding="utf-8"))
    server.route("/api/v1/documents.json", lambda _seen: Reply(
        200, {"Content-Type": "application/json"}, json.dumps(register, ensure_ascii=False).encode()))
    add(app, "fr-1271", server.url("/api/v1/documents.json"), kind="federal-register", jurisdiction="US")
    check_sources(app, ["fr-1271"])
    register["results"][1]["title"] += "; Correction"
    check_sources(app, ["fr-1271"])
    triage_rules.adopt_rule(app, "fr-1271", actor="alice", steps=["published"])
    triage_rules.revoke_rule(app, "fr-1271", actor="alice")

    subscription = subscribing.subscribe(app, "reader@example.org", jurisdictions=["US"])
    served["rows"], down["flaky"] = AFTER, True
    for _ in range(app.settings.fetch.failure_threshold + 1):
        clock.advance(days=1)
        check_sources(app, ["agency-list", "agency-flaky"])
        served["rows"] = [*AFTER, ("/doc/5", f"Notice of {clock.now.date()}", str(clock.now.date()))]
    down["flaky"] = False
    clock.advance(days=1)
    check_sources(app, ["agency-flaky"])
    sources_admin.adopt_rules(app, "agency-list", "main", [r"Notice of \d+"], reason="notices are noise")
    sources_admin.remove_source(app, "agency-spare", reason="a duplicate")

    proposals = triage.list_proposals(app)
    assert len(proposals) >= 4
    first, second, third, fourth = (p.id for p in proposals[:4])
    triage.accept(app, first, actor="alice", kind="guidance", new="us-ai-cell-therapy-manufacturing")
    triage.reject(app, second, actor="alice", reason="not a regulatory document")
    triage.defer(app, third, actor="bob", until="2027-01-15")
    triage.assign(app, fourth, actor="alice", to="bob")
    triage.assess(app, fourth, actor="bob", impact="medium", note="read it with the potency guidance")

    run = digesting.run_digests(app)  # no SMTP configured: the digest goes to <home>/outbox as .eml
    assert run.prepared
    assert list(app.settings.home.joinpath("outbox").glob("*.eml"))
    subscribing.unsubscribe(app, subscription.id)
    subscribing.forget(app, "reader@example.org")

    events = list(app.store.read())
    for event in events:
        decode(event.type, event.payload)  # raises PayloadError naming the field a writer left out
    written = {e.type for e in events}
    wanted = {
        v.INSTRUMENT_REGISTERED, v.ITEM_CORRECTED, v.REFERENCE_REGISTERED, v.SOURCE_REGISTERED,
        v.SOURCE_BASELINED, v.SOURCE_CHANGED, v.SOURCE_UNREACHABLE, v.SOURCE_RECOVERED, v.SOURCE_RULES_ADOPTED,
        v.SOURCE_REMOVED, v.SUBSCRIPTION_CREATED, v.SUBSCRIPTION_CANCELLED, v.SUBSCRIBER_FORGOTTEN,
        v.DIGEST_PREPARED, v.DIGEST_SENT, v.PROPOSAL_RAISED, v.PROPOSAL_ACCEPTED, v.PROPOSAL_REJECTED,
        v.PROPOSAL_DEFERRED, v.PROPOSAL_ASSIGNED, v.PROPOSAL_ASSESSED, v.SOURCE_VOLATILE_IGNORED,
        v.SOURCE_VOLATILE_REVOKED, v.REGISTER_ENTRY_ADDED, v.REGISTER_ENTRY_REVISED, v.TRIAGE_RULE_ADOPTED,
        v.TRIAGE_RULE_REVOKED,
    }
    assert wanted <= written, sorted(wanted - written)
    assert written <= set(REGISTRY)
