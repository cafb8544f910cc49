"""Digests delivered to a real SMTP server (aiosmtpd on 127.0.0.1) and parsed as they arrived."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import sqlalchemy as sa

from tests.digests.conftest import CN_TITLE, JP_TITLE, SCRIPT, record_changes, register_record
from tests.support.smtp import Mailbox, free_port
from tracker.app import App
from tracker.core import NewEvent
from tracker.mail import SmtpTransport
from tracker.schema.operational import digest_cursors, digest_outbox
from tracker.services import digesting, subscribing


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def test_digest_arrives_with_both_parts_chinese_text_diff_and_unsubscribe_headers(app: App, mailbox: Mailbox) -> None:
    register_record(app)
    cn = subscribing.subscribe(app, "cn-team@example.org", jurisdictions=["CN"], name="中国细胞治疗 週報")
    cn_created = app.store.head().position
    world = subscribing.subscribe(app, "all@example.org", cadence="daily")
    changes = record_changes(app)
    upcoming_day = datetime.now(UTC).date().replace(day=1).isoformat()[:7]
    app.store.append([NewEvent("instrument/cn-ct-guideline", "InstrumentEffective",
                               {"id": "cn-ct-guideline", "step": "effective", "date": upcoming_day},
                               valid_from=upcoming_day)])

    run = digesting.run_digests(app, transport=SmtpTransport(mailbox.url))
    assert run.report is not None and not run.report.failed
    assert len(mailbox.messages) == 2 and sorted(r[0] for r in mailbox.recipients) == [
        "all@example.org",
        "cn-team@example.org",
    ]
    by_to = {str(m["To"]): m for m in mailbox.messages}
    msg = by_to["cn-team@example.org"]

    assert msg.get_content_type() == "multipart/alternative"
    # A first digest is a welcome, then what changed since subscribing: one entry per item.
    assert msg["Subject"] == ("中国细胞治疗 週報: welcome: 1 item of the record matches; since you subscribed: "
                              "1 status change, 1 deadline, 1 page change (CN)")
    assert msg["From"] == "CGT Regulatory Tracker <tracker@localhost>"
    assert msg["Message-ID"] == run.prepared[0].message_id
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    unsubscribe = str(msg["List-Unsubscribe"])
    assert unsubscribe.startswith("<mailto:tracker@localhost?subject=unsubscribe%20") and cn.id not in unsubscribe
    # No one-click endpoint is configured (TRACKER_UNSUBSCRIBE_BASE): no dead https link, no One-Click.
    assert "https://" not in unsubscribe and msg["List-Unsubscribe-Post"] is None
    to = run.prepared[0].positions[1]
    assert msg["X-Tracker-Head"] == f"{to} {next(app.store.read(after=to - 1)).hash}"

    text, html = parts(msg)
    assert CN_TITLE in text and CN_TITLE in html
    assert "Technical Guideline for Clinical Trials of Cell Therapy Products" in html
    assert "国家药监局发布" in text
    assert "+新的通知：" in text and "-旧的通知" in text and "https://www.nmpa.gov.cn/notice" in html
    assert "US" not in {g.split(" ")[0] for g in text.splitlines() if g.startswith("-- ")}
    assert "21st Century Cures Act" not in text  # filtered out: CN only
    assert "Due in the next 30 days" in text and f"* {upcoming_day} takes effect [CN]" in text
    assert text.count(CN_TITLE) == 2  # once under its item (its two steps), once as a date due
    assert "status now: effective" in text and "- published: 2025-09-28. 国家药监局发布" in text
    for part in (text, html):
        assert f"Log head: position {run.prepared[0].positions[1]}" in part
    # fetched text is escaped in HTML, verbatim in plain text
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert SCRIPT in text

    everything, _ = parts(by_to["all@example.org"])
    assert "21st Century Cures Act" in everything and JP_TITLE in everything
    assert "再生医療" in by_to["all@example.org"].get_body(("html",)).get_content()  # type: ignore[union-attr]

    sent = list(app.store.read(types=["DigestSent"]))
    assert {e.payload["subscription"] for e in sent} == {cn.id, world.id}
    assert all(e.payload["transport"] == "smtp" for e in sent)
    with app.db.read() as conn:
        cursors = dict(conn.execute(sa.select(digest_cursors.c.subscription_id, digest_cursors.c.position)).all())
    assert cursors == {cn.id: run.prepared[0].positions[1], world.id: run.prepared[1].positions[1]}
    assert run.prepared[0].positions == (cn_created + 1, changes[-1].position + 1)


def test_cursor_never_skips_or_repeats_an_event(app: App, mailbox: Mailbox) -> None:
    register_record(app)
    sub = subscribing.subscribe(app, "qa@example.org")
    transport = SmtpTransport(mailbox.url)
    (welcome,) = digesting.run_digests(app, transport=transport).prepared  # the welcome, with nothing new
    assert welcome.count == 0 and "welcome: 3 items of the record match" in welcome.subject
    assert digesting.run_digests(app, transport=transport).prepared == []  # empty period: nothing sent
    assert len(mailbox.messages) == 1

    first = record_changes(app)
    one = digesting.run_digests(app, transport=transport).prepared
    assert [p.count for p in one] == [4]  # three items and one page, one entry each
    assert digesting.run_digests(app, transport=transport).prepared == []  # nothing new: nothing twice

    later = app.store.append([NewEvent("instrument/us-cures-act", "InstrumentRepealed",
                                       {"id": "us-cures-act", "step": "repealed"}, valid_from="2030")])
    two = digesting.run_digests(app, transport=transport).prepared
    assert [p.count for p in two] == [1]
    assert two[0].positions[0] == one[0].positions[1] + 1
    assert one[0].positions[0] <= first[0].position and later[0].position <= two[0].positions[1]
    text2, _ = parts(mailbox.messages[2])
    assert "repealed" in text2 and "published" not in text2
    prepared = [e.payload["positions"] for e in app.store.read(types=["DigestPrepared"])]
    assert prepared == [list(welcome.positions), list(one[0].positions), list(two[0].positions)]
    assert {e.payload["subscription"] for e in app.store.read(types=["DigestSent"])} == {sub.id}


def test_smtp_down_leaves_the_digest_queued_reported_and_retried(app: App) -> None:
    register_record(app)
    subscribing.subscribe(app, "qa@example.org")
    record_changes(app)
    port = free_port()  # nothing listens here yet
    down = SmtpTransport(f"smtp://127.0.0.1:{port}", timeout=5)

    run = digesting.run_digests(app, transport=down)
    assert run.report is not None and run.report.sent == []
    ((message_id, _, error, attempts),) = run.report.failed
    assert f"127.0.0.1:{port}" in error and attempts == 1
    again = digesting.run_digests(app, transport=down)  # still down: no second digest, one more attempt
    assert again.prepared == [] and again.report is not None and again.report.failed[0][3] == 2
    assert list(app.store.read(types=["DigestSent"])) == []
    with app.db.read() as conn:
        row = conn.execute(sa.select(digest_outbox.c.status, digest_outbox.c.last_error)).one()
    assert row.status == "prepared" and str(port) in row.last_error  # queued: "failed" is final

    box = Mailbox(port)
    try:
        final = digesting.run_digests(app, transport=down)
        assert final.report is not None and [m for m, _, _ in final.report.sent] == [message_id]
        assert [m["Message-ID"] for m in box.messages] == [message_id]
    finally:
        box.stop()
    assert [e.payload["message_id"] for e in app.store.read(types=["DigestSent"])] == [message_id]


def test_send_empty_setting_sends_a_digest_with_nothing_new(db_url: str, tmp_path, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    from tests.digests.conftest import make_app
    from tracker import migrate
    from tracker.core import Database

    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    app = make_app(db_url, tmp_path / "home", TRACKER_SEND_EMPTY="true", TRACKER_SMTP_URL=mailbox.url)
    try:
        subscribing.subscribe(app, "qa@example.org", jurisdictions=["EU"])
        digesting.run_digests(app)  # the welcome
        run = digesting.run_digests(app)
        assert [p.count for p in run.prepared] == [0] and len(mailbox.messages) == 2
        text, _ = parts(mailbox.messages[1])
        assert "Nothing new since the last digest." in text and run.prepared[0].subject.endswith(": nothing new")
    finally:
        app.close()


def test_concurrent_prepares_record_one_digest_per_subscription(app: App, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading

    from tests.digests.conftest import make_app

    register_record(app)
    subs = [subscribing.subscribe(app, f"reader{n}@example.org") for n in range(3)]
    record_changes(app)
    apps = [make_app(db_url, tmp_path / "home") for _ in range(3)]
    results: list[list[digesting.Prepared]] = []
    start = threading.Barrier(len(apps))

    def prepare(other: App) -> None:
        start.wait(timeout=30)
        results.append(digesting.prepare_digests(other))

    threads = [threading.Thread(target=prepare, args=(other,)) for other in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for other in apps:
        other.close()
    assert len(results) == 3
    made = sorted(p.subscription_id for batch in results for p in batch)
    assert made == sorted(s.id for s in subs)
    prepared = [e.payload["subscription"] for e in app.store.read(types=["DigestPrepared"])]
    assert sorted(prepared) == made
