"""Property: the triage read model caught up incrementally, in any batch split, equals a rebuild
from the log; and an accept -> replay -> rebuild round trip equals the incremental read models."""

from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection

from tests.record.helpers import dump
from tests.triage.conftest import add, record_entries
from tracker.app import App
from tracker.core import NewEvent, Projector
from tracker.domain import proposals as dp
from tracker.domain import vocabulary as v
from tracker.projections.proposals import ProposalsProjection
from tracker.schema.read_models import triage_decisions, triage_proposals
from tracker.services import proposing, triage

DECISIONS = [v.PROPOSAL_ACCEPTED, v.PROPOSAL_REJECTED, v.PROPOSAL_DEFERRED, v.PROPOSAL_ASSIGNED, v.PROPOSAL_ASSESSED]
_examples = itertools.count()

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("raise"),
            st.integers(0, 5),
            st.sampled_from(list(dp.STEPS)),
            st.sampled_from(["", "2025", "2025-09-28"]),
        ),
        st.tuples(st.just("decide"), st.integers(0, 6), st.sampled_from(DECISIONS), st.sampled_from(["bob", "carol"])),
    ),
    max_size=25,
)


def build(prefix: str, operations: list[tuple[Any, ...]]) -> list[NewEvent]:
    events: list[NewEvent] = []
    for op in operations:
        if op[0] == "raise":
            draft = dp.Draft(source_id=f"src-{prefix}", origin="html-rows", jurisdiction="CN", step=op[2],
                             evidence=dp.Evidence(op[1] + 1, v.SOURCE_CHANGED, "h" * 64, None, ("+ row",)),
                             kind="guidance", title_zh=f"指导原则{op[1]}", date=op[3], url=f"https://x.test/{prefix}/{op[1]}")
            proposal = dp.propose(draft, dp.NO_MATCH)
            events.append(NewEvent(v.proposal_stream(proposal.id), v.PROPOSAL_RAISED, proposal.payload(),
                                   metadata={"actor": "tracker"}, idempotency_key=dp.idempotency_key(proposal.key)))
        else:
            # A decision on a proposal raised before, or on one never raised (skipped by the projection).
            raised = [e.payload["id"] for e in events if e.type == v.PROPOSAL_RAISED]
            target = raised[op[1] % len(raised)] if raised and op[1] < 6 else f"p-{op[1]:012x}"
            payload = {"id": target, "to": op[3], "until": "2026-01-01", "impact": "low", "item_id": "x"}
            events.append(NewEvent(v.proposal_stream(target), op[2], payload, metadata={"actor": op[3]}))
    return events


def tables(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "triage_proposals": [
            tuple(r) for r in conn.execute(sa.select(triage_proposals).order_by(triage_proposals.c.id))
        ],
        "triage_decisions": [
            tuple(r) for r in conn.execute(sa.select(triage_decisions).order_by(triage_decisions.c.position))
        ],
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=ops, splits=st.lists(st.integers(1, 6), min_size=1, max_size=8),
       batch_size=st.sampled_from([1, 2, 3, 7, 5000]))
def test_incremental_equals_rebuild(
    app: App, operations: list[tuple[Any, ...]], splits: list[int], batch_size: int
) -> None:
    events = build(f"e{next(_examples)}", operations)
    incremental = Projector(app.store, [ProposalsProjection()], batch_size=batch_size)
    sizes = itertools.cycle(splits)
    start = 0
    while start < len(events):
        end = start + next(sizes)
        app.store.append(events[start:end])
        incremental.catch_up()
        start = end
    with app.db.read() as conn:
        caught_up = tables(conn)
    Projector(app.store, [ProposalsProjection()]).rebuild()
    with app.db.read() as conn:
        assert tables(conn) == caught_up


def test_accept_replay_rebuild_round_trip(app: App) -> None:
    add(app, "fr", "https://www.federalregister.gov/api/v1/documents.json", kind="federal-register", jurisdiction="US")
    record_entries(
        app,
        "fr",
        {
            "entry_id": "2025-00001",
            "type": "RULE",
            "date": "2025-05-01",
            "title": "Human Cells; Final Rule",
            "dates": {"publication_date": "2025-04-01", "effective_on": "2025-05-01"},
        },
        {
            "entry_id": "2025-00002",
            "type": "PRORULE",
            "date": "2025-06-01",
            "title": "Tissue Banks; Proposed Rule",
            "dates": {"publication_date": "2025-06-01"},
        },
    )
    proposing.raise_proposals(app)
    first, second, third = triage.list_proposals(app)
    triage.accept(app, first.id, actor="alice", new="us-tissue-banks", title_en="Tissue banks rule")
    triage.accept(app, second.id, actor="alice", new="us-human-cells-rule")
    triage.accept(app, third.id, actor="bob", item="us-human-cells-rule")
    app.fresh()
    with app.db.read() as conn:
        before = {**tables(conn), **dump(conn)}
    # Deriving again from the whole log raises nothing new, and rebuilding gives the same rows.
    assert proposing.raise_proposals(app, after=0).raised == []
    app.projector.rebuild(["proposals", "record"])
    with app.db.read() as conn:
        assert {**tables(conn), **dump(conn)} == before
    # The accepted items now match the next document about them.
    record_entries(
        app,
        "fr",
        {
            "entry_id": "2025-00003",
            "type": "RULE",
            "date": "2025-09-01",
            "title": "Tissue banks rule; Technical Amendment",
            "dates": {"publication_date": "2025-09-01"},
        },
    )
    proposing.raise_proposals(app)
    newest = triage.list_proposals(app, state="open")[0]
    assert newest.match == "us-tissue-banks"
