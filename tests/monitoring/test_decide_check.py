"""The change decision as a pure function, table-driven from tests/data/changes/decide_check.json.

No database, no HTTP: the previous and current observations are written out in the data file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.domain import changes
from tracker.domain.sources import validate_patterns
from tracker.fetching.normalise import apply_ignore

DATA = json.loads((Path(__file__).parent.parent / "data" / "changes" / "decide_check.json").read_text("utf-8"))
THRESHOLD = 3
VERSION = 7


@dataclass(frozen=True)
class _Entry:
    entry_id: str
    date: str
    title: str
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "date": self.date, "title": self.title, "url": self.url}


def _version(spec: dict[str, Any]) -> changes.Version | None:
    if spec.get("text") is None:
        return None
    entries = spec.get("entries")
    return changes.Version(spec["text"], None if entries is None else tuple(_Entry(**e) for e in entries))


def _current(spec: dict[str, Any]) -> changes.Fetched | changes.Failed:
    if "failed" in spec:
        return changes.Failed(**spec["failed"])
    if spec.get("not_modified"):
        return changes.Fetched(None, not_modified=True)
    return changes.Fetched(spec["content_hash"], _version(spec), spec["snapshot"], spec.get("http", {}))


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_decide_check(case: dict[str, Any]) -> None:
    prev = case["previous"]
    previous = changes.Previous(prev.get("content_hash"), _version(prev), prev.get("failures", 0),
                                prev.get("suspect_hash"))
    reads: list[int] = []

    def version() -> int:
        reads.append(VERSION)
        return VERSION

    step = changes.decide_check("s", "https://example.org/s", previous, _current(case["current"]),
                                threshold=case.get("threshold", THRESHOLD), stream_version=version)
    expect = case["expect"]
    assert (step.outcome, step.state, step.failures, step.accept) == (
        expect["outcome"], expect["state"], expect["failures"], expect["accept"])
    assert step.entries == expect.get("entries", 0)
    assert step.recovered is expect.get("recovered", False)
    for name in ("error_class", "error"):
        if name in expect:
            assert getattr(step, name) == expect[name]
    if "suspect" in expect:
        assert step.suspect == expect["suspect"]
    assert bool(reads) is expect["version_read"]
    assert [(e.type, e.key) for e in step.events] == [(e["type"], e["key"]) for e in expect["events"]]
    for got, want in zip(step.events, expect["events"], strict=True):
        for name, value in want.get("payload", {}).items():
            assert got.payload[name] == value, name
        if "valid_from" in want:
            assert got.valid_from == want["valid_from"]


VOLATILE = json.loads((Path(__file__).parent.parent / "data" / "changes" / "volatile.json").read_text("utf-8"))


@pytest.mark.parametrize("case", VOLATILE["cases"], ids=lambda c: c["name"])
def test_volatile_patterns(case: dict[str, Any]) -> None:
    patterns = changes.volatile_patterns(case["first"], case["second"])
    assert list(patterns) == case["patterns"]
    assert validate_patterns(patterns) == patterns         # usable as ignore rules as they are
    for line in case.get("matches", []):
        assert apply_ignore(line, patterns) == "", line
    for line in case.get("misses", []):
        assert apply_ignore(line, patterns) == line, line
    if patterns:    # what the two fetches differ in is gone: both give the same text
        assert apply_ignore(case["second"], patterns) == apply_ignore(case["first"], patterns)


@given(st.text(alphabet=st.sampled_from([" ", "\t", "\n", "\u3000", "\u00a0", "\x1f", "\u2028", "a", "中", "é"]),
               max_size=30))
def test_the_size_of_a_text_counts_what_is_not_whitespace(text: str) -> None:
    # suspicious() compares these sizes: _size must count exactly the characters str.isspace() rejects.
    assert changes._size(text) == sum(1 for ch in text if not ch.isspace())
