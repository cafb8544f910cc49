"""Read models, each owning its tables, droppable and rebuildable from the log alone."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Literal

from tracker.core import Projection

# The names of the read models, as callers ask for them fresh (App.fresh("sources")): mypy checks
# the spelling, and tests/record/test_rebuild.py that every projection is named here.
ReadModel = Literal[
    "record", "sources", "subscriptions", "digest_index", "register_entries", "proposals", "changelog_rows"
]


# Each projection's module is imported only when a Projector needs it: a check needs the sources
# read model alone, and the others (triage's proposals, the record's fold, the digest index) cost
# a check 8.2 ms (under python -X importtime) before its first request (issue 18).
def _record() -> list[Projection]:
    from tracker.projections.record import RecordProjection

    return [RecordProjection()]        # the regulatory record: items, steps, relations


def _sources() -> list[Projection]:
    from tracker.projections.sources import SourcesProjection

    return [SourcesProjection()]       # monitored sources (and their operational state rows)


def _register_entries() -> list[Projection]:
    from tracker.projections.register_entries import RegisterEntriesProjection

    return [RegisterEntriesProjection()]   # register entries as known, and their deadlines


def _digests() -> list[Projection]:
    from tracker.projections.subscriptions import digest_projections

    return [*digest_projections()]     # subscriptions and the digest index


def _proposals() -> list[Projection]:
    from tracker.projections.proposals import ProposalsProjection

    return [ProposalsProjection()]     # triage: proposals, their state and the analysts' decisions


def _changelog_rows() -> list[Projection]:
    from tracker.projections.changelog_rows import ChangelogRowsProjection

    return [ChangelogRowsProjection()]  # the event's half of each changelog row


# In catch-up order: the names each factory makes, and the factory.
_MADE_BY: tuple[tuple[frozenset[str], Callable[[], list[Projection]]], ...] = (
    (frozenset({"record"}), _record),
    (frozenset({"sources"}), _sources),
    (frozenset({"register_entries"}), _register_entries),
    (frozenset({"subscriptions", "digest_index"}), _digests),
    (frozenset({"proposals"}), _proposals),
    (frozenset({"changelog_rows"}), _changelog_rows),
)
NAMES: frozenset[str] = frozenset().union(*(names for names, _ in _MADE_BY))


def all_projections() -> list[Projection]:
    """Every projection the application keeps up to date, in catch-up order."""
    return [projection for _, make in _MADE_BY for projection in make()]


def projections_named(names: Collection[str]) -> list[Projection]:
    """The projections of these read models (and any made beside them), in catch-up order."""
    return [projection for made, make in _MADE_BY if made & set(names) for projection in make()]
