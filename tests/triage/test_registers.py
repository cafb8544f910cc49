"""Register answers in their documented shapes, served from 127.0.0.1 and checked: each adapter's
entries become exactly the expected proposals, with official fields and the expected matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fetching.localserver import LocalServer, Reply
from tests.triage.conftest import add
from tracker.app import App
from tracker.services import proposing, triage
from tracker.services.checking import check_sources

DATA = Path(__file__).parents[1] / "data" / "registers"
JSON = {"Content-Type": "application/json; charset=utf-8"}
TYPES = {"feed": "application/rdf+xml"}
Expected = tuple[str, str | None, str, str | None, str | None, str | None]  # step, kind, title, date, match, identifier

CASES: dict[str, tuple[str, str, str, str, list[Expected]]] = {
    "federal-register": (
        "federal-register-documents.json",
        "/api/v1/documents.json",
        "",
        "US",
        [
            (
                "published",
                "regulation",
                "Human Cells, Tissues, and Cellular and Tissue-Based Products; Amendments",
                "2024-05-01",
                "us-21-cfr-1271",
                "2024-12345",
            ),
            (
                "effective",
                "regulation",
                "Human Cells, Tissues, and Cellular and Tissue-Based Products; Amendments",
                "2024-07-01",
                "us-21-cfr-1271",
                "2024-12345",
            ),
            (
                "drafted",
                "guidance",
                "Considerations for the Use of Human- and Animal-Derived Materials; Draft Guidance; Availability",
                "2024-09-10",
                None,
                "2024-20001",
            ),
        ],
    ),
    "fda-guidance": (
        "fda-guidance.json",
        "/files/api/datatables/static/search-for-guidance.json",
        "#centre=CBER&topic=Cellular+%26+Gene+Therapy",
        "US",
        [
            (
                "drafted",
                "guidance",
                "Potency Assurance for Cellular and Gene Therapy Products",
                "2023-12-28",
                "us-potency-guidance",
                "FDA-2023-D-5406",
            ),
            (
                "published",
                "guidance",
                "Human Gene Therapy Products Incorporating Human Genome Editing",
                "2024-01-31",
                None,
                "FDA-2022-D-0018",
            ),
            (
                "drafted",
                "guidance",
                "Regenerative Medicine Therapies – Café & Co. (Questions & Answers)",
                None,
                None,
                "regenerative-medicine-therapies-caf%C3%A9",
            ),
        ],
    ),
    "ema-medicines": (
        "ema-medicines.json",
        "/en/documents/report/medicines.json",
        "",
        "EU",
        [
            ("approved", "product", "Kymriah", "2018-08-22", "eu-kymriah", "EMEA/H/C/004090"),
            ("approved", "product", "Casgevy", "2024-02-09", None, "EMEA/H/C/005763"),
            ("withdrawn", "product", "Glybera", None, None, "EMEA/H/C/002145"),
        ],
    ),
    # MHLW's news (RSS 1.0 in Shift_JIS): a public comment on a draft ordinance; meeting papers propose nothing.
    "feed": (
        "mhlw-news.rdf",
        "/stf/news.rdf",
        "",
        "JP",
        [
            (
                "drafted",
                "regulation",
                "再生医療等の安全性の確保等に関する法律施行規則の一部を改正する省令案に関する御意見の募集について",
                "2026-11-20",
                None,
                None,
            ),
        ],
    ),
    "ecfr": (
        "ecfr-title-21-part-1271.json",
        "/api/versioner/v1/versions/title-21.json",
        "?part=1271",
        "US",
        [
            ("amended", "regulation", "21 CFR 1271", "2016-11-21", "us-21-cfr-1271", "21 CFR 1271"),
            ("amended", "regulation", "21 CFR 1271", "2017-01-19", "us-21-cfr-1271", "21 CFR 1271"),
            ("amended", "regulation", "21 CFR 1271", "2019-03-21", "us-21-cfr-1271", "21 CFR 1271"),
        ],
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_register_entries_become_the_expected_proposals(app: App, server: LocalServer, kind: str) -> None:
    file, path, suffix, jurisdiction, expected = CASES[kind]
    body = (DATA / file).read_bytes()
    server.route(path, lambda _s: Reply(200, {"Content-Type": TYPES.get(kind, JSON["Content-Type"])}, body))
    server.route("/api/versioner/v1/full/", lambda _s: Reply(404, {"Content-Type": "text/plain"}, b"none"))
    add(app, "reg", server.url(path) + suffix, kind=kind, jurisdiction=jurisdiction)
    report = check_sources(app, ["reg"])
    # The first check lists the register's history: only what is recent (or has a deadline ahead)
    # is proposed; the rest when an analyst asks for it.
    recent = [e for e in expected if e[3] is not None and e[3] >= "2026-08-26"]   # 90 days before the clock's day
    assert sorted(p.date or "" for p in triage.list_proposals(app)) == sorted(e[3] or "" for e in recent)
    history = proposing.raise_proposals(app, after=0, history=True)
    views = [triage.show_proposal(app, p.id) for p in triage.list_proposals(app)]
    got = sorted(
        (
            (v.summary.step, v.summary.kind, v.summary.title, v.summary.date, v.summary.match, v.summary.identifier)
            for v in views
        ),
        key=lambda e: tuple(str(x) for x in e),
    )
    assert got == sorted(expected, key=lambda e: tuple(str(x) for x in e))
    assert sorted([*report.proposals, *history.raised]) == sorted(v.summary.id for v in views)
    for view in views:
        assert view.evidence.entry_id and view.evidence.position > 0 and view.summary.source == "reg"
        if kind == "feed":
            assert view.proposal.draft.titles == {"ja": view.summary.title_zh}
        if view.summary.match:
            assert view.match.reason
    # Checking again raises nothing new.
    assert check_sources(app, ["reg"]).proposals == []


def test_a_register_deadline_travels_with_the_proposal(app: App, server: LocalServer) -> None:
    body = (DATA / "federal-register-documents.json").read_bytes()
    server.route("/api/v1/documents.json", lambda _s: Reply(200, JSON, body))
    add(app, "fr", server.url("/api/v1/documents.json"), kind="federal-register", jurisdiction="US")
    check_sources(app, ["fr"])
    proposing.raise_proposals(app, after=0, history=True)  # the fixture's documents are from 2024
    [notice] = [p for p in triage.list_proposals(app) if p.step == "drafted"]
    view = triage.show_proposal(app, notice.id)
    assert view.proposal.draft.deadlines == {"comments_close": "2024-11-12"}
    assert "comments close 2024-11-12" in view.proposal.draft.note


def test_at_a_baseline_an_old_entry_is_news_only_while_a_deadline_is_ahead() -> None:
    from datetime import date

    from tracker.domain.derivation import news_at_baseline

    day = date(2026, 11, 24)
    assert news_at_baseline({"id": "s", "entry_id": "e", "date": "2026-09-01"}, day)
    assert not news_at_baseline({"id": "s", "entry_id": "e", "date": "2026-08-01"}, day)
    assert news_at_baseline({"id": "s", "entry_id": "e", "date": "2025-01-02",
                             "deadlines": {"comments_close": "2026-12-31"}}, day)
    assert not news_at_baseline({"id": "s", "entry_id": "e", "date": "2025-01-02",
                                 "deadlines": {"comments_close": "2025-03-01"}}, day)
    assert not news_at_baseline({"id": "s", "entry_id": "e", "date": "not a date"}, day)
