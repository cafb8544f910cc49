"""The stored history: `sources try` replays it under new rules; `diff` compares two versions."""

from __future__ import annotations

import pytest

from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.monitoring.conftest import Clock, add, events_of, html, types_of
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.errors import NotFoundError, ValidationError
from tracker.services import history, sources_admin
from tracker.services.checking import check_sources

STAMP = r"Updated \d\d:\d\d"


@pytest.fixture
def noisy(app: App, server: LocalServer, clock: Clock) -> dict[str, object]:
    """A page checked four times: a timestamp moves every check (not between the two immediate
    fetches of its first change, which would find it volatile); the rule text changes once (at the 4th)."""
    page: dict[str, object] = {"n": 0, "rule": "Section 1: donors must be screened."}

    def handler(_seen: Seen) -> Reply:
        return html(f"<p>{page['rule']}</p><p>Updated 10:0{page['n']}</p>")

    server.route("/noisy", handler)
    add(app, "noisy", server.url("/noisy"))
    for step in range(4):
        page["n"] = step + 1
        if step == 3:
            page["rule"] = "Section 1: donors must be screened and tested."
        check_sources(app, ["noisy"])
        clock.advance(days=1)
    return page


def test_try_shows_which_past_changes_an_ignore_rule_suppresses(app: App, noisy: dict[str, object]) -> None:
    assert types_of(app, "noisy") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED] + [v.SOURCE_CHANGED] * 3
    report = history.try_rules(app, "noisy", ignore=[STAMP])
    assert report.versions == 4
    assert [(s.reported, s.would_report) for s in report.steps] == [(True, False), (True, False), (True, True)]
    assert len(report.suppressed) == 2
    kept = report.still_reported[0].diff
    assert "+Section 1: donors must be screened and tested." in kept and "Updated" not in kept
    assert types_of(app, "noisy")[-1] == v.SOURCE_CHANGED           # trying writes nothing


def test_adopted_rules_apply_from_the_next_check_without_a_false_change(
    app: App, server: LocalServer, noisy: dict[str, object]
) -> None:
    sources_admin.adopt_rules(app, "noisy", None, [STAMP], reason="timestamp noise")
    adopted = events_of(app, "noisy")[-1]
    assert adopted.type == v.SOURCE_RULES_ADOPTED
    assert adopted.payload == {"id": "noisy", "select": None, "ignore": [STAMP], "reason": "timestamp noise"}
    assert check_sources(app, ["noisy"]).by_source()["noisy"].outcome == "unchanged"
    noisy["rule"] = "Section 2: new."
    check_sources(app, ["noisy"])
    last = events_of(app, "noisy")[-1]
    assert last.type == v.SOURCE_CHANGED and "Updated" not in last.payload["diff"]


def test_diff_between_two_versions_by_position_and_by_date(app: App, noisy: dict[str, object]) -> None:
    changed = [e for e in events_of(app, "noisy") if e.type in (v.SOURCE_BASELINED, v.SOURCE_CHANGED)]
    by_position = history.diff_versions(app, "noisy", str(changed[0].position), str(changed[-1].position))
    assert "-Section 1: donors must be screened." in by_position.diff
    assert "+Section 1: donors must be screened and tested." in by_position.diff
    assert "-Updated 10:01" in by_position.diff and "+Updated 10:04" in by_position.diff
    latest = history.diff_versions(app, "noisy")                 # default: the last change
    assert latest.new.position == changed[-1].position and latest.old.position == changed[-2].position
    by_date = history.diff_versions(app, "noisy", "2026-11-24", "2026-11-25")
    assert "-Updated 10:01" in by_date.diff and "+Updated 10:02" in by_date.diff
    sources_admin.adopt_rules(app, "noisy", None, [STAMP])
    assert history.diff_versions(app, "noisy", "2026-11-24", "2026-11-25").diff == ""   # under the current rules


def test_bad_rules_and_references_are_one_line_errors(app: App, noisy: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="not a regular expression"):
        history.try_rules(app, "noisy", ignore=["(unclosed"])
    with pytest.raises(ValidationError, match="CSS selector"):
        history.try_rules(app, "noisy", ignore=[STAMP], select="main[[")
    with pytest.raises(NotFoundError, match="no version"):
        history.diff_versions(app, "noisy", "2020-01-01")
    with pytest.raises(ValidationError, match="neither an event position nor a date"):
        history.diff_versions(app, "noisy", "yesterday")
    with pytest.raises(NotFoundError, match="no source 'nope'"):
        history.try_rules(app, "nope", ignore=[STAMP])
    count = app.store.count()
    with pytest.raises(ValidationError):
        sources_admin.adopt_rules(app, "noisy", None, ["(unclosed"])
    assert app.store.count() == count
