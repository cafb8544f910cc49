"""The auditor's commands, run as a real process: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tracker.core import Database, EventStore, NewEvent


def tracker(db_url: str, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tracker", *args], env=cli_env(db_url), capture_output=True, text=True, timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def seed_events(db_url: str) -> EventStore:
    store = EventStore(Database(db_url))
    store.append(
        [
            NewEvent(
                "instrument/cn-biomed-new-tech-regulation",
                "InstrumentPublished",
                {
                    "id": "cn-biomed-new-tech-regulation",
                    "title_zh": "生物医学新技术临床研究和临床转化应用管理条例",
                    "title_en": "Regulation on biomedical new technologies",
                },
                valid_from="2025-09-28",
            ),
            NewEvent(
                "instrument/cn-biomed-new-tech-regulation",
                "InstrumentEffective",
                {"id": "cn-biomed-new-tech-regulation"},
                valid_from="2026-05-01",
            ),
            NewEvent(
                "instrument/eu-atmp-regulation",
                "InstrumentRegistered",
                {"id": "eu-atmp-regulation"},
                valid_from="2007-11",
            ),
        ]
    )
    return store


def test_init_twice_then_log_export_verify(db_url: str, tmp_path: Path) -> None:
    assert "upgraded from empty" in tracker(db_url, "init", check=True).stdout
    assert "up to date" in tracker(db_url, "init", check=True).stdout
    store = seed_events(db_url)

    log = tracker(db_url, "log", check=True).stdout.splitlines()
    assert len(log) == 3 and "InstrumentPublished" in log[0] and "生物医学新技术" not in log[0]
    assert "valid_from=2025-09-28" in log[0]
    as_json = [
        json.loads(line)
        for line in tracker(db_url, "log", "--json", "--type", "InstrumentEffective", check=True).stdout.splitlines()
    ]
    assert [e["position"] for e in as_json] == [2] and as_json[0]["valid_from"] == "2026-05-01"
    streamed = tracker(
        db_url, "log", "--stream", "instrument/eu-atmp-regulation", "--since", "2000-01-01", check=True
    ).stdout
    assert streamed.count("\n") == 1
    assert tracker(db_url, "log", "--until", "2000-01-01", check=True).stdout == ""

    export = tmp_path / "export.jsonl"
    tracker(db_url, "export", "--format", "jsonl", "--output", str(export), check=True)
    lines = export.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and "生物医学新技术临床研究和临床转化应用管理条例" in lines[0]
    head = store.head()
    ok = tracker(db_url, "verify", check=True).stdout
    assert f"head position 3 hash {head.hash}" in ok
    assert f"head position 3 hash {head.hash}" in tracker(db_url, "verify", "--file", str(export), check=True).stdout
    assert tracker(db_url, "export", check=True).stdout.splitlines() == lines


def test_verify_names_the_tampered_position(db_url: str) -> None:
    tracker(db_url, "init", check=True)
    store = seed_events(db_url)
    with store.db.engine.begin() as conn:
        if store.db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER events_no_update_delete ON events")
        conn.exec_driver_sql("UPDATE events SET valid_from = '2026-04-01' WHERE position = 2")
    error = one_line_error(tracker(db_url, "verify"))
    assert "position 2" in error and "hash mismatch" in error


@pytest.mark.parametrize(
    "content, expected",
    [
        ("not json\n", "export.jsonl:1: not a JSON object"),
        ('{"position": 1}\n', "export.jsonl:1: missing field(s) stream"),
        (None, "export.jsonl: cannot read"),
    ],
)
def test_bad_export_files_are_one_line_errors(tmp_path: Path, content: str | None, expected: str) -> None:
    export = tmp_path / "export.jsonl"
    if content is not None:
        export.write_text(content, encoding="utf-8")
    error = one_line_error(tracker(f"sqlite:///{tmp_path / 'unused.db'}", "verify", "--file", str(export)))
    assert expected in error


def test_database_errors_are_one_line(tmp_path: Path) -> None:
    assert "malformed database URL" in one_line_error(tracker("not a url", "log"))
    assert "unsupported database" in one_line_error(tracker("mysql://root@127.0.0.1/x", "log"))
    assert "cannot connect" in one_line_error(tracker("postgresql+psycopg://postgres@127.0.0.1:1/none", "log"))
    assert "no database at" in one_line_error(tracker(f"sqlite:///{tmp_path / 'empty.db'}", "verify"))
    assert not (tmp_path / "empty.db").exists()

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    assert "is not a tracker database" in one_line_error(tracker(f"sqlite:///{foreign}", "log"))
    assert "is not a tracker database" in one_line_error(tracker(f"sqlite:///{foreign}", "init"))

    future = tmp_path / "future.db"
    tracker(f"sqlite:///{future}", "init", check=True)
    with sqlite3.connect(future) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    assert "unknown to this version" in one_line_error(tracker(f"sqlite:///{future}", "log"))


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = tracker(f"sqlite:///{tmp_path / 'empty.db'}", "--debug", "verify")
    assert result.returncode != 0 and "Traceback" in result.stderr and "UninitialisedDatabaseError" in result.stderr


def test_older_database_is_upgraded_by_init(tmp_path: Path) -> None:
    from alembic import command

    from tracker import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    assert "behind" in one_line_error(tracker(url, "log"))
    assert "upgraded from 0001" in tracker(url, "init", check=True).stdout
    tracker(url, "log", check=True)


READ_ONLY = [("log",), ("verify",), ("export", "--format", "jsonl"), ("status",), ("replay",), ("upcoming",),
             ("history", "x"), ("show", "x"), ("sources", "list"), ("subscriptions", "list"),
             ("projections", "status"), ("digest", "--preview")]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_no_read_only_command_creates_a_database(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`tracker log` in an empty folder: no database, and how to make one; nothing is created."""
    env = {k: v for k, v in cli_env("").items() if k != "TRACKER_DATABASE_URL"}
    result = subprocess.run([sys.executable, "-m", "tracker", *args], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    line = one_line_error(result)
    assert "no database at var/tracker.db" in line and "`tracker init` creates one" in line, line
    assert list(tmp_path.iterdir()) == []


def test_verify_file_with_witness_checks_the_export_not_the_database(db_url: str, tmp_path: Path) -> None:
    tracker(db_url, "init", check=True)
    store = seed_events(db_url)
    head = list(store.rows())[-1]
    witness = tmp_path / "changelog.md"
    witness.write_text(f"# Changelog\n\nLog head: position {head[0]}, hash {head[11]}\n", encoding="utf-8")
    export = tmp_path / "export.jsonl"
    tracker(db_url, "export", "--format", "jsonl", "--output", str(export), check=True)
    nowhere = f"sqlite:///{tmp_path / 'nowhere.db'}"  # the database is not consulted, nor created

    ok = tracker(nowhere, "verify", "--file", str(export), "--witness", str(witness), check=True)
    assert f"the export {export} still holds position {head[0]}" in ok.stdout
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(export.read_text(encoding="utf-8").splitlines(keepends=True)[:-2]), encoding="utf-8")
    assert "history was cut" in one_line_error(
        tracker(nowhere, "verify", "--file", str(cut), "--witness", str(witness))
    )
    assert "history was cut" in one_line_error(tracker(db_url, "verify", "--file", str(cut), "--witness", str(witness)))
    assert not (tmp_path / "nowhere.db").exists()


def test_verify_records_its_result_for_status_and_metrics(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tracker.cli.main import cli
    from tracker.services import auditing

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    env = cli_env(url)
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    assert CliRunner().invoke(cli, ["verify"], env=env).exit_code == 0
    db = Database(url)
    run = auditing.last_run(db)
    db.dispose()
    assert run is not None and run.ok and run.by == "cli"
