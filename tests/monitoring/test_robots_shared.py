"""robots.txt read by one process is obeyed by the next without asking the site again, until it
expires: `tracker check` started by cron is a new process every time (RFC 9309: keep at most 24 h)."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply, run
from tests.monitoring.conftest import html
from tracker.app import App
from tracker.fetching import Fetcher, FetchRequest, FetchResult
from tracker.fetching.result import ROBOTS
from tracker.schema.operational import robots_rules
from tracker.services.robots_rules import SharedRobotsStore

ENV = {"TRACKER_ALLOW_HOSTS": "127.0.0.1", "TRACKER_FETCH_HOST_DELAY": "0", "TRACKER_FETCH_RETRIES": "0"}
RULES = b"User-agent: *\nDisallow: /private\nCrawl-delay: 0.2\n"


def test_two_check_processes_ask_for_robots_txt_once(db_url: str, server: LocalServer) -> None:
    server.route("/robots.txt", Reply(200, {"Content-Type": "text/plain"}, RULES))
    server.route("/page", lambda _s: html("<p>Guidance list</p>"))
    server.route("/private", lambda _s: html("<p>not for robots</p>"))
    env = cli_env(db_url, **ENV)

    def tracker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tracker", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert tracker("init").returncode == 0
    assert tracker("sources", "add", server.url("/page"), "--id", "page").returncode == 0
    assert tracker("sources", "add", server.url("/private"), "--id", "private").returncode == 0
    first, second = tracker("check", "--all"), tracker("check", "--all")
    assert first.returncode == second.returncode == 3, (first.stderr, second.stderr)  # 3: a source was not checked
    assert server.hits("/robots.txt") == 1          # the second process read the rules the first kept
    assert server.hits("/private") == 0 and server.hits("/page") >= 2
    assert "robots" in second.stdout + second.stderr


def _fetch(store: SharedRobotsStore, server: LocalServer, path: str) -> FetchResult:
    from tests.fetching.localserver import config

    async def go() -> FetchResult:
        async with Fetcher(config(robots_ttl=3600.0), robots=store) as fetcher:
            return await fetcher.fetch(FetchRequest("a", server.url(path)))
    return run(go())


def test_kept_rules_expire_and_a_server_error_is_never_kept(app: App, server: LocalServer) -> None:
    now = [1_000_000.0]
    server.route("/robots.txt", Reply(200, {}, RULES))
    server.route("/private", Reply(200, {}, b"x"))
    assert _fetch(SharedRobotsStore(app.db, clock=lambda: now[0]), server, "/private").error_class == ROBOTS
    # Another process (a new store, empty memory) within the hour: the kept rules, no request.
    assert _fetch(SharedRobotsStore(app.db, clock=lambda: now[0]), server, "/private").error_class == ROBOTS
    assert server.hits("/robots.txt") == 1
    with app.db.read() as conn:
        assert conn.execute(sa.select(robots_rules.c.body)).scalar_one() == RULES.decode()
    # An hour later they have expired: asked again, and this time the site answers 503 (never kept).
    now[0] += 3601.0
    server.route("/robots.txt", Reply(503, {}, b"down"))
    assert _fetch(SharedRobotsStore(app.db, clock=lambda: now[0]), server, "/private").error_class == ROBOTS
    assert _fetch(SharedRobotsStore(app.db, clock=lambda: now[0]), server, "/private").error_class == ROBOTS
    assert server.hits("/robots.txt") == 3


def test_a_missing_robots_txt_is_kept_as_no_rules(app: App, server: LocalServer) -> None:
    server.route("/robots.txt", Reply(404, {}, b"none"))
    server.route("/private", Reply(200, {}, b"x"))
    for _ in range(2):
        assert _fetch(SharedRobotsStore(app.db), server, "/private").outcome == "ok"
    assert server.hits("/robots.txt") == 1
    with app.db.read() as conn:
        assert conn.execute(sa.select(robots_rules.c.body)).scalar_one() is None
