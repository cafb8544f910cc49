"""What every register adapter shares: the Entry, JSON reading that fails as ``undecodable``,
and official dates read with the precision they are given."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from tracker.errors import FetchError
from tracker.fetching.result import UNDECODABLE

_EMPTY: Mapping[str, Any] = {}


class Entry(NamedTuple):
    """One official entry, named precisely enough for triage to cite it.

    ``entry_id`` is the register's own identifier (document number, EMA product number, ...);
    ``date`` the official date that names the entry (ISO, as precise as given; "" when the
    register gives none); ``type`` the document type in the register's own vocabulary (RULE,
    PRORULE, NOTICE, draft, final, ...); ``agency`` who issued it; ``dates`` every official date
    by the register's name for it; ``deadlines`` the dates by which someone must act (e.g.
    ``{"comments_close": "2026-02-03"}``); ``links`` by role (html, pdf, docket, ...);
    ``titles`` other names (an INN beside a trade name); ``fields`` whatever else it says.
    A NamedTuple: a register of thousands of rows builds one per row, cheaply.
    """

    entry_id: str
    date: str
    title: str
    url: str | None = None
    fields: Mapping[str, Any] = _EMPTY
    type: str = ""
    agency: str = ""
    dates: Mapping[str, str] = _EMPTY
    deadlines: Mapping[str, str] = _EMPTY
    links: Mapping[str, str] = _EMPTY
    titles: Mapping[str, str] = _EMPTY

    @property
    def precision(self) -> str | None:
        return date_precision(self.date)

    def identity(self) -> dict[str, Any]:
        """The entry as events carry it (RegisterEntryAdded / RegisterEntryRevised)."""
        return {
            "entry_id": self.entry_id, "date": self.date, "precision": self.precision, "type": self.type,
            "title": self.title, "titles": dict(self.titles), "agency": self.agency, "url": self.url,
            "links": dict(self.links), "dates": dict(self.dates), "deadlines": dict(self.deadlines),
        }


def date_precision(text: str | None) -> str | None:
    """year, month, day or time for an ISO date as given; None for no date."""
    if not text:
        return None
    size = len(text)
    return "year" if size == 4 else "month" if size == 7 else "day" if size == 10 else "time"


def undecodable(kind: str, message: str) -> FetchError:
    return FetchError(UNDECODABLE, f"{kind}: {message}".splitlines()[0][:300])


def load_json(body: bytes, kind: str) -> Any:
    """One JSON document in UTF-8 (a BOM allowed), UTF-16 or UTF-32 (RFC 8259 and json.loads
    tell them apart); anything else is undecodable."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise undecodable(kind, f"not JSON: {exc}") from None


def json_documents(body: bytes, kind: str) -> Iterator[Any]:
    """The JSON documents of ``body``, one after another (the pages of a paginated answer,
    stored as fetched, one after the other)."""
    try:
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        raise undecodable(kind, f"not UTF-8 JSON: {exc}") from None
    decoder = json.JSONDecoder()
    end, size = 0, len(text)
    while True:
        while end < size and text[end] in " \t\r\n":
            end += 1
        if end == size:
            return
        try:
            document, end = decoder.raw_decode(text, end)
        except json.JSONDecodeError as exc:
            raise undecodable(kind, f"not JSON: {exc}") from None
        yield document


def rows(data: Any, key: str | None, kind: str) -> list[dict[str, Any]]:
    """The list of objects under ``key`` (or ``data`` itself when key is None)."""
    items = data if key is None else (data.get(key) if isinstance(data, dict) else None)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        where = "a list of objects" if key is None else f"a {key!r} list"
        raise undecodable(kind, f"the document is not {where}")
    return items


def require(item: Mapping[str, Any], key: str, kind: str) -> str:
    value = item.get(key)
    if value in (None, ""):
        raise undecodable(kind, f"an item has no {key!r}: {json.dumps(item, ensure_ascii=False)[:200]}")
    return str(value).strip()


_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def iso_date(value: Any, order: str = "iso") -> str:
    """An official date as ISO text keeping its precision; "" when absent or unreadable.

    ``order`` says how a slashed date reads: "mdy" (US: 01/05/2024) or "dmy" (EU: 05/01/2024).
    A date-time keeps only its day: registers date documents, not instants.
    """
    if not value:
        return ""
    return _iso_date(str(value), order)


@lru_cache(maxsize=8192)    # a register repeats its dates: thousands of rows, a few hundred days
def _iso_date(value: str, order: str) -> str:
    text = value.strip()
    if _ISO.match(text):
        return text
    if len(text) > 10 and _ISO.match(text[:10]) and text[10] in "T ":
        return text[:10]
    slashed = _SLASHED.match(text)
    if slashed and order in ("mdy", "dmy"):
        first, second, year = slashed.groups()
        month, day = (first, second) if order == "mdy" else (second, first)
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return ""


_TAG = re.compile(r"<[^>]*>")
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_DATETIME = re.compile(r"""datetime\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def plain(value: Any) -> str:
    """Text of an HTML-encoded cell: tags dropped, entities decoded, white space collapsed."""
    if not value:
        return ""
    text = str(value)
    if "<" not in text and "&" not in text and "  " not in text and "\n" not in text:
        return text.strip()
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def plain_cached(value: str) -> str:
    """plain() of a cell that repeats across rows (a centre, a topic list, a status)."""
    return plain(value)


def href(value: Any) -> str | None:
    match = _HREF.search(str(value or ""))
    return html.unescape(match.group(1)) if match else None


def time_attr(value: Any) -> str | None:
    match = _DATETIME.search(str(value or ""))
    return match.group(1) if match else None


def non_empty(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


def absolute(base: str, link: str) -> str:
    """``link`` resolved against ``base``; the common cases without urljoin's cost."""
    if link.startswith(("https://", "http://")):
        return link
    if link.startswith("/") and not link.startswith("//"):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}{link}"
    return urljoin(base, link)
