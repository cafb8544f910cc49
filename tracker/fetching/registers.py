"""Structured official registers behind one interface: ``parse_entries(kind, body, url)``.

Kinds (an explicit registry, see PARSERS):
  ecfr              eCFR versioner ``/api/versioner/v1/versions/title-N.json?part=P``:
                    one entry per content version, id ``identifier@amendment_date``.
  federal-register  Federal Register ``/api/v1/documents.json``: id ``document_number``,
                    date ``effective_on`` or else ``publication_date``; all dates kept in fields.
  feed              RSS or Atom (feedparser): id the entry's id/guid, else its link, else a
                    hash of title and date; date from published/updated with its precision.
Entries come in the order of the document. Content that is not of the kind raises
``FetchError("undecodable")``; an unknown kind raises ConfigError.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from functools import partial
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from tracker.errors import ConfigError, FetchError
from tracker.fetching.result import UNDECODABLE

ECFR_BASE = "https://www.ecfr.gov"


@dataclass(frozen=True)
class Entry:
    """One official entry: its official identifier, official date (ISO, as precise as given)."""

    entry_id: str
    date: str
    title: str
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def _json(body: bytes, kind: str) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(UNDECODABLE, f"{kind}: not JSON: {exc}") from None


def _list(data: Any, key: str, kind: str) -> list[dict[str, Any]]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FetchError(UNDECODABLE, f"{kind}: no {key!r} list in the document")
    return items


def _require(item: dict[str, Any], key: str, kind: str) -> str:
    value = item.get(key)
    if value in (None, ""):
        raise FetchError(UNDECODABLE, f"{kind}: an item has no {key!r}: {json.dumps(item)[:200]}")
    return str(value)


def _ecfr(body: bytes, url: str) -> list[Entry]:
    entries = []
    for item in _list(_json(body, "ecfr"), "content_versions", "ecfr"):
        identifier = _require(item, "identifier", "ecfr")
        date = str(item.get("amendment_date") or _require(item, "date", "ecfr"))
        fields = {k: v for k, v in item.items() if k not in {"identifier", "name", "title"}}
        fields["cfr_title"] = item.get("title")
        link = None
        if item.get("type") == "section" and item.get("title"):
            link = f"{ECFR_BASE}/on/{date}/title-{item['title']}/section-{identifier}"
        entries.append(Entry(f"{identifier}@{date}", date, str(item.get("name") or identifier), link, fields))
    return entries


def _federal_register(body: bytes, url: str) -> list[Entry]:
    entries = []
    for item in _list(_json(body, "federal-register"), "results", "federal-register"):
        number = _require(item, "document_number", "federal-register")
        date = str(item.get("effective_on") or _require(item, "publication_date", "federal-register"))
        fields = {k: v for k, v in item.items() if k not in {"document_number", "title", "html_url"}}
        link = item.get("html_url")
        entries.append(Entry(number, date, str(item.get("title") or number), str(link) if link else None, fields))
    return entries


_DATE_ONLY = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?\s*$")


def _feed_date(raw: str | None, parsed: time.struct_time | None) -> str | None:
    """ISO date keeping the precision given: 2024, 2024-05, 2024-05-01 or a UTC date-time."""
    if raw:
        match = _DATE_ONLY.match(raw)
        if match:
            return "-".join(part for part in match.groups() if part)
    if parsed is not None:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)
    return None


def _feed(body: bytes, url: str) -> list[Entry]:
    import feedparser

    parsed = feedparser.parse(body)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise FetchError(UNDECODABLE, f"feed: not an RSS or Atom feed{f' ({problem})' if problem else ''}".splitlines()[0])
    entries = []
    for item in parsed.entries:
        get = partial(dict.get, item)   # plain look-ups: FeedParserDict maps updated to published, with a warning
        link = get("link")
        link = urljoin(url, link) if link else None
        if link and urlsplit(link).scheme not in {"http", "https"}:
            link = None                 # feedparser offers a non-URL Atom id as the link
        date = _feed_date(get("published"), get("published_parsed")) or _feed_date(
            get("updated"), get("updated_parsed")
        ) or ""
        title = str(get("title") or "")
        entry_id = get("id") or link
        if not entry_id:
            entry_id = "sha256:" + hashlib.sha256(f"{title}\n{date}".encode()).hexdigest()[:32]
        fields: dict[str, Any] = {k: get(k) for k in ("published", "updated", "summary", "author") if get(k)}
        tags = [t.get("term") for t in get("tags") or [] if t.get("term")]
        if tags:
            fields["tags"] = tags
        entries.append(Entry(str(entry_id), date, title, link, fields))
    return entries


PARSERS: dict[str, Callable[[bytes, str], list[Entry]]] = {
    "ecfr": _ecfr,
    "federal-register": _federal_register,
    "feed": _feed,
}


def parse_entries(kind: str, body: bytes, url: str) -> list[Entry]:
    """The entries of a register document of ``kind`` fetched from ``url``."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise ConfigError(f"unknown register kind {kind!r} (one of {', '.join(sorted(PARSERS))})") from None
    return parser(body, url)


def next_page_url(kind: str, body: bytes) -> str | None:
    """The next page of a paginated register (Federal Register ``next_page_url``), or None."""
    if kind != "federal-register":
        return None
    data = _json(body, kind)
    value = data.get("next_page_url") if isinstance(data, dict) else None
    return str(value) if value else None
