"""Subscriptions that respect the subscriber: no silent re-subscription, no duplicates, no dead one-click link."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.digests.conftest import make_app, register_record
from tests.support.smtp import Mailbox
from tracker.app import App
from tracker.errors import ConfigError
from tracker.schema.operational import subscriber_suppressions
from tracker.services import digesting, main_job, subscribing
from tracker.settings import load_settings


def active(app: App) -> list[subscribing.SubscriptionInfo]:
    return subscribing.list_subscriptions(app, include_cancelled=False)


def test_same_address_and_filters_give_one_subscription(app: App) -> None:
    register_record(app)
    first = subscribing.subscribe(app, "qa@example.org", jurisdictions=["CN"], kinds=["guidance"])
    again = subscribing.subscribe(app, " QA@Example.org".replace("QA", "qa"), jurisdictions=["cn"], kinds=["guidance"])
    assert again.id == first.id and again.existing and not first.existing
    other = subscribing.subscribe(app, "qa@example.org", jurisdictions=["CN"])
    assert other.id != first.id and [s.id for s in active(app)] == [first.id, other.id]
    assert [e.type for e in app.store.read(types=["SubscriptionCreated"])] == ["SubscriptionCreated"] * 2


def test_run_never_resubscribes_an_address_that_unsubscribed_or_was_forgotten(app: App) -> None:
    register_record(app)
    made, notes = main_job.ensure_subscribed(app, ["team@example.org", "ops@example.org"], "weekly")
    assert len(made) == 2 and notes == []
    assert main_job.ensure_subscribed(app, ["team@example.org"], "weekly") == ([], [])  # already subscribed

    subscribing.unsubscribe(app, "team@example.org")
    made, notes = main_job.ensure_subscribed(app, ["team@EXAMPLE.org"], "weekly")
    assert made == [] and notes == ["not subscribed again: team@EXAMPLE.org (unsubscribed; "
                                    "`tracker subscribe` does it explicitly)"]

    subscribing.forget(app, "ops@example.org")
    made, notes = main_job.ensure_subscribed(app, ["ops@example.org"], "weekly")
    assert made == [] and "forgotten at its owner's request" in notes[0]
    with app.db.read() as conn:  # the suppression keeps a digest, never the address
        stored = conn.execute(sa.select(subscriber_suppressions)).all()
        dump = "\n".join(str(tuple(r)) for r in stored)
    assert len(stored) == 1 and "ops@" not in dump and "example.org" not in dump
    assert [s.address for s in active(app)] == []

    # The owner's own explicit subscribe is honoured, and lifts the suppression.
    back = subscribing.subscribe(app, "ops@example.org")
    assert back.address == "ops@example.org" and not back.existing
    with app.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscriber_suppressions)).scalar() == 0


@pytest.mark.parametrize("value", ["http://tracker.example.org/u", "https://tracker.invalid/unsubscribe", "ftp://x.org",
                                   "tracker.example.org/u"])
def test_unsubscribe_base_must_be_https_or_loopback_http(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mail.unsubscribe_base"):
        load_settings(environ={"TRACKER_HOME": str(tmp_path), "TRACKER_UNSUBSCRIBE_BASE": value})
    for good in ("https://tracker.example.org/unsubscribe/", "http://127.0.0.1:8080/u", "http://localhost/u", ""):
        settings = load_settings(environ={"TRACKER_HOME": str(tmp_path), "TRACKER_UNSUBSCRIBE_BASE": good})
        assert settings["mail.unsubscribe_base"] == good.rstrip("/")


def test_one_click_header_only_with_a_configured_endpoint(db_url: str, tmp_path: Path, mailbox: Mailbox) -> None:
    from tracker import migrate
    from tracker.core import Database

    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    app = make_app(db_url, tmp_path / "home", TRACKER_SMTP_URL=mailbox.url,
                   TRACKER_UNSUBSCRIBE_BASE="https://tracker.example.org/unsubscribe")
    try:
        subscribing.subscribe(app, "qa@example.org")
        digesting.run_digests(app)
        (message,) = mailbox.messages
        unsubscribe = str(message["List-Unsubscribe"])
        assert unsubscribe.startswith("<mailto:") and "<https://tracker.example.org/unsubscribe/" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    finally:
        app.close()
