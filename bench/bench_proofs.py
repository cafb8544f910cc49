"""Merkle tree benchmark (issue 17): the tree's cost on appends, proofs in a large log, building a tree.

Every figure is a ratio against a floor measured in the same run:
- appends with the tree maintained against the same store with the tree step switched off
  (batches of 1,000 events; one event per transaction);
- inclusion and consistency proofs in a log of --million events: hashes per proof, database reads
  per proof (counted by the tree reader), and the offline check of one proof against
  hashlib.sha256 over the same number of nodes;
- migration 0007 building the tree of an existing log of --million events, in a child process
  (time and peak memory), against reading the chain hashes and hashing every leaf once.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
from hashlib import sha256
from pathlib import Path
from typing import Any

from alembic import command

from bench.bench_store import fresh_store, make_event
from bench.common import best_of, peak_rss_mb, ratio_line, timed
from tracker import migrate
from tracker.core import Database, EventStore
from tracker.core.merkle import consistency_path, inclusion_path, leaf_hash, verify_consistency, verify_inclusion
from tracker.core.tree import TreeReader


class _NoTree:
    """The store as it was before issue 17: no tree step in the append."""

    def append(self, *_args: Any) -> None:
        pass


def without_tree(store: EventStore) -> EventStore:
    store._tree = _NoTree()  # type: ignore[assignment]
    return store


def bench_appends(tmp: Path, n: int, batch: int, runs: int) -> tuple[float, float]:
    """Best of ``runs`` fresh files for each side, the two sides alternating. Returns (with, without)."""
    events = [make_event(i) for i in range(n)]
    best = {True: float("inf"), False: float("inf")}
    for run in range(runs):
        for with_tree in (run % 2 == 0, run % 2 != 0):
            store = fresh_store(tmp / f"append-{batch}-{with_tree}-{run}.db")
            if not with_tree:
                without_tree(store)

            def append_all(store: EventStore = store) -> None:
                for start in range(0, n, batch):
                    store.append(events[start:start + batch])

            seconds, _ = timed(append_all)
            best[with_tree] = min(best[with_tree], seconds)
            store.db.dispose()
    return best[True], best[False]


def fill(path: Path, n: int, *, tree: bool = True) -> EventStore:
    store = fresh_store(path)
    if not tree:
        without_tree(store)
    for start in range(0, n, 5_000):
        store.append([make_event(i) for i in range(start, min(start + 5_000, n))])
    return store


def bench_proofs(db: Database, size: int, samples: int) -> None:
    rng = random.Random(17)
    with db.read() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        root = TreeReader(cursor, sqlite=True, size=size).root(size)
        for kind in ("inclusion", "consistency"):
            hashes, reads, make_s, check_s, floor_s = [], [], 0.0, 0.0, 0.0
            for _ in range(samples):
                tree = TreeReader(cursor, sqlite=True, size=size)  # a fresh reader: nothing remembered
                if kind == "inclusion":
                    index = rng.randrange(size)
                    seconds, path = timed(lambda: inclusion_path(index, size, tree.subtree))
                    leaf = leaf_hash(bytes.fromhex(tree.chain_hash(index + 1)))

                    def check() -> None:
                        verify_inclusion(index, size, leaf, path, root)
                else:
                    first = rng.randrange(1, size)
                    seconds, path = timed(lambda: consistency_path(first, size, tree.subtree))
                    first_root = TreeReader(cursor, sqlite=True, size=size).root(first)

                    def check() -> None:
                        verify_consistency(first, size, first_root, root, path)
                make_s += seconds
                hashes.append(len(path))
                reads.append(tree.reads)
                check_s += best_of(5, check)[0]
                nodes = [b"\x01" + p + p for p in path] + [b"\x00" + path[0]] if path else []
                floor_s += best_of(5, lambda: [sha256(node).digest() for node in nodes])[0]
            print(f"{kind} proofs in a log of {size:,} events ({samples} random ones):"
                  f" at most {max(hashes)} hashes (mean {sum(hashes) / samples:.1f}; target <= 64),"
                  f" at most {max(reads)} database reads (mean {sum(reads) / samples:.1f}),"
                  f" made in {make_s / samples * 1e3:.2f} ms each")
            per_proof, per_floor = check_s / samples * 1e6, floor_s / samples * 1e6
            verdict = "OK: under a millisecond" if per_proof < 1000 else "ABOVE a millisecond"
            print(
                f"  checked offline in {per_proof:.1f} us per proof; hashlib.sha256 over the same"
                f" {sum(hashes) / samples:.0f} nodes {per_floor:.1f} us (ratio {per_floor / per_proof:.2f}x) {verdict}"
            )


def migrate_child(path: str) -> None:
    """In a child process: migration 0007 on a log that has no tree; time and peak memory."""
    db = Database(f"sqlite:///{path}")
    seconds, _ = timed(lambda: migrate.upgrade(db))
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def leaf_floor(path: Path) -> tuple[float, float]:
    """Reading the chain hashes in position order and hashing every leaf once; and the hashing alone."""
    conn = sqlite3.connect(path)
    seconds, hashes = timed(lambda: [sha256(b"\x00" + bytes.fromhex(h)).digest()
                                     for (h,) in conn.execute("SELECT hash FROM events ORDER BY position")])
    loaded = [h for (h,) in conn.execute("SELECT hash FROM events ORDER BY position")]
    alone, _ = timed(lambda: [sha256(b"\x00" + bytes.fromhex(h)).digest() for h in loaded])
    conn.close()
    return seconds, alone


def bench_migration(path: Path) -> None:
    db = Database(f"sqlite:///{path}")
    config = migrate.alembic_config()
    with db.engine.begin() as conn:  # back to a store made before the tree (an empty tree table dropped)
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    db.dispose()
    floor, alone = min(leaf_floor(path) for _ in range(3))
    child = subprocess.run([sys.executable, "-m", "bench.bench_proofs", "--migrate-child", str(path)],
                           capture_output=True, text=True, check=True)
    result = json.loads(child.stdout)
    print(ratio_line("build the tree of the log (migration)", result["seconds"], floor, 0.5))
    print(f"{'':<38} (floor: read the chain hashes and hash every leaf once; the hashing alone takes"
          f" {alone:.3f}s, ratio {alone / result['seconds']:.2f}x)")
    verdict = "OK" if result["peak_rss_mb"] < 200 else "ABOVE TARGET"
    print(f"{'':<38} peak RSS of the migrating process {result['peak_rss_mb']:.0f} MB (target < 200 MB) {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh files per append measurement and side")
    parser.add_argument("--million", type=int, default=1_000_000, help="events of the large log (0 skips it)")
    parser.add_argument("--samples", type=int, default=200, help="random proofs measured")
    parser.add_argument("--migrate-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.migrate_child:
        migrate_child(args.migrate_child)
        return

    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as name:
        tmp = Path(name)
        print(f"Merkle tree benchmark: {args.events:,} events in batches of {args.batch:,}; {args.single:,} single"
              f" appends; best of {args.runs} per side")
        if args.events:
            ours, floor = bench_appends(tmp, args.events, args.batch, args.runs)
            print(ratio_line(f"append with the tree, batches of {args.batch:,}", ours, floor, 0.85))
        if args.single:
            ours, floor = bench_appends(tmp, args.single, 1, args.runs)
            print(ratio_line("append with the tree, one per transaction", ours, floor, 0.9))
        if args.million:
            path = tmp / "million.db"
            seconds, store = timed(lambda: fill(path, args.million, tree=True))
            print(f"filled a log of {args.million:,} events with the tree in {seconds:.1f}s")
            bench_proofs(store.db, args.million, args.samples)
            store.db.dispose()
            bench_migration(path)


if __name__ == "__main__":
    main()
