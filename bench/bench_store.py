"""Event store benchmark (issue 2): append, read and verify against sqlite3 floors, same run.

    python -m bench.bench_store [--events 100000] [--single 5000] [--million 1000000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import best_of, ratio_line, timed
from tracker import migrate
from tracker.core import Database, EventStore, NewEvent
from tracker.core.canonical import canonical_json
from tracker.services import auditing

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=60000")
FLOOR_TABLE = """CREATE TABLE floor (position INTEGER PRIMARY KEY, stream TEXT, version INTEGER, type TEXT,
    schema_version INTEGER, payload TEXT, metadata TEXT, recorded_at TEXT, valid_from TEXT,
    idempotency_key TEXT UNIQUE, prev_hash TEXT, hash TEXT, UNIQUE (stream, version))"""


def make_event(i: int) -> NewEvent:
    return NewEvent(
        stream=f"instrument/bench-{i % 10_000}",
        type="InstrumentAmended",
        payload={"id": f"bench-{i % 10_000}", "n": i, "title_en": "Guideline on gene therapy products " * 2,
                 "title_zh": "基因治疗产品非临床研究技术指导原则", "step": "amended"},
        metadata={"actor": "bench", "cause": "bench"},
        valid_from="2025-09",
    )


def floor_rows(events: list[NewEvent]) -> list[tuple[object, ...]]:
    """Rows of the same size as the store's, built before timing (the floor does no hashing)."""
    return [
        (i + 1, e.stream, i // 10_000 + 1, e.type, 1, canonical_json(e.payload), canonical_json(e.metadata),
         "2026-11-24T21:28:28.123456Z", e.valid_from, None, "0" * 64, "f" * 64)
        for i, e in enumerate(events)
    ]


def connect_floor(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute(FLOOR_TABLE)
    return conn


def fresh_store(path: Path) -> EventStore:
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    return EventStore(db)


def floor_insert(path: Path, rows: list[tuple[object, ...]], per_transaction: int) -> float:
    """Seconds to insert the rows into a fresh floor table, committing every per_transaction rows."""
    conn = connect_floor(path)

    def insert() -> None:
        for start in range(0, len(rows), per_transaction):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO floor VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows[start:start + per_transaction])
            conn.execute("COMMIT")

    seconds, _ = timed(insert)
    conn.close()
    return seconds


def bench_append(tmp: Path, n: int, batch: int, runs: int) -> tuple[float, float, float]:
    """Best of ``runs`` fresh files each: the store, and the floor with the same transactions.

    The floor commits every ``batch`` rows, as the appends it is compared with must (one append
    is one transaction: merging them is not the store's to do). The floor in one transaction is
    returned too, as context. Returns (ours, floor, floor in one transaction).
    """
    events = [make_event(i) for i in range(n)]
    rows = floor_rows(events)
    ours = floor = one_transaction = float("inf")
    for run in range(runs):
        floor = min(floor, floor_insert(tmp / f"floor-{batch}-{n}-{run}.db", rows, batch))
        if batch > 1:
            one_transaction = min(one_transaction, floor_insert(tmp / f"floor-one-{n}-{run}.db", rows, n))
        store = fresh_store(tmp / f"store-{batch}-{n}-{run}.db")

        def append_all() -> None:  # the recorded events go as each append returns, as the floor's rows do
            for start in range(0, n, batch):
                store.append(events[start:start + batch])  # noqa: B023 - timed at once

        seconds, _ = timed(append_all)
        ours = min(ours, seconds)
        store.db.dispose()
    return ours, floor, one_transaction


def scan_floor(path: Path) -> int:
    conn = sqlite3.connect(path)
    count = 0
    for row in conn.execute("SELECT * FROM events ORDER BY position"):
        json.loads(row[5])
        json.loads(row[6])
        count += 1
    conn.close()
    return count


def memory_child(path: str) -> None:
    """Run in a child process: read and verify everything, then report peak RSS."""
    from bench.common import peak_rss_mb

    store = EventStore(Database(f"sqlite:///{path}"))
    count = sum(1 for _ in store.read())
    report = auditing.verify_store(store)
    print(json.dumps({"read": count, "verified": report.count, "peak_rss_mb": peak_rss_mb()}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh files per append measurement; the best counts")
    parser.add_argument("--million", type=int, default=1_000_000, help="events for the memory check (0 skips it)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child)
        return

    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as name:
        tmp = Path(name)
        print(f"event store benchmark: {args.events} events, batches of {args.batch}; {args.single} single appends;"
              f" best of {args.runs} for every side")
        ours, floor, one_transaction = bench_append(tmp, args.events, args.batch, args.runs)
        # The floor: executemany of every row in one transaction. A floor that commits
        # every 1,000 rows, as the appends must, is printed beside it as context.
        print(ratio_line("append, batches of 1,000", ours, one_transaction, 0.6))
        print(f"{'':<38} {args.events / ours:,.0f} events/s (floor {args.events / one_transaction:,.0f} rows/s in one"
              f" transaction; committing every {args.batch:,} rows as the appends do {args.events / floor:,.0f}"
              f" rows/s, ratio {floor / ours:.2f}x)")
        if args.single:
            ours, floor, _ = bench_append(tmp, args.single, 1, args.runs)
            print(ratio_line("append, one per transaction", ours, floor, 0.6))

        path = tmp / f"store-{args.batch}-{args.events}-0.db"
        store = EventStore(Database(f"sqlite:///{path}"))
        floor, count = best_of(3, lambda: scan_floor(path))
        ours, read = best_of(3, lambda: sum(1 for _ in store.read()))
        assert read == count == args.events
        print(ratio_line("read all in position order", ours, floor, 0.6))
        ours, report = best_of(3, lambda: auditing.verify_store(store))
        assert report.count == args.events
        print(ratio_line("verify the whole chain", ours, floor, 0.5))
        store.db.dispose()

        if args.million:
            big = tmp / "million.db"
            big_store = fresh_store(big)
            fill, _ = timed(lambda: [big_store.append([make_event(i) for i in range(s, min(s + 5_000, args.million))])
                                     for s in range(0, args.million, 5_000)])
            big_store.db.dispose()
            child = subprocess.run(
                [sys.executable, "-m", "bench.bench_store", "--memory-child", str(big)],
                capture_output=True, text=True, check=True,
            )
            result = json.loads(child.stdout)
            verdict = "OK" if result["peak_rss_mb"] < 200 else "ABOVE TARGET"
            print(f"read + verify {result['verified']:,} events: peak RSS {result['peak_rss_mb']:.0f} MB "
                  f"(target < 200 MB) {verdict}; filling took {fill:.0f}s")


if __name__ == "__main__":
    main()
