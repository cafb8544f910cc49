"""Manual capture: a page saved by an operator goes through the same normalisation, diff and change
detection as a fetched one, marked as the operator's, and leaves a blocked source blocked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import Clock, add, events_of
from tests.monitoring.test_cli import ok, one_line_error, tracker
from tests.monitoring.test_failures import CHALLENGE
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.services import sources_admin
from tracker.services.capture import capture
from tracker.services.checking import check_sources

PAGE = "<html><head><meta charset='gb18030'></head><body><main><h1>药品监管要闻</h1><p>{news}</p></main></body></html>"


def saved(tmp_path: Path, news: str, name: str = "nmpa.html") -> Path:
    path = tmp_path / name
    path.write_bytes(PAGE.format(news=news).encode("gb18030"))
    return path


def test_a_capture_of_a_blocked_page_is_recorded_as_the_operators(
    app: App, server: LocalServer, clock: Clock, tmp_path: Path
) -> None:
    server.route("/nmpa", Reply(412, {"Content-Type": "text/html"}, CHALLENGE))
    add(app, "nmpa", server.url("/nmpa"), select="main")
    assert check_sources(app, ["nmpa"]).by_source()["nmpa"].error_class == "blocked"

    when = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    first = capture(app, "nmpa", saved(tmp_path, "细胞和基因治疗产品研发情况调研"), fetched_at=when,
                    url="https://www.nmpa.gov.cn/yaowen/ypjgyw/index.html")
    assert first.outcome == "baselined"
    baseline = events_of(app, "nmpa")[-1]
    assert baseline.type == v.SOURCE_BASELINED
    assert baseline.metadata["actor"] == "operator" and baseline.metadata["cause"] == "capture:nmpa"
    assert baseline.payload["capture"] == {
        "url": "https://www.nmpa.gov.cn/yaowen/ypjgyw/index.html",
        "saved_at": "2026-11-24T01:30:00Z",
    }

    clock.advance(hours=2)
    second = capture(app, "nmpa", saved(tmp_path, "关于发布细胞治疗产品指导原则的通告"))
    assert second.outcome == "changed"
    changed = events_of(app, "nmpa")[-1]
    assert changed.type == v.SOURCE_CHANGED and changed.metadata["actor"] == "operator"
    assert "+关于发布细胞治疗产品指导原则的通告" in changed.payload["diff"]

    view = {s.id: s for s in sources_admin.list_sources(app, None)}["nmpa"]
    assert view.state == "blocked" and view.consecutive_failures == 1      # the site still refuses us
    clock.advance(days=1)
    assert check_sources(app, ["nmpa"]).by_source()["nmpa"].error_class == "blocked"
    assert [e.type for e in events_of(app, "nmpa")].count(v.SOURCE_RECOVERED) == 0


def test_capture_from_the_command_line_and_bad_input(
    app: App, db_url: str, server: LocalServer, tmp_path: Path
) -> None:
    ok(tracker(db_url, "sources", "add", server.url("/nmpa"), "--id", "nmpa"))
    path = saved(tmp_path, "新闻")
    assert "nmpa: baselined" in ok(
        tracker(db_url, "sources", "capture", "nmpa", str(path), "--fetched-at", "2026-11-20T09:00:00+08:00")
    )
    assert "no source 'nope'" in one_line_error(tracker(db_url, "sources", "capture", "nope", str(path)))
    assert "not an ISO date-time" in one_line_error(
        tracker(db_url, "sources", "capture", "nmpa", str(path), "--fetched-at", "yesterday")
    )
    assert "no time zone" in one_line_error(
        tracker(db_url, "sources", "capture", "nmpa", str(path), "--fetched-at", "2026-11-20T09:00")
    )
    assert "cannot read" in one_line_error(
        tracker(db_url, "sources", "capture", "nmpa", str(tmp_path / "missing.html"))
    )
    assert "malformed" in one_line_error(tracker(db_url, "sources", "capture", "nmpa", str(path), "--url", "http://[::1/"))
    (tmp_path / "empty.html").write_bytes(b"")
    assert "empty" in one_line_error(tracker(db_url, "sources", "capture", "nmpa", str(tmp_path / "empty.html")))


@pytest.mark.parametrize("kind", ["federal-register", "pdf"])
def test_a_capture_not_of_the_sources_kind_writes_nothing(
    app: App, server: LocalServer, tmp_path: Path, kind: str
) -> None:
    add(app, "reg", server.url("/reg"), kind=kind)
    before = len(events_of(app, "reg"))
    with pytest.raises(Exception) as raised:
        capture(app, "reg", saved(tmp_path, "not a register"))
    assert "not readable as" in str(raised.value)
    assert len(events_of(app, "reg")) == before
