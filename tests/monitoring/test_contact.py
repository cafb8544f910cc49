"""While TRACKER_CONTACT is the placeholder, checking real sites warns once (issue 10)."""

from __future__ import annotations

import logging

import pytest

from tests.fetching.localserver import LocalServer
from tests.monitoring.conftest import Clock, add, html, make_settings
from tracker import migrate
from tracker.app import App
from tracker.fetching.config import PLACEHOLDER_CONTACT
from tracker.services import checking


def test_the_placeholder_contact_warns_once_for_real_hosts_only(
    db_url: str, clock: Clock, server: LocalServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checking, "_contact_warned", False)
    app = App(make_settings(db_url, fetch__contact=PLACEHOLDER_CONTACT), clock=clock)
    migrate.upgrade(app.db)
    server.route("/p", html("<p>local</p>"))
    add(app, "local", server.url("/p"))
    caplog.set_level(logging.WARNING, logger="tracker.services.checking")
    checking.check_sources(app, ["local"])
    assert "TRACKER_CONTACT" not in caplog.text                  # loopback only: nobody to bother
    add(app, "real", "https://nonexistent.invalid/page")         # .invalid never resolves: no traffic
    for _ in range(2):
        clock.advance(days=1)
        checking.check_sources(app, all=True)
    warnings = [r.getMessage() for r in caplog.records if "TRACKER_CONTACT" in r.getMessage()]
    assert len(warnings) == 1 and "nonexistent.invalid" in warnings[0] and PLACEHOLDER_CONTACT in warnings[0]
    app.close()
