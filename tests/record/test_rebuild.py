"""A rebuild replaces the read model in one transaction, and agrees with the replay on renames."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Connection

from tests.record.helpers import dump
from tracker.core import EventStore, NewEvent, Projector, RecordedEvent
from tracker.domain import seed_events as se
from tracker.domain.seeds import SeedItem
from tracker.errors import DatabaseError
from tracker.projections.record import RecordProjection
from tracker.services.replay import replay

META = {"actor": "test", "cause": "seed:rebuild.toml"}


def agency(item_id: str) -> SeedItem:
    return SeedItem("rebuild.toml", {
        "id": item_id, "jurisdiction": "JP", "kind": "agency", "title_zh": "医薬品医療機器総合機構", "title_en": "PMDA",
        "issuer": None, "topics": [], "discipline": None, "urls": [], "citation": {"ref": [], "quote": "引文"},
        "notes": None, "relations": [], "attributes": {}, "seed_file": "rebuild.toml",
    }, [])


def rename(item: SeedItem, day: str, name: str) -> NewEvent:
    step = {
        "step": "renamed",
        "date": day,
        "note": None,
        "by": None,
        "citation": None,
        "title_zh": name,
        "title_en": name,
    }
    return se.step_event(item, step, META)


def test_a_backfilled_earlier_rename_does_not_take_the_name_back(cstore: EventStore) -> None:
    item = agency("jp-agency")
    cstore.append([se.registration_event(item, META), rename(item, "2016", "新名2016")])
    cstore.append([rename(item, "2015", "新名2015")])  # recorded later, dated earlier
    projector = Projector(cstore, [RecordProjection()])
    projector.catch_up()
    with cstore.db.read() as conn:
        caught_up = dump(conn)
    projector.rebuild()
    with cstore.db.read() as conn:
        rebuilt = dump(conn)
    assert caught_up == rebuilt
    (row,) = rebuilt["record_items"]
    assert (row[4], row[5]) == ("新名2016", "新名2016")
    (state,) = replay(cstore, valid_at=date(9999, 1, 1))
    assert state.title_zh == row[4]
    assert [step[2] for step in rebuilt["record_steps"]] == ["renamed", "renamed"]  # both stay in the history


class FailingRecord(RecordProjection):
    """The record projection, failing after its second batch of a rebuild: the database becomes
    unusable (any other error is blamed on the events and handled batch by batch, see below)."""

    error: type[Exception] = DatabaseError

    def rebuild(self, conn: Connection, batches: Iterable[Sequence[RecordedEvent]]) -> None:
        def failing() -> Any:
            for number, batch in enumerate(batches):
                if number == 2:
                    raise self.error("the machine fails mid-rebuild")
                yield batch

        super().rebuild(conn, failing())


class FailingBulkRecord(FailingRecord):
    error = RuntimeError


def test_a_failed_rebuild_leaves_the_old_read_model_whole(cstore: EventStore) -> None:
    items = [agency(f"jp-agency-{i}") for i in range(12)]
    cstore.append([se.registration_event(item, META) for item in items])
    cstore.append([rename(item, "2020", f"新名{i}") for i, item in enumerate(items)])
    Projector(cstore, [RecordProjection()]).catch_up()
    with cstore.db.read() as conn:
        before = dump(conn)
    failing = Projector(cstore, [FailingRecord()], batch_size=2, rebuild_batch_size=5)
    with pytest.raises(DatabaseError, match="mid-rebuild"):
        failing.rebuild()
    with cstore.db.read() as conn:
        assert dump(conn) == before
    # A one-go rebuild stopped by something else falls back to batch by batch: the same read model.
    assert Projector(cstore, [FailingBulkRecord()], rebuild_batch_size=5).rebuild() == {"record": 24}
    with cstore.db.read() as conn:
        assert dump(conn) == before
    assert failing.checkpoint("record") == cstore.head().position
    assert Projector(cstore, [RecordProjection()], rebuild_batch_size=5).rebuild() == {"record": 24}
    with cstore.db.read() as conn:
        assert dump(conn) == before
