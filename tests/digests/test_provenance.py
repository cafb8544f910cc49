"""Flags, provenance and date bases of the real record, as readers of changelogs and digests see them (issue 16)."""

from __future__ import annotations

from tests.digests.conftest import register_record
from tests.record.conftest import REAL_SEEDS
from tracker.app import App
from tracker.core import NewEvent
from tracker.rendering.views import ChangeRow, when
from tracker.services import changelog, digesting, subscribing
from tracker.services.seeding import seed

RMAT_CONFLICT = "conflict (against src-fda-rmat-requests-by-fiscal-year): The review's cumulative RMAT figures"


def test_the_changelog_shows_each_items_flags_once_and_where_a_date_or_a_step_comes_from(app: App) -> None:
    seed(app.store, [REAL_SEEDS])
    md = changelog.render(app, "md")
    # A structured conflict with an official source, under the figure it concerns: once per item,
    # not under each of its rows.
    rmat = [line for line in md.splitlines() if "rmat-designation-requests" in line or RMAT_CONFLICT in line]
    assert any(RMAT_CONFLICT in line for line in rmat)
    directive = md.split("(`eu-directive-2001-83`")
    assert len(directive) > 3  # the directive has several rows ...
    assert md.count("⚑ conflict: The review says the 2003 amendment named") == 1  # ... and one flag
    # A date the review does not state for the item says where it comes from; one it states says nothing.
    assert "reported (the review's date, not stated for the item): CAR-T细胞疗法在美国定价约40万美元/疗程" in md
    assert "published (year from the title): 关于人用药品的共同体法典" in md
    # A step from outside the review names its source.
    assert "\\[from outside the review: Regulation (EC) No 1394/2007, Article 28" in md
    html = changelog.render(app, "html")
    assert "&#9873; approximate: 约40万美元/疗程" in html
    atom = changelog.render(app, "atom")
    assert "! conflict (against src-fda-rmat-requests-by-fiscal-year)" in atom


def test_every_date_basis_reads_as_words_and_a_stated_date_as_itself() -> None:
    assert when("2025", "stated") == "2025" and when("2025", None) == "2025"
    assert when("2025", "review") == "2025 (the review's date, not stated for the item)"
    assert when("2024", "cited-source") == "2024 (date of the cited source)"
    assert when("2025", "conventional") == "2025 (conventional date)"  # the word of older events
    assert when("", "review") == "date not given"
    row = ChangeRow(1, "h", "item", "x", "US", "fact", "", "t", "reported", "Added", "2025", "2026-12-04T00:00:00Z",
                    "", "", date_basis="external")
    assert row.date_note == "date from outside the review"


def test_a_digest_lists_an_items_flags_under_its_title_and_a_steps_source_beside_it(app: App) -> None:
    register_record(app)
    subscribing.subscribe(app, "qa@example.org")
    digesting.run_digests(app, send=False)  # the welcome
    app.store.append([
        NewEvent("fact/us-fact", "FactReported", {
            "id": "us-fact", "jurisdiction": "US", "kind": "fact", "title_zh": "RMAT申请", "title_en": "RMAT requests",
            "topics": [], "metric": "rmat-requests", "value": 471, "unit": "requests", "date": "2025",
            "attributes": {"flags": [{"type": "conflict", "against": "src-rmat", "note": "CBER's table differs"}]},
            "step_folded": {"step": "reported", "date": "2025", "date_basis": "review"}}, valid_from="2025"),
        NewEvent("instrument/us-cures-act", "InstrumentAmended", {
            "id": "us-cures-act", "step": "amended", "date": "2018", "date_basis": "external", "external": True,
            "source": "Public Law 115-271"}, valid_from="2018"),
    ])
    (digest,), _ = digesting.render_digests(app)
    figures = digest.text.split("== Reported figures ==")[1].split("\n== ")[0]
    assert "  ! conflict (against src-rmat): CBER's table differs" in figures
    assert "reported: 2025 (the review's date, not stated for the item)" in figures
    assert "amended: 2018 (date from outside the review) [from outside the review: Public Law 115-271]" in digest.text
    assert "&#9873; conflict (against src-rmat): CBER&#39;s table differs" in digest.html
