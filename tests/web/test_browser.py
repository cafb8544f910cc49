"""Real browser tests: headless Chromium against `tracker web` on 127.0.0.1 (a subprocess on a free
port). Screenshots of the main pages go to test-output/browser/ (TRACKER_TEST_OUTPUT to move it).

They skip, with one line saying why, where Chromium, its driver or Selenium is missing; `make test`
installs the Debian packages where it runs as root, and .ci/run does.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer
from tests.monitoring.conftest import Clock
from tests.web import browser
from tests.web.conftest import SCRIPT, populate, populate_triage, web_settings
from tracker import migrate
from tracker.app import App
from tracker.services import subscriber_page, subscribing

REASON = browser.missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(REASON), reason=REASON or "")]


@dataclass
class Served:
    base: str
    token: str
    subscription: str
    proposal: str
    db_url: str
    home: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("web-browser")
    db_url = f"sqlite:///{home / 'tracker.db'}"
    clock = Clock()
    app = App(web_settings(db_url, home), clock=clock)  # type: ignore[arg-type]
    migrate.upgrade(app.db)
    server = LocalServer().start()
    try:
        token, subscription = populate(app, server, clock)
        proposal = populate_triage(app)
    finally:
        server.stop()
    app.close()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker", "web", "--host", "127.0.0.1", "--port", str(port)],
        env=cli_env(db_url, TRACKER_HOME=str(home), TRACKER_WEB_TRUSTED_USER_HEADER="X-Forwarded-User",
                    TRACKER_WEB_TRUSTED_PROXIES="127.0.0.1"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get_json(base + "/healthz")["database"] == "ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"tracker web did not start: {process.stderr.read().decode() if process.stderr else ''}"
                )
            time.sleep(0.2)
        yield Served(base, token, subscription, proposal, db_url, home)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    chrome = browser.start_browser()
    try:
        yield chrome
    finally:
        chrome.quit()


def by_css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def then_wait(driver: Any, element: Any, act: str = "click") -> None:
    """Click (or submit) an element and wait for the page it leads to (the old one goes stale)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    getattr(element, act)()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(element))


def all_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def test_browse_the_record_and_open_an_item(served: Served, driver: Any) -> None:
    driver.get(served.base + "/")
    assert int(by_css(driver, "#total").text) == get_json(served.base + "/api/items")["total"] > 3
    browser.screenshot(driver, "record")
    search = by_css(driver, "#q")
    search.send_keys("临床试验")
    then_wait(driver, search, "submit")
    assert by_css(driver, "#total").text == "1"
    then_wait(driver, by_css(driver, "table.record tbody a"))
    assert by_css(driver, "#item-id").text == "cn-ct-guideline"
    assert "细胞治疗产品临床试验技术指导原则" in by_css(driver, "h1").text
    steps = [row.text for row in all_css(driver, "#timeline tbody tr")]
    assert any("2025-09-28" in s and "published" in s for s in steps)
    assert any("date not given" in s for s in steps)
    browser.screenshot(driver, "item")


def test_run_a_replay_and_follow_its_link(served: Served, driver: Any) -> None:
    driver.get(served.base + "/items/jp-rm-guidance")
    form = by_css(driver, "#replay-form")
    field = form.find_element("name", "valid_at")
    field.clear()
    field.send_keys("2025-12-01")
    then_wait(driver, form, "submit")
    count = by_css(driver, "#total").text
    expected = get_json(f"{served.base}/api/replay?valid_at=2025-12-01&jurisdiction=JP")["items"]
    assert count == str(len(expected)) and "2025-10 (month)" in by_css(driver, "#replay-results").text
    browser.screenshot(driver, "replay")
    link = by_css(driver, "#permalink").get_attribute("href")
    driver.get(link)
    assert by_css(driver, "#total").text == count


def test_get_never_unsubscribes_and_one_click_post_does(served: Served, driver: Any) -> None:
    page = f"{served.base}/unsubscribe/{served.token}"
    for _ in range(2):
        driver.get(page)
        assert by_css(driver, "#status").text == "active"
    assert get_json(f"{served.base}/api/unsubscribe/{served.token}")["status"] == "active"
    browser.screenshot(driver, "subscription")
    # RFC 8058: what a mail client sends, with no cookie and no login.
    request = urllib.request.Request(page, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    driver.get(page)
    assert by_css(driver, "#status").text == "cancelled"


def test_the_unsubscribe_button_works_in_the_browser(served: Served, driver: Any) -> None:
    app = App(web_settings(served.db_url, served.home))  # type: ignore[arg-type]
    try:
        info = subscribing.subscribe(app, "second@example.org", jurisdictions=["JP"])
        token = subscriber_page.token_of(app, info.id)
    finally:
        app.close()
    driver.get(f"{served.base}/unsubscribe/{token}")
    then_wait(driver, by_css(driver, "#unsubscribe-form button"))
    assert "You are unsubscribed" in by_css(driver, "#done").text
    assert by_css(driver, "#status").text == "cancelled"


def test_an_injected_script_in_a_fetched_page_stays_inert(served: Served, driver: Any) -> None:
    versions = get_json(f"{served.base}/api/sources/src-local")["versions"]
    driver.get(f"{served.base}/sources/src-local/changes/{versions[0]['id']}")
    assert driver.title != "pwned"
    assert SCRIPT in by_css(driver, "#diff").text          # shown as text, never run
    assert driver.execute_script("return document.scripts.length") == 0
    assert all_css(driver, "#diff ins") and all_css(driver, "#diff del")
    browser.screenshot(driver, "change")
    driver.get(served.base + "/audit")
    assert by_css(driver, "#verify-result").get_attribute("class") == "ok"
    browser.screenshot(driver, "audit")
    driver.get(served.base + "/sources")
    browser.screenshot(driver, "sources")


def test_accept_a_proposal_and_see_the_items_history_change(served: Served, driver: Any) -> None:
    driver.get(served.base + "/items/us-potency-guidance")
    before = len(all_css(driver, "#timeline tbody tr"))
    # The analyst signed in at the reverse proxy (127.0.0.1 is the trusted proxy here).
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"X-Forwarded-User": "alice"}})
    try:
        driver.get(served.base + "/triage")
        browser.screenshot(driver, "triage")
        then_wait(driver, by_css(driver, f"#proposals a[href='/triage/{served.proposal}']"))
        assert by_css(driver, "#proposal-state").text.startswith("open")
        browser.screenshot(driver, "proposal")
        then_wait(driver, by_css(driver, "#accept-form button"))
        assert by_css(driver, "#proposal-state").text.startswith("accepted")
        assert "alice" in by_css(driver, "#decisions").text
    finally:
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    driver.get(served.base + "/items/us-potency-guidance")
    rows = [row.text for row in all_css(driver, "#timeline tbody tr")]
    assert len(rows) == before + 1
    assert "2023-12-28" in rows[-1] and "drafted" in rows[-1] and f"triage:{served.proposal}" in rows[-1]
    browser.screenshot(driver, "item-after-triage")
