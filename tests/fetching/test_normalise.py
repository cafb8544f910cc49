"""Normalisers, table-driven from tests/data/normalise/cases.json, plus PDFs made in the test."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fetching.localserver import LocalServer, Reply, config, run
from tests.fetching.pdfs import make_pdf
from tracker.errors import FetchError, ValidationError
from tracker.fetching import Fetcher, FetchRequest, FetchResult, normalise
from tracker.fetching.html import _collapse

CASES = json.loads((Path(__file__).parents[1] / "data" / "normalise" / "cases.json").read_text(encoding="utf-8"))


def _body(case: dict[str, Any]) -> bytes:
    if "body_hex" in case:
        return bytes.fromhex(case["body_hex"])
    return str(case["body"]).encode(case.get("encoding", "utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_normalise_case(case: dict[str, Any]) -> None:
    args = (case["kind"], _body(case), case.get("headers", {}), case.get("select"), case.get("ignore", []))
    if "error" in case:
        expected = ValidationError if case["error"] == "config" else FetchError
        with pytest.raises(expected) as raised:
            normalise(*args)
        if isinstance(raised.value, FetchError):
            assert raised.value.error_class == case["error"]
        return
    assert normalise(*args) == case["expected"]
    assert normalise(*args) == normalise(*args)      # stable


def test_pdf_text_and_its_change(server: LocalServer) -> None:
    versions = iter(
        [["Guidance for CAR-T", "Draft 1"], ["Guidance for CAR-T", "Draft 2"], ["Guidance for CAR-T", "Draft 2"]]
    )
    server.route("/doc.pdf", lambda _s: Reply(200, {"Content-Type": "application/pdf"}, make_pdf(next(versions))))

    async def go() -> list[FetchResult]:
        async with Fetcher(config()) as fetcher:
            return [await fetcher.fetch(FetchRequest("pdf", server.url("/doc.pdf"), kind="pdf")) for _ in range(3)]

    texts = [normalise("pdf", r.body, r.headers) for r in run(go())]
    assert texts[0] == "Guidance for CAR-T\nDraft 1"
    assert texts[1] == texts[2] == "Guidance for CAR-T\nDraft 2"


def test_pdf_pages_are_separated_by_a_blank_line() -> None:
    assert normalise("pdf", make_pdf(["Page text"], pages=2)) == "Page text\n\nPage text"


def test_pdf_with_ignore_pattern() -> None:
    body = make_pdf(["Annex 1", "Printed on 2024-05-01"])
    assert normalise("pdf", body, ignore=[r"Printed on \S+"]) == "Annex 1"


WHITESPACE = [c for c in map(chr, range(0x3001)) if re.match(r"\s", c)]


# A piece of spaces and letters alone, or of any whitespace and other characters (soft hyphen and
# zero width space are no whitespace, and no more printable than whitespace is).
PIECES = st.one_of(
    st.text(st.sampled_from([" ", "a", "中"]), max_size=20),
    st.text(st.sampled_from([*WHITESPACE, "a", "é", "中", "\x1f", "|", "\xad", "\u200b"]), max_size=20),
)


@given(st.lists(PIECES, max_size=6))
def test_whitespace_runs_collapse_as_the_regular_expression_does(pieces: list[str]) -> None:
    # html._collapse stands for re.sub(r"\s+", " ", piece) over each piece, the rule the recorded
    # texts were made by, though it collapses a line's pieces at once (and leaves a line whose
    # pieces have no whitespace to collapse as it is).
    assert _collapse("\x01".join(pieces), "\x01") == "".join(re.sub(r"\s+", " ", piece) for piece in pieces).strip()
