"""End to end: `tracker serve` checks a page on a local HTTP server, sees it change, and mails the
digest to a local SMTP server at its cron time; a missed digest runs once after a restart."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

from tests.scheduling.conftest import Pages, Served, make_app, run_cli, serve_env, wait_for
from tests.scheduling.helpers import checked, event_types, json_lines, make_due, register_sources
from tests.support.smtp import Mailbox
from tracker.domain import vocabulary as v
from tracker.scheduling.calendar import Schedule, period_key
from tracker.services import claims, heartbeat
from tracker.services.checking import check_sources
from tracker.services.heartbeat import ProcessIdentity
from tracker.services.subscribing import subscribe

CHANGE = "新的指导原则 2026年第12号"


def bodies(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "\n".join(
        bytes(part.get_payload(decode=True)).decode(part.get_content_charset() or "utf-8")
        for part in parts if part.get_content_maintype() == "text"
    )


def test_serve_checks_detects_a_change_and_sends_the_digest(
    ready_url: str, tmp_path: Path, pages: Pages, mailbox: Mailbox, serve: Callable[..., Served]
) -> None:
    app = make_app(ready_url, tmp_path)
    [source_id] = register_sources(app, pages, 1)
    subscribe(app, "reader@example.org", cadence="daily", name="CGT daily")
    # The margin covers start-up, the baseline and the change on a loaded 2-core machine.
    fire = datetime.now(UTC) + timedelta(seconds=20)
    env = serve_env(ready_url, tmp_path, TRACKER_SMTP_URL=mailbox.url, TRACKER_DAILY_AT=fire.strftime("%H:%M:%S"))
    served = serve(env, "--log-format", "json")
    wait_for(lambda: checked(app) == 1, 20, "the baseline check")
    pages.set(
        f"/{source_id}", f"<html><body><main><h1>Page 0</h1><p>细胞治疗 0</p><p>{CHANGE}</p></main></body></html>"
    )
    make_due(app, [source_id])
    wait_for(lambda: event_types(app)[(v.SOURCE_CHANGED, v.source_stream(source_id))] == 1, 20, "the change")
    assert datetime.now(UTC) < fire, "the change came after the digest time: raise the 20 s margin"
    wait_for(lambda: mailbox.messages, 45, "the daily digest at its cron time")
    wait_for(lambda: '"mail_sent": 1' in served.log(), 10, "the digest job's line")
    served.signal(signal.SIGTERM)
    assert served.wait(10) == 0, served.log()
    [message] = mailbox.messages
    assert message["To"] == "reader@example.org" and message["Message-ID"]
    assert CHANGE in bodies(message)
    counts = event_types(app)
    assert sum(n for (t, _), n in counts.items() if t == v.DIGEST_PREPARED) == 1
    assert sum(n for (t, _), n in counts.items() if t == v.DIGEST_SENT) == 1
    schedule = Schedule.from_settings(app.settings.with_overrides(schedule__daily_at=fire.strftime("%H:%M:%S")))
    lease = claims.get(app.db, period_key("daily", schedule.period_start("daily", fire + timedelta(seconds=1))))
    assert lease is not None and lease.completed_at is not None
    assert run_cli(env, "verify").returncode == 0
    app.close()


def test_a_missed_digest_runs_once_after_a_restart(
    ready_url: str, tmp_path: Path, pages: Pages, mailbox: Mailbox
) -> None:
    app = make_app(ready_url, tmp_path)
    [source_id] = register_sources(app, pages, 1)
    subscribe(app, "reader@example.org", cadence="daily", name="CGT daily")
    check_sources(app, [source_id])                               # the baseline, by `tracker check`
    pages.set(f"/{source_id}", f"<html><body><main><p>{CHANGE}</p></main></body></html>")
    make_due(app, [source_id])
    # A process served this database yesterday; today's 00:00:00 UTC digest time passed while none ran.
    heartbeat.beat(app.db, ProcessIdentity("earlier-host", 1, "gone"), datetime.now(UTC) - timedelta(days=1),
                   "active")
    env = serve_env(ready_url, tmp_path, TRACKER_SMTP_URL=mailbox.url, TRACKER_DAILY_AT="00:00:00")
    restart = run_cli(env, "serve", "--once", cwd=tmp_path)
    assert restart.returncode == 0, restart.stderr
    wait_for(lambda: len(mailbox.messages) == 1, 10, "the missed digest")
    assert CHANGE in bodies(mailbox.messages[0])
    again = run_cli(env, "serve", "--once", "--log-format", "json", cwd=tmp_path)   # and only once
    assert again.returncode == 0, again.stderr
    [catch_up] = [line for line in json_lines(again.stderr) if line.get("job") == "digest-catch-up"]
    assert catch_up["daily"] == "done"
    assert len(mailbox.messages) == 1
    assert sum(n for (t, _), n in event_types(app).items() if t == v.DIGEST_SENT) == 1
    app.close()


def test_a_digest_left_unfinished_by_a_killed_process_runs_once_on_the_next_start(
    ready_url: str, tmp_path: Path, pages: Pages, mailbox: Mailbox
) -> None:
    app = make_app(ready_url, tmp_path)
    [source_id] = register_sources(app, pages, 1)
    subscribe(app, "reader@example.org", cadence="daily", name="CGT daily")
    check_sources(app, [source_id])
    pages.set(f"/{source_id}", f"<html><body><main><p>{CHANGE}</p></main></body></html>")
    check_sources(app, [source_id])                               # a change to report
    now = datetime.now(UTC)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    killed = ProcessIdentity(socket.gethostname(), dead.pid, "killed")
    heartbeat.beat(app.db, killed, now - timedelta(days=1), "active")
    # It had claimed today's daily digest (its lease has minutes left) when it was killed.
    schedule = Schedule.from_settings(app.settings.with_overrides(schedule__daily_at="00:00:00"))
    period = period_key("daily", schedule.period_start("daily", now))
    assert claims.acquire(app.db, period, killed.process_id, now, 600)
    env = serve_env(ready_url, tmp_path, TRACKER_SMTP_URL=mailbox.url, TRACKER_DAILY_AT="00:00:00")
    restart = run_cli(env, "serve", "--once", cwd=tmp_path)
    assert restart.returncode == 0, restart.stderr
    wait_for(lambda: len(mailbox.messages) == 1, 10, "the abandoned digest")
    assert CHANGE in bodies(mailbox.messages[0])
    lease = claims.get(app.db, period)
    assert lease is not None and lease.completed_at is not None and lease.holder != killed.process_id
    assert run_cli(env, "verify").returncode == 0
    app.close()


def test_serve_and_digest_send_at_once_deliver_each_digest_once(
    ready_url: str, tmp_path: Path, serve: Callable[..., Served]
) -> None:
    """`tracker serve` sending its outbox while an operator runs `tracker digest --send` (issue 10):
    both claim each message before sending it, so each digest arrives once."""
    from collections import Counter

    from tracker.services import digesting

    app = make_app(ready_url, tmp_path)
    for i in range(12):
        subscribe(app, f"reader{i}@example.org", cadence="daily", name=f"Reader {i}")
    prepared = {p.message_id for p in digesting.prepare_digests(app)}
    box = Mailbox(delay=0.2)
    try:
        env = serve_env(ready_url, tmp_path, TRACKER_SMTP_URL=box.url)
        served = serve(env, "--once", "--log-format", "json")
        operator = subprocess.Popen([sys.executable, "-m", "tracker", "digest", "--send"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = operator.communicate(timeout=120)
        assert operator.returncode == 0, err
        assert served.wait(120) == 0, served.log()
        received = Counter(str(m["Message-ID"]) for m in box.messages)
        assert set(received) == prepared and set(received.values()) == {1}, received
        by_cli = out.count("\nsent ") + out.startswith("sent ")
        by_serve = sum(line.get("mail_sent", 0) for line in json_lines(served.log()))
        assert by_cli + by_serve == 12 and by_cli and by_serve, (by_cli, by_serve)
    finally:
        box.stop()
    counts = event_types(app)
    assert sum(n for (t, _), n in counts.items() if t == v.DIGEST_SENT) == 12
    app.close()
