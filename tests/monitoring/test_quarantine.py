"""No reader crashes on a stored event it cannot apply (issue 10, item 2).

The events below are appended straight to the store, as an old or buggy version wrote them (the
log is forever): a source checked every 99999999999999999999 days, fields of the wrong type, a
record item without titles. Every projection skips each one it cannot apply, records it as
quarantined (position, reason) and goes on; commands keep working; `status` and `projections
status` show it; an operator corrects it with a new event.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer
from tests.monitoring.conftest import add, html
from tracker.app import App
from tracker.cli.main import cli
from tracker.core import NewEvent
from tracker.domain import vocabulary as v
from tracker.errors import NotFoundError
from tracker.services import checking, sources_admin, status

OLD = {"actor": "operator", "cause": "cli:sources add", "correlation_id": None, "causation_id": None}


def registered(source_id: str, **fields: object) -> NewEvent:
    payload = {"id": source_id, "url": f"https://example.org/{source_id}", "kind": "html", "jurisdiction": None,
               "title": "", "items": [], "tags": [], "select": None, "ignore": [], "every": None,
               "respect_robots": True, "origin": "operator"} | fields
    return NewEvent(v.source_stream(source_id), v.SOURCE_REGISTERED, payload, OLD)


def append_bad_events(app: App) -> dict[str, int]:
    recorded = app.store.append([
        registered("huge", every="99999999999999999999d"),        # issue 10: crashed every reader
        registered("weeks", every="500000w"),
        registered("typed", items=5),                              # not a list
        registered("badurl", url="http://[::1/"),
        NewEvent("instrument/no-titles", v.INSTRUMENT_REGISTERED,   # a record item without its titles
                 {"id": "no-titles", "kind": "regulation", "jurisdiction": "CN"}, OLD),
    ])
    return {e.stream.split("/", 1)[1]: e.position for e in recorded}


def test_bad_stored_events_are_quarantined_and_readers_go_on(app: App, server: LocalServer) -> None:
    server.route("/good", lambda _s: html("<p>fine</p>"))
    add(app, "good", server.url("/good"))
    bad = append_bad_events(app)
    add(app, "after", server.url("/good"))       # catches up past the bad events

    assert [s.id for s in sources_admin.list_sources(app)] == ["after", "good"]
    report = checking.check_sources(app, all=True)
    assert sorted(o.outcome for o in report.outcomes) == ["baselined", "baselined"]

    app.projector.catch_up()
    quarantined = {(q.projection, q.position): q for q in app.projector.quarantined()}
    for source_id in ("huge", "weeks", "typed", "badurl"):
        q = quarantined[("sources", bad[source_id])]
        assert (q.type, q.stream, q.corrected_by) == (v.SOURCE_REGISTERED, f"source/{source_id}", None)
    assert "longer than 366 days" in quarantined[("sources", bad["huge"])].reason
    assert "malformed" in quarantined[("sources", bad["badurl"])].reason
    assert ("record", bad["no-titles"]) in quarantined
    assert all("\n" not in q.reason for q in quarantined.values())

    # A rebuild goes through the same events and finds the same ones.
    before = sorted(quarantined)
    app.projector.rebuild()
    assert sorted((q.projection, q.position) for q in app.projector.quarantined()) == before
    assert [s.id for s in sources_admin.list_sources(app)] == ["after", "good"]

    gathered = status.gather(app)["projections"]
    assert gathered["quarantined"] == len(before) and gathered["uncorrected"] == len(before)

    # Nothing to remove: the registration was never applied. The correction is a new registration.
    try:
        sources_admin.remove_source(app, "huge")
        raise AssertionError("removed a source that never was")
    except NotFoundError:
        pass
    fixed = sources_admin.add_source(app, server.url("/good"), source_id="huge", every="1d")
    assert fixed.every == "1d"
    corrected = {q.position: q.corrected_by for q in app.projector.quarantined(["sources"])}
    assert corrected[bad["huge"]] is not None and corrected[bad["weeks"]] is None
    assert "huge" in [s.id for s in sources_admin.list_sources(app)]


def test_the_cli_keeps_working_and_shows_the_quarantine(db_url: str, app: App) -> None:
    add(app, "good", "https://example.org/good")
    bad = append_bad_events(app)
    env = cli_env(db_url, TRACKER_ALLOW_HOSTS="127.0.0.1")

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    assert "good" in run("sources", "list")
    run("projections", "rebuild")
    shown = json.loads(run("projections", "status", "--json"))
    by_name = {p["name"]: p for p in shown["projections"]}
    assert {q["position"] for q in by_name["sources"]["quarantined"]} == {
        bad["huge"], bad["weeks"], bad["typed"], bad["badurl"]}
    assert shown["uncorrected"] == shown["quarantined"] >= 5
    text = run("projections", "status")
    assert "sources: checkpoint" in text and f"position {bad['huge']} SourceRegistered source/huge" in text
    assert "QUARANTINE" in run("status")
    assert json.loads(run("status", "--json"))["projections"]["quarantined"] == shown["quarantined"]
    run("sources", "add", "https://example.org/huge", "--id", "huge", "--every", "1d")
    after = json.loads(run("projections", "status", "--json"))
    assert after["uncorrected"] == shown["uncorrected"] - 1


def test_readers_that_fold_the_log_themselves_skip_what_they_cannot_read(db_url: str, app: App) -> None:
    """Replay, digests, changelogs and seeding read events directly: a buggy stored event is
    skipped and logged there, and quarantined by the projections that read it."""
    from pathlib import Path

    env = cli_env(db_url, TRACKER_HOME=str(Path(db_url.removeprefix("sqlite:///")).parent)
                  if db_url.startswith("sqlite") else "var")

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    fixture = Path(__file__).resolve().parent.parent / "data" / "seeds" / "fixture"
    run("seed", str(fixture))
    run("subscribe", "qa@example.org")
    item = "cn-reg"
    app.store.append(
        [
            NewEvent("source/src-gov-cn", v.SOURCE_CHANGED, {"id": "src-gov-cn", "diff": 5, "old_hash": None}, OLD),
            NewEvent("source/src-gov-cn", v.SOURCE_UNREACHABLE, {"id": 7}, OLD),
            NewEvent(
                f"instrument/{item}",
                v.INSTRUMENT_EFFECTIVE,
                {"id": item, "step": "effective", "date": "2026-99-99"},
                OLD,
            ),
            NewEvent(
                f"instrument/{item}", v.INSTRUMENT_PUBLISHED, {"id": item, "step": "published", "date": 20260101}, OLD
            ),
            NewEvent("subscription/sub-x", v.SUBSCRIPTION_CREATED, {"id": "sub-x"}, OLD),
            NewEvent(
                f"instrument/{item}", v.ITEM_CORRECTED, {"id": item, "changes": {"topics": {"new": 5}, "urls": 5}}, OLD
            ),
        ]
    )
    for args in (["digest", "--preview"], ["changelog"], ["replay"], ["replay", "--json"], ["history", item],
                 ["show", item], ["upcoming", "--days", "36500"], ["seed", str(fixture)], ["digest", "--send"],
                 ["status"], ["projections", "rebuild"], ["verify"]):
        run(*args)
    quarantined = json.loads(run("projections", "status", "--json"))
    names = {p["name"]: len(p["quarantined"]) for p in quarantined["projections"]}
    assert names["record"] >= 2 and names["subscriptions"] == 1
