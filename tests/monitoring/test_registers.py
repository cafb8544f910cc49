"""Registers (eCFR versions, Federal Register documents, Atom feeds) in their documented shapes:
each entry becomes RegisterEntryAdded once, with its official date as valid_from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.monitoring.conftest import Clock, add, events_of, types_of
from tests.support.registers import FR_EMPTY, fr_pages
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.services.checking import check_sources

DATA = Path(__file__).resolve().parent.parent / "data" / "registers"


def _json(doc: dict[str, Any]) -> Reply:
    return Reply(200, {"Content-Type": "application/json"}, json.dumps(doc, ensure_ascii=False).encode())


def _entries(app: App, source_id: str) -> list[dict[str, Any]]:
    return [e.payload for e in events_of(app, source_id) if e.type == v.REGISTER_ENTRY_ADDED]


def test_ecfr_versions_baseline_emits_the_whole_history_then_each_new_version_once(
    app: App, server: LocalServer, clock: Clock
) -> None:
    doc = json.loads((DATA / "ecfr-title-21-part-1271.json").read_text())
    server.route("/api/versioner/v1/versions/title-21.json", lambda _s: _json(doc))
    add(app, "ecfr-21-1271", server.url("/api/versioner/v1/versions/title-21.json"), kind="ecfr")

    first = check_sources(app, ["ecfr-21-1271"]).by_source()["ecfr-21-1271"]
    assert (first.outcome, first.entries) == ("baselined", 4)
    assert types_of(app, "ecfr-21-1271") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED] + [v.REGISTER_ENTRY_ADDED] * 4
    added = [e for e in events_of(app, "ecfr-21-1271") if e.type == v.REGISTER_ENTRY_ADDED]
    assert [e.payload["entry_id"] for e in added] == [
        "1271.1@2017-01-19",
        "1271.3@2017-01-19",
        "1271.3@2019-03-21",
        "1271.440@2016-11-21",
    ]
    assert [e.valid_from for e in added] == ["2017-01-19", "2017-01-19", "2019-03-21", "2016-11-21"]
    assert added[0].idempotency_key == "entry:ecfr-21-1271:1271.1@2017-01-19"
    assert added[2].payload["fields"]["substantive"] is False

    clock.advance(days=1)
    assert check_sources(app, ["ecfr-21-1271"]).by_source()["ecfr-21-1271"].outcome == "unchanged"
    doc["content_versions"].append({
        "date": "2025-02-03", "amendment_date": "2025-02-03", "issue_date": "2025-02-03", "identifier": "1271.290",
        "name": "§ 1271.290 Tracking.", "part": "1271", "substantive": True, "removed": False, "subpart": "C",
        "title": "21", "type": "section",
    })
    clock.advance(days=1)
    second = check_sources(app, ["ecfr-21-1271"]).by_source()["ecfr-21-1271"]
    assert (second.outcome, second.entries) == ("changed", 1)
    assert types_of(app, "ecfr-21-1271")[-1] == v.REGISTER_ENTRY_ADDED
    assert _entries(app, "ecfr-21-1271")[-1]["entry_id"] == "1271.290@2025-02-03"
    assert v.SOURCE_CHANGED not in types_of(app, "ecfr-21-1271")      # an addition is reported as the entry


def test_federal_register_documents_keep_their_official_ids_and_dates(app: App, server: LocalServer) -> None:
    doc = json.loads((DATA / "federal-register-documents.json").read_text())
    server.route("/api/v1/documents.json", lambda _s: _json(doc))
    add(app, "fr-1271", server.url("/api/v1/documents.json"), kind="federal-register")
    check_sources(app, ["fr-1271"])
    added = [e for e in events_of(app, "fr-1271") if e.type == v.REGISTER_ENTRY_ADDED]
    assert [(e.payload["entry_id"], e.valid_from) for e in added] == [
        ("2024-12345", "2024-07-01"),
        ("2024-20001", "2024-09-10"),
    ]
    assert added[0].payload["fields"]["citation"] == "89 FR 35000"
    assert added[1].payload["fields"]["comments_close_on"] == "2024-11-12"
    # A correction edits a title under the same document number: a revision of that entry.
    doc["results"][1]["title"] = "Considerations for the Use of Human- and Animal-Derived Materials; Correction"
    report = check_sources(app, ["fr-1271"]).by_source()["fr-1271"]
    assert (report.outcome, report.entries) == ("changed", 0)
    revised = events_of(app, "fr-1271")[-1]
    assert revised.type == v.REGISTER_ENTRY_REVISED and revised.payload["entry_id"] == "2024-20001"
    assert revised.payload["changes"]["title"]["new"].endswith("; Correction")
    assert v.SOURCE_CHANGED not in types_of(app, "fr-1271")
    # A document withdrawn from the answer is a change of the listing, with its diff.
    doc["results"].pop(0)
    check_sources(app, ["fr-1271"])
    assert types_of(app, "fr-1271")[-1] == v.SOURCE_CHANGED
    assert (
        "-2024-12345 | 2024-07-01 | Human Cells, Tissues, and Cellular and Tissue-Based Products; Amendments | RULE"
        in events_of(app, "fr-1271")[-1].payload["diff"]
    )


def test_an_atom_feed_entry_is_reported_once(app: App, server: LocalServer) -> None:
    feed = {"xml": (DATA / "pmda-updates.atom").read_text(encoding="utf-8")}
    server.route("/feed.atom", lambda _s: Reply(200, {"Content-Type": "application/atom+xml"}, feed["xml"].encode()))
    add(app, "pmda", server.url("/feed.atom"), kind="feed")
    check_sources(app, ["pmda"])
    first = _entries(app, "pmda")
    assert [e["title"] for e in first] == ["再生医療等製品の承認について", "Notice without a date of its own"]
    assert [e.valid_from for e in events_of(app, "pmda") if e.type == v.REGISTER_ENTRY_ADDED] == [
        "2024-05-31",
        "2024-04-01T23:15:00Z",
    ]
    new_entry = (
        "<entry><title>再生医療等製品の条件及び期限付承認</title><id>urn:example:pmda-regen:2024-07-01</id>"
        "<published>2024-07-01</published></entry>"
    )
    feed["xml"] = feed["xml"].replace(
        "<updated>2024-06-01T00:00:00Z</updated>", "<updated>2024-07-01T00:00:00Z</updated>", 1
    )
    feed["xml"] = feed["xml"].replace(" <entry>", new_entry + " <entry>", 1)
    check_sources(app, ["pmda"])
    check_sources(app, ["pmda"])
    titles = [e["title"] for e in _entries(app, "pmda")]
    assert titles == [
        "再生医療等製品の承認について",
        "Notice without a date of its own",
        "再生医療等製品の条件及び期限付承認",
    ]
    assert v.SOURCE_CHANGED not in types_of(app, "pmda")


def test_a_feed_build_date_alone_is_not_a_change(app: App, server: LocalServer) -> None:
    feed = {"xml": (DATA / "pmda-updates.atom").read_text(encoding="utf-8")}
    server.route("/feed.atom", lambda _s: Reply(200, {"Content-Type": "application/atom+xml"}, feed["xml"].encode()))
    add(app, "pmda", server.url("/feed.atom"), kind="feed")
    check_sources(app, ["pmda"])
    feed["xml"] = feed["xml"].replace(
        "<updated>2024-06-01T00:00:00Z</updated>", "<updated>2024-08-01T00:00:00Z</updated>", 1
    )
    assert check_sources(app, ["pmda"]).by_source()["pmda"].outcome == "unchanged"


@pytest.mark.parametrize("kind", ["ecfr", "federal-register", "feed", "fda-guidance", "ema-medicines"])
def test_a_register_that_is_not_of_its_kind_fails_as_undecodable(app: App, server: LocalServer, kind: str) -> None:
    server.route("/reg", Reply(200, {"Content-Type": "text/html"}, b"<html><body>Maintenance</body></html>"))
    add(app, "reg", server.url("/reg"), kind=kind)
    outcome = check_sources(app, ["reg"]).by_source()["reg"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "undecodable")
    assert types_of(app, "reg") == [v.SOURCE_REGISTERED]


def test_a_paginated_federal_register_answer_is_read_to_its_last_page(app: App, server: LocalServer) -> None:
    pages = fr_pages(25, 10, server.url("/api/v1/documents.json") + "?page={page}")

    def handler(seen: Seen) -> Reply:
        page = int(seen.query.split("page=")[1]) if "page=" in seen.query else 1
        return Reply(200, {"Content-Type": "application/json"}, pages[page - 1])

    server.route("/api/v1/documents.json", handler)
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register")
    outcome = check_sources(app, ["fr"]).by_source()["fr"]
    assert (outcome.outcome, outcome.entries) == ("baselined", 25)
    assert server.hits("/api/v1/documents.json") == 3


def test_an_empty_federal_register_answer_is_a_baseline_without_entries(app: App, server: LocalServer) -> None:
    server.route("/api/v1/documents.json", Reply(200, {"Content-Type": "application/json"}, FR_EMPTY))
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register")
    outcome = check_sources(app, ["fr"]).by_source()["fr"]
    assert (outcome.outcome, outcome.entries) == ("baselined", 0)
    assert types_of(app, "fr") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]


ECFR_XML = """<?xml version="1.0" encoding="UTF-8"?>
<DIV5 N="1271" TYPE="PART"><HEAD>PART 1271</HEAD>
 <DIV8 N="1271.3" TYPE="SECTION"><HEAD>§ 1271.3 How does FDA define important terms in this part?</HEAD>
  <P>(a) <I>Autologous use</I> means {autologous}.</P>
  <P>(b) <I>Establishment</I> means a place of business under one management.</P>
 </DIV8>
 <DIV8 N="1271.290" TYPE="SECTION"><HEAD>§ 1271.290 Tracking.</HEAD><P>{tracking}</P></DIV8>
