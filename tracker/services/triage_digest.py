"""Open triage proposals as digests show them: "awaiting triage", with the evidence and the link.

Each comes with the Target a subscription's filters are matched against: its jurisdiction, its
kind, and the item it matched and the source it was seen on (so a subscription to an item or a
source sees the proposals about it).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from tracker.app import App
from tracker.domain.dates import NOT_GIVEN
from tracker.domain.subscriptions import Target
from tracker.rendering import AwaitingRow
from tracker.services.triage import list_proposals

LIMIT = 200     # a digest or changelog lists at most this many (newest first); `tracker triage list` has them all
LIST_ALL = 1_000_000


def awaiting(
    app: App, jurisdictions: frozenset[str] = frozenset(), *, conn: Connection | None = None,
) -> list[tuple[AwaitingRow, Target]]:
    """The open proposals (a lapsed deferral is open again), newest first, at most LIMIT; only
    these jurisdictions when some are given. Read in ``conn``'s transaction when given (the caller
    has brought "proposals" up to date)."""
    found = []
    for p in list_proposals(app, state="open", limit=LIMIT if not jurisdictions else LIST_ALL, conn=conn):
        if jurisdictions and p.jurisdiction not in jurisdictions:
            continue
        view = AwaitingRow(
            id=p.id, jurisdiction=p.jurisdiction, step=p.step, kind=p.kind or "", title_zh=p.title_zh,
            title_en=p.title_en, when=p.date or NOT_GIVEN, url=p.url or "",
            evidence=f"{p.source} #{p.evidence_position}", match=p.match or "",
        )
        items = frozenset(ref for ref in (p.match, p.source) if ref)
        found.append((view, Target(p.jurisdiction, frozenset({p.kind or ""}), frozenset(), items, machine=True)))
        if len(found) == LIMIT:
            break
    return found


__all__ = ["awaiting"]
