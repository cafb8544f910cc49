"""Register entries as the tracker knows them: `tracker sources entries`, and their deadlines in
`tracker upcoming` (the register_entries read model, rebuilt from the log like any other)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import add
from tests.monitoring.test_cli import ok, tracker
from tracker.app import App
from tracker.services.checking import check_sources
from tracker.services.register_queries import entries, upcoming_deadlines

SOON = (date.today() + timedelta(days=30)).isoformat()
LATER = (date.today() + timedelta(days=200)).isoformat()


def documents(*extra: dict[str, Any]) -> bytes:
    results = [
        {
            "document_number": "2026-01001",
            "title": "Potency Assurance for Cellular and Gene Therapy Products; Draft Guidance",
            "type": "Notice",
            "publication_date": "2026-11-02",
            "comments_close_on": SOON,
            "html_url": "https://www.federalregister.gov/d/2026-01001",
            "agencies": [{"name": "Food and Drug Administration"}],
        },
        {
            "document_number": "2026-00999",
            "title": "Human Cells, Tissues; Technical Amendment",
            "type": "Rule",
            "publication_date": "2026-10-20",
            "effective_on": "2026-10-20",
            "html_url": "https://www.federalregister.gov/d/2026-00999",
        },
        *extra,
    ]
    return json.dumps({"count": len(results), "results": results}).encode()


def serve(server: LocalServer, body: dict[str, bytes]) -> None:
    server.route("/api/v1/documents.json", lambda _s: Reply(200, {"Content-Type": "application/json"}, body["doc"]))


def test_entries_and_their_deadlines(app: App, server: LocalServer, db_url: str) -> None:
    body = {"doc": documents()}
    serve(server, body)
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register", jurisdiction="US")
    check_sources(app, ["fr"])
    app.projector.catch_up()
    rows = [e.as_json() for e in entries(app, "fr")]
    assert [r["entry_id"] for r in rows] == ["2026-01001", "2026-00999"]      # newest official date first
    notice = rows[0]
    assert notice["deadlines"] == {"comments_close": SOON}
    assert (notice["date"], notice["precision"], notice["url"]) == ("2026-11-02", "day", "https://www.federalregister.gov/d/2026-01001")
    assert {"entry_id", "title", "date", "precision", "type", "url", "deadlines"} <= set(notice)

    (deadline,) = upcoming_deadlines(app.store, days=90, today=date.today())
    assert (deadline.entry_id, deadline.kind, deadline.date, deadline.jurisdiction) == (
        "2026-01001",
        "comments_close",
        SOON,
        "US",
    )

    listed = [json.loads(line) for line in ok(tracker(db_url, "sources", "entries", "fr", "--json")).splitlines()]
    assert listed[0]["entry_id"] == "2026-01001" and listed[0]["deadlines"] == {"comments_close": SOON}
    upcoming = [json.loads(line) for line in ok(tracker(db_url, "upcoming", "--json", "--days", "60")).splitlines()]
    mine = [u for u in upcoming if u.get("source_id") == "fr"]
    assert mine == [{
        "id": "2026-01001", "kind": "register-entry", "jurisdiction": "US", "title_zh": "",
        "title_en": "Potency Assurance for Cellular and Gene Therapy Products; Draft Guidance",
        "step": "comments_close", "date": SOON, "precision": "day", "approximate": False, "starts": SOON,
        "deadline": "comments_close", "source_id": "fr", "entry_id": "2026-01001",
        "url": "https://www.federalregister.gov/d/2026-01001",
    }]
    assert "2026-01001" in ok(tracker(db_url, "sources", "entries", "fr"))


def test_entries_read_model_rebuilds_to_the_same_rows(app: App, server: LocalServer) -> None:
    body = {"doc": documents()}
    serve(server, body)
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register")
    check_sources(app, ["fr"])
    app.projector.catch_up()
    before = [e.as_json() for e in entries(app, "fr")]
    app.projector.rebuild(["register_entries"])
    assert [e.as_json() for e in entries(app, "fr")] == before


def _types(app: App) -> list[str]:
    return [e.type for e in app.store.read(stream="source/fr")]


def test_a_new_comment_deadline_is_a_revision_of_the_same_entry(app: App, server: LocalServer) -> None:
    body = {"doc": documents()}
    serve(server, body)
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register")
    check_sources(app, ["fr"])
    doc = json.loads(body["doc"])
    doc["results"][0]["comments_close_on"] = LATER          # the comment period is extended
    doc["results"][1]["type"] = "Correction"                 # and a rule's type corrected
    body["doc"] = json.dumps(doc).encode()
    outcome = check_sources(app, ["fr"]).by_source()["fr"]
    assert outcome.outcome == "changed"
    revised = [e for e in app.store.read(stream="source/fr") if e.type == "RegisterEntryRevised"]
    assert [e.payload["entry_id"] for e in revised] == ["2026-01001", "2026-00999"]
    assert revised[0].payload["changes"] == {
        "deadlines": {"old": {"comments_close": SOON}, "new": {"comments_close": LATER}}
    }
    assert revised[0].payload["deadlines"] == {"comments_close": LATER} and revised[0].payload["type"] == "NOTICE"
    assert revised[1].payload["changes"]["type"] == {"old": "RULE", "new": "CORRECT"}
    assert "SourceChanged" not in _types(app)               # every changed line is explained by a revision
    app.projector.catch_up()
    notice = entries(app, "fr")[0].as_json()
    assert notice["deadlines"] == {"comments_close": LATER} and notice["revised_position"] == revised[0].position
    assert check_sources(app, ["fr"]).by_source()["fr"].outcome == "unchanged"

    doc["results"].pop(1)                                     # an entry gone is a change of the listing
    body["doc"] = json.dumps(doc).encode()
    check_sources(app, ["fr"])
    assert _types(app)[-1] == "SourceChanged"


def test_entries_carry_their_identity(app: App, server: LocalServer) -> None:
    serve(server, {"doc": documents()})
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register")
    check_sources(app, ["fr"])
    added = [e.payload for e in app.store.read(stream="source/fr") if e.type == "RegisterEntryAdded"]
    notice = added[0]
    assert (notice["entry_id"], notice["type"], notice["agency"], notice["precision"]) == (
        "2026-01001", "NOTICE", "Food and Drug Administration", "day")
    assert notice["deadlines"] == {"comments_close": SOON}
    assert notice["dates"] == {"publication_date": "2026-11-02", "comments_close_on": SOON}
    assert notice["links"] == {"html": "https://www.federalregister.gov/d/2026-01001"}


def test_an_fda_draft_turned_final_under_its_page_is_a_revision(app: App, server: LocalServer) -> None:
    rows = json.loads((Path(__file__).parents[1] / "data" / "registers" / "fda-guidance.json").read_text("utf-8"))
    table = {"rows": rows}
    server.route(
        "/guidance.json",
        lambda _s: Reply(200, {"Content-Type": "application/json"}, json.dumps(table["rows"]).encode()),
    )
    add(app, "fda", server.url("/guidance.json#centre=CBER&topic=Cellular+%26+Gene+Therapy"), kind="fda-guidance")
    assert check_sources(app, ["fda"]).by_source()["fda"].entries == 3
    rows[0] = {
        **rows[0],
        "field_final_guidance_1": "Final",
        "field_issue_datetime": "06/30/2025",
        "field_comment_close_date": "",
    }
    check_sources(app, ["fda"])
    (revised,) = [e for e in app.store.read(stream="source/fda") if e.type == "RegisterEntryRevised"]
    assert revised.payload["entry_id"] == "potency-assurance-cellular-and-gene-therapy-products"
    assert revised.payload["changes"] == {
        "date": {"old": "2023-12-28", "new": "2025-06-30"}, "type": {"old": "Draft", "new": "Final"},
        "deadlines": {"old": {"comments_close": "2024-03-27"}, "new": {}},
    }
    assert revised.valid_from == "2025-06-30"


def test_an_ema_conditional_authorisation_turned_standard_is_a_revision(app: App, server: LocalServer) -> None:
    data = json.loads((Path(__file__).parents[1] / "data" / "registers" / "ema-medicines.json").read_text("utf-8"))
    report = {"body": json.dumps(data).encode()}
    server.route("/medicines.json", lambda _s: Reply(200, {"Content-Type": "application/json"}, report["body"]))
    add(app, "ema", server.url("/medicines.json"), kind="ema-medicines")
    check_sources(app, ["ema"])
    casgevy = next(row for row in data["data"] if row.get("conditional_approval") == "Yes")
    casgevy["conditional_approval"] = "No"
    report["body"] = json.dumps(data).encode()
    check_sources(app, ["ema"])
    (revised,) = [e for e in app.store.read(stream="source/ema") if e.type == "RegisterEntryRevised"]
    assert revised.payload["changes"] == {"type": {"old": "Authorised (conditional approval)", "new": "Authorised"}}
    assert "SourceChanged" not in _types(app)
