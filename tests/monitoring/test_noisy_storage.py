"""Noisy pages (issue 18): a body that differs from the accepted one only in ignored text is kept by
its hash only, the same bytes are not normalised twice, and diffs and `sources try` still work."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.monitoring.conftest import Clock, add, events_of, html
from tracker.app import App
from tracker.schema.operational import snapshots, source_state, source_versions
from tracker.services import checking, content, history
from tracker.services.checking import check_sources


def stored(app: App) -> tuple[int, int, int]:
    """Snapshots, versions, and the bytes of the kept bodies."""
    with app.db.read() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(snapshots)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(source_versions)).scalar_one(),
            int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(snapshots.c.body)), 0))).scalar_one()
            ),
        )


def state_of(app: App, source_id: str) -> Any:
    with app.db.read() as conn:
        return conn.execute(sa.select(source_state).where(source_state.c.source_id == source_id)).one()


@pytest.fixture
def noisy(server: LocalServer) -> dict[str, Any]:
    page: dict[str, Any] = {"n": 0, "rule": "Rule text A", "frozen": False}

    def reply(_seen: Seen) -> Reply:
        if not page["frozen"]:
            page["n"] += 1
        return html(f"<p>{page['rule']}</p><p>Served at {page['n']}</p>" + "<p>Body text of the guidance.</p>" * 50)

    server.route("/noisy", reply)
    page["url"] = server.url("/noisy")
    return page


def test_sweeps_that_change_only_ignored_text_store_nothing(app: App, noisy: dict[str, Any], clock: Clock) -> None:
    add(app, "noisy", noisy["url"], ignore=[r"^Served at \d+"])
    assert check_sources(app, ["noisy"]).by_source()["noisy"].outcome == "baselined"
    after_baseline = stored(app)
    for _ in range(5):
        clock.advance(days=1)
        assert check_sources(app, ["noisy"]).by_source()["noisy"].outcome == "unchanged"
    assert stored(app) == after_baseline            # not a byte more: the bodies are known by hash only
    state = state_of(app, "noisy")
    assert state.last_body_hash != state.last_snapshot

    noisy["rule"] = "Rule text B"
    clock.advance(days=1)
    assert check_sources(app, ["noisy"]).by_source()["noisy"].outcome == "changed"
    diff = events_of(app, "noisy")[-1].payload["diff"]
    assert "-Rule text A" in diff and "+Rule text B" in diff and "Served" not in diff
    assert stored(app)[:2] == (after_baseline[0] + 1, after_baseline[1] + 1)   # a change is kept, as ever

    # `sources try` replays other rules over what changed: without the rule, the change is still there.
    report = history.try_rules(app, "noisy", ignore=[])
    assert [step.would_report for step in report.steps] == [True]


def test_the_same_bytes_again_are_not_normalised_again(app: App, noisy: dict[str, Any], clock: Clock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    add(app, "noisy", noisy["url"], ignore=[r"^Served at \d+"])
    check_sources(app, ["noisy"])
    clock.advance(days=1)
    check_sources(app, ["noisy"])                   # a new body, ignored text only: its hash is kept
    noisy["frozen"] = True
    clock.advance(days=1)
    check_sources(app, ["noisy"])
    derived: list[str] = []
    real = content.derive

    def counting(*args: Any, **kwargs: Any) -> Any:
        derived.append("x")
        return real(*args, **kwargs)

    monkeypatch.setattr(checking, "derive", counting)
    clock.advance(days=1)
    assert check_sources(app, ["noisy"]).by_source()["noisy"].outcome == "unchanged"
    assert derived == []                            # byte-identical to the last body accepted


@pytest.mark.parametrize("strong, second_is_conditional", [(True, True), (False, False)])
def test_a_first_changes_second_fetch_asks_with_a_strong_etag(app: App, server: LocalServer, strong: bool,
                                                              second_is_conditional: bool) -> None:
    seen: list[dict[str, str]] = []
    served = {"n": 0, "edition": 1}

    def reply(request: Seen) -> Reply:
        headers = {k.lower(): value for k, value in request.headers.items()}
        seen.append(headers)
        etag = ("" if strong else "W/") + f'"v{served["edition"]}"'
        if headers.get("if-none-match") == etag and strong:
            return Reply(304, {"ETag": etag})
        served["n"] += 1
        page = html(f"<p>Guidance text, edition {served['edition']}.</p><p>Session {served['n']}</p>")
        return Reply(200, {**page.headers, "ETag": etag}, page.body)

    server.route("/tagged", reply)
    add(app, "tagged", server.url("/tagged"))
    assert check_sources(app, ["tagged"]).by_source()["tagged"].outcome == "baselined"
    served["edition"] = 2
    assert check_sources(app, ["tagged"]).by_source()["tagged"].outcome == "changed"
    pages = seen[-2:]              # the two fetches of the first change
    assert ("if-none-match" in pages[1]) is second_is_conditional
    # A strong ETag answered 304: the same bytes, nothing volatile. A weak one: fetched whole, and
    # the line that changed between the two fetches is found volatile, as before.
    volatile = [e for e in events_of(app, "tagged") if e.type == "SourceVolatileIgnored"]
    assert bool(volatile) is not second_is_conditional
