"""False "page changed" events (issue 10, item 3): a good page that briefly answers an empty 200,
or a script-only page without a known challenge marker, records nothing until the next check
confirms it; lines that differ between two immediate fetches at a page's first change are
ignored, listed and revocable. Against a real local HTTP server; the rules themselves are table-tested in
test_decide_check.py."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import CliRunner

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import Clock, add, events_of, html, types_of
from tracker.app import App
from tracker.cli.main import cli
from tracker.domain import vocabulary as v
from tracker.services.checking import check_sources
from tracker.services.sources_admin import list_sources

GOOD = "".join(f"<p>Guidance {i}: cellular and gene therapy products, chemistry and controls.</p>" for i in range(6))
EMPTY = "<html><body></body></html>"
SCRIPT_ONLY = (
    "<html><head><script>document.location.reload()</script></head><body><noscript>JS</noscript></body></html>"
)


def outcome(app: App, clock: Clock) -> str:
    clock.advance(days=1)
    return check_sources(app, ["page"]).by_source()["page"].outcome


def counted_page(app: App, server: LocalServer, answer: Callable[[int], Reply]) -> dict[str, int]:
    """The source "page", served by ``answer(n)`` for its n-th request (from 1); what it returns
    counts the requests so far (``["n"]``)."""
    served = {"n": 0}

    def page(_seen: object) -> Reply:
        served["n"] += 1
        return answer(served["n"])

    server.route("/page", page)
    add(app, "page", server.url("/page"))
    return served


def test_an_empty_200_between_two_good_answers_records_nothing(app: App, server: LocalServer, clock: Clock) -> None:
    body = {"now": html(GOOD)}
    server.route("/page", lambda _seen: body["now"])
    add(app, "page", server.url("/page"))
    assert outcome(app, clock) == "baselined"
    for blip in (EMPTY, SCRIPT_ONLY):
        body["now"] = Reply(200, {"Content-Type": "text/html"}, blip.encode())
        assert outcome(app, clock) == "suspect"
        assert [s.state for s in list_sources(app)] == ["suspect"]
        body["now"] = html(GOOD)
        assert outcome(app, clock) == "unchanged"
        assert [s.state for s in list_sources(app)] == ["ok"]
    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]


def test_a_page_that_stays_empty_is_a_change_confirmed_by_the_next_check(
    app: App, server: LocalServer, clock: Clock,
) -> None:
    body = {"now": html(GOOD)}
    server.route("/page", lambda _seen: body["now"])
    add(app, "page", server.url("/page"))
    assert outcome(app, clock) == "baselined"
    body["now"] = html("<p>Moved.</p>")
    assert outcome(app, clock) == "suspect"
    assert outcome(app, clock) == "changed"
    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_CHANGED]
    changed = events_of(app, "page")[-1].payload
    assert changed["old_hash"] == events_of(app, "page")[1].payload["content_hash"]
    assert "+Moved." in changed["diff"]
    assert outcome(app, clock) == "unchanged"
    assert [s.state for s in list_sources(app)] == ["ok"]


def test_volatile_lines_found_at_the_first_change_are_ignored_listed_and_revocable(
    app: App, server: LocalServer, clock: Clock,
) -> None:
    served = counted_page(app, server, lambda n: html(
        f"{GOOD}<p>Page generated 2026-12-04 10:00:{n:02d} UTC</p><p>Request id: r{n}x</p>"))
    assert outcome(app, clock) == "baselined"
    assert served["n"] == 1                                   # a baseline is one fetch
    # Its text differs at the next check: fetched again at once, the lines that moved between the two
    # fetches are volatile, and without them the page is the accepted one.
    assert outcome(app, clock) == "unchanged"
    assert served["n"] == 3
    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_VOLATILE_IGNORED]
    proposed = events_of(app, "page")[2].payload["ignore"]
    assert len(proposed) == 2
    [view] = list_sources(app)
    assert view.volatile == tuple(proposed)
    for _ in range(2):
        assert outcome(app, clock) == "unchanged"             # the timestamp moves on every check
    assert served["n"] == 5                                   # probed once: one fetch a check since

    runner = CliRunner()
    env = cli_env(str(app.settings["database.url"]), TRACKER_ALLOW_HOSTS="127.0.0.1")
    listed = runner.invoke(cli, ["sources", "list"], env=env)
    assert listed.exit_code == 0 and "ignores volatile line ^Page" in listed.stdout
    assert json.loads(runner.invoke(cli, ["sources", "list", "--json"], env=env).stdout)["volatile"] == proposed

    revoked = runner.invoke(cli, ["sources", "revoke", "page", "--reason", "the date matters"], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert types_of(app, "page")[-1] == v.SOURCE_VOLATILE_REVOKED
    assert list_sources(app)[0].volatile == ()
    assert outcome(app, clock) == "changed"                   # compared like with like, timestamps differ
    again = runner.invoke(cli, ["sources", "revoke", "page"], env=env)
    assert again.exit_code == 1 and "no volatile-line patterns" in str(again.exception)


def test_a_change_that_is_stable_between_two_fetches_is_reported_and_proposes_nothing(
    app: App, server: LocalServer, clock: Clock
) -> None:
    body = {"now": GOOD}
    served = counted_page(app, server, lambda n: html(body["now"]))
    assert outcome(app, clock) == "baselined"
    assert outcome(app, clock) == "unchanged"
    assert served["n"] == 2                                   # a page that does not change is never fetched twice
    body["now"] = GOOD + "<p>Section 7: potency assays for gene therapy products.</p>"
    assert outcome(app, clock) == "changed"
    assert served["n"] == 4                                   # its first change: fetched twice, nothing moved
    body["now"] += "<p>Section 8: comparability after a manufacturing change.</p>"
    assert outcome(app, clock) == "changed"
    assert served["n"] == 5                                   # probed once
    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_CHANGED, v.SOURCE_CHANGED]


def test_a_first_change_with_volatile_lines_reports_the_real_change_only(
    app: App, server: LocalServer, clock: Clock
) -> None:
    body = {"now": GOOD}
    counted_page(app, server, lambda n: html(f"{body['now']}<p>Request id: r{n}x</p>"))
    assert outcome(app, clock) == "baselined"
    body["now"] = GOOD + "<p>Section 7: potency assays for gene therapy products.</p>"
    assert outcome(app, clock) == "changed"
    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_VOLATILE_IGNORED,
                                     v.SOURCE_CHANGED]
    diff = events_of(app, "page")[-1].payload["diff"]
    assert "+Section 7: potency assays" in diff and "Request id" not in diff
    assert outcome(app, clock) == "unchanged"


def test_a_suspect_blip_at_the_first_change_does_not_use_up_the_look_for_volatile_lines(
    app: App, server: LocalServer, clock: Clock
) -> None:
    blip = {"on": False}
    counted_page(app, server, lambda n: Reply(200, {"Content-Type": "text/html"}, EMPTY.encode()) if blip["on"]
                 else html(f"{GOOD}<p>Request id: r{n}x</p>"))
    assert outcome(app, clock) == "baselined"
    blip["on"] = True
    assert outcome(app, clock) == "suspect"                   # fetched twice: empty both times
    blip["on"] = False
    assert outcome(app, clock) == "unchanged"                 # the request id found volatile now
    assert types_of(app, "page") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_VOLATILE_IGNORED]
