"""The event store contract, run on every backend (SQLite file, PostgreSQL schema)."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tracker.core import GENESIS_HASH, EventStore, NewEvent
from tracker.errors import ConcurrencyError, DatabaseError, EventStoreError, IntegrityError, InvalidEventError
from tracker.schema.log import events
from tracker.services import auditing

CN_TITLE = "生物医学新技术临床研究和临床转化应用管理条例"


def ev(stream: str = "instrument/x", type: str = "InstrumentRegistered", **kw) -> NewEvent:  # type: ignore[no-untyped-def]
    payload = kw.pop("payload", {"id": stream.rpartition("/")[2]})
    return NewEvent(stream=stream, type=type, payload=payload, **kw)


def test_positions_versions_and_chain(store: EventStore) -> None:
    first = store.append([ev("instrument/a"), ev("instrument/b")])
    second = store.append([ev("instrument/a", "InstrumentPublished", valid_from="2025-09-28")])
    assert [e.position for e in [*first, *second]] == [1, 2, 3]
    assert [e.version for e in [*first, *second]] == [1, 1, 2]
    assert first[0].prev_hash == GENESIS_HASH
    assert first[1].prev_hash == first[0].hash and second[0].prev_hash == first[1].hash
    assert store.head().position == 3 and store.head().hash == second[0].hash
    assert [e.type for e in store.read(stream="instrument/a")] == ["InstrumentRegistered", "InstrumentPublished"]
    assert auditing.verify_store(store).head_position == 3


def test_recorded_at_is_set_by_store_and_never_runs_backwards(db) -> None:  # type: ignore[no-untyped-def]
    moments = iter([datetime(2026, 5, 1, 12, tzinfo=UTC), datetime(2026, 5, 1, 11, tzinfo=UTC)])
    store = EventStore(db, clock=lambda: next(moments))
    a = store.append([ev("instrument/a")])[0]
    b = store.append([ev("instrument/b")])[0]
    assert a.recorded_at == "2026-05-01T12:00:00.000000Z"
    assert b.recorded_at == a.recorded_at  # the clock went back; transaction time did not


def test_valid_from_keeps_precision_and_rejects_impossible_dates(store: EventStore) -> None:
    stored = store.append([
        ev("instrument/y", valid_from="1993"),
        ev("instrument/m", valid_from="2025-09"),
        ev("instrument/d", valid_from="2026-05-01"),
    ])
    assert [e.valid_from for e in store.read()] == ["1993", "2025-09", "2026-05-01"] == [e.valid_from for e in stored]
    for bad in ["2025-13", "2025-02-30", "May 2025", ""]:
        with pytest.raises(InvalidEventError):
            ev(valid_from=bad)


def test_optimistic_concurrency_conflict_writes_nothing(store: EventStore) -> None:
    store.append([ev("instrument/a")], expect={"instrument/a": 0})
    with pytest.raises(ConcurrencyError, match="expected version 0, but it is at 1"):
        store.append([ev("instrument/a"), ev("instrument/b")], expect={"instrument/a": 0})
    assert store.count() == 1
    store.append([ev("instrument/a", "InstrumentPublished")], expect={"instrument/a": 1})
    assert store.stream_version("instrument/a") == 2


def test_stream_versions_of_many_streams_in_a_write_transaction(store: EventStore) -> None:
    store.append([ev("instrument/a"), ev("instrument/a"), ev("instrument/b")])
    with store.db.write() as conn:
        store.append([ev("instrument/b")], conn=conn)
        versions = store.stream_versions(["instrument/a", "instrument/b", "instrument/none"], conn=conn)
    assert versions == {"instrument/a": 2, "instrument/b": 2, "instrument/none": 0}


def test_idempotency_key_returns_stored_event_and_writes_nothing(store: EventStore) -> None:
    first = store.append([ev("instrument/a", idempotency_key="seed:a:registered")])[0]
    again = store.append([ev("instrument/a", payload={"other": 1}, idempotency_key="seed:a:registered")])[0]
    assert again == first and store.count() == 1
    mixed = store.append([
        ev("instrument/a", idempotency_key="seed:a:registered"),
        ev("instrument/b", idempotency_key="seed:b:registered"),
        ev("instrument/b", idempotency_key="seed:b:registered"),
    ])
    assert mixed[0] == first and mixed[1] == mixed[2] and mixed[1].position == 2
    assert store.count() == 2


def test_bilingual_payload_round_trips_byte_exact(store: EventStore) -> None:
    payload = {"title_zh": CN_TITLE, "title_ja": "再生医療等の安全性の確保等に関する法律", "note": "𠀀 emoji 🧬 \u2028"}
    store.append([ev("instrument/cn", payload=payload)])
    assert next(store.read()).payload == payload
    row = next(store.rows())
    assert CN_TITLE.encode() in row[5].encode()  # stored as UTF-8 text, not \u escapes
    line = next(auditing.export_lines(store))
    assert json.loads(json.loads(line)["payload"]) == payload


def test_database_refuses_update_and_delete(db, store: EventStore) -> None:  # type: ignore[no-untyped-def]
    store.append([ev("instrument/a"), ev("instrument/b")])
    for statement in ("UPDATE events SET type = 'Forged' WHERE position = 1", "DELETE FROM events WHERE position = 2"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    if not db.is_sqlite:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE events")
    assert store.count() == 2 and auditing.verify_store(store).count == 2


COLUMNS = ("position, stream, version, type, schema_version, payload, metadata, recorded_at, valid_from,"
           " idempotency_key, prev_hash, hash")


def _forged_row(row: tuple, position: int, prev_hash: str, stream: str) -> tuple:  # type: ignore[type-arg]
    """A row as a forger would write it: its own hash recomputed, so that only the chain can tell."""
    from tracker.core.canonical import event_hash

    payload = '{"id":"forged"}'
    fields = (position, stream, 1, row[3], row[4], payload, row[6], row[7], row[8], None, prev_hash)
    digest = event_hash(prev_hash, position, stream, 1, row[3], row[4], row[7], row[8], None, payload, row[6])
    return (*fields, digest)


def test_database_refuses_any_insert_but_the_next_position_chained_to_the_head(db, store: EventStore) -> None:  # type: ignore[no-untyped-def]
    store.append([ev(f"instrument/{i}") for i in range(4)])
    rows = list(store.rows())
    head = rows[-1]
    mark = "?" if db.is_sqlite else "%s"
    insert = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join([mark] * 12)})"
    # REPLACE INTO rewrote a row under the UPDATE/DELETE triggers; PostgreSQL's upsert is its twin.
    rewrite = (f"REPLACE INTO events ({COLUMNS}) VALUES ({', '.join([mark] * 12)})" if db.is_sqlite else
               insert + " ON CONFLICT (position) DO UPDATE SET payload = EXCLUDED.payload, hash = EXCLUDED.hash")
    attempts = [
        (rewrite, _forged_row(rows[1], 2, rows[0][11], "instrument/x")),   # an old row, rehashed
        (rewrite, _forged_row(head, 4, rows[2][11], "instrument/x")),      # the head itself, rehashed
        (insert, _forged_row(head, 6, head[11], "instrument/x")),          # a gap
        (insert, _forged_row(head, 5, "1" * 64, "instrument/x")),          # a broken link
        (insert, _forged_row(head, 4, rows[2][11], "instrument/x")),       # a duplicate position
    ]
    for statement, values in attempts:
        with pytest.raises(sa.exc.DBAPIError, match="append-only|UNIQUE|unique|duplicate"), db.engine.begin() as conn:
            conn.exec_driver_sql(statement, values)
    assert list(store.rows()) == rows and auditing.verify_store(store).count == 4
    # The one insert the database accepts: the next position, chained to the head.
    with db.engine.begin() as conn:
        conn.exec_driver_sql(insert, _forged_row(head, 5, head[11], "instrument/x"))
    assert auditing.verify_store(store).count == 5
    assert store.append([ev("instrument/y")])[0].position == 6


def test_replace_into_is_refused_by_the_insert_trigger_itself(db, store: EventStore) -> None:  # type: ignore[no-untyped-def]
    if not db.is_sqlite:
        pytest.skip("REPLACE INTO is SQLite's")
    store.append([ev(f"instrument/{i}") for i in range(3)])
    rows = list(store.rows())
    refused = "append-only: an insert must take the next position"
    with pytest.raises(sa.exc.DBAPIError, match=refused), db.engine.begin() as conn:
        conn.exec_driver_sql(f"REPLACE INTO events ({COLUMNS}) VALUES ({', '.join(['?'] * 12)})",
                             _forged_row(rows[2], 3, rows[1][11], rows[2][1]))


def _drop_triggers(db) -> None:  # type: ignore[no-untyped-def]
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
            conn.exec_driver_sql("DROP TRIGGER events_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER events_no_update_delete ON events")


@pytest.mark.parametrize(
    "tamper, problem",
    [
        ("UPDATE events SET payload = '{\"id\":\"forged\"}' WHERE position = 3", "hash mismatch"),
        ("UPDATE events SET valid_from = '2026-04-01' WHERE position = 3", "hash mismatch"),
        ("DELETE FROM events WHERE position = 3", "gap"),
        ("UPDATE events SET prev_hash = '" + "1" * 64 + "' WHERE position = 3", "broken link"),
    ],
)
def test_tampering_behind_the_trackers_back_is_caught(db, store: EventStore, tamper: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    store.append([ev(f"instrument/{i}", valid_from="2026-05-01") for i in range(5)])
    _drop_triggers(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(tamper)
    with pytest.raises(IntegrityError, match=problem) as caught:
        auditing.verify_store(store)
    assert caught.value.position == 3


def test_rehashed_rewrite_is_caught_by_the_next_link(db, store: EventStore) -> None:  # type: ignore[no-untyped-def]
    """An attacker who recomputes the edited row's own hash still breaks the link after it."""
    from tracker.core.canonical import event_hash

    store.append([ev(f"instrument/{i}") for i in range(4)])
    _drop_triggers(db)
    row = list(store.rows())[1]
    forged_payload = '{"id":"forged"}'
    new_hash = event_hash(
        row[10], row[0], row[1], row[2], row[3], row[4], row[7], row[8], row[9], forged_payload, row[6]
    )
    with db.engine.begin() as conn:
        conn.execute(events.update().where(events.c.position == 2).values(payload=forged_payload, hash=new_hash))
    with pytest.raises(IntegrityError, match="broken link") as caught:
        auditing.verify_store(store)
    assert caught.value.position == 3


