"""Fixtures of the web tests: an App on each backend with a small bilingual record, a monitored page
that changed (fetched from a real local server, with a <script> in its text), and a subscription."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.digests.conftest import record_changes, register_record
from tests.fetching.localserver import LocalServer
from tests.monitoring.conftest import Clock, html, make_settings
from tracker import migrate
from tracker.app import App
from tracker.services import sources_admin, subscriber_page, subscribing
from tracker.services.checking import check_sources
from tracker.web import create_app

SCRIPT = "<script>document.title='pwned'</script>"
PAGE_V1 = "<p>细胞治疗产品临床试验技术指导原则（征求意见稿）</p><p>第一条 总则</p>"
PAGE_V2 = ("<p>细胞治疗产品临床试验技术指导原则（正式稿）</p><p>第一条 总则</p>"
           "<pre>&lt;script&gt;document.title='pwned'&lt;/script&gt;</pre>")
TOKEN_HEADER = {"Authorization": "Bearer trk_test-token-for-alice"}


@dataclass
class Site:
    app: App
    client: TestClient
    token: str  # an unsubscribe token
    subscription: str


def web_settings(db_url: str, home: Path, **overrides: object) -> object:
    from tracker.web.auth import hash_token

    base = {"home": str(home), "web__tokens": f"alice:sha256:{hash_token('trk_test-token-for-alice')}"}
    base.update(overrides)  # type: ignore[arg-type]
    return make_settings(db_url, **base)


def populate(app: App, server: LocalServer, clock: Clock) -> tuple[str, str]:
    register_record(app)
    record_changes(app)
    page = {"body": PAGE_V1}
    server.route("/notice", lambda _seen: html(page["body"]))
    sources_admin.add_source(app, server.url("/notice"), source_id="src-local", title="本地通知 local notices",
                              items=["cn-ct-guideline"])
    check_sources(app, ["src-local"])
    page["body"] = PAGE_V2
    clock.advance(days=1)
    check_sources(app, ["src-local"])
    info = subscribing.subscribe(app, "reader@example.org", jurisdictions=["CN"], cadence="weekly")
    return subscriber_page.token_of(app, info.id), info.id


@pytest.fixture
def site(db_url: str, tmp_path: Path, server: LocalServer) -> Iterator[Site]:
    clock = Clock()
    app = App(web_settings(db_url, tmp_path / "home"), clock=clock)  # type: ignore[arg-type]
    migrate.upgrade(app.db)
    token, subscription = populate(app, server, clock)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        yield Site(app, client, token, subscription)
    app.close()


def populate_triage(app: App) -> str:
    """The triage tests' small record, a Federal Register source and one entry: one open proposal
    (a draft guidance matching us-potency-guidance); returns its id."""
    from tests.triage.conftest import add_record, record_entries
    from tests.triage.test_decisions import FR, POTENCY
    from tracker.services import proposing, triage

    add_record(app)
    sources_admin.add_source(app, FR, source_id="fr", kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY)
    proposing.raise_proposals(app)
    [proposal] = triage.list_proposals(app, state="open")
    return proposal.id
