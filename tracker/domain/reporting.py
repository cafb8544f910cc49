"""What readers of digests and changelogs are told about one event, from the event alone.

A reader's row has two halves. This module decides the half the event fixes for good: its label
and Keep a Changelog category, its real-world date (never the day it was recorded), its note,
the diff excerpt of a page change, where its date comes from and whether it is from outside the
review. The other half (titles, jurisdiction, kind, link, an item's flags) comes from the digest
index when the row is shown, so a later rename or correction shows everywhere. The changelog
read model stores this half (projections/changelog_rows.py), and digests and changelogs both read
it there (services/entries.py joins the two halves): one function decides it, once per event.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from tracker.domain import vocabulary as v

# type -> (label, Keep a Changelog category). Adding an item to the record is bookkeeping, never
# labelled like a regulatory event ("registered" would read as a regulatory registration).
ADDED_TO_RECORD = "added to the record"
LABELS: dict[str, tuple[str, str]] = {
    v.INSTRUMENT_REGISTERED: (ADDED_TO_RECORD, "Added"),
    v.INSTRUMENT_DRAFTED: ("draft for comment", "Added"),
    v.INSTRUMENT_TRIAL_ISSUED: ("issued for trial", "Added"),
    v.INSTRUMENT_PUBLISHED: ("published", "Added"),
    v.INSTRUMENT_EFFECTIVE: ("takes effect", "Changed"),
    v.INSTRUMENT_AMENDED: ("amended", "Changed"),
    v.INSTRUMENT_SUPERSEDED: ("superseded", "Deprecated"),
    v.INSTRUMENT_REPEALED: ("repealed", "Removed"),
    v.INSTRUMENT_RENAMED: ("renamed", "Changed"),
    v.INSTRUMENT_WITHDRAWN: ("withdrawn", "Removed"),
    v.PROGRAM_ESTABLISHED: ("established", "Added"),
    v.PRODUCT_APPROVED: ("approved", "Added"),
    v.AGENCY_REGISTERED: (ADDED_TO_RECORD, "Added"),
    v.AGENCY_RENAMED: ("renamed", "Changed"),
    v.FACT_REPORTED: ("reported", "Added"),
    v.ITEM_CORRECTED: ("corrected", "Fixed"),
    v.STEP_CORRECTED: ("step corrected", "Fixed"),
    v.CLASSIFICATION_REGISTERED: ("registered", "Added"),
    v.REGIME_REGISTERED: ("registered", "Added"),
    v.REGIME_SWITCHED: ("regime switch", "Changed"),
    v.PATHWAY_REGISTERED: ("registered", "Added"),
    v.WATCH_ITEM_REGISTERED: ("watch item", "Added"),
    v.SOURCE_CHANGED: ("page change observed", "Changed"),
    v.REGISTER_ENTRY_ADDED: ("new register entry", "Added"),
    v.REGISTER_ENTRY_REVISED: ("register entry revised", "Changed"),
}
PAGE_TYPES = frozenset({v.SOURCE_CHANGED, v.REGISTER_ENTRY_ADDED, v.REGISTER_ENTRY_REVISED})
REPORTED_TYPES = frozenset(LABELS)

EXCERPT_LINES = 12
EXCERPT_WIDTH = 200
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean(text: str | None) -> str:
    """Text safe for every output format: no control characters XML 1.0 forbids."""
    if not text:
        return ""
    # Most text has no control character at all: one C-speed scan instead of a regex substitution.
    return text if text.isprintable() else _FORBIDDEN.sub("", text)


class Reported(NamedTuple):
    """The event's half of a reader's row (the digest index gives the rest when it is shown).

    ``jurisdiction``, ``kind``, the titles, ``url`` and ``topics`` are what the event itself says,
    used only where the index knows nothing of its item or page."""

    position: int
    event_hash: str
    recorded_at: str
    ref: str  # the digest index entry it is about: "item:<id>" or "source:<id>"
    section: str  # "item" or "page"
    ref_id: str
    label: str
    category: str
    date: str  # the real-world date, as precise as given; "" when none is given
    note: str
    url: str
    excerpt: tuple[str, ...]
    excerpt_truncated: bool
    date_basis: str
    provenance: str
    jurisdiction: str
    kind: str
    title_zh: str
    title_en: str
    topics: tuple[str, ...]


def diff_excerpt(diff: str, lines: int = EXCERPT_LINES) -> tuple[tuple[str, ...], bool]:
    """The first changed lines of a unified diff (headers and context dropped), and whether more exist."""
    picked: list[str] = []
    more = False
    for line in diff.splitlines():
        if line.startswith(("+++", "---", "@@")) or not line.startswith(("+", "-")):
            continue
        if len(picked) == lines:
            more = True
            break
        text = clean(line)
        picked.append(text if len(text) <= EXCERPT_WIDTH else text[:EXCERPT_WIDTH] + "…")
    return tuple(picked), more


def date_basis(payload: dict[str, Any]) -> str:
    """Where a step's date comes from when the source does not state it (seed field date_basis)."""
    basis = payload.get("date_basis")
    folded = payload.get("step_folded")
    if not basis and isinstance(folded, dict):
        basis = folded.get("date_basis")
    return str(basis or "")


def provenance(payload: dict[str, Any]) -> str:
    """A step from outside the review names its source ("" for the review's own word)."""
    folded = payload.get("step_folded")
    step = folded if isinstance(folded, dict) and not payload.get("external") else payload
    if not step.get("external"):
        return ""
    return clean(f"from outside the review: {step.get('source') or 'source not named'}")


def reported(position: int, event_hash: str, recorded_at: str, stream: str, type_: str,
             payload: dict[str, Any], valid_from: str | None) -> Reported | None:
    """The event's half of its row, or None for an event readers are not told about.

    Raises TypeError, ValueError, KeyError or AttributeError on a payload it cannot read (the
    caller skips that event and says so)."""
    label = LABELS.get(type_)
    if label is None:
        return None
    p = payload
    ref_id = str(p.get("id", ""))
    if type_ in PAGE_TYPES:
        if type_ == v.SOURCE_CHANGED:
            # A page change is known only by when it was observed: that day is its date, labelled so.
            date = recorded_at[:10]
            excerpt, truncated = diff_excerpt(str(p.get("diff") or ""))
            truncated = truncated or bool(p.get("diff_truncated"))
            note = ""
        else:
            excerpt, truncated = (), False
            note = clean(f"{p.get('title') or ''} ({p.get('entry_id') or ''})")
            date = str(p.get("date") or "") or valid_from or ""
        return Reported(position, event_hash, recorded_at, f"source:{ref_id}", "page", ref_id, label[0], label[1],
                         date, note, str(p.get("url") or ""), excerpt, truncated, "", "", "", "", "", "", ())
    # The date of the world only: never the day the tracker recorded it.
    date = valid_from or str(p.get("date") or "")
    note = p.get("note") or p.get("reason") or ""
    if type_ == v.FACT_REPORTED and "value" in p:
        note = f"{p.get('metric', '')} = {p.get('value')} {p.get('unit', '')}".strip() + (f"; {note}" if note else "")
    topics = p.get("topics") or ()
    return Reported(
        position, event_hash, recorded_at, f"item:{ref_id}", "item", ref_id, label[0], label[1], date,
        clean(str(note)), "", (), False, date_basis(p), provenance(p), str(p.get("jurisdiction") or ""),
        str(p.get("kind") or ""), clean(p.get("title_zh")), clean(p.get("title_en")),
        tuple(str(t) for t in topics) if isinstance(topics, (list, tuple)) else (),
    )
