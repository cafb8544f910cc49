"""Every sender claims a message before sending it (issue 10, item 1): real processes, a real SMTP server.

Two `tracker digest --send` at once deliver each digest once; `--subscription X` sends only X's;
a server that refuses a digest for good (5xx) has it retried mail.max_rejections times, then
failed (DigestFailed, `tracker status`) without holding back the next digest; a sender killed
after the server accepted a message, before recording it, has it sent again (same Message-ID).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import cli_env
from tests.digests.conftest import make_app, record_changes, register_record
from tests.support.smtp import Mailbox
from tests.support.webhook import Webhook
from tracker.app import App
from tracker.mail import SmtpTransport
from tracker.schema.operational import digest_outbox
from tracker.services import delivery, digesting, outbox, subscribing

# The accepted hook of the real SMTP transport kills its own process (SIGKILL): the server has
# the message (250 to DATA), the database does not know yet.
KILLED_AFTER_ACCEPT = """
import os, signal
from tracker.app import App
from tracker.mail import SmtpTransport
from tracker.services import digesting
from tracker.settings import load_settings

class DieAfterAccept(SmtpTransport):
    def send(self, message, *, sender, recipient, message_id, accepted=None):
        return super().send(message, sender=sender, recipient=recipient, message_id=message_id,
                            accepted=lambda where: os.kill(os.getpid(), signal.SIGKILL))

