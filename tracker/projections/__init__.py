"""Read models, each owning its tables, droppable and rebuildable from the log alone."""

from __future__ import annotations

from tracker.core import Projection
from tracker.projections.record import RecordProjection
from tracker.projections.register_entries import RegisterEntriesProjection
from tracker.projections.sources import SourcesProjection
from tracker.projections.subscriptions import digest_projections


def all_projections() -> list[Projection]:
    """Every projection the application keeps up to date, in catch-up order."""
    return [
        RecordProjection(),      # the regulatory record: items, steps, relations
        SourcesProjection(),     # monitored sources (and their operational state rows)
        RegisterEntriesProjection(),  # register entries as known, and their deadlines
        *digest_projections(),   # subscriptions and the digest index
    ]
