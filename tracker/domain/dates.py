"""Partial dates of the regulatory record: a year, a month or a day, kept as the source gives them.

The review dates many steps only to the year ("1993") or the month ("2025-09"); the tracker never
invents a day. Comparisons need a rule, and this is it (the month-precision rule):

    A date of year or month precision counts from the FIRST DAY of its period:
    "2025-09" -> 2025-09-01, "2017" -> 2017-01-01, "2026-05-01" -> 2026-05-01.

So a step dated "2025-09" is in force for ``--valid-at 2025-09-01`` and for any later day, and not
for 2025-08-31. The date is always displayed with its original precision, and JSON output marks a
coarse date as approximate ({"date": "2025-09", "precision": "month"}).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

NOT_GIVEN = "date not given"  # what readers see where a source gives no date (never the day it was recorded)

# Where a date comes from (a step's ``date_basis`` in the seeds), and what readers see after a date
# that the source itself does not state. "stated" (or none) shows nothing; "conventional" is the
# word older events used for a date the seeds assign.
DATE_BASIS_NOTES = {
    "stated": "",
    "cited-source": "date of the cited source",
    "review": "the review's date, not stated for the item",
    "title": "year from the title",
    "external": "date from outside the review",
    "conventional": "conventional date",
}
DATE_BASES = tuple(basis for basis in DATE_BASIS_NOTES if basis != "conventional")


def basis_note(basis: str | None) -> str:
    """What follows a date in brackets when the source does not state it ("" when it does)."""
    return DATE_BASIS_NOTES.get(basis or "stated", f"date basis: {basis}")


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A date with the precision its source gives. Orders by the first day of its period."""

    start: date
    precision: str
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def approximate(self) -> bool:
        return self.precision != "day"

    def as_json(self) -> dict[str, object]:
        return {"date": self.text, "precision": self.precision, "approximate": self.approximate}


def parse_partial(text: str) -> PartialDate:
    """Parse "YYYY", "YYYY-MM" or "YYYY-MM-DD"; ValueError names what is wrong (e.g. 2025-02-30)."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a date string (YYYY, YYYY-MM or YYYY-MM-DD)")
    match = _PARTIAL_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        start = date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None
    precision = "day" if day else "month" if month else "year"
    return PartialDate(start, precision, text)


@lru_cache(maxsize=65536)  # a record holds few distinct dates; projections ask for each many times
def start_of(text: str | None) -> date | None:
    """The first day a (partial) date counts from, or None for no date. Datetimes keep their day."""
    if not text:
        return None
    return parse_partial(text[:10]).start if len(text) > 10 else parse_partial(text).start


def precision_of(text: str | None) -> str | None:
    if not text:
        return None
    return "day" if len(text) >= 10 else parse_partial(text).precision
