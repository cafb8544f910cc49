"""Headless Chromium for the browser tests: the system's chromium and chromium-driver (Debian
packages), driven by Selenium. ``browser_or_skip`` says in one line why the tests cannot run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

OUTPUT = Path(os.environ.get("TRACKER_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output")) / "browser"


def missing() -> str | None:
    """Why the browser tests cannot run here ("" or None when they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "no chromium (apt-get install chromium chromium-driver fonts-noto-cjk; `make test` does it as root)"
    if not shutil.which("chromedriver"):
        return "no chromedriver (apt-get install chromium-driver)"
    return None


def start_browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--lang=en-US"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    driver.set_page_load_timeout(30)
    return driver


def screenshot(driver: Any, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    target = OUTPUT / f"{name}.png"
    driver.save_screenshot(str(target))
    return target
