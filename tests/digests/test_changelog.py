"""Changelogs: Markdown by date and jurisdiction, an Atom feed with stable ids, a self-contained HTML timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from tests.digests.conftest import CN_TITLE, SCRIPT, record_changes, register_record
from tracker.app import App
from tracker.core import NewEvent
from tracker.domain.reporting import reported
from tracker.errors import ValidationError
from tracker.projections.digest_index import load_index
from tracker.services import changelog
from tracker.services.entries import change_row


def test_atom_feed_parses_and_keeps_its_ids_when_regenerated(app: App, tmp_path: Path) -> None:
    register_record(app)
    changes = record_changes(app)
    (first,) = changelog.write_changelogs(app, tmp_path / "a", formats=["atom"])
    app.store.append([NewEvent("instrument/us-cures-act", "InstrumentRepealed",
                               {"id": "us-cures-act", "step": "repealed", "date": "2030"}, valid_from="2030")])
    (second,) = changelog.write_changelogs(app, tmp_path / "b", formats=["atom"])

    feed1, feed2 = feedparser.parse(first.read_bytes()), feedparser.parse(second.read_bytes())
    assert not feed1.bozo and not feed2.bozo, (feed1.get("bozo_exception"), feed2.get("bozo_exception"))
    ids1 = [e.id for e in feed1.entries]
    ids2 = [e.id for e in feed2.entries]
    assert all(re.fullmatch(r"urn:sha256:[0-9a-f]{64}", i) for i in ids1)
    assert ids2[1:] == ids1 and len(ids2) == len(ids1) + 1  # one new entry on top, the others unchanged
    assert f"urn:sha256:{changes[0].hash}" in ids1
    cn = next(e for e in feed1.entries if e.id == f"urn:sha256:{changes[0].hash}")
    assert CN_TITLE in cn.title and cn.link == "https://www.cde.org.cn/ct"
    page = next(e for e in feed1.entries if e.id == f"urn:sha256:{changes[3].hash}")
    assert SCRIPT in page.content[0].value  # text content: the reader shows it as text
    assert feed1.feed.id == feed2.feed.id == "urn:tracker:changelog"


def test_markdown_groups_by_date_then_jurisdiction_and_escapes_markup(app: App) -> None:
    register_record(app)
    record_changes(app)
    text = changelog.render(app, "md")
    dates = re.findall(r"^## \[([^\]]+)\]$", text, flags=re.M)
    assert dates == sorted(dates, reverse=True) and "2025-09-28" in dates and "2025-10" in dates
    section = text.split("## [2025-09-28]")[1].split("\n## ")[0]
    assert "### China (CN)" in section and CN_TITLE in section and "Added" in section
    assert "<script>" not in text and r"\<script\>" in text  # a CommonMark escape: shown as text, never HTML
    assert re.search(r"^Log head: position \d+, hash [0-9a-f]{64}\.", text, flags=re.M)

    only_us = changelog.render(app, "md", jurisdictions=["us"], since="2016")
    assert "21st Century Cures Act" in only_us and CN_TITLE not in only_us


def test_html_timeline_is_self_contained_filterable_escaped_and_honest_about_dates(app: App) -> None:
    register_record(app)
    record_changes(app)
    app.store.append([NewEvent("instrument/cn-ct-guideline", "InstrumentDrafted",
                               {"id": "cn-ct-guideline", "step": "drafted", "date": "1993"}, valid_from="1993")])
    html = changelog.render(app, "html")
    assert '<meta name="viewport"' in html and "@media" in html
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=", html)  # nothing fetched from elsewhere
    assert SCRIPT not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # Only years with entries, newest first; undated registrations in their own group, last.
    this_year = str(datetime.now(UTC).year)
    sections = re.findall(r'<section id="y([^"]+)"', html)
    assert sections == [this_year, "2025", "2016", "1993", "date-not-given"]
    y1993 = html.split('id="y1993"')[1].split("</section>")[0]
    assert CN_TITLE in y1993 and "draft for comment" in y1993
    undated = html.split('id="ydate-not-given"')[1].split("</section>")[0]
    assert "added to the record" in undated and "registered" not in html.split("<main>")[1]
    assert f"recorded {this_year}" in undated
    # The header's count is what the page shows, and entries run newest first within a year.
    shown = html.count("<li ")
    assert re.search(rf'<p class="meta">{shown} entries', html)
    y2025 = html.split('id="y2025"')[1].split("</section>")[0]
    assert y2025.index("2025-10") < y2025.index("2025-09-28")
    assert 'data-f="j-CN"' in html and 'data-f="k-guidance"' in html and ".k-guidance { display: none; }" in html
    assert CN_TITLE in html and "再生医疗产品审批指南" in html


def test_undated_entries_are_filed_under_date_not_given_never_under_the_recording_day(app: App) -> None:
    register_record(app)
    record_changes(app)
    text = changelog.render(app, "md")
    today = app.clock().date().isoformat()
    assert f"## [{today}]" in text  # the page change, observed today (an observation is dated by when it was seen)
    assert "added to the record" not in text.split(f"## [{today}]")[1].split("\n## ")[0]
    undated = text.split("## Date not given")[1]
    assert "added to the record" in undated and f"(recorded {today})" in undated and "21st Century Cures Act" in undated
    assert "registered" not in text
    assert "(FDA)" not in text or r"\(" not in text
    atom = changelog.render(app, "atom")
    assert "added to the record: date not given (recorded" in atom


def test_markdown_is_plain_where_markdown_needs_no_escape(app: App) -> None:
    app.store.append([NewEvent("instrument/us-fdca", "InstrumentRegistered", {
        "id": "us-fdca", "jurisdiction": "US", "kind": "law", "title_zh": "食品、药品和化妆品法案",
        "title_en": "Federal Food, Drug, and Cosmetic Act (FD&C Act) *1938*", "topics": [],
    })])
    text = changelog.render(app, "md")
    assert "Federal Food, Drug, and Cosmetic Act (FD&C Act) \\*1938\\*" in text
    assert "&amp;" not in text and r"\(" not in text
    assert "from 1 entry." in text


def test_changelog_refuses_bad_options_and_writes_nothing(app: App, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="--since"):
        changelog.write_changelogs(app, tmp_path / "out", since="last week")
    with pytest.raises(ValidationError, match="--since: '2026-02-30' is not a real date"):
        changelog.write_changelogs(app, tmp_path / "out", since="2026-02-30")
    with pytest.raises(ValidationError, match=r"unknown jurisdiction 'XX' \(valid: CN, EU, INTL, JP, US\)"):
        changelog.write_changelogs(app, tmp_path / "out", jurisdictions=["XX"])
    assert not (tmp_path / "out").exists()


def test_the_newest_rows_read_backwards_equal_the_tail_of_a_full_read(app: App) -> None:
    register_record(app)
    record_changes(app)
    app.store.append(
        [
            NewEvent("source/src-cn-nmpa", "SourceBaselined", {"id": "src-cn-nmpa", "content_hash": f"{n:064x}"})
            for n in range(1100)
        ]
    )  # not reported: the first window finds too few rows
    everything, _, _ = changelog.collect_rows(app)
    for newest in (1, 3, 500):
        rows, _, _ = changelog.collect_rows(app, newest=newest)
        assert rows == everything[-newest:]
    # A filter that leaves most reported events out: the backward read goes on past them.
    cn, _, _ = changelog.collect_rows(app, jurisdictions=["CN"])
    for newest in (1, 2, 500):
        rows, _, _ = changelog.collect_rows(app, jurisdictions=["CN"], newest=newest)
        assert rows == cn[-newest:] and len(rows) == min(newest, len(cn))


def test_the_changelog_read_model_says_what_the_events_say_and_rebuilds_to_the_same(app: App) -> None:
    """Changelogs and digests read their rows from a projection: the same rows as made from the events."""
    register_record(app)
    record_changes(app)
    app.store.append([NewEvent("instrument/us-cures-act", "InstrumentRenamed", {
        "id": "us-cures-act", "step": "renamed", "date": "2017", "title_zh": "治愈法案", "title_en": "Cures Act"},
        valid_from="2017")])
    rows, _, _ = changelog.collect_rows(app)
    with app.db.read() as conn:
        index = load_index(conn)
    parts = (
        reported(e.position, e.hash, e.recorded_at, e.stream, e.type, e.payload, e.valid_from) for e in app.store.read()
    )
    direct = [change_row(part, index.get(part.ref)) for part in parts if part is not None]
    assert rows == direct and len(rows) > 5
    assert {r.title_en for r in rows if r.ref_id == "us-cures-act"} == {"Cures Act"}  # titles as they are now
    app.projector.rebuild(only=["changelog_rows"])
    assert changelog.collect_rows(app)[0] == rows
