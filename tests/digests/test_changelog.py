"""Changelogs: Markdown by date and jurisdiction, an Atom feed with stable ids, a self-contained HTML timeline."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest

from tests.digests.conftest import CN_TITLE, SCRIPT, record_changes, register_record
from tracker.app import App
from tracker.core import NewEvent
from tracker.errors import ConfigError
from tracker.services import changelog


def test_atom_feed_parses_and_keeps_its_ids_when_regenerated(app: App, tmp_path: Path) -> None:
    register_record(app)
    changes = record_changes(app)
    (first,) = changelog.write_changelogs(app, tmp_path / "a", formats=["atom"])
    app.store.append([NewEvent("instrument/us-cures-act", "InstrumentRepealed", {"id": "us-cures-act"},
                               valid_from="2030")])
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
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert re.search(r"^Log head: position \d+, hash [0-9a-f]{64}\.", text, flags=re.M)

    only_us = changelog.render(app, "md", jurisdictions=["us"], since="2016")
    assert "21st Century Cures Act" in only_us and CN_TITLE not in only_us


def test_html_timeline_is_self_contained_filterable_escaped_and_covers_1993_to_today(app: App) -> None:
    register_record(app)
    record_changes(app)
    app.store.append([NewEvent("instrument/cn-ct-guideline", "InstrumentDrafted", {"id": "cn-ct-guideline"},
                               valid_from="1993")])
    html = changelog.render(app, "html")
    assert '<meta name="viewport"' in html and "@media" in html
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=", html)  # nothing fetched from elsewhere
    assert SCRIPT not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    years = re.findall(r'<section id="y(\d{4})"', html)
    this_year = datetime.now(timezone.utc).year
    assert years == [str(y) for y in range(this_year, 1992, -1)]
    y1993 = html.split('id="y1993"')[1].split("</section>")[0]
    assert CN_TITLE in y1993 and "draft for comment" in y1993
    assert 'data-f="j-CN"' in html and 'data-f="k-guidance"' in html and ".k-guidance { display: none; }" in html
    assert CN_TITLE in html and "再生医疗产品审批指南" in html


def test_changelog_refuses_bad_options_and_writes_nothing(app: App, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--since"):
        changelog.write_changelogs(app, tmp_path / "out", since="last week")
    with pytest.raises(ConfigError, match="unknown jurisdiction"):
        changelog.write_changelogs(app, tmp_path / "out", jurisdictions=["XX"])
    assert not (tmp_path / "out").exists()
