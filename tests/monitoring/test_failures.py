"""Failures are states, not noise: each gives the right recorded failure and no false change."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.fetching.localserver import Drop, LocalServer, Reply, Seen
from tests.monitoring.conftest import Clock, add, events_of, html, make_settings, types_of
from tracker import migrate
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.services.checking import check_sources
from tracker.services.sources_admin import list_sources

PAGE = "<p>The official text</p>"


def _app(db_url: str, clock: Clock, **overrides: object) -> App:
    application = App(make_settings(db_url, **overrides), clock=clock)
    migrate.upgrade(application.db)
    return application


@pytest.fixture
def flaky(server: LocalServer) -> dict[str, int]:
    """/flaky answers 200 with PAGE, or ``status`` while it is not 200."""
    control = {"status": 200}

    def handler(_seen: Seen) -> Reply:
        if control["status"] != 200:
            return Reply(
                control["status"],
                {"Content-Type": "text/html"},
                b"<html><body><h1>Internal Server Error</h1></body></html>",
            )
        return html(PAGE)

    server.route("/flaky", handler)
    return control


def test_three_failures_make_one_unreachable_then_one_recovered(
    app: App, server: LocalServer, clock: Clock, flaky: dict[str, int]
) -> None:
    add(app, "flaky", server.url("/flaky"))
    check_sources(app, ["flaky"])
    flaky["status"] = 500
    outcomes = []
    for _ in range(5):
        clock.advance(days=1)
        outcomes.append(check_sources(app, ["flaky"]).by_source()["flaky"])
    assert [o.outcome for o in outcomes] == ["failed", "failed", "unreachable", "failed", "failed"]
    assert {o.error_class for o in outcomes} == {"http-status"}
    [view] = list_sources(app, "failing")
    assert (view.state, view.consecutive_failures, view.last_status) == ("unreachable", 5, 500)
    flaky["status"] = 200
    clock.advance(days=1)
    outcome = check_sources(app, ["flaky"]).by_source()["flaky"]
    assert outcome.outcome == "recovered"
    assert types_of(app, "flaky") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED, v.SOURCE_UNREACHABLE, v.SOURCE_RECOVERED]
    unreachable, recovered = events_of(app, "flaky")[2:]
    assert unreachable.payload == {
        "id": "flaky",
        "error_class": "http-status",
        "error": "HTTP 500 Internal Server Error",
        "failures": 3,
    }
    assert recovered.payload == {"id": "flaky", "after_failures": 5}
    assert list_sources(app, "failing") == []
    # A second streak is a second episode: its own Unreachable.
    flaky["status"] = 503
    for _ in range(3):
        clock.advance(days=1)
        check_sources(app, ["flaky"])
    assert types_of(app, "flaky").count(v.SOURCE_UNREACHABLE) == 2


def test_an_error_page_between_two_good_answers_changes_nothing(
    app: App, server: LocalServer, clock: Clock, flaky: dict[str, int]
) -> None:
    add(app, "flaky", server.url("/flaky"))
    check_sources(app, ["flaky"])
    flaky["status"] = 500
    assert check_sources(app, ["flaky"]).by_source()["flaky"].outcome == "failed"
    flaky["status"] = 200
    assert check_sources(app, ["flaky"]).by_source()["flaky"].outcome == "unchanged"
    assert types_of(app, "flaky") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]


def test_429_with_retry_after_is_waited_for(db_url: str, clock: Clock, server: LocalServer) -> None:
    app = _app(db_url, clock, fetch__retries=1)
    answers: Iterator[Reply] = itertools.chain(
        [Reply(429, {"Retry-After": "1"}, b"slow down")], itertools.repeat(html(PAGE))
    )
    server.route("/busy", lambda _s: next(answers))
    add(app, "busy", server.url("/busy"))
    assert check_sources(app, ["busy"]).by_source()["busy"].outcome == "baselined"
    assert server.hits("/busy") == 2      # the 429, then the page
    app.close()


def test_429_without_relief_is_a_recorded_failure(app: App, server: LocalServer) -> None:
    server.route("/busy", Reply(429, {"Retry-After": "1"}, b"slow down"))
    add(app, "busy", server.url("/busy"))
    outcome = check_sources(app, ["busy"]).by_source()["busy"]
    assert (outcome.outcome, outcome.error_class, outcome.status) == ("failed", "http-status", 429)
    assert types_of(app, "busy") == [v.SOURCE_REGISTERED]


def test_a_redirect_loop(app: App, server: LocalServer) -> None:
    server.route("/a", Reply(302, {"Location": "/b"}))
    server.route("/b", Reply(302, {"Location": "/a"}))
    add(app, "loop", server.url("/a"))
    outcome = check_sources(app, ["loop"]).by_source()["loop"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "redirect")
    assert types_of(app, "loop") == [v.SOURCE_REGISTERED]


def test_a_body_over_the_cap(db_url: str, clock: Clock, server: LocalServer) -> None:
    app = _app(db_url, clock, fetch__max_bytes=10_000)
    server.route(
        "/big", Reply(200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 20_000 + b"</p>", content_length=False)
    )
    add(app, "big", server.url("/big"))
    outcome = check_sources(app, ["big"]).by_source()["big"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "too-large")
    assert types_of(app, "big") == [v.SOURCE_REGISTERED]
    app.close()


CHALLENGE = b"<html><head><script>window['$_ts']={};eval(atob('...'))</script></head><body></body></html>"


def test_a_bot_challenge_is_blocked_and_needs_a_manual_check(app: App, server: LocalServer, clock: Clock) -> None:
    server.route("/nmpa", Reply(412, {"Content-Type": "text/html"}, CHALLENGE))
    server.route(
        "/cde",
        Reply(
            202,
            {"Content-Type": "text/html"},
            b"<html><script>var x=1;document.cookie='a=b';location.reload()</script></html>",
        ),
    )
    add(app, "nmpa", server.url("/nmpa"))
    add(app, "cde", server.url("/cde"))
    report = check_sources(app, all=True)
    assert {(o.source_id, o.outcome, o.error_class) for o in report.outcomes} == {
        ("nmpa", "failed", "blocked"), ("cde", "failed", "blocked")}
    blocked = list_sources(app, "blocked")
    assert [s.id for s in blocked] == ["cde", "nmpa"] and all(s.needs_manual_check for s in blocked)
    assert [s.id for s in list_sources(app, "failing")] == ["cde", "nmpa"]
    for _ in range(2):
        clock.advance(days=1)
        check_sources(app, all=True)
    assert types_of(app, "nmpa") == [v.SOURCE_REGISTERED, v.SOURCE_UNREACHABLE]
    assert events_of(app, "nmpa")[-1].payload["error_class"] == "blocked"


def test_a_redirect_to_a_disallowed_address_is_refused(db_url: str, clock: Clock, server: LocalServer) -> None:
    # Only "localhost" is allowed; the redirect points at 127.0.0.2, refused before any connection.
    app = _app(db_url, clock, fetch__allow_hosts="localhost")
    server.route("/hop", Reply(302, {"Location": f"http://127.0.0.2:{server.port}/secret"}))
    add(app, "hop", server.url("/hop", host="localhost"))
    outcome = check_sources(app, ["hop"]).by_source()["hop"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "refused-address")
    assert "127.0.0.2" in (outcome.error or "")
    assert server.hits("/secret") == 0
    assert types_of(app, "hop") == [v.SOURCE_REGISTERED]
    app.close()


def test_a_hanging_server_times_out(db_url: str, clock: Clock, server: LocalServer) -> None:
    app = _app(db_url, clock, fetch__read_timeout=0.3)

    def hang(_seen: Seen) -> Reply:
        server.sleep(3)
        return html(PAGE)

    server.route("/hang", hang)
    add(app, "hang", server.url("/hang"))
    outcome = check_sources(app, ["hang"]).by_source()["hang"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "timeout")
    app.close()


def test_a_truncated_body_is_never_a_change(app: App, server: LocalServer) -> None:
    good = html("<p>Complete text of the guidance, all sections</p>")
    control = {"truncate": False}

    def handler(_seen: Seen) -> Reply:
        if not control["truncate"]:
            return good

        def chunks() -> Iterator[bytes]:
            yield good.body[:30]  # type: ignore[index]
            raise Drop()

        return Reply(200, {"Content-Type": "text/html", "Content-Length": str(len(good.body))}, chunks())  # type: ignore[arg-type]

    server.route("/cut", handler)
    add(app, "cut", server.url("/cut"))
    check_sources(app, ["cut"])
    control["truncate"] = True
    outcome = check_sources(app, ["cut"]).by_source()["cut"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "truncated")
    control["truncate"] = False
    assert check_sources(app, ["cut"]).by_source()["cut"].outcome == "unchanged"
    assert types_of(app, "cut") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]


def test_an_undecodable_body_is_a_failure_not_a_change(app: App, server: LocalServer) -> None:
    doc = {"body": b'{"version": 1}'}
    server.route("/api", lambda _s: Reply(200, {"Content-Type": "application/json"}, doc["body"]))
    add(app, "api", server.url("/api"), kind="json")
    check_sources(app, ["api"])
    doc["body"] = b'{"version": 1'      # cut short, but served whole
    outcome = check_sources(app, ["api"]).by_source()["api"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "undecodable")
    assert types_of(app, "api") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]


def test_a_slow_but_steady_page_is_read_whole(app: App, server: LocalServer) -> None:
    parts = [b"<html><body><main>", b"<p>Part one.</p>", b"<p>Part two.</p>", b"</main></body></html>"]

    def trickle(_seen: Seen) -> Reply:
        def chunks() -> Iterator[bytes]:
            for part in parts:
                server.sleep(0.15)     # each gap under the read timeout (1 s in these tests)
                yield part
        return Reply(200, {"Content-Type": "text/html"}, chunks())

    server.route("/slow", trickle)
    add(app, "slow", server.url("/slow"))
    assert check_sources(app, ["slow"]).by_source()["slow"].outcome == "baselined"
    assert check_sources(app, ["slow"]).by_source()["slow"].outcome == "unchanged"
