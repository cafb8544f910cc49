"""Read models, each owning its tables, droppable and rebuildable from the log alone."""

from __future__ import annotations

from typing import Literal

from tracker.core import Projection
from tracker.projections.changelog_rows import ChangelogRowsProjection
from tracker.projections.proposals import ProposalsProjection
from tracker.projections.record import RecordProjection
from tracker.projections.register_entries import RegisterEntriesProjection
from tracker.projections.sources import SourcesProjection
from tracker.projections.subscriptions import digest_projections

# The names of the read models, as callers ask for them fresh (App.fresh("sources")): mypy checks
# the spelling, and tests/record/test_rebuild.py that every projection is named here.
ReadModel = Literal[
    "record", "sources", "subscriptions", "digest_index", "register_entries", "proposals", "changelog_rows"
]


def all_projections() -> list[Projection]:
    """Every projection the application keeps up to date, in catch-up order."""
    return [
        RecordProjection(),      # the regulatory record: items, steps, relations
        SourcesProjection(),     # monitored sources (and their operational state rows)
        RegisterEntriesProjection(),  # register entries as known, and their deadlines
        *digest_projections(),   # subscriptions and the digest index
        ProposalsProjection(),   # triage: proposals, their state and the analysts' decisions
        ChangelogRowsProjection(),  # the event's half of each changelog row
    ]
