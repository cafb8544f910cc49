"""Migrations that touch the events table keep every stored byte, so the chain still verifies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from tracker import migrate
from tracker.core import Database, EventStore, NewEvent
from tracker.services import auditing


def _to(db: Database, revision: str, *, down: bool = False) -> None:
    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _rows(db: Database) -> list[tuple[object, ...]]:
    with db.read() as conn:
        return [tuple(row) for row in conn.exec_driver_sql("SELECT * FROM events ORDER BY position")]


def _append_some(store: EventStore, start: int) -> None:
    store.append([
        NewEvent(f"instrument/m{i}", "InstrumentRegistered", {"id": i, "title_zh": "再生医療等製品"},
                 idempotency_key=f"seed:m{i}" if i % 2 else None)
        for i in range(start, start + 6)
    ])


def test_partial_key_index_migration_keeps_the_log_and_its_guarantees(db_url: str) -> None:
    db = Database(db_url)
    _to(db, "0005")
    _append_some(EventStore(db), 0)
    before = _rows(db)

    _to(db, "0006")
    store = EventStore(db)
    assert _rows(db) == before and auditing.verify_store(store).ok
    again = store.append([NewEvent("instrument/m1", "InstrumentRegistered", {"id": 1}, idempotency_key="seed:m1")])
    assert again[0].position == 2  # the stored event, found through the partial index
    with db.write() as conn:  # still refused by the database itself
        with pytest.raises(sa.exc.DBAPIError):
            conn.exec_driver_sql("UPDATE events SET payload = '{}' WHERE position = 1")
    with pytest.raises(sa.exc.IntegrityError):  # and keys stay unique behind the store's back
        with db.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO events (position, stream, version, type, schema_version, payload, metadata,"
                " recorded_at, idempotency_key, prev_hash, hash) SELECT 99, 'instrument/dup', 1, 'X', 1, '{}', '{}',"
                " recorded_at, idempotency_key, hash, hash FROM events WHERE position = 2"
            )

    _to(db, "0005", down=True)
    assert _rows(db) == before
    _to(db, "head")
    _append_some(EventStore(db), 6)
    report = auditing.verify_store(EventStore(db))
    assert report.ok and report.count == 12
    db.dispose()