settings = load_settings()
digesting.send_pending(App(settings), DieAfterAccept(settings.smtp.url))
"""


def tracker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tracker", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    return out


def subscribe_many(app: App, count: int, hook: Webhook | None = None) -> list[str]:
    return [subscribing.subscribe(app, f"reader{i}@example.org", name=f"Reader {i}",
                                  notify=[hook.url(f"/hook/{i}")] if hook else []).id for i in range(count)]


def sent_ids(app: App) -> list[str]:
    return [e.payload["message_id"] for e in app.store.read(types=["DigestSent"])]


def test_two_concurrent_digest_send_processes_deliver_each_message_once(
    app: App, db_url: str, tmp_path: Path,
) -> None:
    box = Mailbox(delay=0.2)  # slow enough that both senders are at work at the same time
    hook = Webhook()
    try:
        subscribe_many(app, 16, hook)
        prepared = {p.message_id for p in digesting.prepare_digests(app)}
        assert len(prepared) == 16
        env = cli_env(db_url, TRACKER_HOME=str(tmp_path / "home"), TRACKER_SMTP_URL=box.url)
        outs = [finish(p) for p in [tracker(env, "digest", "--send") for _ in range(2)]]
        received = Counter(str(m["Message-ID"]) for m in box.messages)
        assert set(received) == prepared and set(received.values()) == {1}, received
        assert sorted(sent_ids(app)) == sorted(prepared)
        assert sorted(hook.paths) == sorted(f"/hook/{i}" for i in range(16))  # each channel once too
        # Both took part, each sending messages the other did not.
        lines = [[line for line in out.splitlines() if line.startswith("sent ")] for out in outs]
        assert sum(len(x) for x in lines) == 32 and all(lines), lines
    finally:
        box.stop()
        hook.stop()
    with app.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(digest_outbox).where(
            digest_outbox.c.claimed_by.is_not(None))).scalar() == 0  # every claim let go


def test_send_for_one_subscription_sends_only_its_messages(
    app: App, db_url: str, tmp_path: Path, mailbox: Mailbox,
) -> None:
    first, second = subscribe_many(app, 2)
    digesting.prepare_digests(app)
    env = cli_env(db_url, TRACKER_HOME=str(tmp_path / "home"), TRACKER_SMTP_URL=mailbox.url)
    out = finish(tracker(env, "digest", "--send", "--subscription", second))
    assert [m["X-Tracker-Subscription"] for m in mailbox.messages] == [second]
    assert first not in out
    with app.db.read() as conn:
        status = dict(conn.execute(sa.select(digest_outbox.c.subscription_id, digest_outbox.c.status)).all())
    assert status == {first: "prepared", second: "sent"}


def test_a_refused_digest_is_retried_then_failed_and_the_next_digest_still_goes(
    db_url: str, tmp_path: Path,
) -> None:
    from tracker import migrate
    from tracker.core import Database

    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    box = Mailbox(answer="550 5.1.1 <gone@example.org>: mailbox unavailable")
    app = make_app(db_url, tmp_path / "home", TRACKER_SMTP_URL=box.url, TRACKER_MAX_REJECTIONS="3")
    try:
        register_record(app)
        sub = subscribing.subscribe(app, "gone@example.org", jurisdictions=["CN"]).id
        (welcome,) = digesting.run_digests(app).prepared
        for attempt in (1, 2):
            again = digesting.run_digests(app)
            assert again.prepared == [] and again.report is not None  # pending: no second digest meanwhile
            if attempt == 1:
                assert again.report.failed[0][3] == 2 and "gone@" not in again.report.failed[0][2]
        report = again.report
        assert report is not None and [(m, r) for m, _, _, r in report.given_up] == [(welcome.message_id, 3)]
        assert box.refused == 3 and box.messages == []
        (failed,) = app.store.read(types=["DigestFailed"])
        assert failed.payload == {"subscription": sub, "message_id": welcome.message_id,
                                  "positions": list(welcome.positions), "rejections": 3, "code": 550}
        assert "gone" not in json.dumps(failed.payload) + json.dumps(failed.metadata)

        env = cli_env(db_url, TRACKER_HOME=str(tmp_path / "home"))
        shown = subprocess.run([sys.executable, "-m", "tracker", "status", "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
        digests = json.loads(shown.stdout)["digests"]
        assert [row["message_id"] for row in digests["failed"]] == [welcome.message_id]
        assert digests["outbox"]["failed"] == 1
        text = subprocess.run([sys.executable, "-m", "tracker", "status"], env=env, capture_output=True,
                              text=True, timeout=120).stdout
        assert f"FAILED   {welcome.message_id}" in text

        box.answer = "250 OK"  # the address works again: the next digest is made and sent
        record_changes(app)
        run = digesting.run_digests(app)
        (later,) = run.prepared
        assert later.positions[0] == welcome.positions[1] + 1
        assert run.report is not None and [m for m, _, _ in run.report.sent] == [later.message_id]
        assert [m["Message-ID"] for m in box.messages] == [later.message_id]
    finally:
        box.stop()
        app.close()


def test_a_sender_killed_after_the_server_accepted_resends_the_same_message_once_more(
    app: App, db_url: str, tmp_path: Path, mailbox: Mailbox,
) -> None:
    """The honest limit: accepted by the server, not yet recorded, the sender dies. The next sender
    sends the same bytes with the same Message-ID (a receiver that deduplicates by Message-ID
    shows one); it is recorded once."""
    subscribe_many(app, 1)
    (prepared,) = digesting.prepare_digests(app)
    env = cli_env(db_url, TRACKER_HOME=str(tmp_path / "home"), TRACKER_SMTP_URL=mailbox.url)
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_ACCEPT], env=env, capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert [m["Message-ID"] for m in mailbox.messages] == [prepared.message_id]
    assert sent_ids(app) == []
    with app.db.read() as conn:
        row = conn.execute(sa.select(digest_outbox.c.status, digest_outbox.c.claimed_by)).one()
    assert row.status == "prepared" and row.claimed_by  # still claimed by the dead process

    finish(tracker(env, "digest", "--send"))  # its holder is dead on this host: the claim is freed at once
    assert [m["Message-ID"] for m in mailbox.messages] == [prepared.message_id] * 2
    assert sent_ids(app) == [prepared.message_id]


def test_a_live_claim_is_respected_until_it_runs_out(app: App, mailbox: Mailbox) -> None:
    """A claim held by a sender elsewhere (another host) is left alone until it expires."""
    subscribe_many(app, 1)
    (prepared,) = digesting.prepare_digests(app)
    now = datetime.now(UTC)
    assert outbox.claim(app.db, digest_outbox, "elsewhere:1:abcd", now, 60) == prepared.message_id
    transport = SmtpTransport(mailbox.url)
    report = delivery.send_pending(app, transport)
    assert report.sent == [] and mailbox.messages == []
    later = App(app.settings, clock=lambda: now + timedelta(seconds=61))
    try:
        report = delivery.send_pending(later, transport)
    finally:
        later.close()
    assert [m for m, _, _ in report.sent] == [prepared.message_id]
    assert [m["Message-ID"] for m in mailbox.messages] == [prepared.message_id]


def test_a_message_is_recorded_sent_at_the_reply_to_data_not_after_quit(app: App) -> None:
    """The server accepts DATA, then answers QUIT with an error: the digest counts as sent, once.
    (Before, smtplib raised on the QUIT reply, the digest was queued as failed and sent again.)"""
    box = Mailbox(quit_answer="421 4.3.0 shutting down")
    try:
        subscribe_many(app, 1)
        (prepared,) = digesting.prepare_digests(app)
        transport = SmtpTransport(box.url)
        report = delivery.send_pending(app, transport)
        assert [m for m, _, _ in report.sent] == [prepared.message_id] and report.failed == []
        assert delivery.send_pending(app, transport).sent == []  # nothing left to send
        assert [m["Message-ID"] for m in box.messages] == [prepared.message_id]
        assert sent_ids(app) == [prepared.message_id]
    finally:
        box.stop()
