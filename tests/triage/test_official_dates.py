"""Official dates in the forms agency lists use, with their precision (table: tests/data/triage/dates.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tracker.domain.official_dates import find_date, strip_dates

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "triage" / "dates.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_official_dates(case: dict[str, Any]) -> None:
    found = find_date(case["text"], day_first=case.get("day_first", False))
    if case["date"] is None:
        assert found is None
    else:
        assert found is not None and (found.text, found.precision) == (case["date"], case["precision"])


def test_a_title_beside_its_date() -> None:
    assert strip_dates("2025年9月28日 细胞治疗产品指导原则") == "细胞治疗产品指导原则"
