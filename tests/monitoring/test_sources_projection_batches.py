"""The sources read model folds a batch in memory (issue 18): any batch size, and a rebuild, give
exactly what one event at a time gives, bad events quarantined alike."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tracker import migrate
from tracker.core import Database, EventStore, NewEvent, Projector
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source
from tracker.projections import all_projections
from tracker.projections.sources import SourcesProjection
from tracker.schema.operational import source_state
from tracker.schema.read_models import projection_quarantine, sources

META = {"actor": "test", "cause": "test"}


def registered(source_id: str, **fields: Any) -> NewEvent:
    source = Source(id=source_id, url=f"https://example.org/{source_id}", kind="html", origin="operator", **fields)
    return NewEvent(v.source_stream(source_id), v.SOURCE_REGISTERED, source.to_payload(), META)


def event(type_: str, source_id: str, **payload: Any) -> NewEvent:
    return NewEvent(v.source_stream(source_id), type_, {"id": source_id, **payload}, META)


def history() -> list[NewEvent]:
    return [
        registered("a", ignore=("^Updated",)),
        registered("b"),
        event(v.SOURCE_VOLATILE_IGNORED, "a", ignore=["^Session \\d+", "^Clock"]),
        event(v.SOURCE_RULES_ADOPTED, "b", select="main", ignore=["^Printed"]),
        event(v.SOURCE_REMOVED, "a"),
        registered("a", title="Again"),               # keeps the volatile lines found before
        event(v.SOURCE_VOLATILE_REVOKED, "a", ignore=["^Clock"]),
        event(v.SOURCE_RULES_ADOPTED, "b", select=None, ignore=["("]),    # a bad pattern: quarantined
        event(v.SOURCE_REMOVED, "ghost"),              # never registered: nothing to change
        event(v.SOURCE_VOLATILE_IGNORED, "ghost", ignore=["^x"]),
        registered("c", every="2d"),
        event(v.SOURCE_REMOVED, "c"),
        registered("b", tags=("cn",)),
    ]


def state(db: Database) -> tuple[list[Any], list[Any], list[Any]]:
    with db.read() as conn:
        return (
            [tuple(r) for r in conn.execute(sa.select(sources).order_by(sources.c.id))],
            [tuple(r) for r in conn.execute(sa.select(source_state.c.source_id, source_state.c.state)
                                            .order_by(source_state.c.source_id))],
            [(r.position, r.type) for r in conn.execute(sa.select(projection_quarantine)
                                                         .where(projection_quarantine.c.projection == "sources")
                                                         .order_by(projection_quarantine.c.position))],
        )


@pytest.fixture
def logged(db_url: str) -> Database:
    db = Database(db_url)
    migrate.upgrade(db)
    store = EventStore(db)
    for one in history():       # one append each: positions as a person's commands would make them
        store.append([one])
    return db


def test_any_batch_size_and_a_rebuild_give_what_one_event_at_a_time_gives(logged: Database) -> None:
    store = EventStore(logged)
    Projector(store, [SourcesProjection()], batch_size=1).catch_up()
    one_by_one = state(logged)
    assert one_by_one[2] == [(8, v.SOURCE_RULES_ADOPTED)]
    with logged.read() as conn:
        rows = {r["id"]: r for r in conn.execute(sa.select(sources)).mappings()}
    assert set(rows) == {"a", "b", "c"}
    assert (rows["a"]["active"], rows["a"]["title"], rows["a"]["volatile"]) == (True, "Again", '["^Session \\\\d+"]')
    assert (rows["b"]["select_css"], rows["b"]["ignore"], rows["b"]["tags"]) == (None, "[]", '["cn"]')
    assert (rows["c"]["active"], rows["c"]["every_seconds"]) == (False, 2 * 86400)
    for batch_size in (2, 3, 5000):
        projector = Projector(store, [SourcesProjection()], batch_size=batch_size, rebuild_batch_size=batch_size)
        projector.rebuild()
        assert state(logged) == one_by_one, batch_size



def test_the_bulk_rebuild_gives_what_the_incremental_fold_gives(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(db_url)
    migrate.upgrade(db)
    store = EventStore(db)
    for one in history():
        if one.payload.get("ignore") != ["("]:    # no bad event: the bulk path runs to the end
            store.append([one])
    Projector(store, [SourcesProjection()], batch_size=1).catch_up()
    incremental = state(db)
    with db.write() as conn:                      # the operational rows stay; the rebuild re-adds missing ones
        conn.execute(source_state.delete().where(source_state.c.source_id == "c"))

    def refused(*_: Any) -> None:
        raise AssertionError("the rebuild went batch by batch")

    monkeypatch.setattr(SourcesProjection, "apply", refused)
    Projector(store, [SourcesProjection()], batch_size=3, rebuild_batch_size=3).rebuild()
    assert state(db) == incremental and incremental[2] == []

def test_only_an_event_of_its_types_puts_the_projection_behind_and_many_others_move_its_checkpoint(
    logged: Database,
) -> None:
    store = EventStore(logged)
    projector = Projector(store, [SourcesProjection()], batch_size=4)
    assert projector.behind() == ["sources"]
    projector.catch_up()
    assert projector.behind() == []
    unreachable = [event(v.SOURCE_UNREACHABLE, "b", error_class="timeout", error="t", failures=n) for n in range(5)]
    store.append(unreachable[:3])       # what the checks write between two ticks: no source changes
    assert projector.behind() == [] and projector.checkpoint("sources") == store.head().position - 3
    assert Projector(store, [SourcesProjection()], batch_size=4).behind() == []   # another process alike
    store.append([registered("d")])
    assert projector.behind() == ["sources"]
    projector.catch_up()
    assert projector.behind() == [] and "d" in {row[0] for row in state(logged)[0]}
    store.append(unreachable)             # more than a catch-up batch past the checkpoint: catch up
    assert projector.behind() == ["sources"]
    projector.catch_up()
    assert projector.checkpoint("sources") == store.head().position


def test_behind_asked_of_all_projections_at_once_answers_as_each_asked_alone(logged: Database) -> None:
    """behind() answers every projection in one statement: each answer is the one it gets alone,
    through each state (never caught up, caught up, events of other types past it, its own)."""
    store = EventStore(logged)

    def together() -> list[str]:
        return Projector(store, all_projections(), batch_size=4).behind()

    def alone() -> list[str]:
        return [p.name for p in all_projections() if Projector(store, [p], batch_size=4).behind()]

    remembering = Projector(store, all_projections(), batch_size=4)    # keeps its empty stretches
    assert together() == alone() == remembering.behind() and "sources" in alone()
    remembering.catch_up()
    assert together() == alone() == remembering.behind() == []
    store.append([event(v.SOURCE_UNREACHABLE, "b", error_class="timeout", error="t", failures=1)])
    assert together() == alone() == remembering.behind() and "sources" not in alone()
    store.append([registered("d")])
    assert together() == alone() == remembering.behind() and "sources" in alone()
    Projector(store, [SourcesProjection()]).catch_up()
    assert together() == alone() == remembering.behind() and "sources" not in alone()
