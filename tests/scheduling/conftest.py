"""Fixtures of the scheduler tests: `tracker serve` as a real subprocess, a real HTTP server and a
real SMTP server on 127.0.0.1, and an initialised database on each backend.

Every wait is bounded by a deadline; every process a test starts is killed at teardown.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env
from tests.fetching.localserver import BackloggedHTTPServer
from tracker import migrate
from tracker.app import App
from tracker.core import Database
from tracker.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Pages:
    """A real HTTP server on 127.0.0.1: path -> body (changeable), hits counted per path."""

    def __init__(self, delay: float = 0.0) -> None:
        self.bodies: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.delay = delay
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                with pages._lock:
                    pages.hits[path] += 1
                    body = pages.bodies.get(path)
                if pages.delay:
                    pages.stopping.wait(pages.delay)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = BackloggedHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path: str, html: str) -> None:
        with self._lock:
            self.bodies[path] = html.encode("utf-8")

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits[path]

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pages() -> Iterator[Pages]:
    server = Pages()
    yield server
    server.stop()



@pytest.fixture
def ready_url(db_url: str) -> str:
    """An initialised database (all migrations) on each backend."""
    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    return db_url


def serve_env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = cli_env(
        db_url,
        TRACKER_HOME=str(tmp_path / "home"),
        TRACKER_ALLOW_HOSTS="127.0.0.1",
        TRACKER_TICK_SECONDS="1",
        TRACKER_FETCH_HOST_DELAY="0",
        TRACKER_FETCH_PER_HOST="8",
        TRACKER_FETCH_RETRIES="0",
        TRACKER_FETCH_CONNECT_TIMEOUT="2",
        TRACKER_FETCH_READ_TIMEOUT="5",
        TRACKER_INSTANCE_LEASE_SECONDS="3",
    )
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def make_app(db_url: str, tmp_path: Path, **overrides: Any) -> App:
    """An App in the test process on the same database (to register sources, read tables)."""
    base = dict(database__url=db_url, home=str(tmp_path / "home"), fetch__allow_hosts="127.0.0.1")
    base.update(overrides)
    return App(load_settings(environ={}).with_overrides(**base))


class Served:
    """One `tracker serve` subprocess, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "serve", *args],
            cwd=str(log.parent), env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []
    counter = iter(range(1000))

    def start(env: dict[str, str], *args: str) -> Served:
        served = Served(env, tmp_path / f"serve-{next(counter)}.log", *args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


def run_cli(
    env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args], env=env, cwd=str(cwd or ROOT),
        capture_output=True, text=True, timeout=timeout,
    )

