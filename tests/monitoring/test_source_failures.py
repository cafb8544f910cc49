"""source_failures, kept by checking beside source_state, equals what it is rebuilt to from
source_state afresh, through failures, a streak turning unreachable and a recovery."""

from __future__ import annotations

import sqlalchemy as sa

from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.monitoring.conftest import Clock, add, html
from tracker.app import App
from tracker.schema.operational import source_failures as table
from tracker.services import source_failures
from tracker.services.checking import check_sources

Row = tuple[str, str, str, str]


def _kept(app: App) -> list[Row]:
    with app.db.read() as conn:
        return sorted((row.source_id, row.state, row.error_class, row.host) for row in conn.execute(sa.select(table)))


def _rebuilt(app: App) -> list[Row]:
    with app.db.write() as conn:
        source_failures.rebuild(conn)
    return _kept(app)


def test_checking_keeps_source_failures_as_a_rebuild_finds_them(app: App, server: LocalServer, clock: Clock) -> None:
    control = {"status": 200}

    def flaky(_seen: Seen) -> Reply:
        return html("<p>The official text</p>") if control["status"] == 200 else Reply(control["status"], {}, b"")

    server.route("/flaky", flaky)
    server.route("/fine", lambda _seen: html("<p>Fine</p>"))
    add(app, "flaky", server.url("/flaky"))
    add(app, "fine", server.url("/fine"))
    add(app, "closed", "http://localhost:1/notices")   # nothing listens: every check fails
    ids = ["flaky", "fine", "closed"]
    check_sources(app, ids)
    assert [row[0] for row in _kept(app)] == ["closed"]
    control["status"] = 500
    seen = []
    for _ in range(4):  # failing, then unreachable from the third failure
        clock.advance(days=1)
        check_sources(app, ids)
        kept = _kept(app)
        assert kept == _rebuilt(app)
        seen.append(kept)
    assert seen[0] == [("closed", "failing", "connect", "localhost"), ("flaky", "failing", "http-status", "127.0.0.1")]
    assert seen[-1] == [("closed", "unreachable", "connect", "localhost"),
                        ("flaky", "unreachable", "http-status", "127.0.0.1")]
    with app.db.read() as conn:
        assert sorted(source_failures.groups(conn)) == [("unreachable", "connect", "localhost", 1),
                                                        ("unreachable", "http-status", "127.0.0.1", 1)]
    control["status"] = 200
    clock.advance(days=1)
    check_sources(app, ids)
    assert [row[0] for row in _kept(app)] == ["closed"] == [row[0] for row in _rebuilt(app)]
