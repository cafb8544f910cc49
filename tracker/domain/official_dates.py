"""Dates as official sites write them, read with the precision they give.

    2025-09-28, 2025/9/28, 2025.09.28      -> 2025-09-28 (day)
    2025年9月28日, 2025年9月                -> 2025-09-28 (day), 2025-09 (month)
    令和7年9月28日, 平成31年4月, 令和元年5月1日 -> 2025-09-28, 2019-04, 2019-05-01 (Japanese eras)
    28 September 2025, September 28, 2025, 28 Sep 2025, Sept. 28, 2025 -> 2025-09-28
    September 2025                          -> 2025-09 (month)
    09/28/2025 (US order), 28/09/2025 (day first where a month cannot be 28, or for EU sites)

``find_date`` returns the first date in a line of text, or None; a number that is not a real
date (2025-02-30) is no date.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "R": 2018, "H": 1988, "S": 1925}
MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), start=1) for name in names}
_MONTH = (r"(january|february|march|april|may|june|july|august|september|october|november|december"
          r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?")
_DIGITS = str.maketrans("０１２３４５６７８９／－．", "0123456789/-.")

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("era", re.compile(r"(令和|平成|昭和)\s*(元|\d{1,2})\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?)?")),
    ("cjk", re.compile(r"(?<!\d)(\d{4})\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?)?")),
    ("iso", re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?!\d)")),
    ("slashed", re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")),
    ("dmy", re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})(?!\d)", re.I)),
    ("mdy", re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)", re.I)),
    ("my", re.compile(r"\b" + _MONTH + r"\s+(\d{4})(?!\d)", re.I)),
)


class OfficialDate(NamedTuple):
    text: str           # ISO, as precise as given
    precision: str      # day, month or year
    start: int          # where in the line it was found


def _iso(year: int, month: int | None, day: int | None) -> tuple[str, str] | None:
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        return None
    if not 1900 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}", "year"
    if day is None:
        return f"{year:04d}-{month:02d}", "month"
    return f"{year:04d}-{month:02d}-{day:02d}", "day"


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _read(kind: str, groups: tuple[str | None, ...], day_first: bool) -> tuple[str, str] | None:
    if kind == "era":
        era, year, month, day = groups
        return _iso(ERAS[str(era)] + (1 if year == "元" else int(str(year))), _int(month), _int(day))
    if kind in ("cjk", "iso"):
        return _iso(int(str(groups[0])), _int(groups[1]), _int(groups[2]))
    if kind == "slashed":
        first, second, year_ = (int(str(g)) for g in groups)
        month_, day_ = (second, first) if day_first or first > 12 else (first, second)
        return _iso(year_, month_, day_)
    if kind == "dmy":
        return _iso(int(str(groups[2])), MONTHS[str(groups[1]).lower()], int(str(groups[0])))
    if kind == "mdy":
        return _iso(int(str(groups[2])), MONTHS[str(groups[0]).lower()], int(str(groups[1])))
    return _iso(int(str(groups[1])), MONTHS[str(groups[0]).lower()], None)


_MONTH_HINT = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec")


def _patterns(line: str) -> list[tuple[str, re.Pattern[str]]]:
    """The patterns that can match this line at all (a quick look spares most of the regex work)."""
    months = _MONTH_HINT.search(line.lower()) is not None
    wanted = {"era": "令和" in line or "平成" in line or "昭和" in line, "cjk": "年" in line, "iso": True,
              "slashed": "/" in line, "dmy": months, "mdy": months, "my": months}
    return [(kind, pattern) for kind, pattern in _PATTERNS if wanted[kind]]


def find_date(text: str, *, day_first: bool = False) -> OfficialDate | None:
    """The first official date in ``text`` (leftmost; the more precise reading at one place)."""
    line = text.translate(_DIGITS)
    best: OfficialDate | None = None
    for kind, pattern in _patterns(line):
        for found in pattern.finditer(line):
            read = _read(kind, found.groups(), day_first)
            if read is None:
                continue
            if best is None or found.start() < best.start:
                best = OfficialDate(read[0], read[1], found.start())
            break
    return best


def strip_dates(text: str) -> str:
    """The text without the dates in it (a row's title beside its date)."""
    line = text.translate(_DIGITS)
    for _kind, pattern in _patterns(line):
        line = pattern.sub(" ", line)
    return " ".join(line.split())


__all__ = ["OfficialDate", "find_date", "strip_dates"]