def test_reads_filter_by_stream_type_position_and_recorded_time(db) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = iter(start + timedelta(days=i) for i in range(100))
    store = EventStore(db, clock=lambda: next(ticks))
    for i in range(10):
        store.append([ev(f"instrument/{i % 3}", "InstrumentPublished" if i % 2 else "InstrumentRegistered")])
    assert [e.position for e in store.read(after=3, until=6)] == [4, 5, 6]
    assert [e.position for e in store.read(stream="instrument/1")] == [2, 5, 8]
    assert [e.position for e in store.read(types=["InstrumentPublished"])] == [2, 4, 6, 8, 10]
    assert [e.position for e in store.read(since=start + timedelta(days=8))] == [9, 10]
    assert [e.position for e in store.read(until_time=start + timedelta(days=1))] == [1, 2]
    assert store.position_at(start + timedelta(days=4, hours=1)) == 5
    assert [e.position for e in store.read(page_size=3)] == list(range(1, 11))


def test_upcasting_on_read_never_rewrites_the_log(store: EventStore) -> None:
    store.append([NewEvent("source/s1", "SourceRegistered", {"url": "https://example.org/"}, schema_version=1)])
    event = next(store.read())
    assert event.payload == {"url": "https://example.org/", "kind": "html"} and event.schema_version == 2
    assert json.loads(next(store.rows())[5]) == {"url": "https://example.org/"}


