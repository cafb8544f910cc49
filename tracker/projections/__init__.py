"""Read models, each owning its tables, droppable and rebuildable from the log alone."""

from __future__ import annotations

from tracker.core import Projection


def all_projections() -> list[Projection]:
    """Every projection the application keeps up to date, in catch-up order."""
    projections: list[Projection] = []
    from tracker.projections.record import RecordProjection  # issue 3: the regulatory record
    projections.append(RecordProjection())
    from tracker.projections.sources import SourcesProjection  # issue 4: monitored sources
    projections.append(SourcesProjection())
    from tracker.projections.subscriptions import digest_projections  # issue 5: subscriptions, digest index
    projections.extend(digest_projections())
    return projections
