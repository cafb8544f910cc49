"""Issue 10 item 8: what used to be a traceback is one clear line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import cli_env
from tracker.cli.main import cli
from tracker.core import db as db_module
from tracker.errors import DatabaseError, ExportFileError, ValidationError


def test_a_database_locked_too_long_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    env = cli_env(url, TRACKER_ALLOW_HOSTS="127.0.0.1")
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    # A source due now: `check --all` must write (its claim) before it fetches anything. With
    # nothing due it writes nothing, and a locked database does not stop it.
    assert CliRunner().invoke(cli, ["sources", "add", "http://127.0.0.1:9/due", "--id", "due"], env=env).exit_code == 0
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 300)    # the real wait is 60 s
    holder = sqlite3.connect(tmp_path / "tracker.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for args in (["check", "--all"], ["sources", "add", "https://example.org/a"]):
            result = CliRunner().invoke(cli, args, env=env)
            assert isinstance(result.exception, DatabaseError), (args, result.output, result.exception)
            message = str(result.exception)
            assert "\n" not in message and "stayed locked for over 0 s" in message, message
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_export_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'tracker.db'}")
    run = [sys.executable, "-m", "tracker"]
    subprocess.run([*run, "init"], env=env, capture_output=True, timeout=60, check=True)
    target = tmp_path / "missing" / "export.jsonl"
    result = subprocess.run(
        [*run, "export", "--output", str(target)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {target}: cannot write: No such file or directory"
    assert not target.parent.exists()


@pytest.mark.parametrize("output", [".", "..", "out/", "folder"])
@pytest.mark.parametrize("fmt", ["md", "ics"])
def test_a_changelog_file_given_as_a_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, output: str
) -> None:
    """Found by the fuzz test: `changelog --format md --output .` was a ValueError traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    env = cli_env(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["changelog", "--format", fmt, "--output", output], env=env)
    assert isinstance(result.exception, ExportFileError), (result.output, result.exception)
    assert str(result.exception) == f"{output}: is a folder; give a file name"
    assert not list(tmp_path.rglob("*.partial")) and not (tmp_path / "out").exists()


def test_a_cut_json_error_names_the_column(tmp_path: Path) -> None:
    bad = tmp_path / "export.jsonl"
    bad.write_text('{"position": "a\x01b"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["verify", "--file", str(bad)], env=cli_env(f"sqlite:///{tmp_path / 't.db'}"))
    assert isinstance(result.exception, ExportFileError), result.output
    assert str(result.exception).endswith("not a JSON object: Invalid control character at (column 16)")


def test_upcoming_with_an_impossible_number_of_days_is_refused(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["upcoming", "--days", str(10**20)], env=env)
    assert result.exit_code == 2 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert sum(1 for line in result.output.splitlines() if line.startswith("Error")) == 1, result.output


def test_a_line_break_in_a_refused_value_stays_on_the_error_line(tmp_path: Path) -> None:
    """Found by the CLI fuzz test: `projections rebuild --only` quoted the value with its line break."""
    env = cli_env(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    done = subprocess.run([sys.executable, "-m", "tracker", "projections", "rebuild", "--only", "a\nb"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: unknown projection(s): 'a\\nb' (known: ")


@pytest.mark.parametrize("args", [
    ["prove", "--from", "1", "--to", "a\x00b"],
    ["verify", "--file", "a\x00b"],
    ["subscribe", "a\x00b@example.org"],
])
def test_an_argument_holding_a_nul_byte_is_one_line(tmp_path: Path, args: list[str]) -> None:
    """Found by the fuzz test: `prove --from 1 --to NUL` ended in open()'s ValueError traceback, and
    click.Path's own os.stat ends the same way. No shell can pass a NUL byte; a caller in-process can."""
    env = cli_env(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(cli, args, env=env)
    assert isinstance(result.exception, ValidationError), (args, result.output, result.exception)
    assert str(result.exception) == f"{args[-1]!r}: holds a NUL byte, which no file name or value may"
    assert CliRunner().invoke(cli, ["subscriptions", "list", "--json"], env=env).output == ""
