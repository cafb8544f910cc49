"""Route tests through the ASGI app (Starlette's test client) on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.digests.conftest import CN_TITLE
from tests.web.conftest import SCRIPT, TOKEN_HEADER, Site
from tracker.core import NewEvent
from tracker.services import subscribing
from tracker.web.security import CSP


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def test_record_lists_items_with_both_titles_and_filters(site: Site) -> None:
    page = site.client.get("/")
    assert page.status_code == 200
    assert CN_TITLE in page.text and "Technical Guideline for Clinical Trials of Cell Therapy Products" in page.text
    assert page.headers["content-security-policy"] == CSP
    api = site.client.get("/api/items", params={"jurisdiction": "CN"}).json()
    assert [row["id"] for row in api["items"]] == ["cn-ct-guideline"]
    assert api["items"][0]["url"] == "https://www.cde.org.cn/ct"
    assert site.client.get("/api/items", params={"q": "细胞治疗"}).json()["total"] == 1
    assert site.client.get("/api/items", params={"q": "cures"}).json()["items"][0]["id"] == "us-cures-act"
    assert site.client.get("/api/items", params={"topic": "stem-cell"}).json()["total"] == 1
    assert site.client.get("/api/items", params={"kind": "instrument", "status": "published"}).json()["total"] == 2


def test_item_page_keeps_the_two_times_apart(site: Site) -> None:
    page = site.client.get("/items/jp-rm-guidance")
    assert page.status_code == 200
    assert "2025-10 (month)" in page.text            # the world's date with its precision
    assert "date not given" in page.text              # the registration itself states no date
    data = site.client.get("/api/items/jp-rm-guidance").json()
    published = [h for h in data["history"] if h["step"] == "published"][0]
    assert published["valid_from"] == "2025-10" and published["precision"] == "month"
    assert published["recorded_at"].startswith("20")  # when the tracker learned it, kept apart


def test_item_page_links_the_changes_of_its_monitored_pages(site: Site) -> None:
    data = site.client.get("/api/items/cn-ct-guideline").json()
    changes = data["page_changes"]
    assert [c["source_id"] for c in changes] == ["src-local", "src-local"] and changes[-1]["first"] is True
    page = site.client.get("/items/cn-ct-guideline")
    assert f'href="/sources/src-local/changes/{changes[0]["version"]}"' in page.text


def test_replay_link_reproduces_it(site: Site) -> None:
    first = site.client.get("/api/replay", params={"as_of": "3", "valid_at": "2026-01-01"}).json()
    assert first["as_of_position"] == 3
    assert {item["id"] for item in first["items"]} == {"cn-ct-guideline", "jp-rm-guidance", "us-cures-act"}
    page = site.client.get("/replay", params={"as_of": "3", "valid_at": "2026-01-01"})
    link = re.search(r'id="permalink" href="([^"]+)"', page.text)
    assert link is not None
    again = site.client.get("/api" + link.group(1).replace("&amp;", "&")).json()
    assert again["items"] == first["items"]


@pytest.mark.parametrize("url", [
    "/items/no-such-item", "/api/items/no-such-item", "/sources/nope", "/sources/src-local/changes/999999",
    "/sources/src-local/snapshots/999", "/unsubscribe/not-a-token",
    "/unsubscribe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/no/such/page",
])
def test_unknown_things_are_404(site: Site, url: str) -> None:
    response = site.client.get(url)
    assert response.status_code == 404, response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/replay?valid_at=2026-02-30",
        "/replay?as_of=yesterday",
        "/api/replay?as_of=2026-13-01",
        "/api/replay?as_of=99999999999999999999999",
        "/?jurisdiction=XX",
        "/api/items?page=0",
        "/api/items?kind=spaceship",
        "/upcoming?days=-1",
        "/api/upcoming?days=lots",
        "/sources?state=sleepy",
        "/sources/src-local/changes/abc",
        "/api/items?q=a+b+c+d+e+f+g+h+i",
    ],
)
def test_malformed_input_is_a_clear_400(site: Site, url: str) -> None:
    response = site.client.get(url)
    assert response.status_code == 400, response.text
    if url.startswith("/api/"):
        assert response.json()["error"]
    else:
        assert 'id="error-message"' in response.text


def test_sources_states_diff_and_raw_snapshot(site: Site) -> None:
    listed = site.client.get("/api/sources").json()
    assert {s["id"]: s["state"] for s in listed["sources"]}["src-local"] == "ok"
    versions = site.client.get("/api/sources/src-local").json()["versions"]
    assert len(versions) == 2
    newest = versions[0]["id"]
    change = site.client.get(f"/sources/src-local/changes/{newest}")
    assert change.status_code == 200
    assert "<del>征求意见</del>" in change.text and "<ins>正式</ins>" in change.text   # character-level marks
    assert SCRIPT not in change.text and "&lt;script&gt;" in change.text            # fetched text escaped
    raw = site.client.get(f"/sources/src-local/snapshots/{newest}")
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in raw.headers["content-security-policy"]
    assert "正式稿".encode() in raw.content


def test_upcoming_calendar_and_feed(site: Site) -> None:
    assert site.client.get("/upcoming").status_code == 200
    assert isinstance(site.client.get("/api/upcoming").json()["upcoming"], list)
    ics = site.client.get("/upcoming.ics")
    assert ics.status_code == 200 and ics.content.startswith(b"BEGIN:VCALENDAR")
    feed = site.client.get("/changelog.atom")
    assert feed.status_code == 200 and b"<feed" in feed.content and b"Log head: position" in feed.content


def test_audit_verifies_and_checks_a_witness(site: Site) -> None:
    audit = site.client.get("/api/audit").json()
    assert audit["verified"]["ok"] is True and audit["verified"]["head_position"] == audit["head"]["position"]
    page = site.client.get("/audit")
    assert "tracker-event/1" in page.text   # the chain's definition
    line = f"Log head: position {audit['head']['position']}, hash {audit['head']['hash']}"
    held = site.client.post("/audit/witness", data={"witness": line, "csrf_token": csrf_of(page.text)})
    assert held.status_code == 200 and 'id="witness-result" class="ok"' in held.text
    forged = f"Log head: position 2, hash {'0' * 64}"
    broken = site.client.post("/audit/witness", data={"witness": forged, "csrf_token": csrf_of(page.text)})
    assert broken.status_code == 409 and "rewritten" in broken.text


def test_forms_need_a_valid_csrf_token(site: Site) -> None:
    page = site.client.get("/audit")
    token = csrf_of(page.text)
    assert site.client.post("/audit/witness", data={"witness": "x"}).status_code == 403
    assert site.client.post("/audit/witness", data={"witness": "x", "csrf_token": "f" * 64}).status_code == 403
    site.client.cookies.clear()
    assert site.client.post("/audit/witness", data={"witness": "x", "csrf_token": token}).status_code == 403


def test_oversized_and_odd_forms_are_refused(site: Site) -> None:
    token = csrf_of(site.client.get("/audit").text)
    big = site.client.post("/audit/witness", data={"witness": "x" * 70_000, "csrf_token": token})
    assert big.status_code == 413
    odd = site.client.post(
        "/audit/witness", content=b"\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert odd.status_code == 400
    json_body = site.client.post("/audit/witness", json={"witness": "x"})
    assert json_body.status_code == 415
    assert site.client.put("/audit/witness").status_code == 405


def test_one_click_unsubscribe_and_the_get_that_does_not(site: Site) -> None:
    url = f"/unsubscribe/{site.token}"
    for _ in range(3):  # a mail scanner prefetching the link
        shown = site.client.get(url)
        assert shown.status_code == 200 and 'id="unsubscribe-form"' in shown.text
    assert subscribing.get_subscription(site.app, site.subscription).status == "active"
    site.client.cookies.clear()
    done = site.client.post(url, content=b"List-Unsubscribe=One-Click",
                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert subscribing.get_subscription(site.app, site.subscription).status == "cancelled"
    again = site.client.post(url, content=b"List-Unsubscribe=One-Click",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert again.status_code == 200 and "already cancelled" in again.text


def test_unsubscribe_post_without_the_one_click_body_is_refused(site: Site) -> None:
    response = site.client.post(f"/unsubscribe/{site.token}", content=b"x=1",
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code in (400, 403)
    assert subscribing.get_subscription(site.app, site.subscription).status == "active"
    by_id = site.client.post(f"/unsubscribe/{site.subscription}", content=b"List-Unsubscribe=One-Click",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert by_id.status_code == 404   # a subscription id (it is in the log) is not a token


def test_token_page_changes_filters(site: Site) -> None:
    page = site.client.get(f"/unsubscribe/{site.token}")
    changed = site.client.post(f"/unsubscribe/{site.token}/filters", data={
        "csrf_token": csrf_of(page.text), "jurisdiction": ["CN", "JP"], "kind": "guidance", "cadence": "daily"},
        follow_redirects=False)
    assert changed.status_code == 303
    fresh = site.client.get(changed.headers["location"])
    assert fresh.status_code == 200 and "CN" in fresh.text and "JP" in fresh.text and "daily" in fresh.text
    assert subscribing.get_subscription(site.app, site.subscription).status == "cancelled"
    # The replacement took over the token: links in digests already sent still reach the subscription.
    assert changed.headers["location"].startswith(f"/unsubscribe/{site.token}")
    again = site.client.get(f"/unsubscribe/{site.token}")
    assert again.status_code == 200 and "daily" in again.text


def test_tokens_and_reading_rules(site: Site) -> None:
    assert site.client.get("/api/items", headers=TOKEN_HEADER).status_code == 200
    bad = site.client.get("/api/items", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "this token is not valid"
    assert site.client.get("/api/items", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_healthz_and_metrics(site: Site) -> None:
    health = site.client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert health.json()["scheduler"]["alive"] is False   # no `tracker serve` beats here
    site.client.get("/audit")
    text = site.client.get("/metrics").text
    assert 'tracker_checks_total{outcome="changed"} 2' in text   # the local page's, and the record's fixture
    assert 'tracker_checks_total{outcome="baselined"} 1' in text
    assert 'tracker_sources{state="ok"} 1' in text
    assert "tracker_log_head_position " in text and "tracker_digest_queue 0" in text
    assert "tracker_last_verify_ok 1" in text


def test_item_page_shows_the_items_flags_and_provenance(site: Site) -> None:
    """Issue 16: a conflict with an official source is a flag a reader of the web page sees too."""
    site.app.store.append([NewEvent("fact/us-fact-rmat", "FactReported", {
        "id": "us-fact-rmat", "jurisdiction": "US", "kind": "fact", "title_zh": "RMAT申请", "title_en": "RMAT requests",
        "topics": [], "metric": "rmat-requests", "value": 471, "unit": "requests", "date": "2024-12",
        "attributes": {"external": True, "source": "CBER table <b>x</b>",
                       "flags": [{"type": "conflict", "against": "src-rmat", "note": "CBER's table differs"}]}},
        valid_from="2024-12")])
    page = site.client.get("/items/us-fact-rmat")
    assert page.status_code == 200
    assert "FLAG conflict (against src-rmat): CBER&#39;s table differs" in page.text
    assert "EXTERNAL (not in the review): CBER table &lt;b&gt;x&lt;/b&gt;" in page.text  # escaped, never markup


def test_metrics_show_the_last_verification_whoever_ran_it(site: Site) -> None:
    """`tracker verify` records its result: /metrics shows it though this web process verified nothing."""
    from tracker.services import auditing

    assert "tracker_last_verify_ok" not in site.client.get("/metrics").text
    report = auditing.verify_recorded(site.app.store, by="cli", at="2026-12-04T10:00:00Z")
    text = site.client.get("/metrics").text
    assert "tracker_last_verify_ok 1" in text
    assert f"tracker_last_verify_head_position {report.head_position}" in text
    run = auditing.last_run(site.app.db)
    assert run is not None and (run.by, run.ok, run.events) == ("cli", True, report.count)
