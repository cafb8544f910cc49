"""`tracker forget` leaves no personal data behind (issue 10 item 4, issue 12): crypto-shredding.

A subscriber with a distinctive address, subscription name and channel URL gets a digest by
e-mail and on a webhook (real SMTP and HTTP servers on 127.0.0.1), then is forgotten by the
address typed in another case. Then the database's own files are read byte by byte: SQLite's file
and its WAL; PostgreSQL's relation files (pg_read_binary_file, after CHECKPOINT). Neither the
address, the name nor the URL was ever stored in plaintext, and the subscriber's key, found in the
files before (the control), is gone after.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import cli_env
from tests.support.smtp import Mailbox
from tests.support.webhook import Webhook
from tracker.app import App
from tracker.schema.operational import subscriber_keys
from tracker.services import main_job, personal

ADDRESS = "Erase.Me+Shred7@Example.org"
NAME = "Quokka Zebra Digest 4471"
SECRET_PATH = "/hook/ultra-secret-token-91"
PLAINTEXTS = [b"erase.me+shred7", b"quokka zebra", b"ultra-secret-token-91"]  # compared lower-cased


def tracker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "tracker", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def subscribe_and_send(
    app: App, db_url: str, tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> tuple[dict[str, str], bytes]:
    env = cli_env(db_url, TRACKER_HOME=str(tmp_path / "home"), TRACKER_SMTP_URL=mailbox.url)
    tracker(env, "subscribe", ADDRESS, "--name", NAME, "--notify", webhook.url(SECRET_PATH))
    sent = tracker(env, "digest", "--send").stdout
    assert sent.count("\nsent ") + sent.startswith("sent ") == 2  # the e-mail and the channel
    assert mailbox.messages[0]["To"] == "Erase.Me+Shred7@example.org" and NAME in str(mailbox.messages[0]["Subject"])
    assert len(webhook.received) == 1
    for output in (sent, tracker(env, "subscriptions", "list").stdout, tracker(env, "status").stdout):
        assert "ultra-secret-token" not in output  # the channel URL only masked, everywhere
    with app.db.read() as conn:
        (key,) = conn.execute(sa.select(subscriber_keys.c.key)).scalars().all()
    return env, bytes(key)


def forget(app: App, env: dict[str, str]) -> None:
    out = tracker(env, "forget", ADDRESS.lower())  # compared as subscribe normalises it
    assert "forgotten" in out.stdout and "warning" not in out.stderr, out.stderr
    with app.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscriber_keys)).scalar() == 0
        for table in sa.inspect(conn).get_table_names():
            dump = repr(conn.execute(sa.text(f"SELECT * FROM {table}")).all()).lower()
            assert not [p for p in PLAINTEXTS if p.decode() in dump], table
    made, notes = main_job.ensure_subscribed(app, [ADDRESS], "weekly")  # `run --subscribe` refuses it
    assert made == [] and "forgotten" in notes[0]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


def test_forget_on_sqlite_leaves_no_plaintext_and_no_key_in_the_file_or_its_wal(
    app: App, db_url: str, tmp_path: Path, mailbox: Mailbox, webhook: Webhook,
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite files; PostgreSQL has its own test below")
    files = [tmp_path / "tracker.db", tmp_path / "tracker.db-wal"]
    env, key = subscribe_and_send(app, db_url, tmp_path, mailbox, webhook)

    def raw() -> bytes:
        return b"".join(path.read_bytes() for path in files if path.exists())

    before = raw()
    assert key in before  # the control: the search finds what is there
    assert not [p for p in PLAINTEXTS if p in before.lower()]  # sealed from the start
    forget(app, env)
    after = raw()
    assert key not in after
    assert not [p for p in PLAINTEXTS if p in after.lower()]
    assert not files[1].exists() or files[1].stat().st_size == 0  # the WAL was checkpointed and truncated


def test_forget_on_postgresql_leaves_no_plaintext_and_no_key_in_the_relation_files(
    app: App, db_url: str, tmp_path: Path, mailbox: Mailbox, webhook: Webhook,
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's relation files")
    env, key = subscribe_and_send(app, db_url, tmp_path, mailbox, webhook)

    def raw() -> bytes:
        with app.db.connect() as conn:
            conn.execute(sa.text("CHECKPOINT"))  # what is in shared buffers reaches the files
            paths = conn.execute(sa.text(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i', 't', 'm') "
                "UNION SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.reltoastrelid <> 0")).scalars().all()
            return b"".join(bytes(conn.execute(sa.text("SELECT pg_read_binary_file(:p, 0, 134217728, true)"),
                                               {"p": path}).scalar() or b"") for path in paths if path)

    try:
        before = raw()
    except Exception as exc:  # noqa: BLE001 - a role without pg_read_server_files
        pytest.skip(f"cannot read relation files: {str(exc).splitlines()[0]}")
    assert key in before  # the control
    assert not [p for p in PLAINTEXTS if p in before.lower()]
    forget(app, env)
    after = raw()
    # VACUUM FULL subscriber_keys drops the key's dead tuple unless a transaction older than the
    # delete is still open somewhere in the database (other sessions share this server): it then
    # keeps it, and a later purge (serve's housekeeping does one daily) removes it.
    deadline = time.monotonic() + 60
    while key in after and time.monotonic() < deadline:
        time.sleep(1)
        assert app.db.purge_erased(personal.KEY_TABLES)
        after = raw()
    assert key not in after
    assert not [p for p in PLAINTEXTS if p in after.lower()]
