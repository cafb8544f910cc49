"""`tracker serve` signs the tree head on its schedule, when the log grew and a key is there."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.scheduling.conftest import Served, make_app, run_cli, serve_env, wait_for
from tracker.core import EventStore, NewEvent
from tracker.core.proofs import LogProofs
from tracker.services import checkpoints
from tracker.signing import parse_checkpoint


def test_serve_once_and_serve_make_checkpoints_only_when_the_log_grew(ready_url: str, tmp_path: Path,
                                                                      serve: Callable[..., Served]) -> None:
    if not ready_url.startswith("sqlite"):
        pytest.skip(
            "the job is the same on both backends (tests/cli/test_proof_commands.py covers them); run once, on SQLite"
        )
    app = make_app(ready_url, tmp_path)
    EventStore(app.db).append([NewEvent("instrument/x", "InstrumentRegistered", {"id": f"x{i}"}) for i in range(5)])
    env = serve_env(ready_url, tmp_path, TRACKER_CHECKPOINT_SECONDS="1")
    no_key = run_cli(env, "serve", "--once", "--log-format", "json", cwd=tmp_path)
    assert no_key.returncode == 0 and '"checkpoint": "no signing key"' in no_key.stderr
    assert run_cli(env, "keys", "generate", cwd=tmp_path).returncode == 0

    assert run_cli(env, "serve", "--once", cwd=tmp_path).returncode == 0
    kept = checkpoints.list_checkpoints(app.db)
    assert [c.tree_size for c in kept] == [5]
    assert parse_checkpoint(kept[0].note).root_hex == LogProofs(app.db).head().root_hash
    assert run_cli(env, "serve", "--once", cwd=tmp_path).returncode == 0
    assert len(checkpoints.list_checkpoints(app.db)) == 1  # the log did not grow: no new checkpoint

    served = serve(env, "--log-format", "json")
    EventStore(app.db).append([NewEvent("instrument/y", "InstrumentRegistered", {"id": "y"})])
    wait_for(lambda: [c.tree_size for c in checkpoints.list_checkpoints(app.db)] == [5, 6], 20,
             "a checkpoint of the grown log")
    served.signal(signal.SIGTERM)
    assert served.wait(10) == 0
    lines = [json.loads(line) for line in served.log().splitlines() if line.startswith("{")]
    assert any(line.get("job") == "checkpoint" and line.get("tree_size") == 6 for line in lines)
    app.close()
