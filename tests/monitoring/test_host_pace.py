"""Per-host politeness holds across processes: several `tracker check` processes against one
loopback server keep `fetch.host_delay` between the requests the server sees, all of them together."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from itertools import pairwise

import pytest

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.monitoring.conftest import add, html
from tracker.app import App
from tracker.services.host_pace import DatabasePacer

DELAY = 0.4
PROCESSES = 3
SOURCES = 4


def test_two_pacers_on_one_database_never_take_the_same_start(app: App) -> None:
    now = [1_000_000.0]
    a, b = DatabasePacer(app.db, clock=lambda: now[0]), DatabasePacer(app.db, clock=lambda: now[0])
    assert a.reserve("example.org:443", DELAY) == 0.0
    assert b.reserve("example.org:443", DELAY) == pytest.approx(DELAY)
    assert a.reserve("example.org:443", DELAY) == pytest.approx(2 * DELAY)
    assert b.reserve("other.example:443", DELAY) == 0.0  # hosts are paced apart
    now[0] += 10  # long after: no wait
    assert a.reserve("example.org:443", DELAY) == 0.0


@pytest.mark.slow
def test_several_processes_together_keep_the_host_delay(app: App, db_url: str, server: LocalServer) -> None:
    arrivals: list[float] = []
    lock = threading.Lock()

    def page(seen: Seen) -> Reply:
        with lock:
            arrivals.append(time.time())
        return html(f"<p>page {seen.path}</p>")

    for n in range(SOURCES):
        server.route(f"/p{n}", page)
        add(app, f"paced-{n}", server.url(f"/p{n}"))
    env = cli_env(db_url, TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_HOST_DELAY=str(DELAY),
                  TRACKER_FETCH_RETRIES="0", TRACKER_CONTACT="tests@localhost")
    processes = [subprocess.Popen([sys.executable, "-m", "tracker", "check", "--all"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(PROCESSES)]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, (out, err)

    arrivals.sort()
    # None of the pages had a baseline yet: each process fetches each page once (a baseline is one
    # fetch; the text is the same for all three), all of it under the one shared pace.
    assert len(arrivals) == PROCESSES * SOURCES
    gaps = [b - a for a, b in pairwise(arrivals)]
    # Each process alone would keep DELAY between its own requests while the three overlapped:
    # together about three requests per DELAY. Shared, the whole run is spread at one per DELAY.
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) * DELAY * 0.95, gaps
    assert min(gaps) >= DELAY * 0.5, gaps  # scheduling jitter on a busy machine, never a burst
