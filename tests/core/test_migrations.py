"""Migrations that touch the events table keep every stored byte, so the chain still verifies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from tracker import migrate
from tracker.core import Database, EventStore, NewEvent
from tracker.core.events import format_time
from tracker.core.store import EMPTY_HEAD, Head, _chain, utc_now
from tracker.errors import ConstraintError, DatabaseError, TrackerError
from tracker.schema.log import EVENT_COLUMNS
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
    """Six events, as a store of the migration the database is at would append them."""
    events = [
        NewEvent(f"instrument/m{i}", "InstrumentRegistered", {"id": i, "title_zh": "再生医療等製品"},
                 idempotency_key=f"seed:m{i}" if i % 2 else None)
        for i in range(start, start + 6)
    ]
    with store.db.read() as conn:
        tables = sa.inspect(conn).get_table_names()
    if "merkle_nodes" in tables:
        store.append(events)
        return
    # Before migration 0007 there is no tree to extend: the rows the store of then wrote.
    head = EMPTY_HEAD
    with store.db.read() as conn:
        row = conn.exec_driver_sql(
            "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
        ).first()
        versions: dict[str, int] = dict(
            conn.exec_driver_sql("SELECT stream, max(version) FROM events GROUP BY stream").fetchall()
        )
    if row is not None:
        head = Head(*row)
    rows = _chain(events, versions, head, format_time(utc_now()))
    with store.db.write() as conn:
        conn.exec_driver_sql(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join(['?'] * 12)})"
                             if store.db.is_sqlite else
                             f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join(['%s'] * 12)})", rows)


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
    with db.write() as conn, pytest.raises(sa.exc.DBAPIError):  # still refused by the database itself
        conn.exec_driver_sql("UPDATE events SET payload = '{}' WHERE position = 1")
    with pytest.raises(ConstraintError), db.write() as conn:  # and keys stay unique behind the store's back
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


def test_the_merkle_migration_builds_the_tree_of_an_existing_log(db_url: str) -> None:
    from tracker.core.merkle import leaf_hash, root_of
    from tracker.core.proofs import LogProofs

    db = Database(db_url)
    _to(db, "0006")
    store = EventStore(db)
    for start in range(0, 54, 6):  # 54 events: three stored 16-leaf nodes, one 32-leaf node
        _append_some(store, start)
    before = _rows(db)

    _to(db, "0007")
    assert _rows(db) == before
    leaves = [leaf_hash(bytes.fromhex(str(row[11]))) for row in before]
    assert LogProofs(db).head().root_hash == root_of(leaves).hex()
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM merkle_nodes").scalar() == 3 + 1
    with pytest.raises(DatabaseError, match="append-only|refused|not allowed"), db.write() as conn:  # never rewritten
        conn.exec_driver_sql("UPDATE merkle_nodes SET hash = hash")

    _append_some(EventStore(db), 54)  # the store goes on from the migrated tree
    leaves = [leaf_hash(bytes.fromhex(str(row[11]))) for row in _rows(db)]
    assert LogProofs(db).head().root_hash == root_of(leaves).hex()
    _to(db, "0006", down=True)
    _to(db, "head")
    assert LogProofs(db).head().root_hash == root_of(leaves).hex()

    # A database migrated by the first 0007 has merkle_nodes keyed by (level, idx): 0013 rebuilds it.
    _to(db, "0012", down=True)
    with db.write() as conn:
        conn.exec_driver_sql("DROP TABLE merkle_nodes")
        conn.exec_driver_sql(
            "CREATE TABLE merkle_nodes (level SMALLINT, idx BIGINT, hash BYTEA, PRIMARY KEY (level, idx))"
            if not db.is_sqlite
            else "CREATE TABLE merkle_nodes (level SMALLINT, idx BIGINT, hash BLOB, PRIMARY KEY (level, idx))"
        )
    _to(db, "0013")
    assert LogProofs(db).head().root_hash == root_of(leaves).hex()
    with pytest.raises((sa.exc.DBAPIError, TrackerError)), db.write() as conn:
        conn.exec_driver_sql("DELETE FROM merkle_nodes")
    _append_some(EventStore(db), 60)
    assert LogProofs(db).head().root_hash == root_of([leaf_hash(bytes.fromhex(str(r[11]))) for r in _rows(db)]).hex()
    db.dispose()


def test_0017_seals_existing_personal_data_and_its_downgrade_opens_it_again(db_url: str) -> None:
    """Addresses, names, channel URLs and prepared messages stored in plaintext before 0017 are
    sealed under new per-subscriber keys; a queued `failed` row becomes `prepared` again."""
    from alembic.script import ScriptDirectory

    from tracker.mail import build_digest_message
    from tracker.schema.operational import digest_outbox
    from tracker.services import personal

    before = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("0017").down_revision
    assert isinstance(before, str)
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        _to(db, before, down=True)
        draft = build_digest_message(
            sender="T <t@localhost>",
            subject="Quokka: 1 entry",
            text="hello",
            html="<p>hello</p>",
            message_id="<m1@localhost>",
            date=utc_now(),
            unsubscribe_url="",
            unsubscribe_token="tok",
            head=(1, "a" * 64),
        )
        now = format_time(utc_now())
        with db.write() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO subscribers (id, address, created_at) VALUES ('sbr-1', 'Pla.In@example.org', '{now}')"
            )
            conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (id, subscriber_id, name, cadence, filters, status, created_position, "
                    "created_at) "
                    "VALUES ('sub-1', 'sbr-1', 'Quokka', 'weekly', '{}', 'active', 1, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO subscription_channels (id, subscription_id, subscriber_id, url, created_at) "
                    "VALUES ('chn-1', 'sub-1', 'sbr-1', 'json://127.0.0.1:9/hook/plain-secret', :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO digest_outbox (message_id, subscription_id, status, position_from, position_to, "
                    "head_hash, "
                    "item_count, subject, message, attempts, created_at) VALUES ('<m1@localhost>', 'sub-1', "
                    "'failed', 1, 1, "
                    ":h, 1, 'Quokka: 1 entry', :m, 1, :now)"
                ),
                {"h": "a" * 64, "m": draft, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO channel_outbox (message_id, digest_message_id, subscription_id, channel_id, status, "
                    "title, "
                    "body, attempts, created_at) VALUES ('<m1@localhost>#chn-1', '<m1@localhost>', 'sub-1', 'chn-1', "
                    "'prepared', 'Quokka: 1 entry', 'body text', 0, :now)"
                ),
                {"now": now},
            )
        migrate.upgrade(db)
        with db.read() as conn:
            for table in sa.inspect(conn).get_table_names():
                dump = repr(conn.execute(sa.text(f"SELECT * FROM {table}")).all())
                assert "Pla.In" not in dump and "plain-secret" not in dump and "Quokka" not in dump, table
            assert personal.find_subscriber(conn, "pla.in@example.org") == "sbr-1"
            assert personal.address_of(conn, "sbr-1") == "Pla.In@example.org"
            assert personal.names(conn, ["sub-1"]) == {"sub-1": "Quokka"}
            assert personal.channel_urls(conn, ["sub-1"]) == {"sub-1": [("chn-1", "json://127.0.0.1:9/hook/plain-secret")]}
            key = personal.key_of_subscriber(conn, "sbr-1")
            assert key is not None
            row = conn.execute(sa.select(digest_outbox.c.status, digest_outbox.c.message)).one()
            assert (
                row.status == "prepared" and personal.open_message(key, "<m1@localhost>", bytes(row.message)) == draft
            )
        _to(db, before, down=True)
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT address FROM subscribers").scalar() == "Pla.In@example.org"
            assert str(conn.exec_driver_sql("SELECT url FROM subscription_channels").scalar()).endswith("plain-secret")
            assert bytes(conn.exec_driver_sql("SELECT message FROM digest_outbox").scalar() or b"") == draft
            assert conn.exec_driver_sql("SELECT body FROM channel_outbox").scalar() == "body text"
            assert conn.exec_driver_sql("SELECT name FROM subscriptions").scalar() == "Quokka"
        migrate.upgrade(db)
    finally:
        db.dispose()


def test_0029_marks_sources_baselined_before_it_as_probed(db_url: str) -> None:
    """Before 0029 every baseline was fetched twice for volatile lines: those sources are not
    probed again at their first change; a source without a baseline yet is."""
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        _to(db, "0027", down=True)
        with db.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO source_state (source_id, state, consecutive_failures, content_hash) VALUES "
                f"('baselined', 'ok', 0, '{'a' * 64}'), ('new', 'new', 0, NULL)"
            )
        _to(db, "0029")
        with db.read() as conn:
            found = conn.exec_driver_sql("SELECT source_id, volatile_probed FROM source_state").all()
        rows: dict[str, object] = {row[0]: row[1] for row in found}
        assert {key: bool(value) for key, value in rows.items()} == {"baselined": True, "new": False}
        _to(db, "0027", down=True)
        migrate.upgrade(db)
    finally:
        db.dispose()


def test_0031_fills_source_failures_from_source_state(db_url: str) -> None:
    """The sources failing when 0031 runs are kept with their failure class and host; others are not."""
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        _to(db, "0030", down=True)
        with db.write() as conn:
            conn.exec_driver_sql(
                'INSERT INTO sources (id, url, kind, title, items, tags, "ignore", respect_robots, active, origin, '
                "registered_position) VALUES ('down', 'https://Down.Example.org:8443/a?b', 'html', 'Down', '[]', "
                "'[]', '[]', true, true, 'cli', 1)"
            )
            conn.exec_driver_sql(
                "INSERT INTO source_state (source_id, state, consecutive_failures, last_error_class) VALUES "
                "('down', 'unreachable', 3, 'dns'), ('walled', 'blocked', 1, NULL), ('well', 'ok', 0, NULL)"
            )
        _to(db, "0031")
        with db.read() as conn:
            found = sorted(tuple(row) for row in conn.exec_driver_sql("SELECT * FROM source_failures"))
        assert found == [("down", "unreachable", "dns", "down.example.org"), ("walled", "blocked", "blocked", "")]
        _to(db, "0030", down=True)
        migrate.upgrade(db)
    finally:
        db.dispose()
