"""A digest's List-Unsubscribe link, followed as a mail client does (RFC 8058), and reading rules."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from tests.digests.conftest import make_app, register_record
from tests.support.smtp import Mailbox
from tests.web.conftest import TOKEN_HEADER, web_settings
from tracker import migrate
from tracker.app import App
from tracker.core import Database
from tracker.services import digesting, subscribing
from tracker.web import create_app


def test_the_digests_one_click_link_unsubscribes(db_url: str, tmp_path: Path, mailbox: Mailbox) -> None:
    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    app = make_app(db_url, tmp_path / "home", TRACKER_SMTP_URL=mailbox.url,
                   TRACKER_UNSUBSCRIBE_BASE="http://127.0.0.1/unsubscribe")
    try:
        register_record(app)
        info = subscribing.subscribe(app, "qa@example.org")
        digesting.run_digests(app)
        (message,) = mailbox.messages
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        found = re.search(r"<(http://127\.0\.0\.1/unsubscribe/[^>]+)>", str(message["List-Unsubscribe"]))
        assert found is not None
        with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
            assert client.get(found.group(1)).status_code == 200          # a scanner's prefetch
            assert subscribing.get_subscription(app, info.id).status == "active"
            client.cookies.clear()
            done = client.post(found.group(1), content=message["List-Unsubscribe-Post"].encode(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
            assert done.status_code == 200
        assert subscribing.get_subscription(app, info.id).status == "cancelled"
    finally:
        app.close()


def test_closed_reading_asks_for_a_token_but_one_click_stays_open(db_url: str, tmp_path: Path) -> None:
    app = App(web_settings(db_url, tmp_path / "home", web__open_reading=False))  # type: ignore[arg-type]
    migrate.upgrade(app.db)
    try:
        register_record(app)
        info = subscribing.subscribe(app, "qa@example.org")
        from tracker.services import subscriber_page

        token = subscriber_page.token_of(app, info.id)
        with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
            refused = client.get("/api/items")
            assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
            assert client.get("/").status_code == 401
            assert client.get("/upcoming.ics").status_code == 401
            assert client.get("/api/items", headers=TOKEN_HEADER).json()["total"] == 3
            assert client.get(f"/unsubscribe/{token}").status_code == 200
            assert client.get("/healthz").status_code == 200
    finally:
        app.close()


def test_healthz_is_503_when_the_database_is_away(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    app = App(web_settings(db_url, tmp_path / "home"))  # type: ignore[arg-type]
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
            assert client.get("/healthz").status_code == 200
            app.close()
            (tmp_path / "tracker.db").unlink()
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "down"
            page = client.get("/")
            assert page.status_code == 503 and "Traceback" not in page.text
    finally:
        app.close()
