"""The change rules and source validation, table-driven from tests/monitoring/data/rules.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tracker.domain import changes
from tracker.domain.sources import Source, id_from_url, parse_duration, validate_patterns, validate_url
from tracker.errors import ValidationError

CASES: dict[str, list[dict[str, Any]]] = json.loads((Path(__file__).parent / "data" / "rules.json").read_text())


@pytest.mark.parametrize("case", CASES["decide"])
def test_decide(case: dict[str, Any]) -> None:
    assert changes.decide(case["old"], case["new"]) == case["decision"]


@pytest.mark.parametrize("case", CASES["after_failure"])
def test_after_failure(case: dict[str, Any]) -> None:
    step = changes.after_failure(case["before"], case["error_class"], case["threshold"])
    assert (step.state, step.failures, step.unreachable) == (case["state"], case["failures"], case["unreachable"])


@pytest.mark.parametrize("case", CASES["recovers"])
def test_recovers(case: dict[str, Any]) -> None:
    assert changes.recovers(case["before"], case["threshold"]) is case["recovers"]


@pytest.mark.parametrize("case", CASES["listing_changed_beyond_additions"])
def test_listing_changed_beyond_additions(case: dict[str, Any]) -> None:
    assert changes.listing_changed_beyond_additions(case["old"], case["new"]) is case["beyond"]


@pytest.mark.parametrize("case", CASES["durations"], ids=lambda c: repr(c["text"]))
def test_durations(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ValidationError, match=case["error"]):
            parse_duration(case["text"])
    else:
        assert parse_duration(case["text"]) == case["seconds"]


@pytest.mark.parametrize("case", CASES["urls"], ids=lambda c: c["url"])
def test_urls_and_their_ids(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ValidationError, match=case["error"]):
            validate_url(case["url"])
    else:
        assert validate_url(case["url"]) == case["url"]
        assert id_from_url(case["url"]) == case["id"]
        Source(id=case["id"], url=case["url"])


@pytest.mark.parametrize("case", CASES["ignore"], ids=lambda c: c["pattern"])
def test_ignore_patterns(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ValidationError, match=case["error"]):
            validate_patterns([case["pattern"]])
    else:
        assert validate_patterns([case["pattern"]]) == (case["pattern"],)


def test_diff_is_bounded_by_lines_and_bytes_at_a_line_boundary() -> None:
    old = "\n".join(f"line {i}" for i in range(500))
    new = "\n".join(f"line {i} changed" for i in range(500))
    by_lines = changes.unified_diff(old, new, max_lines=50)
    assert by_lines.truncated and len(by_lines.text.split("\n")) == 50
    by_bytes = changes.unified_diff(old, new, max_bytes=1000)
    assert by_bytes.truncated and len(by_bytes.text.encode()) <= 1000
    whole = changes.unified_diff(old, new, max_lines=None, max_bytes=None)
    assert not whole.truncated and whole.text.count("\n+line") == 500
    cjk = changes.unified_diff("细胞治疗" * 3000, "基因治疗" * 3000, max_bytes=4000)
    assert cjk.truncated and len(cjk.text.encode()) <= 4000   # never cut inside a character


def test_idempotency_keys_tell_episodes_apart_and_stay_short() -> None:
    a, b = "a" * 64, "b" * 64
    assert changes.change_key("s", a, b, 3) != changes.change_key("s", a, b, 7)
    assert len(changes.change_key("x" * 120, a, b, 10**6)) <= 300
    assert len(changes.entry_key("x" * 120, "y" * 500)) <= 300
    assert changes.entry_key("ecfr", "1271.1@2017-01-19") == "entry:ecfr:1271.1@2017-01-19"
    assert changes.new_entries(None, ["a", "b", "a"]) == ["a", "b"]
    assert changes.new_entries(["a"], ["c", "a", "b"]) == ["c", "b"]


def test_a_source_refuses_a_selector_on_a_non_html_kind_and_an_unknown_kind() -> None:
    with pytest.raises(ValidationError, match="html sources only"):
        Source(id="x", url="https://example.org/a.pdf", kind="pdf", select="main")
    with pytest.raises(ValidationError, match="kind 'rss'"):
        Source(id="x", url="https://example.org/feed", kind="rss")
    with pytest.raises(ValidationError, match="source id"):
        Source(id="Bad Id", url="https://example.org/")
