"""Start-up benchmark (issue 18): commands that do little, as fresh processes, against a floor.

    python -m bench.bench_startup [--runs 15] [--no-urlwatch]

Every command runs as a new process, N times, in interleaved rounds (each round runs every command
once, in a shuffled order, so a burst of load on the shared machine hits all of them alike); the
figure is the median wall time, as hyperfine reports it. Measured here:

  floor      a Python process that only imports httpx and SQLAlchemy and opens the database
             (connects and runs SELECT 1 on the same SQLite file)
  floor, no gc  the same with the collector held back as `tracker` holds it (tracker.cli.main.run):
             the stricter floor, shown beside the issue's
  SQLAlchemy alone  `import sqlalchemy` and nothing else, the collector held back: what any command
             that reads the database pays before it does anything (a reference, not a target)
  tracker    `tracker --help`, `tracker status`, `tracker check` with nothing due (python -m tracker)
  urlwatch   `urlwatch` over an empty jobs file and `urlwatch --help` (2.29, its own venv, see
             bench_check.py), when it can be installed

Targets: each tracker command at most 1.5x the floor and faster than urlwatch's run with no jobs.
Peak memory (ru_maxrss of each child, from wait4) and CPU time (user + system, also from wait4:
it moves less than wall time when other work shares the cores) are shown beside the times.
urlwatch is measured as the tracker is: a fresh process (its console script; the tracker's own
script costs what `python -m tracker` does, 0.309 vs 0.310 s CPU), warmed once, in the same
shuffled rounds, on the same Python 3.11 interpreter. Its figure is a fair one, and close to the
cost of importing SQLAlchemy alone. Measured 2026-12-05 at load 2.2 (15 runs): floor 0.257 s,
SQLAlchemy alone 0.167 s, urlwatch with no jobs 0.191 s; `tracker --help` 0.048 s, `tracker
status` 0.282 s (1.10x the floor), `tracker check` with nothing due 0.286 s (1.11x). A command
that reads the database through SQLAlchemy has urlwatch's 24 ms beyond that import for all the
rest (click, settings, the schema's tables, connecting, its queries); status spends 0.114 s.

The catalogue no longer names postgresql_where in Index() (schema.log.postgresql_options), which
made SQLAlchemy import its PostgreSQL dialect in every process. Old and new code in the same
shuffled rounds (21 and 15 runs, load 6, so CPU is the figure): `tracker status` 0.219-0.225 ->
0.204-0.205 s CPU, `tracker check` with nothing due 0.219-0.221 -> 0.199-0.205 s, peak 47.0 ->
44.8 MB; urlwatch 0.151-0.152 s CPU, SQLAlchemy alone 0.131-0.132 s. Beating urlwatch is out of
reach while a command reads the database through SQLAlchemy: urlwatch does all its work in 20 ms
of CPU beyond importing SQLAlchemy alone, and `tracker status` still spends 73 ms there. Where
(CPU, at load 3-4): click 4.7 ms; the tracker's modules about 39 ms, of which 14.7 ms is Python
building the 35 dataclasses they declare (0.4 ms each in 3.11: settings 11 of them, 4.6 ms),
the schema's tables and SQLite's dialect 11-13 ms; the command itself 18-21 ms (SQLAlchemy
compiling its 27 statements afresh in each process, 6 ms; connecting; a second run in the same
process costs 11-13 ms). Even all the tracker's imports gone would leave status above urlwatch.

Before a check's first request (issue 18, session 8), measured as the CPU time of fresh processes
up to their first HTTP request (httpx's AsyncClient.send patched to note process_time and exit),
`tracker check --all --json` over bench_check's 500 pages after a first run, old and new code
alternated: about 0.39-0.50 s at load 3-4, against 0.077 s for python importing httpx and reading a
JSON of 500 ETags. Where it went (old code, load 2): interpreter 18 ms, httpx 62, SQLAlchemy 107,
the tracker's modules and click 73, the database opened, its migration and the sources read model
checked 6, the sources loaded 22, the fetcher built 63 (httpcore, and trio, which httpcore imports
when installed: selenium, a test dependency, brings it; the floor's AsyncClient pays it alike) and
its TLS context 20 more. Cut: a check imports and builds no projection but the sources one
(App.fresh with a Projector of the read models named; the record's fold, triage's proposals, the
digest index: 8.2 ms under -X importtime; tests/cli/test_startup_imports.py pins it), and loads its
sources cheaper (the nine source_state columns it reads instead of twenty, list columns holding
"[]" not decoded: _load over 500 sources 17.0-18.7 -> 11.1-11.4 ms). Paired medians of the CPU to
the first request: -18, -7 and -11 ms (15, 12 and 25 pairs, load 3.6-4.4), medians 0.501 -> 0.485,
0.393 -> 0.384, 0.410 -> 0.397 s; a first run -24 ms (10 pairs). This bench, 15 runs, load 3.3-3.4,
run old then new: `tracker check` with nothing due 0.225 -> 0.212 s CPU (0.99x -> 1.00x the
floor's wall time, which moved too). bench_check --pages 500 --rounds 3 (load 1.9-2.6, one run each
side, noise larger than the gain): no change 1.06x -> 0.93x, 5% changed 1.09x -> 1.07x, first run
1.66x -> 1.67x; --noisy, two runs each side: no change 1.31x/1.22x -> 1.26x/1.25x.
Tried and dropped: the TLS context made on first use (20 ms and 4.7 ms of importlib.readers that
certifi.where() imports; the floor's AsyncClient loads the bundle SSL_CERT_FILE names instead, this
machine's): it would help only http:// pages, real sources are https. domain.changes, recording
and the normalisers imported after the first request: every path that gets an answer needs them
then, so the CPU would move, not go. The register parsers (1.7 ms under -X importtime) imported only
for register kinds: tracker.fetching re-exports them, and keeping that surface lazily takes a
module __getattr__. The settings' 11 frozen dataclasses (4.6 ms) and the schema's tables (11-13 ms)
stay: one declaration of each, created once per process, not in bulk.

Session 9, another machine, at rest (15 runs, load 0.7 and 1.5): floor 0.196/0.217 s, SQLAlchemy
alone 0.123/0.136 s, urlwatch with no jobs 0.142/0.160 s; `tracker status` 0.193/0.211 s
(0.98x/0.97x), `tracker check` with nothing due 0.181/0.202 s (0.92x/0.93x), `--help` 0.18x. The
floor with the collector held back, as the tracker holds it, 0.149/0.163 s: itself slower than
urlwatch, which leaves 19-24 ms beyond SQLAlchemy's import where `tracker status` spends 69-75 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import URLWATCH_VENV, install_urlwatch

FLOOR_CODE = (
    "import sys, httpx, sqlalchemy\n"
    "engine = sqlalchemy.create_engine(sys.argv[1])\n"
    "with engine.connect() as conn:\n"
    "    conn.exec_driver_sql('SELECT 1').all()\n"
)
FLOOR_NO_GC_CODE = "import gc\ngc.disable()\n" + FLOOR_CODE + "gc.freeze()\n"
FLOOR = "floor (httpx+SQLAlchemy+connect)"
STRICT = "floor, collector held back"
ALONE = "SQLAlchemy alone (import, no gc)"


def run_once(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MB of one fresh process (it must exit 0)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    error = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}: {error.strip()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-urlwatch", action="store_true")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        url = f"sqlite:///{workdir / 'tracker.db'}"
        env = {**os.environ, "TRACKER_DATABASE_URL": url}
        env.pop("TRACKER_CONFIG", None)
        # An installed package runs from compiled .pyc files (pip writes them); a checkout run with
        # PYTHONDONTWRITEBYTECODE would compile the tracker's modules on every start instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = sys.executable
        subprocess.run([python, "-m", "tracker", "init"], cwd=workdir, env=env, check=True, capture_output=True)
        commands: dict[str, list[str]] = {
            FLOOR: [python, "-c", FLOOR_CODE, url],
            STRICT: [python, "-c", FLOOR_NO_GC_CODE, url],
            ALONE: [python, "-c", "import gc\ngc.disable()\nimport sqlalchemy\ngc.freeze()\n"],
            "tracker --help": [python, "-m", "tracker", "--help"],
            "tracker status": [python, "-m", "tracker", "status"],
            "tracker check (nothing due)": [python, "-m", "tracker", "check"],
        }
        if not args.no_urlwatch and install_urlwatch():
            (workdir / "urls.yaml").write_text("")
            (workdir / "urlwatch.yaml").write_text("report:\n  stdout:\n    enabled: false\n")
            urlwatch = str(URLWATCH_VENV / "bin" / "urlwatch")
            commands["urlwatch (no jobs)"] = [
                urlwatch,
                "--urls",
                "urls.yaml",
                "--config",
                "urlwatch.yaml",
                "--cache",
                "cache.db",
                "--hooks",
                "hooks.py",
            ]
            commands["urlwatch --help"] = [urlwatch, "--help"]
        for command in commands.values():      # warm the page cache and .pyc files
            run_once(command, workdir, env)
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        memory: dict[str, float] = dict.fromkeys(commands, 0.0)
        rnd = random.Random(18)
        for _ in range(args.runs):
            order = list(commands)
            rnd.shuffle(order)
            for name in order:
                took, used, peak = run_once(commands[name], workdir, env)
                seconds[name].append(took)
                cpu[name].append(used)
                memory[name] = max(memory[name], peak)

        median = {name: statistics.median(values) for name, values in seconds.items()}
        floor, strict = median[FLOOR], median[STRICT]
        watch = median.get("urlwatch (no jobs)")
        print(f"{args.runs} interleaved runs per command, medians; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        ok = True
        for name, value in median.items():
            spread = f"[{min(seconds[name]):.3f}-{max(seconds[name]):.3f}]"
            text = (f"{name:<34} {value:7.3f}s {spread:<15} CPU {statistics.median(cpu[name]):6.3f}s "
                    f"{memory[name]:6.1f} MB  {value / floor:5.2f}x floor")
            if name.startswith("tracker"):
                within = value <= 1.5 * floor
                faster = watch is None or value < watch
                ok = ok and within and faster
                text += (
                    " (target <= 1.5x)"
                    + ("" if within else " ABOVE TARGET")
                    + f", {value / strict:4.2f}x the strict one"
                )
                if watch is not None:
                    text += f"; {watch / value:4.2f}x as fast as urlwatch" + ("" if faster else " SLOWER")
            print(text)
        if watch is not None:
            alone = median[ALONE]
            print(f"urlwatch with no jobs leaves {watch - alone:.3f}s beyond importing SQLAlchemy alone "
                  f"({alone:.3f}s), where `tracker status` spends {median['tracker status'] - alone:.3f}s")
        return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
