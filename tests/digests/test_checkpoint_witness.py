"""Digests, changelogs and Atom feeds carry the latest signed checkpoint; `verify --witness` then
checks the log against it with a consistency proof, and finds a cut log from any of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.digests.conftest import record_changes, register_record
from tracker.app import App
from tracker.cli.main import main
from tracker.core import NewEvent
from tracker.signing import find_checkpoints, parse_checkpoint


def test_every_witness_file_carries_the_checkpoint_and_proves_consistency(
    app: App, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    for key, value in cli_env(db_url, TRACKER_HOME=str(home)).items():
        if key.startswith("TRACKER_"):
            monkeypatch.setenv(key, value)

    def tracker(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    register_record(app)
    assert tracker("subscribe", "qa@example.org")[0] == 0
    record_changes(app)
    assert tracker("keys", "generate")[0] == 0
    code, note, _ = tracker("checkpoint")
    assert code == 0
    assert tracker("digest", "--send")[0] == 0
    assert tracker("changelog")[0] == 0
    (eml,) = (home / "outbox").glob("*.eml")
    files = [eml] + [home / "changelog" / name for name in ("changelog.md", "changelog.atom", "changelog.html")]
    for path in files:
        code, out, err = tracker("verify", "--witness", str(path))
        assert code == 0, (path, err)
        assert "extends the checkpoint of size" in out and "signed by" in out, out
    atom = (home / "changelog" / "changelog.atom").read_text(encoding="utf-8")
    assert [c.note for c in find_checkpoints(atom)] == [note]

    # The log grows: old files still verify. A copy of the log from before the checkpoint is "cut".
    size = parse_checkpoint(note).size
    app.store.append([NewEvent("instrument/cn-ct-guideline", "InstrumentAmended", {"id": "cn-ct-guideline"})])
    assert tracker("verify", "--witness", str(files[1]))[0] == 0
    if db_url.startswith("sqlite"):
        db_file = Path(db_url.removeprefix("sqlite:///"))
        app.close()
        older = tmp_path / "older.db"
        shutil.copy(db_file, older)
        with __import__("sqlite3").connect(older) as conn:  # a log that lost its last events
            conn.execute("DROP TRIGGER events_no_delete")
            conn.execute("DELETE FROM events WHERE position >= ?", (size - 1,))
        monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{older}")
        code, _, err = tracker("verify", "--witness", str(files[0]))
        assert code == 1 and f"position {size - 1}" in err and "cut" in err, err