</DIV5>"""


def test_a_new_ecfr_version_carries_a_bounded_diff_of_the_sections_text(app: App, server: LocalServer) -> None:
    doc = json.loads((DATA / "ecfr-title-21-part-1271.json").read_text())
    texts = {
        "2019-03-21": ECFR_XML.format(autologous="the implantation of cells back into the individual",
                                      tracking="You must track each HCT/P."),
        "2025-02-03": ECFR_XML.format(autologous="the implantation, transplantation, infusion, or transfer of "
                                      "human cells or tissue back into the individual from whom they were recovered",
                                      tracking="You must track each HCT/P."),
    }
    server.route("/api/versioner/v1/versions/title-21.json", lambda _s: _json(doc))
    for day, xml in texts.items():
        server.route(f"/api/versioner/v1/full/{day}/title-21.xml",
                     Reply(200, {"Content-Type": "application/xml"}, xml.encode()))
    add(app, "ecfr", server.url("/api/versioner/v1/versions/title-21.json?part=1271"), kind="ecfr")
    check_sources(app, ["ecfr"])
    assert not any(s.path.startswith("/api/versioner/v1/full/") for s in server.requests)   # not at a baseline
    doc["content_versions"].append({
        "date": "2025-02-03", "amendment_date": "2025-02-03", "issue_date": "2025-02-03", "identifier": "1271.3",
        "name": "§ 1271.3 How does FDA define important terms in this part?", "part": "1271", "substantive": True,
        "removed": False, "subpart": "A", "title": "21", "type": "section",
    })
    outcome = check_sources(app, ["ecfr"]).by_source()["ecfr"]
    assert (outcome.outcome, outcome.entries) == ("changed", 1)
    added = _entries(app, "ecfr")[-1]
    assert added["entry_id"] == "1271.3@2025-02-03" and added["text_from"] == "2019-03-21"
    assert "-(a) Autologous use means the implantation of cells back into the individual." in added["text_diff"]
    assert "+(a) Autologous use means the implantation, transplantation, infusion, or transfer of human cells" \
        " or tissue back into the individual from whom they were recovered." in added["text_diff"]
    assert added["text_diff_truncated"] is False
    assert [s.query for s in server.requests if s.path.startswith("/api/versioner/v1/full/")] == [
        "part=1271",
        "part=1271",
    ]


def test_an_ecfr_text_that_cannot_be_read_leaves_the_entry_reported(app: App, server: LocalServer) -> None:
    doc = json.loads((DATA / "ecfr-title-21-part-1271.json").read_text())
    server.route("/api/versioner/v1/versions/title-21.json", lambda _s: _json(doc))
    add(app, "ecfr", server.url("/api/versioner/v1/versions/title-21.json?part=1271"), kind="ecfr")
    check_sources(app, ["ecfr"])
    doc["content_versions"].append({"date": "2025-02-03", "amendment_date": "2025-02-03", "identifier": "1271.3",
                                    "name": "§ 1271.3", "part": "1271", "title": "21", "type": "section"})
    assert check_sources(app, ["ecfr"]).by_source()["ecfr"].entries == 1
    added = _entries(app, "ecfr")[-1]
    assert added["entry_id"] == "1271.3@2025-02-03" and added["text_error"].startswith("http-status")
