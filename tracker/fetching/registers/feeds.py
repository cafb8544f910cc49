"""RSS 0.9x/1.0 (RDF)/2.0 and Atom, through feedparser.

Id: the entry's id/guid, else its link, else a hash of title and date. Date: published (or
dc:date in RSS 1.0), else updated, with the precision given (a bare 2024-05 stays a month).
"""

from __future__ import annotations

import hashlib
import re
import time
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

from tracker.fetching.registers.common import Entry, non_empty, undecodable

KIND = "feed"
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


def parse(body: bytes, url: str) -> list[Entry]:
    import feedparser

    parsed = feedparser.parse(body)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise undecodable(KIND, f"not an RSS or Atom feed{f' ({problem})' if problem else ''}")
    publisher = str(parsed.feed.get("publisher") or parsed.feed.get("author") or "") if parsed.get("feed") else ""
    entries = []
    for item in parsed.entries:
        get = partial(dict.get, item)   # plain look-ups: FeedParserDict maps updated to published, with a warning
        link = get("link")
        link = urljoin(url, link) if link else None
        if link and urlsplit(link).scheme not in {"http", "https"}:
            link = None                 # feedparser offers a non-URL Atom id as the link
        published = _feed_date(get("published"), get("published_parsed"))
        updated = _feed_date(get("updated"), get("updated_parsed"))
        date = published or updated or ""
        title = str(get("title") or "")
        entry_id = get("id") or link
        if not entry_id:
            entry_id = "sha256:" + hashlib.sha256(f"{title}\n{date}".encode()).hexdigest()[:32]
        fields: dict[str, Any] = {k: get(k) for k in ("published", "updated", "summary", "author") if get(k)}
        tags = [t.get("term") for t in get("tags") or [] if t.get("term")]
        if tags:
            fields["tags"] = tags
        enclosures = [e.get("href") for e in get("enclosures") or [] if e.get("href")]
        entries.append(Entry(
            str(entry_id), date, title, link, fields, str(tags[0]) if tags else "",
            str(get("publisher") or get("author") or publisher),
            non_empty(published=published, updated=updated),
            links=non_empty(html=link, enclosure=enclosures[0] if enclosures else None),
        ))
    return entries
