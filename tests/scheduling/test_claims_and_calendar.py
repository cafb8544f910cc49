"""Claims and leases on each backend, and digest periods (pure date arithmetic, table-driven)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.scheduling.conftest import Pages, make_app
from tests.scheduling.helpers import _state, register_sources
from tracker.core import db as db_module
from tracker.errors import DatabaseError
from tracker.scheduling.calendar import Schedule, period_key
from tracker.services import claims, heartbeat
from tracker.services.heartbeat import ProcessIdentity
from tracker.settings import load_settings

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_due_sources_are_split_between_holders_and_a_lapsed_claim_is_free_again(
    ready_url: str, tmp_path: Path, pages: Pages
) -> None:
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 10)
    a = claims.claim_due_sources(app.db, "host:1:a", T0, 60, 6)
    b = claims.claim_due_sources(app.db, "host:2:b", T0, 60, 6)
    assert len(a) == 6 and len(b) == 4 and not set(a) & set(b) and sorted(a + b) == ids
    assert claims.claim_due_sources(app.db, "host:3:c", T0 + timedelta(seconds=30), 60, 100) == []
    assert claims.release_sources(app.db, "host:2:b", b[:2]) == 2
    assert sorted(claims.claim_due_sources(app.db, "host:3:c", T0, 60, 100)) == sorted(b[:2])
    # every claim lapses after 60 s (its holder died): anyone may take them all
    assert claims.claim_due_sources(app.db, "host:4:d", T0 + timedelta(seconds=59), 60, 100) == []
    later = claims.claim_due_sources(app.db, "host:4:d", T0 + timedelta(seconds=61), 60, 100)
    assert sorted(later) == ids
    # a slow check keeps its claims by extending them
    assert claims.extend_sources(app.db, "host:4:d", later[:3], T0 + timedelta(seconds=100), 60) == 3
    assert claims.extend_sources(app.db, "host:5:e", later[3:], T0 + timedelta(seconds=100), 60) == 0
    taken = claims.claim_due_sources(app.db, "host:5:e", T0 + timedelta(seconds=150), 60, 100)
    assert sorted(taken) == sorted(later[3:])
    assert claims.release_all_sources(app.db) == 10
    app.close()


def test_due_sources_are_claimed_never_set_first_then_by_due_time_and_only_once_due(
    ready_url: str, tmp_path: Path, pages: Pages
) -> None:
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 5)
    due = {ids[0]: "2026-11-24T11:00:00.000000Z", ids[1]: None, ids[2]: "2026-11-24T10:00:00.000000Z",
           ids[3]: "2026-11-24T12:00:00.000001Z", ids[4]: None}
    with app.db.write() as conn:
        for source_id, at in due.items():
            conn.execute(_state.update().where(_state.c.source_id == source_id).values(next_due_at=at))
    assert claims.claim_due_sources(app.db, "h", T0, 60, 3) == [ids[1], ids[4], ids[2]]
    assert claims.claim_due_sources(app.db, "h", T0, 60, 3) == [ids[0]]   # ids[3] is due a microsecond later
    app.close()


def test_a_batch_says_whether_another_is_due_so_that_a_tick_asks_no_more_than_it_needs(
    ready_url: str, tmp_path: Path, pages: Pages
) -> None:
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 10)
    exact = not app.db.is_sqlite    # PostgreSQL looks one row past the batch; SQLite knows a short batch only
    assert claims.claim_due_batch(app.db, "a", T0, 60, 3) == claims.Claimed(ids[:3], True)
    assert claims.claim_due_batch(app.db, "b", T0, 60, 3) == claims.Claimed(ids[3:6], True)
    assert claims.claim_due_batch(app.db, "b", T0, 60, 4) == claims.Claimed(ids[6:], not exact)  # took the last
    assert claims.claim_due_batch(app.db, "b", T0, 60, 4) == claims.Claimed([], False)
    # Sources claimed by another holder, or not due yet, are not more to claim.
    assert claims.release_sources(app.db, "b", ids[3:5]) == 2
    assert claims.claim_due_batch(app.db, "c", T0, 60, 2) == claims.Claimed(ids[3:5], not exact)
    with app.db.write() as conn:
        conn.execute(_state.update().where(_state.c.source_id == ids[9]).values(next_due_at="2026-11-24T12:00:01Z"))
    assert claims.release_sources(app.db, "b", [*ids[6:8], ids[9]]) == 3
    assert claims.claim_due_batch(app.db, "d", T0, 60, 2) == claims.Claimed(ids[6:8], not exact)
    assert claims.release_sources(app.db, "d", ids[6:8]) == 2
    assert claims.claim_due_batch(app.db, "d", T0, 60, 1) == claims.Claimed(ids[6:7], True)
    app.close()


def test_a_claim_reads_the_due_range_of_its_index_and_leaves_sqlite_writes_durable(
    ready_url: str, tmp_path: Path, pages: Pages
) -> None:
    if not ready_url.startswith("sqlite"):
        pytest.skip("PostgreSQL picks its plan from statistics; bench/bench_tick.py measures it")
    app = make_app(ready_url, tmp_path)
    register_sources(app, pages, 3)
    sql, order, fixed = claims._claim_sql(app.db.engine.dialect)
    values = {**fixed, "now": "2026", "limit": 1, "holder": "h", "until": "2026"}
    with app.db.read() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, tuple(values[name] for name in order or ())))
    assert "SEARCH source_state USING INDEX ix_source_state_due" in plan and "TEMP B-TREE" not in plan, plan
    claims.claim_due_sources(app.db, "h", T0, 60, 3)
    with app.db.write() as conn:  # the claim's connection, back in the pool with the settings of every write
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2   # FULL
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    app.close()


def test_postgres_lease_writes_skip_the_disk_wait_on_their_own_connections_and_survive_a_dropped_one(
    ready_url: str, tmp_path: Path, pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ready_url.startswith("sqlite"):
        pytest.skip("SQLite: test_a_claim_reads_the_due_range_of_its_index_and_leaves_sqlite_writes_durable")
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 2)
    with app.db.lease_write() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        lease_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with app.db.write() as conn:  # every other write waits for the disk
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        conn.exec_driver_sql("SELECT pg_terminate_backend(%s)", (lease_pid,))
    # The server dropped the idle lease connection: it is pinged and replaced before the claim.
    monkeypatch.setattr(db_module, "LEASE_PING_AFTER_IDLE_S", 0.0)
    assert claims.claim_due_sources(app.db, "h", T0, 60, 1) == ids[:1]
    # Used a moment ago, a connection is not pinged: one dropped since fails that write, and
    # the next one connects afresh (the tick fails once and is logged; its claims run out).
    monkeypatch.setattr(db_module, "LEASE_PING_AFTER_IDLE_S", 3600.0)
    with app.db.peek() as conn:
        lease_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with app.db.write() as conn:
        conn.exec_driver_sql("SELECT pg_terminate_backend(%s)", (lease_pid,))
    with pytest.raises(DatabaseError):
        claims.claim_due_sources(app.db, "h", T0, 60, 1)
    assert claims.claim_due_sources(app.db, "h", T0, 60, 1) == ids[1:]
    app.close()


def test_postgres_prepares_the_claim_and_behind_at_their_first_execution_for_any_parameters(
    ready_url: str, tmp_path: Path, pages: Pages
) -> None:
    if ready_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: psycopg prepares a statement at its sixth execution by default")
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 2)
    assert app.projector.behind(["sources"]) == []
    assert claims.claim_due_sources(app.db, "h", T0, 60, 1) == ids[:1]
    with app.db.peek() as conn:  # the lease pool's one connection, used by both
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
        assert conn.connection.driver_connection.prepare_threshold == 5  # type: ignore[union-attr]
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"  # planned once
    assert sum(text.startswith("WITH picked AS") for text in prepared) == 1, prepared
    assert sum("FROM projection_checkpoints" in text for text in prepared) == 1, prepared
    app.close()


def test_a_lease_has_one_holder_until_it_lapses_and_a_completed_one_is_never_taken(
    ready_url: str, tmp_path: Path
) -> None:
    app = make_app(ready_url, tmp_path)
    db, name = app.db, "digest:daily:2026-11-24T07:00:00.000000Z"
    assert claims.acquire(db, name, "p1", T0, 30)
    assert not claims.acquire(db, name, "p2", T0 + timedelta(seconds=10), 30)
    assert claims.acquire(db, name, "p1", T0 + timedelta(seconds=10), 30)         # renewal by its holder
    assert claims.acquire(db, name, "p2", T0 + timedelta(seconds=41), 30)         # lapsed: taken over
    assert not claims.complete(db, name, "p1", T0)                                 # p1 lost it
    assert claims.complete(db, name, "p2", T0 + timedelta(seconds=42), note="prepared 3")
    assert not claims.acquire(db, name, "p3", T0 + timedelta(days=1), 30)
    lease = claims.get(db, name)
    assert lease is not None and lease.holder == "p2" and lease.completed_at and lease.note == "prepared 3"
    claims.acquire(db, "outbox:send", "p1", T0, 30)
    claims.release(db, "outbox:send", "p1")
    assert claims.acquire(db, "outbox:send", "p2", T0, 30)
    assert claims.take_over(db, "outbox:send", "p2", "p3", T0, 30)
    assert claims.prune(db, T0 + timedelta(days=2)) == 2
    app.close()


def schedule(**settings: str) -> Schedule:
    base = {"schedule__daily_at": "07:00", "schedule__weekly_on": "mon", "schedule__timezone": "UTC"}
    base.update({f"schedule__{k}": v for k, v in settings.items()})
    return Schedule.from_settings(load_settings(environ={}).with_overrides(**base))


@pytest.mark.parametrize(
    ("settings", "cadence", "now", "start"),
    [
        ({}, "daily", "2026-11-24T12:00:00+00:00", "2026-11-24T07:00:00+00:00"),
        ({}, "daily", "2026-11-24T06:59:59+00:00", "2026-11-23T07:00:00+00:00"),
        ({}, "daily", "2026-11-24T07:00:00+00:00", "2026-11-24T07:00:00+00:00"),
        # 07:00 in Shanghai is 23:00 UTC the day before
        ({"timezone": "Asia/Shanghai"}, "daily", "2026-11-24T00:30:00+00:00", "2026-11-23T23:00:00+00:00"),
        (
            {"timezone": "Asia/Tokyo", "daily_at": "09:30"},
            "daily",
            "2026-11-24T00:29:00+00:00",
            "2026-11-23T00:30:00+00:00",
        ),
        # 2026-11-24 is a Tuesday
        ({}, "weekly", "2026-11-24T12:00:00+00:00", "2026-11-23T07:00:00+00:00"),
        ({}, "weekly", "2026-11-23T06:00:00+00:00", "2026-11-16T07:00:00+00:00"),
        ({"weekly_on": "tuesday"}, "weekly", "2026-11-24T12:00:00+00:00", "2026-11-24T07:00:00+00:00"),
        # across the spring-forward night in Berlin (2026-03-29 02:00 -> 03:00)
        (
            {"timezone": "Europe/Berlin", "daily_at": "02:30"},
            "daily",
            "2026-03-29T12:00:00+00:00",
            "2026-03-29T01:30:00+00:00",
        ),
    ],
)
def test_period_start(settings: dict[str, str], cadence: str, now: str, start: str) -> None:
    assert schedule(**settings).period_start(cadence, datetime.fromisoformat(now)) == datetime.fromisoformat(start)


def test_period_key_is_the_lease_name() -> None:
    assert period_key("weekly", datetime(2026, 11, 23, 7, tzinfo=UTC)) == "digest:weekly:2026-11-23T07:00:00.000000Z"


def test_heartbeats_record_ticks_stops_and_are_pruned(ready_url: str, tmp_path: Path) -> None:
    app = make_app(ready_url, tmp_path)
    me, other = ProcessIdentity("host-a", 11, "t1"), ProcessIdentity("host-b", 22, "t2")
    assert heartbeat.served_since(app.db) is None
    heartbeat.beat(app.db, me, T0, "active")
    heartbeat.record_tick(app.db, me, T0 + timedelta(seconds=5), {"claimed": 3, "changed": 1})
    heartbeat.beat(app.db, other, T0 - timedelta(days=100), "standby")
    heartbeat.mark_stopped(app.db, other, T0 - timedelta(days=100))
    assert heartbeat.served_since(app.db) == "2026-08-16T12:00:00.000000Z"   # the earliest start on record
    [newest, oldest] = heartbeat.recent(app.db)
    assert newest["process_id"] == "host-a:11:t1" and newest["last_tick"] == {"changed": 1, "claimed": 3}
    assert newest["seen_at"] == newest["last_tick_at"] == "2026-11-24T12:00:05.000000Z"
    assert oldest["role"] == "standby" and oldest["stopped_at"]
    assert heartbeat.prune(app.db, T0 - timedelta(days=90)) == 1
    assert [row["process_id"] for row in heartbeat.recent(app.db)] == ["host-a:11:t1"]
    app.close()


def test_a_process_is_judged_dead_only_on_this_host_and_only_when_its_pid_is_gone() -> None:
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait(10)   # reaped: no process has this pid now (pids are not reused this soon)
    here = socket.gethostname()
    assert heartbeat.is_dead_here(f"{here}:{dead_pid.pid}:abcd")
    assert not heartbeat.is_dead_here(f"{here}:{os.getpid()}:abcd")
    assert not heartbeat.is_dead_here(f"elsewhere.example:{dead_pid.pid}:abcd")
    assert not heartbeat.is_dead_here("not a process id")
    assert heartbeat.parse_process_id(f"{here}:42:tok") == (here, 42)
