"""`tracker serve` as a real subprocess: ticks check what is due, stops cleanly, survives SIGKILL,
refuses a second instance on SQLite, and splits due sources between processes on PostgreSQL."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.scheduling.conftest import Pages, Served, make_app, run_cli, serve_env, wait_for
from tests.scheduling.helpers import checked, event_types, json_lines, register_sources, tick_claims
from tests.support.smtp import Mailbox
from tracker.domain import vocabulary as v
from tracker.services import heartbeat
from tracker.services.heartbeat import ProcessIdentity
from tracker.services.subscribing import subscribe


def test_ticks_check_due_sources_and_sigterm_exits_zero(ready_url: str, tmp_path: Path, pages: Pages,
                                                      serve: Callable[..., Served]) -> None:
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 5)
    served = serve(serve_env(ready_url, tmp_path), "--log-format", "json")
    wait_for(lambda: checked(app) == 5, 20, "the first tick to check the 5 due sources")
    served.signal(signal.SIGTERM)
    assert served.wait(10) == 0, served.log()
    lines = json_lines(served.log())
    ticks = [line for line in lines if line.get("job") == "tick"]
    assert ticks and all({"duration_s", "status"} <= line.keys() for line in ticks)
    assert sum(line.get("claimed", 0) for line in ticks) == 5
    assert sum(line.get("baselined", 0) for line in ticks) == 5
    assert any(line["msg"] == "stopped" for line in lines)
    assert all(pages.count(f"/{i}") == 1 for i in ids)  # a baseline is one fetch; every=1d: not again each tick
    baselined = [s for (t, s), n in event_types(app).items() if t == v.SOURCE_BASELINED]
    assert sorted(baselined) == sorted(v.source_stream(i) for i in ids)
    app.close()


def test_sigint_exits_zero_too(ready_url: str, tmp_path: Path, serve: Callable[..., Served]) -> None:
    served = serve(serve_env(ready_url, tmp_path))
    wait_for(lambda: "job tick ok" in served.log(), 20, "a first tick")
    served.signal(signal.SIGINT)
    assert served.wait(10) == 0, served.log()
    assert "stopped" in served.log()


def test_sigterm_during_a_hanging_check_abandons_it_and_exits_zero(
    ready_url: str, tmp_path: Path, serve: Callable[..., Served], request: pytest.FixtureRequest
) -> None:
    if "postgres" in request.node.callspec.id:
        pytest.skip("the abandon path does not depend on the backend; run once, on SQLite")
    slow = Pages(delay=30)   # answers after 30 s, far beyond the 10 s a stop may take
    try:
        app = make_app(ready_url, tmp_path)
        register_sources(app, slow, 2)
        served = serve(serve_env(ready_url, tmp_path, TRACKER_FETCH_READ_TIMEOUT="60"))
        wait_for(lambda: slow.count("/page-00000") >= 1, 20, "the check to reach the hanging page")
        sent = time.monotonic()
        served.signal(signal.SIGTERM)
        assert served.wait(10) == 0, served.log()
        assert time.monotonic() - sent < 10
        assert "abandoning running jobs" in served.log()
        assert run_cli(serve_env(ready_url, tmp_path), "verify").returncode == 0
        app.close()
    finally:
        slow.stop()


def test_sigkill_mid_cycle_then_restart_loses_and_duplicates_nothing(
    ready_url: str, tmp_path: Path, serve: Callable[..., Served]
) -> None:
    slow = Pages(delay=0.25)
    try:
        app = make_app(ready_url, tmp_path)
        ids = register_sources(app, slow, 12)
        env = serve_env(ready_url, tmp_path, TRACKER_FETCH_PER_HOST="2", TRACKER_FETCH_CONCURRENCY="2",
                        TRACKER_CLAIM_BATCH="4")  # default 300 s leases: a dead holder is seen, not waited out
        first = serve(env)
        wait_for(lambda: 0 < checked(app) < len(ids), 20, "a cycle half done", interval=0.05)
        first.signal(signal.SIGKILL)
        first.wait(5)
        assert 0 < checked(app) < len(ids)
        second = serve(env)
        wait_for(lambda: checked(app) == len(ids), 30, "the restarted process to check the rest")
        second.signal(signal.SIGTERM)
        assert second.wait(10) == 0, second.log()
        verify = run_cli(serve_env(ready_url, tmp_path), "verify")
        assert verify.returncode == 0, verify.stderr
        counts = event_types(app)
        assert all(counts[(v.SOURCE_BASELINED, v.source_stream(i))] == 1 for i in ids)
        assert all(n == 1 for n in counts.values())  # nothing at all twice
        app.close()
    finally:
        slow.stop()


def test_second_instance_on_sqlite_is_refused_or_waits_as_standby(
    ready_url: str, tmp_path: Path, serve: Callable[..., Served], request: pytest.FixtureRequest
) -> None:
    if "postgres" in request.node.callspec.id:
        pytest.skip("the single-instance lock is SQLite's; PostgreSQL runs many processes")
    env = serve_env(ready_url, tmp_path)
    active = serve(env)
    wait_for(lambda: "job tick ok" in active.log(), 20, "the first process to tick")
    second = run_cli(env, "serve", cwd=tmp_path)
    assert second.returncode == 1
    message = second.stderr.strip()
    assert message.count("\n") == 0 and "another `tracker serve` is running" in message
    assert f":{active.proc.pid}:" in message and "--standby" in message
    standby = serve(env, "--standby")
    wait_for(lambda: "standby: waiting" in standby.log(), 20, "the standby to wait")
    assert standby.proc.poll() is None
    active.signal(signal.SIGTERM)
    assert active.wait(10) == 0
    wait_for(lambda: "job tick ok" in standby.log(), 20, "the standby to take over and tick")
    standby.signal(signal.SIGTERM)
    assert standby.wait(10) == 0


def test_a_killed_sqlite_holder_is_replaced_at_once(
    ready_url: str, tmp_path: Path, serve: Callable[..., Served], request: pytest.FixtureRequest
) -> None:
    if "postgres" in request.node.callspec.id:
        pytest.skip("the single-instance lock is SQLite's")
    env = serve_env(ready_url, tmp_path, TRACKER_INSTANCE_LEASE_SECONDS="600")
    first = serve(env)
    wait_for(lambda: "job tick ok" in first.log(), 20, "a first tick")
    first.signal(signal.SIGKILL)
    first.wait(5)
    second = serve(env)   # the lease has ten minutes left, but its holder is dead on this host
    wait_for(lambda: "job tick ok" in second.log(), 20, "the replacement to tick")
    assert "took over from a dead process" in second.log()
    second.signal(signal.SIGTERM)
    assert second.wait(10) == 0


@pytest.mark.postgres
def test_three_processes_on_postgres_check_every_due_source_and_send_the_digest_exactly_once(
    ready_url: str, tmp_path: Path, pages: Pages, mailbox: Mailbox, serve: Callable[..., Served],
    request: pytest.FixtureRequest,
) -> None:
    if "postgres" not in request.node.callspec.id:
        pytest.skip("several processes on one database is the PostgreSQL deployment")
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 200)
    subscribe(app, "reader@example.org", cadence="daily")
    # A process served this database yesterday, so today's 00:00 digest counts as missed: each of
    # the three runs the catch-up at start, and only one may prepare and send it.
    heartbeat.beat(app.db, ProcessIdentity("earlier-host", 1, "gone"), app.clock() - timedelta(days=1), "active")
    env = serve_env(ready_url, tmp_path, TRACKER_CLAIM_BATCH="10", TRACKER_FETCH_PER_HOST="4",
                    TRACKER_SMTP_URL=mailbox.url, TRACKER_DAILY_AT="00:00:00", TRACKER_SEND_EMPTY="true")
    processes = [serve(env, "--log-format", "json") for _ in range(3)]
    wait_for(lambda: checked(app) == len(ids), 40, "all 200 sources checked")
    wait_for(lambda: mailbox.messages, 10, "the missed daily digest")
    time.sleep(1.5)  # another tick each: nothing is due, nothing may be checked again
    for process in processes:
        process.signal(signal.SIGTERM)
    assert [process.wait(10) for process in processes] == [0, 0, 0]
    # Checked exactly once: a baseline is one fetch, never more.
    assert {path: n for path, n in pages.hits.items() if n != 1} == {}
    assert len(pages.hits) == 200
    claimed = [tick_claims(process.log()) for process in processes]
    assert sum(claimed) == 200, claimed
    counts = event_types(app)
    assert sum(n for (t, _), n in counts.items() if t == v.SOURCE_BASELINED) == 200
    assert len(mailbox.messages) == 1
    assert sum(n for (t, _), n in counts.items() if t == v.DIGEST_PREPARED) == 1
    assert sum(n for (t, _), n in counts.items() if t == v.DIGEST_SENT) == 1
    app.close()
