"""`tracker serve --http HOST:PORT`: the web interface beside the scheduler, in one process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.web.test_browser import free_port

pytestmark = pytest.mark.slow


def test_serve_with_http_answers_healthz_with_its_own_heartbeat_and_stops_on_sigterm(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    env = cli_env(db_url, TRACKER_HOME=str(tmp_path), TRACKER_TICK_SECONDS="3600", TRACKER_CHECKPOINT_SECONDS="0")
    subprocess.run([sys.executable, "-m", "tracker", "init"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--http", f"127.0.0.1:{port}"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, health = time.monotonic() + 30, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    health = json.loads(response.read())
                if health["scheduler"]["alive"]:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert health is not None and health["status"] == "ok" and health["scheduler"]["alive"] is True
        assert health["scheduler"]["heartbeat_age_seconds"] < 30
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_malformed_http_address_is_one_line(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'tracker.db'}", TRACKER_HOME=str(tmp_path))
    subprocess.run([sys.executable, "-m", "tracker", "init"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "tracker", "serve", "--http", "nowhere"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stderr.strip().startswith("error: --http 'nowhere'")
