"""Register parsing against its floor: json.loads of the same bodies plus entry tuples built in plain Python.

    python -m bench.bench_registers [--runs 5]

Two cases (issue 13): a 5,000-document Federal Register answer in 5 pages of 1,000 (stored as
the fetcher stores it, the pages one after the other) and a 2,000-row FDA guidance table.
The floor reads the same bodies with json.loads and builds one tuple per document holding the
same values the adapter reads, with the plainest Python (no validation, no filtering, no fallbacks
between fields, no Entry). Target: ours
within 2x of the floor, i.e. a throughput ratio (floor time / our time) of at least 0.5.
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import re
from collections.abc import Callable
from typing import Any

from bench.common import ratio_line, timed
from tests.support.registers import fda_guidance_table, fr_pages
from tracker.fetching import parse_entries

TARGET = 0.5
_TAG = re.compile(r"<[^>]*>")
_HREF = re.compile(r'href="([^"]+)"')
_DATETIME = re.compile(r'datetime="([^"]+)"')


def fr_floor(pages: list[bytes]) -> list[tuple[Any, ...]]:
    out = []
    for page in pages:
        for d in json.loads(page).get("results", ()):
            out.append((
                d["document_number"], d.get("effective_on") or d["publication_date"], d["title"], d.get("html_url"),
                d.get("type"), "; ".join(a["name"] for a in d.get("agencies", ())), d.get("publication_date"),
                d.get("effective_on"), d.get("comments_close_on"), d.get("pdf_url"),
                d.get("public_inspection_pdf_url"), d,
            ))
    return out


def _text(cell: str | None) -> str:
    return html.unescape(_TAG.sub("", cell)).strip() if cell else ""


def _link(cell: str | None) -> str | None:
    found = _HREF.search(cell) if cell else None
    return found.group(1) if found else None


def _mdy(cell: str | None) -> str:
    if not cell:
        return ""
    month, day, year = cell.split("/")
    return f"{year}-{month}-{day}"


def fda_floor(body: bytes) -> list[tuple[Any, ...]]:
    """The same values the adapter reads from each row, taken with the plainest code."""
    out = []
    for r in json.loads(body):
        page = _link(r["title"]) or ""
        out.append(
            (
                page.rsplit("/", 1)[-1],
                _mdy(r.get("field_issue_datetime")),
                _text(r["title"]),
                "https://www.fda.gov" + page,
                r.get("field_final_guidance_1"),
                _text(r.get("field_center")),
                _text(r.get("topics-product")),
                _text(r.get("field_regulated_product_field")),
                _text(r.get("field_docket_number")),
                _link(r.get("field_docket_number")),
                _mdy(r.get("field_comment_close_date")),
                _link(r.get("field_associated_media_2")),
                r.get("field_communication_type"),
                r.get("open-comment", "").strip(),
                _DATETIME.search(r.get("changed", "")),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    pages = fr_pages(5000, 1000, "https://www.federalregister.gov/api/v1/documents.json?page={page}&per_page=1000")
    stored = b"\n".join(pages)
    table = fda_guidance_table(2000)
    print(f"Federal Register: 5 pages, {len(stored) / 1e6:.1f} MB; FDA guidance: 2,000 rows, {len(table) / 1e6:.1f} MB")

    floor, ours = interleaved(args.runs, lambda: fr_floor(pages),
                              lambda: parse_entries("federal-register", stored, "https://www.federalregister.gov/"))
    print(ratio_line("federal-register, 5,000 documents", ours, floor, TARGET))
    floor, ours = interleaved(args.runs, lambda: fda_floor(table),
                              lambda: parse_entries("fda-guidance", table, "https://www.fda.gov/guidance.json"))
    print(ratio_line("fda-guidance, 2,000 rows", ours, floor, TARGET))


def interleaved(runs: int, floor: Callable[[], list[Any]], ours: Callable[[], list[Any]]) -> tuple[float, float]:
    """The fastest of ``runs`` timings of each, taken in turn so both see the same machine (it is shared)."""
    best_floor = best_ours = float("inf")
    for _ in range(runs):
        # Each starts from a collected heap holding neither's results: a full collection paid
        # by one for the other's millions of objects would measure nothing about either.
        gc.collect()
        took, rows = timed(floor)
        best_floor = min(best_floor, took)
        count = len(rows)
        del rows
        gc.collect()
        took, entries = timed(ours)
        best_ours = min(best_ours, took)
        assert count == len(entries)
        del entries
    return best_floor, best_ours


if __name__ == "__main__":
    main()
