"""Record projection benchmark (issue 3): rebuild and replay against a raw sqlite3 scan, same run.

    python -m bench.bench_projections [--events 1000000] [--quick]

A synthetic log of N events over 10,000 instruments (a registration each, then dated steps) is
appended through the store, in batches, to a fresh SQLite file. Then, each in a fresh child
process so that its peak memory is its own:
  * the floor: a raw sqlite3 scan of the events table with json.loads of every payload;
  * EventStore.read of the whole log (the core's own cost, which every projection pays);
  * `tracker projections rebuild` (Projector.rebuild of the record projection);
  * `tracker replay --as-of <mid-point position>`;
  * the rebuild of the sources read model over --sources sources appended after the record's
    events (a registration each, the volatile lines found at its baseline, and for one in ten
    adopted rules and a removal), compared per event with the record's rebuild (issue 18).
Floor, read and rebuilds are each the fastest of --runs children (rebuilds on fresh copies of the log).
The two rebuilds are timed alike (the same child, the clock started after imports and the store's
set-up, in pairs taking turns); each child also reports its CPU time, printed per pair beside the
wall-clock figures: a 0.4 s child and a 9 s one sample a shared machine's load differently, and
CPU time is the steadier of the two. The sources' cost per event includes a scan of the whole log
for their types (no index on type), which their 22,000 events divide: about 0.11 s of it.
Targets: rebuild >= 0.3x the floor's rows/s, peak memory < 300 MB, replay at the mid-point no
slower than the rebuild it implies (the rebuild of the whole log), the sources rebuild at most 2x
the record's cost per event.

Measured, sources/record per event (a million events, 10,000 sources, a shared 2-core machine):
session 8 before, load 1.3-3.3: 2.52-2.65x (pairs 2.49-2.70; CPU 2.52-2.59x), sources 0.0240-0.0261
ms against 0.0095-0.0098; after cheaper validation, source_state written from the rows and a
narrow type range scanned first: 1.95x at load 1.5-2.9 (pairs 1.94 1.95 2.06; CPU 1.97 1.98 2.10),
0.0163 ms against 0.0084, and 2.05x at load 0.7-1.8 (pairs 2.05 2.09 2.39; CPU 2.02 2.08 2.13),
0.0191 ms against 0.0093: at the target, without a margin. Where the sources' 0.36 s go (CPU, by
hand): reading the log 0.19 s (the scan about 0.11 s, fetching and decoding 22,000 events the
rest), the fold 0.10-0.12 s, the write 0.05 s, the rest (savepoint, clear, checkpoint, commit,
freeing) 0.02 s. Earlier: 1.75x and 1.58x (load 5.5-6.5, another machine), from 2.2-2.8x before
the sources' bulk rebuild. Session 9, another machine, at rest (load under 2): record 7.66 s
(130,554 events/s, 0.33x the floor), sources 0.33 s, 1.95x (pairs 1.72 1.90 1.95; CPU 1.76 1.97
2.02), 0.0149 ms against 0.0077.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracker import migrate
from tracker.core import Database, EventStore, NewEvent

INSTRUMENTS = 10_000
BATCH = 10_000
STEPS = ("drafted", "published", "effective", "amended", "amended", "superseded")
STEP_TYPES = {
    "drafted": "InstrumentDrafted", "published": "InstrumentPublished", "effective": "InstrumentEffective",
    "amended": "InstrumentAmended", "superseded": "InstrumentSuperseded",
}
META = {"actor": "bench", "cause": "seed:bench.toml", "correlation_id": "bench", "causation_id": None}


def make_event(i: int) -> NewEvent:
    """Event i: the first 10,000 register the instruments, the rest are their dated steps."""
    item = i % INSTRUMENTS
    item_id = f"cn-bench-{item:05d}"
    if i < INSTRUMENTS:
        return NewEvent(
            stream=f"instrument/{item_id}",
            type="InstrumentRegistered",
            metadata=META,
            payload={
                "id": item_id,
                "jurisdiction": "CN",
                "kind": "guidance",
                "title_zh": "基因治疗产品非临床研究技术指导原则",
                "title_en": f"Guideline {item} on non-clinical studies of gene therapy products",
                "issuer": "国家药品监督管理局药品审评中心",
                "topics": ["gene-therapy"],
                "discipline": "non-clinical",
                "urls": [],
                "citation": {"ref": [], "quote": "指导原则"},
                "notes": None,
                "relations": [{"type": "based-on", "target": f"cn-bench-{(item + 1) % INSTRUMENTS:05d}", "note": None}],
                "attributes": {},
                "seed_file": "bench.toml",
            },
        )
    round_ = i // INSTRUMENTS
    step = STEPS[round_ % len(STEPS)]
    year = 1990 + round_ // 3
    date = (
        f"{year}"
        if round_ % 3 == 0
        else f"{year}-{(round_ % 12) + 1:02d}"
        if round_ % 3 == 1
        else f"{year}-{(round_ % 12) + 1:02d}-15"
    )
    return NewEvent(
        stream=f"instrument/{item_id}", type=STEP_TYPES[step], metadata=META, valid_from=date,
        payload={"id": item_id, "step": step, "date": date, "note": "国务院正式公布", "by": None, "citation": None},
    )


def source_events(count: int) -> list[NewEvent]:
    """What `count` monitored pages leave in the log: registered, volatile lines found, some rules
    adopted and some removed."""
    from tracker.domain import vocabulary as v
    from tracker.domain.sources import Source

    made: list[NewEvent] = []
    for n in range(count):
        source = Source(id=f"src-bench-{n:06d}", url=f"https://www.example.gov/page/{n}", kind="html",
                        jurisdiction="CN", title=f"Page {n}", tags=("bench",), ignore=("^Updated",), origin="operator")
        stream = v.source_stream(source.id)
        made.append(NewEvent(stream, v.SOURCE_REGISTERED, source.to_payload(), META))
        made.append(NewEvent(stream, v.SOURCE_VOLATILE_IGNORED, {"id": source.id, "ignore": ["^Session \\d+"]}, META))
        if n % 10 == 0:
            made.append(
                NewEvent(
                    stream, v.SOURCE_RULES_ADOPTED, {"id": source.id, "select": "main", "ignore": ["^Printed"]}, META
                )
            )
            made.append(NewEvent(stream, v.SOURCE_REMOVED, {"id": source.id}, META))
    return made


def build_log(path: Path, n: int, sources: int) -> float:
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    store = EventStore(db)
    start = time.perf_counter()
    for first in range(0, n, BATCH):
        store.append([make_event(i) for i in range(first, min(n, first + BATCH))])
    monitored = source_events(sources)
    for first in range(0, len(monitored), BATCH):
        store.append(monitored[first:first + BATCH])
    db.dispose()
    return time.perf_counter() - start


# Each measurement runs in a child process: prints {"seconds": .., "rows": .., "peak_mb": ..}.
CHILD = r'''
import json, resource, sqlite3, sys, time
from datetime import date
mode, path, arg = sys.argv[1], sys.argv[2], int(sys.argv[3])
start, cpu = time.perf_counter(), time.process_time()
if mode == "read":
    from tracker.core import Database, EventStore
    from tracker.domain.upcasters import build_upcaster
    store = EventStore(Database("sqlite:///" + path), upcaster=build_upcaster())
    start, cpu = time.perf_counter(), time.process_time()
    rows = sum(1 for _ in store.read(page_size=5000))
elif mode == "floor":
    conn = sqlite3.connect(path)
    rows = 0
    for position, stream, type_, payload, metadata, valid_from in conn.execute(
            "SELECT position, stream, type, payload, metadata, valid_from FROM events ORDER BY position"):
        json.loads(payload)
        rows += 1
else:
    from tracker.core import Database, EventStore, Projector
    from tracker.domain.upcasters import build_upcaster
    from tracker.projections.record import RecordProjection
    from tracker.projections.sources import SourcesProjection
    store = EventStore(Database("sqlite:///" + path), upcaster=build_upcaster())
    start, cpu = time.perf_counter(), time.process_time()
    if mode == "rebuild":
        rows = Projector(store, [RecordProjection()]).rebuild()["record"]
    elif mode == "rebuild-sources":
        rows = Projector(store, [SourcesProjection()]).rebuild()["sources"]
    else:
        from tracker.services.replay import replay
        rows = len(replay(store, as_of=arg, valid_at=date(2026, 5, 1)))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
from bench.common import peak_rss_mb  # VmHWM: ru_maxrss would carry the parent's size across exec
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "peak_mb": peak_rss_mb()}))
'''


def measure(mode: str, path: Path, arg: int = 0) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(arg)],
                            capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{mode} failed: {result.stderr.strip()}")
    measured: dict[str, float] = json.loads(result.stdout)
    return measured


def best(runs: int, mode: str, path: Path, arg: int = 0) -> dict[str, float]:
    """The fastest of ``runs`` children (the machine is shared), with the highest peak seen.

    A rebuild writes its tables, so each rebuild runs on a fresh copy of the log: a second
    rebuild on the same file would also pay for deleting the first one's rows.
    """
    results = []
    for run in range(runs):
        target = path
        if mode.startswith("rebuild"):
            target = path.with_name(f"rebuild-{run}.db")
            shutil.copyfile(path, target)
        results.append(measure(mode, target, arg))
        if target != path:
            target.unlink()
    fastest = min(results, key=lambda r: r["seconds"])
    return {**fastest, "peak_mb": max(r["peak_mb"] for r in results)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_projections", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the synthetic log (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: 50,000 events")
    parser.add_argument("--runs", type=int, default=3, help="children per measurement; the fastest counts (default 3)")
    parser.add_argument("--sources", type=int, default=10_000, help="monitored sources in the log (default 10,000)")
    args = parser.parse_args(argv)
    n = 50_000 if args.quick else args.events
    if n < INSTRUMENTS:
        raise SystemExit(f"--events must be at least {INSTRUMENTS} (one registration per instrument)")
    with tempfile.TemporaryDirectory(prefix="bench-projections-") as tmp:
        path = Path(tmp) / "log.db"
        append_s = build_log(path, n, args.sources)
        print(
            f"log: {n:,} events over {INSTRUMENTS:,} instruments appended in {append_s:.1f}s ({n / append_s:,.0f} "
            "events/s);"
            f" floor, read and rebuild: best of {args.runs}"
        )
        floor = best(args.runs, "floor", path)
        read = best(args.runs, "read", path)
        # The two rebuilds take turns, so that load from other processes falls on both alike.
        pairs = [(best(1, "rebuild", path), best(1, "rebuild-sources", path)) for _ in range(args.runs)]
        rebuild = min((r for r, _ in pairs), key=lambda r: r["seconds"])
        rebuild_sources = min((s for _, s in pairs), key=lambda s: s["seconds"])
        per_pair = sorted((s["seconds"] / s["rows"]) / (r["seconds"] / r["rows"]) for r, s in pairs)
        mid = measure("replay", path, n // 2)
    floor_rate = floor["rows"] / floor["seconds"]
    rebuild_rate = rebuild["rows"] / rebuild["seconds"]
    ratio = rebuild_rate / floor_rate
    print(
        f"floor   raw sqlite3 scan + json.loads : {floor['seconds']:7.2f}s  {floor_rate:12,.0f} rows/s  peak "
        f"{floor['peak_mb']:6.0f} MB"
    )
    read_rate = read["rows"] / read["seconds"]
    print(
        f"read    EventStore.read (the core)    : {read['seconds']:7.2f}s  {read_rate:12,.0f} rows/s  peak "
        f"{read['peak_mb']:6.0f} MB"
        f"  ({read_rate / floor_rate:.2f}x the floor: the ceiling of any projection)"
    )
    print(
        f"rebuild Projector.rebuild (record)    : {rebuild['seconds']:7.2f}s  {rebuild_rate:12,.0f} rows/s  peak "
        f"{rebuild['peak_mb']:6.0f} MB"
    )
    print(
        f"replay  --as-of {n // 2:,} (mid-point)     : {mid['seconds']:7.2f}s  {mid['rows']:12,.0f} items   peak "
        f"{mid['peak_mb']:6.0f} MB"
    )
    print(f"ratio rebuild/floor rows/s   {ratio:5.2f}x  (target >= 0.3x) {'OK' if ratio >= 0.3 else 'BELOW TARGET'}")
    print(
        f"peak memory of the rebuild   {rebuild['peak_mb']:5.0f} MB (target < 300 MB) "
        f"{'OK' if rebuild['peak_mb'] < 300 else 'ABOVE TARGET'}"
    )
    record_ms = rebuild["seconds"] / rebuild["rows"] * 1000
    sources_ms = rebuild_sources["seconds"] / rebuild_sources["rows"] * 1000
    print(
        f"rebuild Projector.rebuild (sources)   : {rebuild_sources['seconds']:7.2f}s  "
        f"{rebuild_sources['rows']:12,.0f} events "
        f"({args.sources:,} sources)  peak {rebuild_sources['peak_mb']:6.0f} MB"
    )
    print(f"cost per event (fastest of each): record {record_ms:.4f} ms, sources {sources_ms:.4f} ms: sources/record "
          f"{sources_ms / record_ms:5.2f}x (target <= 2x) {'OK' if sources_ms <= 2 * record_ms else 'ABOVE TARGET'}; "
          f"each pair: {' '.join(f'{r:.2f}' for r in per_pair)}")
    cpu_pairs = sorted((s["cpu"] / s["rows"]) / (r["cpu"] / r["rows"]) for r, s in pairs)
    record_cpu = " ".join(f"{r['cpu'] / r['rows'] * 1000:.4f}" for r, _ in pairs)
    sources_cpu = " ".join(f"{s['cpu'] / s['rows'] * 1000:.4f}" for _, s in pairs)
    print(f"cpu per event (each pair): record {record_cpu} ms, sources {sources_cpu} ms: sources/record "
          f"{' '.join(f'{r:.2f}' for r in cpu_pairs)}")
    cost = mid["seconds"] / rebuild["seconds"]
    print(f"replay mid-point / rebuild   {cost:5.2f}x  (target <= 1.0x) {'OK' if cost <= 1.0 else 'ABOVE TARGET'}")


if __name__ == "__main__":
    main()
