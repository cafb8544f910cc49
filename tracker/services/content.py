"""From a raw body to the text that is compared, under a source's rules.

Pages go through the fetching layer's normalisers (html, pdf, json, text). A register's text
is its listing, one line per entry (see tracker.domain.changes.listing_line), so a register
changes when its entries do, not when a feed's build date moves. Ignore patterns apply to
both; an entry whose listing line they blank out is dropped, so ignored text stays out of
diffs and digests alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tracker.domain.changes import listing_line
from tracker.domain.sources import REGISTER_KINDS, Rules
from tracker.fetching import Entry, normalise, parse_entries, validate_filters
from tracker.fetching.normalise import apply_ignore, compile_ignore


@dataclass(frozen=True)
class Content:
    text: str
    entries: tuple[Entry, ...] | None = None    # registers only


def validate_rules(rules: Rules) -> None:
    """ValidationError naming the bad selector or pattern; nothing else is checked here."""
    if rules.kind in REGISTER_KINDS:
        compile_ignore(rules.ignore)
    else:
        validate_filters(rules.kind, rules.select, rules.ignore)


def derive(rules: Rules, body: bytes, headers: Mapping[str, str], url: str) -> Content:
    """The comparable content of ``body``; FetchError("undecodable") if it is not of its kind."""
    if rules.kind not in REGISTER_KINDS:
        return Content(normalise(rules.kind, body, headers, rules.select, rules.ignore))
    kept: list[Entry] = []
    lines: list[str] = []
    for entry in parse_entries(rules.kind, body, url):
        line = listing_line(entry.entry_id, entry.date, entry.title, entry.type, entry.deadlines)
        if rules.ignore:
            line = apply_ignore(line, rules.ignore)
            if not line.strip():
                continue
        kept.append(entry)
        lines.append(line)
    return Content("\n".join(lines), tuple(kept))
