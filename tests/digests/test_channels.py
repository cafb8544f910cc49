"""Channels besides e-mail: a real webhook on 127.0.0.1 (apprise json://), exactly once, masked, erasable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.digests.conftest import CN_TITLE, record_changes, register_record
from tests.support.webhook import Webhook
from tracker.app import App
from tracker.cli.main import cli
from tracker.core import NewEvent
from tracker.errors import ValidationError
from tracker.schema.operational import channel_outbox, subscription_channels
from tracker.services import digesting, personal, subscribing


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


def log_text(app: App) -> str:
    with app.db.read() as conn:
        return "\n".join(
            f"{r.payload}{r.metadata}" for r in conn.execute(sa.text("SELECT payload, metadata FROM events"))
        )


def test_each_digest_goes_to_the_channel_exactly_once_and_no_url_enters_the_log(app: App, webhook: Webhook) -> None:
    register_record(app)
    sub = subscribing.subscribe(app, "qa@example.org", notify=[webhook.url()])
    assert sub.channels == (f"json://127.0.0.1:{webhook.port}/…",)
    first = digesting.run_digests(app)
    assert first.report is not None and not first.report.failed
    assert len(webhook.received) == 1 and webhook.paths == ["/hook/s3cr3t-token"]
    assert webhook.received[0]["title"] == first.prepared[0].subject
    assert webhook.received[0]["message"].startswith("Welcome: 3 items of the record match.\nLog head: position")
    assert digesting.run_digests(app).prepared == [] and len(webhook.received) == 1  # nothing new, nothing twice

    record_changes(app)
    digesting.run_digests(app)
    assert len(webhook.received) == 2
    body = webhook.received[1]["message"]
    assert CN_TITLE in body and "https://www.cde.org.cn/ct" in body
    notified = list(app.store.read(types=["DigestNotified"]))
    assert len(notified) == 2 and all(e.payload["channel"].startswith("chn-") for e in notified)
    text = log_text(app)
    assert "s3cr3t" not in text and f"127.0.0.1:{webhook.port}" not in text and "json://" not in text


def test_a_crash_before_sending_resends_the_prepared_message_and_a_down_channel_stays_queued(
    app: App, webhook: Webhook,
) -> None:
    register_record(app)
    subscribing.subscribe(app, "qa@example.org", notify=[webhook.url()])
    digesting.run_digests(app)  # the welcome
    record_changes(app)
    (prepared,) = digesting.prepare_digests(app)  # ... and the process dies before sending
    with app.db.read() as conn:
        row = conn.execute(sa.select(channel_outbox.c.message_id, channel_outbox.c.content)
                           .order_by(channel_outbox.c.created_at)).all()[-1]
        key = personal.keys_of(conn, [prepared.subscription_id])[prepared.subscription_id][1]
    _, queued = personal.open_note(key, row.message_id, bytes(row.content))  # stored only sealed
    app.store.append([NewEvent("instrument/us-cures-act", "InstrumentRepealed",
                               {"id": "us-cures-act", "step": "repealed", "date": "2030"}, valid_from="2030")])

    webhook.status = 503  # the channel is down: the message stays queued, e-mail goes on
    down = digesting.run_digests(app)
    assert down.report is not None and [m for m, _, _ in down.report.sent] == [prepared.message_id]
    ((channel_message, _, error, attempts),) = down.report.failed
    assert channel_message.startswith(prepared.message_id + "#chn-") and attempts == 1
    assert f"json://127.0.0.1:{webhook.port}/…" in error and "s3cr3t" not in error
    assert len(webhook.received) == 1  # the welcome only

    webhook.status = 200
    digesting.run_digests(app)
    assert len(webhook.received) == 3  # the queued message, then the next digest's
    assert webhook.received[1]["message"] == queued  # the same message as prepared, not re-rendered
    assert "repealed" in webhook.received[2]["message"]
    with app.db.read() as conn:
        rows = conn.execute(sa.select(channel_outbox.c.status, channel_outbox.c.attempts)
                            .order_by(channel_outbox.c.created_at)).all()
    assert [tuple(r) for r in rows] == [("sent", 1), ("sent", 2), ("sent", 1)]


def test_channel_urls_are_validated_masked_everywhere_and_erased_by_forget(app: App, webhook: Webhook) -> None:
    register_record(app)
    before = app.store.count()
    with pytest.raises(ValidationError, match="--notify"):
        subscribing.subscribe(app, "qa@example.org", notify=["nonsense://whatever/s3cr3t"])
    assert app.store.count() == before

    env = {"TRACKER_HOME": str(app.settings.home), "TRACKER_DATABASE_URL": app.settings.database_url}
    run = CliRunner().invoke
    made = run(cli, ["subscribe", "qa@example.org", "--notify", webhook.url(), "--notify",
                     "slack://T1aaaaaa/B2bbbbbb/C3ccccccccccccc/#regulatory"], env=env)
    assert made.exit_code == 0, made.output
    listed = run(cli, ["subscriptions", "list"], env=env).output
    sent = run(cli, ["digest", "--send"], env=env).output  # the Slack channel fails: no internet
    for output in (made.output, listed, sent):
        assert "s3cr3t" not in output and "T1aaaaaa" not in output and "C3cccc" not in output
    assert f"json://127.0.0.1:{webhook.port}/…" in listed and "slack://…/…" in listed
    assert "channel slack://…/…" in sent and len(webhook.received) == 1

    subscribing.forget(app, "qa@example.org")
    with app.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscription_channels)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(channel_outbox)).scalar() == 0
    assert "s3cr3t" not in log_text(app)
