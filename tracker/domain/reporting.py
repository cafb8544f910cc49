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
from collections.abc import Mapping
from typing import Any, NamedTuple

from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads import Reference, Registration, Step
from tracker.domain.payloads_registry import decode_as, decode_record

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


def _provenance(external: bool, source: Any) -> str:
    """A step from outside the review names its source ("" for the review's own word)."""
    return clean(f"from outside the review: {source or 'source not named'}") if external else ""


def provenance(registration: Registration) -> str:
    """The registration's own provenance, or (when it is the review's) its folded step's."""
    folded = registration.step_folded
    if folded is not None and not registration.external:
        return _provenance(bool(folded.get("external")), folded.get("source"))
    return _provenance(registration.external, registration.source)


def _page(position: int, event_hash: str, recorded_at: str, type_: str, payload: Mapping[str, Any],
          valid_from: str | None, label: tuple[str, str]) -> Reported:
    if type_ == v.SOURCE_CHANGED:
        change = decode_as(o.SourceChanged, type_, payload)
        ref_id, url = change["id"], change.get("url")
        # A page change is known only by when it was observed: that day is its date, labelled so.
        date = recorded_at[:10]
        excerpt, truncated = diff_excerpt(str(change.get("diff") or ""))
        truncated = truncated or bool(change.get("diff_truncated"))
        note = ""
    else:
        entry = decode_as(o.RegisterEntry, type_, payload)
        ref_id, url = entry["id"], entry.get("url")
        excerpt, truncated = (), False
        note = clean(f"{entry.get('title') or ''} ({entry['entry_id'] or ''})")
        date = str(entry.get("date") or "") or valid_from or ""
    ref_id = str(ref_id)
    return Reported(position, event_hash, recorded_at, f"source:{ref_id}", "page", ref_id, label[0], label[1],
                    date, note, str(url or ""), excerpt, truncated, "", "", "", "", "", "", ())


def reported(position: int, event_hash: str, recorded_at: str, stream: str, type_: str,
             payload: Mapping[str, Any], valid_from: str | None) -> Reported | None:
    """The event's half of its row, or None for an event readers are not told about.

    Raises TypeError, ValueError (PayloadError: a payload lacking a field of its type), KeyError or
    AttributeError on a payload it cannot read (the caller skips that event and says so)."""
    label = LABELS.get(type_)
    if label is None:
        return None
    if type_ in PAGE_TYPES:
        return _page(position, event_hash, recorded_at, type_, payload, valid_from, label)
    item = decode_record(type_, payload)
    # The date of the world only: never the day the tracker recorded it.
    if isinstance(item, Registration):
        note = item.note or ""
        fact = item.fact if type_ == v.FACT_REPORTED else None
        if fact is not None:
            metric, value, unit = fact
            note = f"{metric} = {value} {unit}".strip() + (f"; {note}" if note else "")
        topics = item.topics or ()
        return Reported(
            position, event_hash, recorded_at, f"item:{item.id}", "item", item.id, label[0], label[1],
            valid_from or str(item.record.get("date") or ""), clean(str(note)), "", (), False, item.date_basis or "",
            provenance(item), str(item.jurisdiction or ""), str(item.kind or ""), clean(item.title_zh),
            clean(item.title_en), tuple(str(t) for t in topics) if isinstance(topics, (list, tuple)) else (),
        )
    if isinstance(item, Step):
        return Reported(
            position, event_hash, recorded_at, f"item:{item.id}", "item", item.id, label[0], label[1],
            valid_from or str(item.date or ""), clean(str(item.note or "")), "", (), False, item.date_basis or "",
            _provenance(item.external, item.source), "", "", clean(item.title_zh), clean(item.title_en), (),
        )
    if isinstance(item, Reference):
        raise TypeError("references are not reported")  # not in LABELS: never reached
    return Reported(
        position, event_hash, recorded_at, f"item:{item.id}", "item", item.id, label[0], label[1],
        valid_from or "", clean(str(item.reason or "")), "", (), False, "", "", "", "", "", "", (),
    )
