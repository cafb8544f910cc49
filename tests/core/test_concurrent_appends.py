"""Several processes appending at once never produce a gap, a duplicate position or a broken chain."""

from __future__ import annotations

import multiprocessing
import random

import pytest

from tracker.core import Database, EventStore, NewEvent
from tracker.core.merkle import leaf_hash, root_of
from tracker.core.proofs import LogProofs
from tracker.core.tree import iter_nodes
from tracker.services import auditing

PROCESSES = 4
EVENTS_PER_PROCESS = 2000


def _append_worker(url: str, worker: int, ready, go, done) -> None:  # type: ignore[no-untyped-def]
    store = EventStore(Database(url))
    rng = random.Random(worker)
    ready.put(worker)
    go.wait(timeout=60)
    written = 0
    while written < EVENTS_PER_PROCESS:
        size = min(rng.choice([1, 1, 1, 2, 5, 20]), EVENTS_PER_PROCESS - written)
        batch = [
            NewEvent(
                stream=f"worker/{worker}-{(written + i) % 7}" if i % 3 else "shared/all",
                type="Appended",
                payload={"worker": worker, "n": written + i, "text": "并发写入"},
            )
            for i in range(size)
        ]
        store.append(batch)
        written += size
    store.db.dispose()
    done.put((worker, written))


@pytest.mark.slow
def test_four_processes_append_without_gaps_or_forks(db_url: str, db: Database) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, go, done = ctx.Queue(), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_append_worker, args=(db_url, w, ready, go, done)) for w in range(PROCESSES)]
    for process in workers:
        process.start()
    try:
        for _ in range(PROCESSES):
            ready.get(timeout=120)
        go.set()  # all start together, so the appends really contend
        finished = sorted(done.get(timeout=600) for _ in range(PROCESSES))
    finally:
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert finished == [(w, EVENTS_PER_PROCESS) for w in range(PROCESSES)]

    store = EventStore(db)
    total = PROCESSES * EVENTS_PER_PROCESS
    report = auditing.verify_store(store)  # dense positions, links, hashes, stream versions
    assert report.count == total and report.head_position == total
    positions = [row[0] for row in store.rows()]
    assert positions == list(range(1, total + 1))
    per_worker: dict[int, list[int]] = {}
    for event in store.read():
        per_worker.setdefault(event.payload["worker"], []).append(event.payload["n"])
    # Each process's events appear in the order it appended them, none lost or doubled.
    assert all(ns == list(range(EVENTS_PER_PROCESS)) for ns in per_worker.values())
    # The Merkle tree the four processes extended in turn is the tree of the log, node for node.
    hashes = [row[11] for row in store.rows()]
    with db.read() as conn:
        stored = sorted((int(r[0]), bytes(r[1])) for r in conn.exec_driver_sql("SELECT id, hash FROM merkle_nodes"))
    assert stored == sorted(iter_nodes(hashes))
    assert LogProofs(db).head().root_hash == root_of([leaf_hash(bytes.fromhex(h)) for h in hashes]).hex()
