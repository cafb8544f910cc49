"""Checking pages served by a real local HTTP server: baselines, changes, silence, failures."""

from __future__ import annotations

from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import Clock, add, events_of, html, types_of
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.services.checking import check_sources
from tracker.services.sources_admin import list_sources


def test_baseline_then_silence_then_change(app: App, server: LocalServer, clock: Clock) -> None:
    page = {"text": "<p>Guidance v1</p>"}
    server.route("/page", lambda _seen: html(page["text"]))
    add(app, "page", server.url("/page"))

    first = check_sources(app, ["page"])
    assert first.by_source()["page"].outcome == "baselined"
    clock.advance(days=1)
    second = check_sources(app, ["page"])
    assert second.by_source()["page"].outcome == "unchanged"
    page["text"] = "<p>Guidance v2</p>"
    clock.advance(days=1)
    third = check_sources(app, ["page"])
    assert third.by_source()["page"].outcome == "changed"

    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_CHANGED]
    changed = events_of(app, "page")[-1].payload
    assert "-Guidance v1" in changed["diff"] and "+Guidance v2" in changed["diff"]
    assert changed["diff_truncated"] is False
    assert changed["http"]["status"] == 200
    [view] = list_sources(app)
    assert view.state == "ok" and view.consecutive_failures == 0
