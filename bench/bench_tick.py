"""Scheduler tick benchmark (issue 6): selection and claim work against the checks it hands out.

    python -m bench.bench_tick [--sources 10000] [--due 100] [--rounds 3] [--postgres URL]

10,000 sources are registered, of which 100 are due. One tick claims the due ones in batches
(schedule.batch) exactly as `tracker serve` does, checks them, and releases the claims. Measured
in the same run, per round:

  claim   the tick's catch-up of the sources projection, every claim_due_batch call and the
          releases
  check   check_sources over the claimed 100 (context)
  floor   a bare download of the same 100 pages: httpx at the check's concurrency, each body
          hashed (bench_check's floor), best of 3 per round

The pages come from a server in a process of its own (bench_check's), so that serving them takes
no time from the code measured: an in-process server made the check, the old denominator, 14x
a bare download (issue 18). Target: claim < 5% of the floor, on SQLite and (with --postgres or
TRACKER_TEST_POSTGRES_URL) on PostgreSQL. Round 1 checks pages never seen (baselines); later
rounds are routine re-checks of unchanged pages. Each round makes the same 100 sources due again.
PostgreSQL's tables are analysed after the setup, as autovacuum would have by then. One tick with
nothing due runs before the rounds, as `tracker serve`'s ticks do from its start: it connects the
lease pool, a cost a process pays once (8-20 ms, which round 1 paid without it).

Measured (5 rounds, 2 shared cores, load 3.5-4): claim/download median 2.7% (worst 3.9%) on
SQLite, 5.6% (worst 7.7%) on PostgreSQL; the code before issue 18's index, one-statement
reads and lease writes: 7.4% (worst 9.0%) and 8.8% (worst 29.5%) in the same conditions.
Four more runs at load 4-5: SQLite medians 1.3-2.5%, PostgreSQL 5.6-8.5% (worst 8-11.5%):
there each claim's few round trips wait for a core, and one claim in five takes 5-25 ms.
With behind() in autocommit (Database.peek), two runs at load 3-3.6: SQLite 2.1-2.3%,
PostgreSQL 4.5% and 5.1% (worst 13.2% and 7.4%).
With lease writes and peeks on a pool of their own (Database._lease_engine: synchronous_commit
off, a ping only after 1 s idle, so a tick's 4-5 statements are 4-5 round trips, not 8-10), old
and new code alternated at load 1.5-4.3, 5 rounds per run: PostgreSQL medians 4.4-6.6% (worst
6.5-12.4%) in five runs with the warm-up tick (4.4-8.8% in three without) against 5.8-11.6%
(worst 9.1-44.7%) in eight runs of the code before; SQLite unchanged (medians 1.5-2.3%). In
none of these runs were all five rounds below 5%: a claim's round trips wait for a core (one
in five takes 5-25 ms at load 4), and a claim of 50 costs the server 0.7-0.9 ms (EXPLAIN
ANALYZE), an empty one 0.15-0.35 ms. Rounds within a second of each other pay no ping; `serve`'s
ticks, 60 s apart, pay one (a round trip, 0.1-0.3 ms). Two later runs at load 6 (the download
slower too): medians 4.4% and 3.6%, worst 8.3% and 5.4%. Tried and dropped: the claim's UPDATE
by ctid instead of primary key (server time 0.48 against 0.59 ms per claim of 50: not worth a
less usual statement).
With behind()'s positions and event-type look in one statement and a claim that looks one due
row past its batch (so no claim that finds nothing ends a tick), a tick's claim work is 3 round
trips on PostgreSQL where it was 4, or 5 after a tick that appended events (strace, sendto to
the server between markers). Old and new code alternated, 9 runs each at load 1.1-4.7 (tests
running during some): PostgreSQL medians 3.6-5.5% (median of the runs 4.2%; worst rounds
3.7-8.2%) against 4.6-7.2% (5.2%; worst 5.5-11.2%); one run of 9 with all five rounds below 5%,
against none. SQLite (17 runs each, 5 or 10 rounds): medians 1.8-2.6% against 1.9-2.8%; a
single round above 4.5% in 4 runs against 1 (its statements are the same but behind()'s, 0.046
against 0.043 ms a call in a loop). Two claims of 50 with the look-ahead cost the server what
three did (EXPLAIN ANALYZE, 1.06 against 1.08 ms a tick). What is left is waiting: in a tight
loop a claim takes 0.9-1.0 ms and behind() 0.3 ms, but in the tick, right after the download
or the checks, the same statements take 1-11 ms each with 0.35-0.6 ms of CPU (their server
process waits for a core), so a round trip less is worth 1-3 ms at load 2-4. The next one to
go would be behind()'s: sent with the first claim in one psycopg pipeline (a catch-up then
forcing one more claim, for sources registered since the last tick).
Why round 1 was the worst on PostgreSQL: planning. psycopg prepares a statement at its sixth
execution on a connection, with a round trip of its own (strace: the claim's, in round 3), and
until then every execution was parsed and planned afresh; a prepared statement is then planned
for its parameters five more times before PostgreSQL settles on the generic plan it keeps. The
claim's plan takes 0.5 ms of the server's (EXPLAIN ANALYZE), paid by every claim of rounds 1-2
and by the warm-up. Now the claim and behind() are prepared at their first execution and the
lease pool plans them once, generically (Database: prepared_at_once, plan_cache_mode
force_generic_plan; the same index scans as before), so the warm-up tick pays both prepares and
the plans (strace: one round trip more each there, then one per statement). In the ticks the
bench makes each statement is one round trip, plus the idle ping before behind() (the rounds
are over a second apart now). Old and new alternated, probes timing each statement, 3 runs each
at load 1.7-2.4: round 1's claim work 4.6-6.0 ms against 3.4-4.3 ms; PostgreSQL medians
3.7-5.0% against 2.9-3.7%, worst rounds 4.4-9.3% against 3.4-6.0% (preparing at once without
the generic plan: medians 3.5-3.8%, worst 4.2-7.8%, round 1 still the worst).
The bench itself, old and new alternated, 4 runs each at load 1.6-2.1: PostgreSQL round 1 (claim
work) 4.5-5.4 ms against 3.6-4.2 ms (3.6-4.1% against 4.5-5.0%), medians 3.8-5.0% against
2.9-3.3%, worst rounds 4.5-5.7% against 3.6-6.9% (the 6.9%: one round 5 at 7.6 ms, a core
waited for); all five rounds below 5% in 3 runs of 4 against 2. SQLite (untouched: no
prepared statements there) medians 2.3-2.4% against 2.2-2.6%, worst 2.6-3.2% against 2.6-3.0%.
Not tried for lack of time: behind() pipelined with the first claim.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from bench.bench_check import floor_seconds
from tracker import migrate
from tracker.app import App
from tracker.core import NewEvent
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source
from tracker.services import claims
from tracker.services.checking import check_sources
from tracker.settings import load_settings

_state = sa.table("source_state", sa.column("source_id", sa.String), sa.column("next_due_at", sa.String))
FAR = "2999-01-01T00:00:00.000000Z"
PAST = "2000-01-01T00:00:00.000000Z"


CONCURRENCY = 16


class PageServer:
    """bench_check's page server (pages of 5-50 KB at /p/<n>) in a process of its own."""

    def __init__(self, count: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.bench_check", "--serve", "--pages", str(count)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.base = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def url(self, n: int) -> str:
        return f"{self.base}/p/{n}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@contextmanager
def database(backend: str, postgres_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/tracker.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(sa.make_url(postgres_url).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        url = sa.make_url(postgres_url).set(drivername="postgresql+psycopg")
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def setup(url: str, server: PageServer, total: int, due: int) -> tuple[App, list[str]]:
    settings = load_settings(environ={}).with_overrides(
        database__url=url, fetch__allow_hosts="127.0.0.1", fetch__host_delay=0.0, fetch__per_host=CONCURRENCY,
        fetch__concurrency=CONCURRENCY, fetch__retries=0,
    )
    app = App(settings)
    migrate.upgrade(app.db)
    events = []
    step = total // due
    for n in range(total):
        # The due sources (every step-th) get 100 distinct pages; the rest share them.
        source = Source(
            id=f"s-{n:05d}",
            url=server.url((n // step) % due),
            kind="html",
            jurisdiction="CN",
            title=f"S {n}",
            items=(),
            tags=(),
            select=None,
            ignore=(),
            every="1d",
            respect_robots=False,
            origin="operator",
        )
        events.append(NewEvent(v.source_stream(source.id), v.SOURCE_REGISTERED, source.to_payload(),
                               {"actor": "bench", "cause": "cli:bench"}))
    for start in range(0, total, 2000):
        app.store.append(events[start:start + 2000])
    app.projector.catch_up(only=["sources"])
    # One source in `step` is due; all the others were checked and are due far ahead.
    due_ids = [f"s-{n:05d}" for n in range(0, total, step)][:due]
    with app.db.write() as conn:
        conn.execute(_state.update().values(next_due_at=FAR))
    if not app.db.is_sqlite:
        # Statistics, as autovacuum gathers them on a live installation: without them, on tables
        # filled seconds ago, PostgreSQL planned the claim as scans of all 10,000 rows (3 ms each).
        with app.db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE source_state, sources")
    return app, due_ids


def make_due(app: App, ids: list[str]) -> None:
    with app.db.write() as conn:
        conn.execute(_state.update().where(_state.c.source_id.in_(ids)).values(next_due_at=PAST))


def one_tick(app: App, batch: int) -> tuple[float, float, int]:
    """The tick's loop (see tracker.scheduling.jobs.Jobs.tick), timing claims and checks apart."""
    holder = "bench:1:tick"
    check_s = 0.0
    checked = 0
    started = time.perf_counter()
    app.fresh("sources")  # the tick's first step: new sources become due
    claim_s = time.perf_counter() - started
    while True:
        started = time.perf_counter()
        claimed = claims.claim_due_batch(app.db, holder, app.clock(), 300, batch)
        ids = claimed.ids
        claim_s += time.perf_counter() - started
        if not ids:
            return claim_s, check_s, checked
        started = time.perf_counter()
        report = check_sources(app, ids)
        check_s += time.perf_counter() - started
        checked += len(ids)
        started = time.perf_counter()
        unrecorded = set(ids) - {outcome.source_id for outcome in report.outcomes}
        if unrecorded:  # as the tick: recording a check clears its claim
            claims.release_sources(app.db, holder, sorted(unrecorded))
        claim_s += time.perf_counter() - started
        if not claimed.more:
            return claim_s, check_s, checked  # as the tick: the batch took everything due


def run(backend: str, url: str, total: int, due: int, rounds: int, batch: int) -> None:
    server = PageServer(due)
    try:
        started = time.perf_counter()
        app, due_ids = setup(url, server, total, due)
        print(f"[{backend}] {total} sources registered in {time.perf_counter() - started:.1f}s; {due} due per round")
        urls = [server.url(n) for n in range(due)]
        # `tracker serve` ticks from its start, mostly with nothing due: connecting the lease pool
        # is paid once by a process, not by a tick (the first round paid 8-20 ms for it on PostgreSQL).
        one_tick(app, batch)
        results = []
        for number in range(1, rounds + 1):
            make_due(app, due_ids)
            floor = floor_seconds(urls, CONCURRENCY, runs=2)
            claim_s, check_s, checked = one_tick(app, batch)
            floor = min(floor, floor_seconds(urls, CONCURRENCY, runs=1))
            assert checked == due, f"the tick checked {checked} sources, not {due}"
            share = claim_s / floor * 100
            kind = "baseline" if number == 1 else "re-check"
            print(
                f"[{backend}] round {number} ({kind}): claim {claim_s * 1000:7.1f} ms   bare download "
                f"{floor * 1000:7.1f} ms"
                f"   claim/download {share:5.2f}%  (target < 5%) {'OK' if share < 5 else 'ABOVE TARGET'}"
                f"   (check {check_s * 1000:7.1f} ms, {check_s / floor:.2f}x the download)"
            )
            results.append((claim_s, floor))
        worst = max(c / k for c, k in results) * 100
        median = statistics.median(c / k for c, k in results) * 100
        print(f"[{backend}] claim/download over {rounds} rounds: median {median:.2f}%, worst {worst:.2f}%")
        app.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50, help="schedule.batch: sources claimed per batch")
    parser.add_argument("--postgres", default=os.environ.get("TRACKER_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgres"] if args.postgres else [])
    for backend in backends:
        with database(backend, args.postgres) as url:
            run(backend, url, args.sources, args.due, args.rounds, args.batch)
    if not args.postgres:
        print("[postgres] skipped: give --postgres URL or set TRACKER_TEST_POSTGRES_URL")


if __name__ == "__main__":
    main()
