"""The triage queue on the web: proposals listed and shown with their evidence and match; decisions
as forms (a signed-in analyst, CSRF) or API calls (a bearer token) through the triage services."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.monitoring.conftest import Clock
from tests.web.conftest import TOKEN_HEADER, populate_triage, web_settings
from tracker import migrate
from tracker.app import App
from tracker.services import record_queries
from tracker.web import create_app

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def queue(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, App, str]]:
    settings = web_settings(db_url, tmp_path / "home", web__trusted_user_header="X-Forwarded-User",
                            web__trusted_proxies="127.0.0.1")
    app = App(settings, clock=Clock())  # type: ignore[arg-type]
    migrate.upgrade(app.db)
    proposal = populate_triage(app)
    # Requests come from 127.0.0.1, the trusted proxy.
    with TestClient(create_app(app), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
        yield client, app, proposal
    app.close()


def test_queue_and_proposal_show_evidence_and_match(queue: tuple[TestClient, App, str]) -> None:
    client, _, proposal = queue
    listed = client.get("/api/triage", params={"state": "open"}).json()["proposals"]
    assert [p["id"] for p in listed] == [proposal] and listed[0]["match"] == "us-potency-guidance"
    page = client.get(f"/triage/{proposal}")
    assert page.status_code == 200 and "us-potency-guidance" in page.text and "2023-28295" in page.text
    assert 'id="accept-form"' in page.text
    assert client.get("/triage").status_code == 200
    assert client.get("/api/triage/p-000000000000").status_code == 404
    assert client.get("/api/triage/../../etc").status_code == 404
    assert client.get("/api/triage", params={"state": "maybe"}).status_code == 400


def test_deciding_needs_an_identified_analyst(queue: tuple[TestClient, App, str]) -> None:
    client, app, proposal = queue
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(f"/triage/{proposal}").text)
    assert token is not None
    anonymous = client.post(f"/triage/{proposal}/reject", data={"reason": "dup", "csrf_token": token.group(1)})
    assert anonymous.status_code == 403 and "identified analyst" in anonymous.text
    with TestClient(create_app(app), base_url="http://127.0.0.1", client=("10.1.2.3", 50000)) as outsider:
        page = outsider.get(f"/triage/{proposal}", headers={"X-Forwarded-User": "mallory"})
        assert "mallory" not in page.text   # the header is believed only from the trusted proxy


def test_accept_by_api_token_changes_the_items_history(queue: tuple[TestClient, App, str]) -> None:
    client, app, proposal = queue
    before = len(record_queries.history(app.store, "us-potency-guidance"))
    done = client.post(f"/api/triage/{proposal}/accept", content=b"note=looks+right", headers={**FORM, **TOKEN_HEADER})
    assert done.status_code == 200, done.text
    assert done.json()["item_id"] == "us-potency-guidance" and done.json()["type"] == "ProposalAccepted"
    history = client.get("/api/items/us-potency-guidance").json()["history"]
    assert len(history) == before + 1
    step = history[-1]
    assert (step["step"], step["valid_from"], step["actor"]) == ("drafted", "2023-12-28", "alice")
    assert client.get(f"/api/triage/{proposal}").json()["state"] == "accepted"
    again = client.post(f"/api/triage/{proposal}/accept", content=b"", headers={**FORM, **TOKEN_HEADER})
    assert again.status_code == 400   # an accepted proposal cannot be accepted twice


def test_forms_from_a_proxy_signed_in_analyst_need_csrf(queue: tuple[TestClient, App, str]) -> None:
    client, app, proposal = queue
    who = {"X-Forwarded-User": "bob"}
    page = client.get(f"/triage/{proposal}", headers=who)
    assert "signed in: bob (proxy)" in page.text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token is not None
    forged = client.post(f"/triage/{proposal}/assign", data={"to": "carol"}, headers=who)
    assert forged.status_code == 403
    assigned = client.post(f"/triage/{proposal}/assign", data={"to": "carol", "csrf_token": token.group(1)},
                           headers=who, follow_redirects=False)
    assert assigned.status_code == 303 and assigned.headers["location"] == f"/triage/{proposal}?done=assign"
    shown = client.get(f"/api/triage/{proposal}").json()
    assert shown["assignee"] == "carol" and shown["decisions"][-1]["actor"] == "bob"
    bad_day = client.post(f"/triage/{proposal}/defer", data={"until": "2026-02-30", "csrf_token": token.group(1)},
                          headers=who)
    assert bad_day.status_code == 400
    unknown = client.post(f"/triage/{proposal}/approve", data={"csrf_token": token.group(1)}, headers=who)
    assert unknown.status_code == 400
