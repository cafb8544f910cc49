"""From events to what readers see: one ChangeRow per event, and the Target filters match for a source.

Shared by digests and changelogs, so both describe an event the same way. The event decides its
half of the row (domain/reporting.py: label, date, note, excerpt); the item or page it is about
gives the rest from the digest index (tracker.projections.digest_index): titles, jurisdiction,
kind, link and flags as they are now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from tracker.domain import vocabulary as v
from tracker.domain.reporting import Reported, clean
from tracker.domain.subscriptions import Target
from tracker.projections.digest_index import IndexEntry
from tracker.rendering.views import ChangeRow, JurisdictionGroup

__all__ = [
    "Shown", "change_row", "group_by_jurisdiction", "item_kinds", "shown_of", "source_target", "stored_change_row",
]

JURISDICTION_NAMES = {
    "US": "United States", "EU": "European Union", "JP": "Japan", "CN": "China", "INTL": "International",
}
JURISDICTION_ORDER = {code: n for n, code in enumerate(v.JURISDICTIONS)}


def source_target(
    source_id: str, jurisdiction: str, info: IndexEntry | None, index: dict[str, IndexEntry], *, machine: bool,
) -> Target:
    """What filters match for a monitored source (``info``, its index entry): its topics, the
    source and the items it documents, and those items' kinds."""
    items = info.items if info else ()
    return Target(jurisdiction, item_kinds(items, index), frozenset(info.topics if info else ()),
                  frozenset({source_id, *items}), machine=machine)


def item_kinds(items: Iterable[str], index: dict[str, IndexEntry]) -> frozenset[str]:
    """The kinds of a source's items, as the index knows them (what a kind filter matches a source by)."""
    return frozenset(i.kind for i in (index.get(f"item:{item}") for item in items) if i is not None and i.kind)


def change_row(r: Reported, info: IndexEntry | None) -> ChangeRow:
    """The whole row: the event's half, and what the index says of its item or page now."""
    return _row(r, r.excerpt, None if info is None else shown_of(info))


def shown_of(info: IndexEntry) -> Shown:
    """The index's half of a row, from an index entry (its flags cleaned)."""
    return Shown(info.jurisdiction, info.kind, info.title_zh, info.title_en, info.url,
                 tuple(clean(m) for m in info.marks) if info.marks else ())


class Shown(NamedTuple):
    """What the digest index says of an item or page now, as a changelog row takes it: read once
    per item or page (a changelog meets an item at each of its steps), its flags already cleaned."""

    jurisdiction: str | None
    kind: str | None
    title_zh: str
    title_en: str
    url: str | None
    marks: tuple[str, ...]


def stored_change_row(stored: Sequence[Any], info: Shown | None) -> ChangeRow:
    """change_row over a changelog_rows row as stored (its columns in order, topics left out, then
    anything: not read), without building the event's half (Reported) first: a changelog makes one
    row per reported event."""
    excerpt = stored[11]
    return _row(stored, tuple(excerpt.split("\n")) if excerpt else (), info)


def _row(values: Sequence[Any], lines: tuple[str, ...], info: Shown | None) -> ChangeRow:
    """The row from the event's half (Reported's fields, or a stored row's columns: the same order)
    with its excerpt as lines, and the index's half. Built with positional arguments (ChangeRow's
    field order): a changelog makes one per event."""
    # A slice, not a starred target: that made a list of the remaining values each row (0.3 -> 0.13 us).
    (position, event_hash, recorded_at, _, section, ref_id, label, category, date, note, url, _, truncated,
     basis, provenance, jurisdiction, kind, title_zh, title_en) = values[:19]
    if section == "page":
        if info is None:
            return ChangeRow(position, event_hash, "page", ref_id, "INTL", "source", "", clean(ref_id), label, category,
                             date, recorded_at, note, url, lines, bool(truncated))
        return ChangeRow(
            position, event_hash, "page", ref_id, info.jurisdiction or "INTL", info.kind or "source", "",
            clean(info.title_en or ref_id), label, category, date, recorded_at, note, url or info.url or "", lines,
            bool(truncated),
        )
    if info is None:
        return ChangeRow(position, event_hash, "item", ref_id, jurisdiction or "INTL", kind, title_zh, title_en, label,
                         category, date, recorded_at, note, "", (), False, basis, (), provenance)
    shown_jurisdiction, shown_kind, shown_zh, shown_en, shown_url, marks = info  # unpacked: cheaper than by name
    return ChangeRow(
        position, event_hash, "item", ref_id, shown_jurisdiction or jurisdiction or "INTL", shown_kind or kind,
        clean(shown_zh), clean(shown_en), label, category, date, recorded_at, note, shown_url or "", (), False,
        basis, marks, provenance,
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
