"""From events to what readers see: one ChangeRow (and the Target filters match) per event.

Shared by digests and changelogs, so both describe an event the same way. The event decides its
half of the row (domain/reporting.py: label, date, note, excerpt); the item or page it is about
gives the rest from the digest index (tracker.projections.digest_index): titles, jurisdiction,
kind, link and flags as they are now.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain import vocabulary as v
from tracker.domain.reporting import Reported, clean
from tracker.domain.subscriptions import Target
from tracker.projections.digest_index import IndexEntry
from tracker.rendering.views import ChangeRow, JurisdictionGroup

__all__ = ["Entry", "change_row", "entry_of", "group_by_jurisdiction"]

JURISDICTION_NAMES = {
    "US": "United States", "EU": "European Union", "JP": "Japan", "CN": "China", "INTL": "International",
}
JURISDICTION_ORDER = {code: n for n, code in enumerate(v.JURISDICTIONS)}


@dataclass(frozen=True, slots=True)
class Entry:
    row: ChangeRow
    target: Target


def entry_of(part: Reported, index: dict[str, IndexEntry]) -> Entry:
    """The row and what subscription filters match, from the event's half and the index."""
    info = index.get(part.ref)
    row = change_row(part, info)
    if part.section == "page":
        items = info.items if info else ()
        kinds = frozenset(i.kind for i in (index.get(f"item:{item}") for item in items) if i is not None and i.kind)
        return Entry(row, Target(row.jurisdiction, kinds, frozenset(info.topics if info else ()),
                                 frozenset({part.ref_id, *items}), machine=True))
    topics = frozenset(info.topics) if info else frozenset(part.topics)
    return Entry(row, Target(row.jurisdiction, frozenset({row.kind}), topics, frozenset({part.ref_id})))


def change_row(r: Reported, info: IndexEntry | None) -> ChangeRow:
    """The whole row: the event's half, and what the index says of its item or page now."""
    if r.section == "page":
        return ChangeRow(
            position=r.position, event_hash=r.event_hash, section="page", ref_id=r.ref_id,
            jurisdiction=(info.jurisdiction if info else None) or "INTL", kind=(info.kind if info else None) or "source",
            title_zh="", title_en=clean((info.title_en if info else "") or r.ref_id),
            label=r.label, category=r.category, date=r.date, recorded_at=r.recorded_at,
            note=r.note, url=r.url or (info.url if info else "") or "", excerpt=r.excerpt,
            excerpt_truncated=r.excerpt_truncated,
        )
    if info is None:
        return ChangeRow(
            position=r.position, event_hash=r.event_hash, section="item", ref_id=r.ref_id,
            jurisdiction=r.jurisdiction or "INTL", kind=r.kind, title_zh=r.title_zh, title_en=r.title_en,
            label=r.label, category=r.category, date=r.date, recorded_at=r.recorded_at, note=r.note, url="",
            date_basis=r.date_basis, provenance=r.provenance,
        )
    return ChangeRow(
        position=r.position, event_hash=r.event_hash, section="item", ref_id=r.ref_id,
        jurisdiction=info.jurisdiction or r.jurisdiction or "INTL", kind=info.kind or r.kind,
        title_zh=clean(info.title_zh), title_en=clean(info.title_en), label=r.label, category=r.category,
        date=r.date, recorded_at=r.recorded_at, note=r.note, url=info.url or "", date_basis=r.date_basis,
        marks=tuple(clean(m) for m in info.marks), provenance=r.provenance,
    )


def group_by_jurisdiction(rows: list[ChangeRow]) -> tuple[JurisdictionGroup, ...]:
    """Rows grouped by jurisdiction (US, EU, JP, CN, INTL, then others), order kept within a group."""
    groups: dict[str, list[ChangeRow]] = {}
    for row in rows:
        groups.setdefault(row.jurisdiction, []).append(row)
    return tuple(
        JurisdictionGroup(code, JURISDICTION_NAMES.get(code, code), tuple(groups[code]))
        for code in sorted(groups, key=lambda c: (JURISDICTION_ORDER.get(c, 99), c))
    )