def test_bad_payload_is_refused_before_anything_is_written(store: EventStore) -> None:
    with pytest.raises(InvalidEventError, match="not JSON"):
        store.append([ev("instrument/a"), ev("instrument/b", payload={"when": datetime.now()})])
    with pytest.raises(InvalidEventError):
        ev("no-slash")
    with pytest.raises(InvalidEventError):
        ev(type="module.path:Name")
    assert store.count() == 0


def test_reading_streams_in_constant_memory(store: EventStore) -> None:
    for start in range(0, 20_000, 5_000):
        store.append([ev(f"instrument/{i}", payload={"id": i, "pad": "x" * 200}) for i in range(start, start + 5_000)])
    tracemalloc.start()
    count = sum(1 for _ in store.read(page_size=500))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 20_000
    assert peak < 8 * 1024 * 1024, f"reading 20,000 events peaked at {peak} bytes"


def test_unreachable_database_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tracker.core import Database

    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(DatabaseError, match="cannot connect"):
        EventStore(db).head()


def test_stream_versions_stay_exact_across_stores_and_rollbacks(db) -> None:  # type: ignore[no-untyped-def]
    """A store remembers stream versions between its appends; others' appends and rollbacks must not fool it."""
    first, second = EventStore(db), EventStore(db)
    first.append([ev("instrument/a")])
    second.append([ev("instrument/a")])  # the head moved behind first's back
    assert first.append([ev("instrument/a")])[0].version == 3
    with pytest.raises(RuntimeError), db.write() as conn:
        first.append([ev("instrument/a"), ev("instrument/b")], conn=conn)
        raise RuntimeError("the caller's wider transaction fails after the append")
    assert [e.version for e in first.append([ev("instrument/a"), ev("instrument/b")])] == [4, 1]
    with pytest.raises(ConcurrencyError):
        first.append([ev("instrument/a")], expect={"instrument/a": 3})
    assert auditing.verify_store(first).count == 5


