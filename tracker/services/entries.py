"""From events to what readers see: one ChangeRow (and the Target filters match) per event.

Shared by digests and changelogs, so both describe an event the same way. Item and source
attributes come from the digest index (tracker.projections.digest_index).
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.core import RecordedEvent
from tracker.core.projector import log_skipped
from tracker.domain import vocabulary as v
from tracker.domain.subscriptions import Target
from tracker.projections.digest_index import IndexEntry
from tracker.rendering.views import ChangeRow, JurisdictionGroup, clean

JURISDICTION_NAMES = {
    "US": "United States", "EU": "European Union", "JP": "Japan", "CN": "China", "INTL": "International",
}
JURISDICTION_ORDER = {code: n for n, code in enumerate(v.JURISDICTIONS)}

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


@dataclass(frozen=True, slots=True)
class Entry:
    row: ChangeRow
    target: Target


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


def to_entry(event: RecordedEvent, index: dict[str, IndexEntry]) -> Entry | None:
    """The reader's view of one event, or None for events readers are not told about (and for a
    stored event this code cannot read: skipped and logged, never fatal to a digest)."""
    try:
        return _to_entry(event, index)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        log_skipped("digests", event, exc)
        return None


def _to_entry(event: RecordedEvent, index: dict[str, IndexEntry]) -> Entry | None:
    label = LABELS.get(event.type)
    if label is None:
        return None
    p = event.payload
    ref_id = str(p.get("id", ""))
    # The date of the world only: never the day the tracker recorded it.
    date = event.valid_from or str(p.get("date") or "")
    if event.type in PAGE_TYPES:
        return _page_entry(event, index.get(f"source:{ref_id}"), ref_id, date, label, index)
    info = index.get(f"item:{ref_id}")
    jurisdiction = (info.jurisdiction if info else None) or str(p.get("jurisdiction") or "INTL")
    kind = (info.kind if info else None) or str(p.get("kind") or "")
    note = p.get("note") or p.get("reason") or ""
    if event.type == v.FACT_REPORTED and "value" in p:
        note = f"{p.get('metric', '')} = {p.get('value')} {p.get('unit', '')}".strip() + (f"; {note}" if note else "")
    row = ChangeRow(
        position=event.position, event_hash=event.hash, section="item", ref_id=ref_id,
        jurisdiction=jurisdiction, kind=kind,
        title_zh=clean(info.title_zh if info else p.get("title_zh")),
        title_en=clean(info.title_en if info else p.get("title_en")),
        label=label[0], category=label[1], date=date, recorded_at=event.recorded_at,
        note=clean(str(note)), url=(info.url if info else None) or "", date_basis=date_basis(p),
        marks=tuple(clean(m) for m in info.marks) if info else (), provenance=provenance(p),
    )
    topics = frozenset(info.topics) if info else frozenset(p.get("topics") or ())
    return Entry(row, Target(jurisdiction, frozenset({kind}), topics, frozenset({ref_id})))


def date_basis(payload: dict[str, object]) -> str:
    """"conventional" when the seeds assign the date rather than the source stating it (seed field date_basis)."""
    basis = payload.get("date_basis")
    folded = payload.get("step_folded")
    if not basis and isinstance(folded, dict):
        basis = folded.get("date_basis")
    return str(basis or "")


def provenance(payload: dict[str, object]) -> str:
    """A step from outside the review names its source ("" for the review's own word)."""
    folded = payload.get("step_folded")
    step = folded if isinstance(folded, dict) and not payload.get("external") else payload
    if not step.get("external"):
        return ""
    return clean(f"from outside the review: {step.get('source') or 'source not named'}")


def _page_entry(
    event: RecordedEvent, info: IndexEntry | None, source_id: str, date: str, label: tuple[str, str],
    index: dict[str, IndexEntry],
) -> Entry:
    p = event.payload
    items = info.items if info else ()
    linked = [index.get(f"item:{item}") for item in items]
    kinds = frozenset(i.kind for i in linked if i is not None and i.kind)
    jurisdiction = (info.jurisdiction if info else None) or "INTL"
    if event.type == v.SOURCE_CHANGED:
        # A page change is known only by when it was observed: that day is its date, labelled so.
        date = event.recorded_at[:10]
        excerpt, truncated = diff_excerpt(str(p.get("diff") or ""))
        truncated = truncated or bool(p.get("diff_truncated"))
        url = str(p.get("url") or (info.url if info else "") or "")
        note = ""
    else:
        excerpt, truncated = (), False
        url = str(p.get("url") or (info.url if info else "") or "")
        note = clean(f"{p.get('title') or ''} ({p.get('entry_id') or ''})")
        date = str(p.get("date") or "") or date
    row = ChangeRow(
        position=event.position, event_hash=event.hash, section="page", ref_id=source_id,
        jurisdiction=jurisdiction, kind=(info.kind if info else None) or "source",
        title_zh="", title_en=clean((info.title_en if info else "") or source_id),
        label=label[0], category=label[1], date=date, recorded_at=event.recorded_at,
        note=note, url=url, excerpt=excerpt, excerpt_truncated=truncated,
    )
    return Entry(row, Target(jurisdiction, kinds, frozenset(info.topics if info else ()),
                             frozenset({source_id, *items})))


def group_by_jurisdiction(rows: list[ChangeRow]) -> tuple[JurisdictionGroup, ...]:
    """Rows grouped by jurisdiction (US, EU, JP, CN, INTL, then others), order kept within a group."""
    groups: dict[str, list[ChangeRow]] = {}
    for row in rows:
        groups.setdefault(row.jurisdiction, []).append(row)
    return tuple(
        JurisdictionGroup(code, JURISDICTION_NAMES.get(code, code), tuple(groups[code]))
        for code in sorted(groups, key=lambda c: (JURISDICTION_ORDER.get(c, 99), c))
    )
