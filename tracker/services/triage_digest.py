"""Open triage proposals as digests show them: "awaiting triage", with the evidence and the link.

Each comes with the Target a subscription's filters are matched against: its jurisdiction, its
kind, and the item it matched and the source it was seen on (so a subscription to an item or a
source sees the proposals about it).
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.app import App
from tracker.domain.dates import NOT_GIVEN
from tracker.domain.subscriptions import Target
from tracker.rendering import AwaitingRow
from tracker.schema.read_models import triage_proposals

LIMIT = 200     # a digest lists at most this many (newest first); `tracker triage list` has them all


def awaiting(app: App) -> list[tuple[AwaitingRow, Target]]:
    app.fresh("proposals")
    query = (sa.select(triage_proposals).where(triage_proposals.c.state == "open")
             .order_by(triage_proposals.c.raised_position.desc()).limit(LIMIT))
    with app.db.read() as conn:
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        view = AwaitingRow(
            id=row.id, jurisdiction=row.jurisdiction, step=row.step, kind=row.kind or "", title_zh=row.title_zh,
            title_en=row.title_en, when=row.date or NOT_GIVEN, url=row.url or "",
            evidence=f"{row.source_id} #{row.evidence_position}", match=row.match_item or "",
        )
        items = frozenset(ref for ref in (row.match_item, row.source_id) if ref)
        found.append((view, Target(row.jurisdiction, frozenset({row.kind or ""}), frozenset(), items, machine=True)))
    return found


__all__ = ["awaiting"]
