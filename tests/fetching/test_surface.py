"""The public surface of tracker.fetching is curated and pinned; httpx stays inside it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import tracker.fetching as fetching
from tracker.fetching import ERROR_CLASSES, FetchConfig
from tracker.fetching.client import parse_retry_after
from tracker.settings import load_settings

PUBLIC = {
    "BLOCKED", "CONNECT", "DNS", "ERROR_CLASSES", "HTTP_STATUS", "REDIRECT", "REFUSED_ADDRESS", "ROBOTS",
    "TIMEOUT", "TLS", "TOO_LARGE", "TRUNCATED", "UNDECODABLE", "UNSUPPORTED_SCHEME",
    "NORMALISERS", "PARSERS",
    "Entry", "FetchConfig", "FetchRequest", "FetchResult", "Fetcher", "Outcome", "Pacer", "UrlPolicy",
    "challenge_reason", "decode", "next_page_url", "normalise", "parse_entries", "parse_retry_after",
    "validate_filters",
}
TRACKER = Path(fetching.__file__).parents[1]


def test_public_surface_is_pinned() -> None:
    assert set(fetching.__all__) == PUBLIC
    assert all(hasattr(fetching, name) for name in fetching.__all__)


def test_error_classes_are_the_documented_strings() -> None:
    assert ERROR_CLASSES == {
        "dns", "connect", "timeout", "tls", "http-status", "blocked", "too-large", "truncated", "undecodable",
        "robots", "redirect", "refused-address", "unsupported-scheme",
    }


@pytest.mark.parametrize("cls", [fetching.FetchRequest, fetching.FetchResult, FetchConfig])
def test_result_types_are_frozen_and_free_of_httpx(cls: type) -> None:
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert not any("httpx" in str(f.type) for f in dataclasses.fields(cls))


def test_register_entries_are_immutable_and_free_of_httpx() -> None:
    # A NamedTuple, not a dataclass: registers build thousands at a time (bench_registers).
    entry = fetching.Entry("2024-1", "2024-05-01", "A rule")
    with pytest.raises(AttributeError):
        entry.title = "changed"  # type: ignore[misc]
    assert not any("httpx" in str(t) for t in fetching.Entry.__annotations__.values())


def test_only_the_fetching_package_imports_httpx() -> None:
    importers = {
        path.relative_to(TRACKER).as_posix()
        for path in TRACKER.rglob("*.py")
        if re.search(r"^\s*(import httpx|from httpx)", path.read_text(encoding="utf-8"), re.M)
    }
    assert importers and all(p.startswith("fetching/") for p in importers)


def test_config_from_settings(tmp_path: Path) -> None:
    environ = {"TRACKER_ALLOW_HOSTS": "localhost, 10.0.0.0/8", "TRACKER_FETCH_PER_HOST": "3",
               "TRACKER_CONTACT": "ops@example.org", "TRACKER_FETCH_MAX_BYTES": "1000"}
    (tmp_path / "tracker.toml").write_text("[fetch]\nhost_delay = 0.5\n", encoding="utf-8")
    settings = load_settings(config_path=tmp_path / "tracker.toml", environ=environ)
    cfg = FetchConfig.from_settings(settings.fetch)
    assert cfg.allow_hosts == ("localhost", "10.0.0.0/8")
    assert (cfg.per_host, cfg.max_bytes, cfg.concurrency, cfg.retries, cfg.host_delay) == (3, 1000, 16, 2, 0.5)
    assert cfg.user_agent == "tracker/0.1.0 (+mailto:ops@example.org)"


@pytest.mark.parametrize(("header", "expected"), [
    ("1", 1.0),
    ("120", 120.0),
    (" 7 ", 7.0),
    ("Wed, 01 May 2024 10:00:30 GMT", 30.0),
    ("Wed, 01 May 2024 09:00:00 GMT", 0.0),      # in the past: no wait
    ("soon", None),
    ("-5", None),
    ("", None),
    (None, None),
])
def test_retry_after(header: str | None, expected: float | None) -> None:
    now = 1714557600.0                             # 2024-05-01 10:00:00 UTC
    assert parse_retry_after(header, now=now) == expected