def test_appended_events_are_what_reading_gives(store: EventStore) -> None:
    payload = {"title_zh": CN_TITLE, "steps": ("draft", "final"), "n": 1.5}
    appended = store.append([ev("instrument/a", payload=payload), ev("instrument/b")] * 1)
    payload["title_zh"] = "changed by the caller afterwards"
    assert list(appended) == list(store.read()) and appended[-1] == appended[-1:][0]
    assert appended[0].payload == {"title_zh": CN_TITLE, "steps": ["draft", "final"], "n": 1.5}


def test_circular_payload_is_refused_as_invalid(store: EventStore) -> None:
    circular: dict[str, object] = {}
    circular["self"] = circular
    with pytest.raises(InvalidEventError, match="not JSON"):
        store.append([ev("instrument/a", payload=circular)])
    assert store.count() == 0


def test_appends_from_many_threads_share_the_write_path(store: EventStore) -> None:
    """On SQLite one kept connection serves every thread's appends, one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def work(thread: int) -> None:
        for i in range(25):
            store.append([ev(f"instrument/t{thread}", payload={"i": i})])

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(work, range(6)))
    report = auditing.verify_store(store)
    assert report.ok and report.count == 150
    assert {store.stream_version(f"instrument/t{t}") for t in range(6)} == {25}


def test_a_refused_append_writes_nothing_and_the_next_one_works(db, store: EventStore) -> None:  # type: ignore[no-untyped-def]
    """The database refusing an insert rolls the append back whole; the write path carries on."""
    with db.write() as conn:  # a stand-in for any refusal: a full disk, a constraint, a revoked grant
        if db.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.stream = 'instrument/refused'"
                " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF NEW.stream = 'instrument/refused' THEN RAISE EXCEPTION 'refused by test'; END IF;"
                " RETURN NEW; END $$"
            )
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()")
    store.append([ev("instrument/a")])
    with pytest.raises((EventStoreError, DatabaseError), match="refused by test"):
        store.append([ev("instrument/b"), ev("instrument/refused")])
    assert store.count() == 1
    assert [e.position for e in store.append([ev("instrument/b")])] == [2]
    assert auditing.verify_store(store).ok
