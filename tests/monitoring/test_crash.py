"""A crash in the middle of a cycle leaves a verifiable store, no duplicate events, and the next
cycle picks up where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.monitoring.conftest import Clock, add, html, make_settings
from tracker import migrate
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.fetching import FetchConfig, Fetcher
from tracker.schema.operational import source_state
from tracker.services import auditing
from tracker.services.checking import check_sources

ROOT = Path(__file__).resolve().parents[2]


class PowerCut(Exception):
    pass


class FaultyTransport(httpx.AsyncBaseTransport):
    """The real network transport, except that one path raises (a crash between two sources)."""

    def __init__(self, fail_path: str) -> None:
        self.inner = httpx.AsyncHTTPTransport(retries=0)
        self.fail_path = fail_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.fail_path:
            raise PowerCut(f"power cut while fetching {request.url}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def assert_consistent(app: App, ids: list[str]) -> None:
    auditing.verify_store(app.store)
    events = list(app.store.read())
    keys = [e.idempotency_key for e in events if e.idempotency_key]
    assert len(keys) == len(set(keys))
    baselines = Counter(e.payload["id"] for e in events if e.type == v.SOURCE_BASELINED)
    assert baselines == Counter(ids)


def test_an_exception_between_two_sources_then_a_rerun(db_url: str, clock: Clock, server: LocalServer) -> None:
    settings = make_settings(db_url, fetch__concurrency=1)
    faulty = App(settings, clock=clock, fetcher=lambda: Fetcher(FetchConfig.from_settings(settings.fetch),
                                                                transport=FaultyTransport("/s3")))
    app = App(settings, clock=clock)
    migrate.upgrade(app.db)
    ids = [f"s{n}" for n in range(6)]
    for source_id in ids:
        server.route(f"/{source_id}", html(f"<p>page {source_id}</p>"))
        add(app, source_id, server.url(f"/{source_id}"))
    with pytest.raises(PowerCut):
        check_sources(faulty)
    auditing.verify_store(app.store)
    rerun = check_sources(app)      # what is still due: what the crash left undone
    assert "s3" in rerun.by_source()
    assert set(rerun.counts) and rerun.counts["failed"] == 0
    assert_consistent(app, ids)
    assert check_sources(app, all=True).counts["unchanged"] == 6
    assert_consistent(app, ids)
    faulty.close()
    app.close()


CHILD = """
import sys
from tracker.app import App
from tracker.services.checking import check_sources
from tracker.settings import load_settings
check_sources(App(load_settings()), all=True)
"""


@pytest.mark.slow
def test_a_process_killed_mid_cycle_then_a_rerun(
    db_url: str, clock: Clock, server: LocalServer, tmp_path: Path
) -> None:
    app = App(make_settings(db_url), clock=clock)
    migrate.upgrade(app.db)
    ids = [f"p{n:02d}" for n in range(40)]

    def slow(seen: Seen) -> Reply:
        server.sleep(0.1)
        return html(f"<p>slow page {seen.path}</p>")

    for source_id in ids:
        server.route(f"/{source_id}", slow)
        add(app, source_id, server.url(f"/{source_id}"))

    env = cli_env(db_url, TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_HOST_DELAY="0", TRACKER_FETCH_RETRIES="0",
                  PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        recorded = 0
        while time.monotonic() < deadline and child.poll() is None:
            with app.db.read() as conn:
                recorded = conn.execute(
                    sa.select(sa.func.count()).select_from(source_state).where(source_state.c.last_checked_at.is_not(None))
                ).scalar_one()
            if recorded >= 4:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert 4 <= recorded < len(ids)
    auditing.verify_store(app.store)
    rerun = check_sources(app)          # only what the killed cycle had not recorded is due
    assert 0 < len(rerun.outcomes) < len(ids)
    assert_consistent(app, ids)
    app.close()


def test_two_checkers_at_once_report_each_change_once(db_url: str, clock: Clock, server: LocalServer) -> None:
    import threading

    apps = [App(make_settings(db_url), clock=clock) for _ in range(2)]
    migrate.upgrade(apps[0].db)
    ids = [f"c{n}" for n in range(8)]
    edition: dict[str, int] = {"n": 1}
    def page(sid: str) -> Callable[[Seen], Reply]:
        return lambda _seen: html(f"<p>{sid} edition {edition['n']}</p>")

    for source_id in ids:
        server.route(f"/{source_id}", page(source_id))
        add(apps[0], source_id, server.url(f"/{source_id}"))
    check_sources(apps[0], all=True)
    edition["n"] = 2
    errors: list[BaseException] = []

    def run(app: App) -> None:
        try:
            check_sources(app, all=True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    events = list(apps[0].store.read())
    changed = Counter(e.payload["id"] for e in events if e.type == v.SOURCE_CHANGED)
    assert changed == Counter(ids)
    assert_consistent(apps[0], ids)
    for app in apps:
        app.close()
