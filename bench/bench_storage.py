"""Storage on noisy pages (issue 18): bytes added per page per sweep when nothing changed after rules.

    python -m bench.bench_storage [--pages 500] [--sweeps 5]

bench_check's server (its own process) serves N pages of 5-50 KB, each with a line that changes on
every request and no validators; every source carries the rule that ignores that line. After the
first run (baselines), each sweep checks every page: all of them "unchanged". Measured after each
sweep: the SQLite file (after a WAL checkpoint) and what the tracker keeps per page (snapshot
bodies, version rows). Target: at most a few bytes per page per sweep. For scale, a kept body
costs the compressed size printed beside (what every such sweep stored per page before issue 18).
Measured (500 pages, 5 sweeps, load 5): 0.0 bytes per page per sweep in every sweep (file, kept
bodies and version rows alike), against 4,487 B a kept body would cost.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import sqlalchemy as sa

from bench.bench_check import register_child, render
from tracker.app import App
from tracker.schema.operational import snapshots, source_versions
from tracker.services.checking import check_sources
from tracker.settings import load_settings


def measure(app: App, path: Path) -> tuple[int, int, int]:
    """File bytes (after a checkpoint), snapshot bodies' bytes and version rows."""
    checkpoint = sqlite3.connect(path)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    with app.db.read() as conn:
        body = int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(snapshots.c.body)), 0))).scalar_one()
        )
        rows = int(conn.execute(sa.select(sa.func.count()).select_from(source_versions)).scalar_one())
    return path.stat().st_size, body, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--sweeps", type=int, default=5)
    args = parser.parse_args(argv)
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_check", "--serve", "--pages", str(args.pages),
                               "--noisy"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        with tempfile.TemporaryDirectory(prefix="bench-storage-") as folder:
            path = Path(folder) / "tracker.db"
            url = f"sqlite:///{path}"
            register_child(url, base, args.pages, noisy=True)
            settings = load_settings(environ={}).with_overrides(
                database__url=url, fetch__allow_hosts="127.0.0.1", fetch__concurrency=16, fetch__per_host=16,
                fetch__host_delay=0.0, fetch__retries=0, fetch__contact="bench@example.org",
            )
            app = App(settings)
            report = check_sources(app, all=True)
            assert report.counts["baselined"] == args.pages, report.counts
            before = measure(app, path)
            print(f"{args.pages} noisy pages (no validators, a line changing on every request, ignored by a rule); "
                  f"after the first run: file {before[0] / 1024:.0f} KB, {before[2]} versions, {os.cpu_count()} CPUs")
            grown: list[float] = []
            for sweep in range(1, args.sweeps + 1):
                report = check_sources(app, all=True)
                assert report.counts["unchanged"] == args.pages, report.counts
                after = measure(app, path)
                per_page = [(a - b) / args.pages for a, b in zip(after, before, strict=True)]
                grown.append(per_page[0])
                print(f"sweep {sweep}: file +{per_page[0]:8.1f} B/page, kept bodies +{per_page[1]:6.1f} B/page, "
                      f"versions +{per_page[2]:.2f}/page")
                before = after
            app.close()
        kept = statistics.mean(len(zlib.compress(render(i, 0), 6)) for i in range(args.pages))
        worst = max(grown)
        print(
            f"bytes per page per sweep: median {statistics.median(grown):.1f}, worst {worst:.1f} "
            f"(target: a few bytes; a kept body would cost {kept:.0f} B compressed) "
            f"{'OK' if worst <= 16 else 'ABOVE TARGET'}"
        )
        return 0 if worst <= 16 else 1
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
