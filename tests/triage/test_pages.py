"""List pages served from 127.0.0.1 change between two checks: the rows that differ become exactly
the expected proposals (table: tests/data/triage/page_pairs.json), in UTF-8, GB18030 and Shift_JIS."""

from __future__ import annotations

import html as htmlmod
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fetching.localserver import LocalServer, Reply
from tests.triage.conftest import Clock, add
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.services import triage
from tracker.services.checking import check_sources

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "triage" / "page_pairs.json").read_text(encoding="utf-8"))


def page(case: dict[str, Any], rows: list[list[str]], version: int) -> bytes:
    nav = (case.get("nav") or [["Home", "Search"]] * 2)[version]
    counter = (case.get("counter") or ["", ""])[version]
    esc = htmlmod.escape
    if case["layout"] == "table":
        body = "<table class='listing'><thead><tr><th>Title</th><th>Date</th></tr></thead><tbody>" + "".join(
            f"<tr><td><a href='{esc(href)}'>{esc(title)}</a></td><td>{esc(day)}</td></tr>" for href, title, day in rows
        ) + "</tbody></table>"
    else:
        body = (
            "<ul class='list'>"
            + "".join(
                f"<li><span class='date'>{esc(day)}</span> <a href='{esc(href)}'>{esc(title)}</a></li>"
                for href, title, day in rows
            )
            + "</ul>"
        )
    text = (
        f"<!DOCTYPE html><html lang='{case['lang']}'><head><meta "
        f"charset='{case['charset']}'><title>{esc(case['name'])}</title></head><body>"
        "<header><nav><ul>"
        f"{''.join(f'<li><a href=/menu/{i}>{esc(n)}</a></li>' for i, n in enumerate(nav))}"
        "</ul></nav></header>"
        "<div class='breadcrumb'><a href='/'>Home</a> &gt; <a href='/guidance'>Guidance documents</a></div>"
        f"<main><h1>{esc(case['name'])}</h1><p class='count'>{esc(counter)}</p>{body}"
        "<ul class='pagination'><li><a href='?page=1'>1</a></li><li><a href='?page=2'>2</a></li>"
        "<li><a href='?page=2'>Next page</a></li></ul></main>"
        "<footer><ul><li><a href='/privacy'>Privacy policy</a></li><li><a href='/foia'>FOIA "
        "requests</a></li></ul></footer>"
        "</body></html>"
    )
    return text.encode(case["charset"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_page_pair(app: App, server: LocalServer, clock: Clock, case: dict[str, Any]) -> None:
    served = {"version": 0}

    def reply(_seen: object) -> Reply:
        rows = case["before"] if served["version"] == 0 else case["after"]
        return Reply(200, {"Content-Type": f"text/html; charset={case['charset']}"},
                     page(case, rows, served["version"]))

    server.route("/list", reply)
    add(app, "agency-list", server.url("/list"), jurisdiction=case["jurisdiction"], title="Agency list")
    assert check_sources(app, ["agency-list"]).by_source()["agency-list"].outcome == "baselined"
    served["version"] = 1
    clock.advance(days=1)
    report = check_sources(app, ["agency-list"])
    assert report.by_source()["agency-list"].outcome == "changed"
    assert v.SOURCE_CHANGED in report.by_source()["agency-list"].events

    found = sorted((triage.show_proposal(app, p.id) for p in triage.list_proposals(app)),
                   key=lambda view: view.summary.title)
    got = [{"step": f.summary.step, "kind": f.summary.kind, "title": f.summary.title, "date": f.summary.date,
            "precision": f.summary.precision, "match": f.summary.match, "check": f.proposal.draft.check} for f in found]
    expected = sorted(case["expected"], key=lambda e: e["title"])
    assert got == [{k: val for k, val in e.items() if k != "note"} for e in expected]
    for view, wanted in zip(found, expected, strict=True):
        assert view.summary.url and view.summary.url.startswith(("http://127.0.0.1", "https://"))
        assert view.evidence.type == v.SOURCE_CHANGED and view.evidence.lines
        if wanted.get("note"):
            assert wanted["note"] in view.proposal.draft.note
        if case["jurisdiction"] == "JP":
            assert view.proposal.draft.titles.get("ja") == view.summary.title_zh
    assert sorted(report.proposals) == sorted(p.id for p in triage.list_proposals(app))


def test_proposals_read_the_bodies_a_check_holds_instead_of_the_stored_ones(
    app: App, server: LocalServer, clock: Clock,
) -> None:
    import hashlib

    import sqlalchemy as sa

    from tracker.schema.operational import snapshots
    from tracker.services import proposing

    case = next(c for c in CASES if c["expected"] and c["charset"] != "utf-8")   # headers decide the decoding
    bodies = [page(case, case["before"], 0), page(case, case["after"], 1)]
    served = {"version": 0}
    server.route("/list", lambda _seen: Reply(200, {"Content-Type": f"text/html; charset={case['charset']}"},
                                               bodies[served["version"]]))
    add(app, "agency-list", server.url("/list"), jurisdiction=case["jurisdiction"], title="Agency list")
    check_sources(app, ["agency-list"])
    served["version"] = 1
    clock.advance(days=1)
    raised = check_sources(app, ["agency-list"]).proposals
    assert raised
    held = {hashlib.sha256(body).hexdigest(): body for body in bodies}
    with app.db.write() as conn:    # the stored copies made unreadable: only the held ones can be read
        conn.execute(sa.update(snapshots).where(snapshots.c.hash.in_(list(held))).values(body=b"not zlib"))
    again = proposing.raise_proposals(app, after=0, held=held)
    assert (again.raised, again.already) == ([], len(raised))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_only_the_rows_that_differ_are_read_and_they_give_the_same_changes(case: dict[str, Any]) -> None:
    from tracker.domain.derivation import PageRow, row_changes
    from tracker.fetching.rows import changed_rows, list_rows

    old = page(case, case["before"], 0).decode(case["charset"])
    new = page(case, case["after"], 1).decode(case["charset"])
    url = "https://agency.example/list"
    full = row_changes([PageRow(*r) for r in list_rows(old, url)], [PageRow(*r) for r in list_rows(new, url)])
    before, after = changed_rows(old, new, url)
    assert row_changes([PageRow(*r) for r in before], [PageRow(*r) for r in after]) == full
    assert len(full) == len(case["expected"])


def test_cards_and_a_selector() -> None:
    from tracker.fetching.rows import list_rows

    cards = (
        "<main><div class='grid'>"
        + "".join(
            f"<div class='card'><h3><a href='/news/{n}'>Notice on cell therapy product {n}</a></h3><p>28 September "
            "2025</p></div>"
            for n in range(3)
        )
        + "</div><aside><ul><li><a href='/x'>Related reading list</a></li></ul></aside></main>"
        "<section id='other'><ul><li><a href='/elsewhere'>Another list entirely</a></li></ul></section>"
    )
    rows = list_rows(cards, "https://agency.example/")
    assert [r.key for r in rows] == [f"https://agency.example/news/{n}" for n in range(3)] + ["https://agency.example/elsewhere"]
    assert rows[0].title == "Notice on cell therapy product 0" and "28 September 2025" in rows[0].text
    assert [r.key for r in list_rows(cards, "https://agency.example/", select="#other")] == ["https://agency.example/elsewhere"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<ul><li><a href='/a'>细胞治疗产品指导原则</a> 2025年9月28日</li></ul>".encode(), None),  # UTF-8, undeclared
        ("<ul><li><a href='/a'>细胞治疗产品指导原则</a> 2025年9月28日</li></ul>".encode(), "text/html; charset=utf-8"),
        (
            "<meta charset='gb18030'><ul><li><a href='/a'>细胞治疗产品指导原则</a> 2025年9月28日</li></ul>".encode(
                "gb18030"
            ),
            None,
        ),
        (
            "<ul><li><a href='/a'>细胞治疗产品指导原则</a> 2025年9月28日</li></ul>".encode("gb18030"),
            "text/html; charset=utf-8",
        ),  # mis-declared
        (
            b"\xef\xbb\xbf" + "<ul><li><a href='/a'>细胞治疗产品指导原则</a> 2025年9月28日</li></ul>".encode(),
            None,
        ),  # a BOM
    ],
)
def test_a_body_is_read_in_its_encoding_whichever_way_it_goes_to_lxml(body: bytes, content_type: str | None) -> None:
    from tracker.fetching.rows import changed_rows_of_bodies

    empty = (b"<ul></ul>", "text/html; charset=utf-8")
    _, [row] = changed_rows_of_bodies(empty, (body, content_type), "https://www.cde.org.cn/list")
    assert (row.key, row.title) == ("https://www.cde.org.cn/a", "细胞治疗产品指导原则")
    assert "2025年9月28日" in row.text
