"""Checking benchmark (issues 4, 18): `tracker check --all` as a process, against a floor and urlwatch.

    python -m bench.bench_check [--pages 500] [--concurrency 16] [--no-validators] [--noisy]
                                [--rounds 3] [--no-urlwatch]

A separate process serves N pages of 5-50 KB (a small asyncio HTTP/1.1 server with keep-alive, so
the server is not the bottleneck). With validators (the default) each page has an ETag and a
conditional GET of an unchanged page is answered 304; with --noisy each response also carries a
line that changes on every request (the tracker ignores it by a rule on its sources), and no
validators. Every side
runs as a fresh process, started the same way (the interpreter of this venv or urlwatch's):

  floor     a Python process that fetches every page with httpx at the same concurrency,
            hashes each body with SHA-256, and keeps the ETags in a JSON file for its next run
            (conditional GETs, as the tracker and urlwatch make them)
  floor+lxml  the same, each 200 body also turned into text with lxml (--noisy only: what
            normalising costs, reported apart from what the tracker adds)
  tracker   `python -m tracker check --all` on a SQLite file where the pages are registered
  urlwatch  `urlwatch` over the same pages (2.29, its own venv, see common.install_urlwatch)

Cycles: the first run (baselines), a run where nothing changed, and a run where 5% of the pages
changed (a different 5% each round; exactly those must be reported). Each cycle is run --rounds
times per side, the sides interleaved, and the median counts. Peak memory is each process's own
(ru_maxrss from wait4; this parent stays smaller than any of them).

The CPU time of each process (user + system, from wait4) is printed beside its wall time: on a
shared machine it moves less than wall time does. Targets (issue 18, on wall time): no-change and
5%-change cycles at most 1.1x the floor and faster than
urlwatch; the first run at most 1.4x the floor; with --noisy at most 1.3x floor+lxml; peak memory
at most 1.5x the floor's, and with --pages 10000 (--rounds 1 is enough) at most 100 MB.

Measured 2026-12-05 (--rounds 3), main before (9d7e8e4) and after this session's check-loop work
(dd3feb3), under load 4-7 from other work on the 2-core machine, so CPU ratios are the steadier
figure (wall beside): 500 pages, first run CPU 2.65x -> 1.96x the floor (wall 1.59x; 1,000 -> 500
requests), no change 1.09x -> 0.99x, 5% changed 1.34x -> 1.25x; 2,000 pages (before: load 5.5-5.8),
first run 3.01x -> 2.05x (wall 1.94x), no change 0.90x -> 0.79x (wall 0.88x, urlwatch 2.66x the
tracker's), 5% changed 1.11x -> 1.00x (wall 0.80x, urlwatch 3.13x). At rest before (load 0.6):
first run 3.04x, no change 1.15x, 5% changed 1.41x. What a first run still adds per page is
normalising (about 1 ms) and compressing (about 0.35 ms) every body it keeps.

With --noisy (500 pages, --rounds 3, load 2.3-3.4), main before (89f761f) and after this session's
normalising work (dbe0484, 4095d26), two runs of each alternated, CPU floor+lxml ratios (wall in
brackets): first run 2.15x/1.89x -> 1.88x/1.80x (2.11x/1.68x -> 1.58x/1.64x), no change 1.67x/1.62x
-> 1.57x/1.41x (1.72x/1.45x -> 1.60x/1.36x), 5% changed 1.85x/1.65x -> 1.56x/1.57x (1.91x/1.63x ->
1.76x/1.43x). The tracker alone, old/new alternated over 10 no-change runs, the collapsing change
only: CPU median 1.33 -> 1.22 s. html_to_text takes 0.30 ms a bench page (0.39 before; lxml's parse
and text_content 0.065 ms): parsing 0.08 ms, the walk 0.09, the hidden-element XPath 0.02,
collapsing whitespace 0.10 (0.19 before: a line with nothing to collapse is no longer split and
joined). A no-change cycle costs the tracker 0.32-0.42 s more CPU than floor+lxml: about 0.17 s of
it is importing (its modules and SQLAlchemy: 0.29-0.32 s against 0.12-0.13 s for httpx, httpcore and
lxml.html), about 0.12 s html_to_text beyond text_content. A walk in libxslt (an XSLT stylesheet,
the Python walk kept for pages with private use characters or control characters referred to) gave
the same text over 176,000 fuzzed trees and 5,146 HTML files as first written, and took 0.045 ms
against 0.09 on a bench page, but no less on pages with many elements (0.32 against 0.26 ms over 593
HTML files of 550 elements on average), and a pattern with a predicate made it quadratic (2 s for a
2 MB page): not kept, for 0.03 ms a bench page.

Where a no-change noisy cycle goes (main 1f77d67, 500 pages, a database restored before each run,
thread_time around each stage, load 1.4): start-up to the first query 0.27 s of CPU; the event loop
0.51-0.57 s (httpx, about what the floor's whole fetch loop takes, and challenge_reason 0.07 s:
17 scans of the lowered body, 7 us each on a 27 KB page); the assessing threads 0.24-0.29 s (derive
0.33 ms a page: decoding 0.024, html_to_text 0.28, the ignore rule 0.024; the content hash 0.05);
recording 0.065 s (26 batches of state rows; no snapshot, version or event is written). The
pool's 29,614 poll(0) calls (one per idle connection per pass) shown by cProfile are mostly time
spent waiting for the GIL the assessing threads hold: one poll of all connections per pass
(2,441) saves 2.9 us a pass, 7 ms a cycle, CPU median 1.123 -> 1.120 s over 10 alternated pairs:
not kept. What was left to take is the normalising's place: it ran in threads that share the GIL
with the event loop, so wall time was about CPU time on 2 cores. A page whose last check fetched
other bytes than the body kept, and found the same text, is now read (derive and content hash) by
the worker process of first checks (check_pool.py), forked when 64 or more pages are first checks
or noisy; a text that is the accepted one again is finished on the event loop, any other goes to
_assess as before with the text given. The tracker alone, old and new alternated, 8 pairs (load
1.4-1.5): wall median 1.166 -> 0.984 s (-16%), CPU (the worker's included) 1.139 -> 1.154 s
(+1.3%); 25 of them changed, 5 pairs: wall 1.305 -> 1.161 s (-11%), CPU 1.283 -> 1.332 s (+3.8%);
a first try that handed every page back to a thread afterwards cost +10% CPU for -7% wall. State
rows, events and snapshots identical (the state columns of all 500 sources hashed the same). This
bench, old then new (--rounds 3, load 1.2-1.4): no change 1.66x -> 1.46x floor+lxml (CPU 1.63x ->
1.63x), 5% changed 1.79x -> 1.79x (CPU 1.78x -> 2.05x; one run each, its changed cycle the noisiest),
first run 1.54x -> 1.55x; peak 68.8/70.9 -> 69.3/72.4 MB (no change/5% changed; the forked worker
counts as the larger of the two processes). Still above the 1.3x: start-up (0.27 s of CPU to the
first query against the floor's 0.13), html_to_text beyond lxml's text_content, and recording.

Peak memory as measured in session 6 (SQLite, load average 1.2-1.8 on 2 shared cores): over 500
pages first run 72.1 MB (1.83x the floor's 39.4 MB), no change 61.9 MB (1.61x), 5% changed 70.8 MB
(1.84x); urlwatch 81.8-85.9 MB (at load 4). The 1.5x is out of reach while the tracker reads its database
through SQLAlchemy: importing it costs 24 MB, and the modules a check that finds nothing new
loads hold 48.2 MB before the first request, 1.43x the floor's whole run (33.6 MB in a venv
without the test extras, whose trio and pygments httpx also loads: 4-5 MB on both sides).
Over 10,000 sources: first run 93.3 MB, no change 84.7 MB (1.48x), 5% changed 97.3 MB, within
the 100 MB (at load 1.1; a first run took 103.6 MB at the start of the session, and 94.3, 90.2
and 109.1 MB before a check kept only each source's state columns and one malloc arena).
Without SQLAlchemy's PostgreSQL dialect on SQLite (schema.log.postgresql_options), 500 pages, old
and new alternated twice (--rounds 1, load 4): no change 61.7-61.9 -> 59.3-59.5 MB (1.61x ->
1.55x), 5% changed 69.6-70.0 -> 67.5-67.7 MB (1.82x -> 1.76x), first run 72.0-73.4 -> 68.9-71.2
MB. Importing SQLAlchemy alone adds 25.9 MB to a process; the tracker's own modules 4 MB.

Where a first run's time went (500 pages, thread_time around each stage, SQLite, before the worker
below): normalising 0.27 s (0.53 ms a page, html_to_text's walk holding the GIL), compressing
0.13 s, the challenge markers 0.07 s (17 substring scans of every body up to 64 KB, on the event
loop), recording 0.11 s, the rest of the event loop 0.09 s more than in a no-change run, start-up
0.18-0.28 s. The assessing threads ran normalising in turn with the event loop (wall about equal to
CPU), so a cycle with 64 or more first checks now has a worker process, forked at its start,
normalise and compress those (services/check_pool.py). Old and new alternated on restored copies of
one database (load 3.6-4.4): 500 pages, 5 pairs, wall median 1.73 -> 1.51 s, CPU (the worker's
included) 1.40 -> 1.47 s, the checker's peak 69.3 -> 66.0 MB; 2,000 pages, 3 pairs, wall
8.07/6.60/5.16 -> 6.56/5.52/4.22 s, CPU 4.7-5.3 s on both. This bench alternated with the old code
(one first run per invocation, load 3-7): 500 pages 1.89x/2.35x -> 1.51x/1.66x the floor, 2,000
pages 1.59x -> 1.50x. Under load a worker also takes a larger share of the cores from other
processes, so it was measured again at load 1.6-1.8 (main with noisy's faster html_to_text; the
worker on and off in one checkout, ABBA order): 2,000 pages, 4 each, wall 3.99 -> 3.52 s (-12%), CPU
4.71 -> 4.90 s (+4%); 500 pages, 6 each, wall 1.22 -> 1.13 s (-7%), CPU 1.39 -> 1.46 s. One earlier
batch at load 1-2 in AB order only (off first in every pair) went the other way (2,000 pages
4.02 -> 4.44 s, 500 pages 1.23 -> 1.31 s). The worker's own peak is about 56 MB, most of it pages
shared with the checker it was forked from; wait4's ru_maxrss, printed here, is the larger of the
two, not their sum. Over 10,000 sources with the worker (--rounds 1, load 2.5): first run 84.4 MB
(93.3 MB before, above), no change 82.4 MB, 5% changed 95.6 MB, within the 100 MB; the first run
took 2.21x the floor (CPU 2.24x, wall about equal to CPU: at that load little ran in parallel).
Tried and dropped: assessing on the event loop with no threads (CPU within noise of two threads),
3 MB batches instead of 0.5 MB (CPU within noise, 8 MB more), zlib level 1 (half of level 5's 244 us
a page, snapshots 17% larger on these pages), a regular expression or str search for the markers
(1.4 ms and 0.27 ms a page against 0.15 ms). A 5%-changed cycle spends about 5.6 ms of CPU a changed
page: two normalisings 1.5 ms, the second request that looks for volatile lines about 1 ms, raising
proposals about 1 ms (both versions parsed again for rows), recording 0.9 ms, compressing 0.3 ms.

What a changed page did twice, removed (issue 18, 25 changed pages of 500 on one database restored
before each run, thread_time around each stage, main d9b09e1 and the change alternated, 4 pairs,
load 2-3): proposals read the two bodies the check still holds (up to 2 MB, by their snapshot hash)
instead of loading and decompressing both again, with their headers in the one query of versions
(raising them 21.6-27.9 -> 16.6-19.9 ms a cycle); derivation's and matching's modules (about 10 ms
of CPU, mostly compiling patterns) and the record's index are loaded at the first draft, which a
change that adds, changes or removes no row never makes; the fetch's SHA-256 of a body is the one
the check uses (14 us a body). Events, payloads, snapshots, versions and states identical (sorted
dumps of both databases). The whole process moves less than its noise: the tracker alone, 16 ABBA
pairs, CPU median 0.828 -> 0.838 s (min 0.805 -> 0.796); this bench, 3 runs each alternated (load
2.0-2.9), 5% changed CPU 1.18x/1.19x/1.16x -> 1.12x/1.19x/1.17x the floor, no change 0.97x/0.98x/
0.97x -> 0.97x/0.96x/0.96x, peak 67.7-68.4 -> 68.4-68.7 MB (the bodies held). What a 5%-changed
cycle still adds over a no-change one, about 130 ms of CPU for 25 pages: importing lxml (about
20 ms; a no-change cycle never parses), normalising the new and the old body (0.36 ms each) and
compressing the new (0.27 ms), the second request (about 0.5-0.8 ms of httpx), recording (about
0.6 ms a changed page: the diff, suspicious(), the snapshot and version rows), reading the
normaliser's library versions (2.2 ms a cycle, importlib.metadata), and proposals (0.5 ms a page
and 3 ms importing rows.py). The old body's text cannot be had without normalising it again
(texts are not stored, snapshots.py), and the second request is the volatile-line guarantee.

Noisy pages again (issue 18, session 8; main e0e0932 and this work, on a machine about 1.5x slower
than the last session's, with other benchmarks keeping its 2 cores at load 3-5 throughout: CPU is
the figure to trust, floor+lxml's own wall time went from 1.0 to 2.5 s between runs). The tracker
alone on one database restored before each run, old and new alternated: 500 noisy pages with no
change, 8 runs each, CPU (the worker's included) median 1.740 -> 1.645 s, its main thread 1.138 ->
1.079 s; 25 of them changed, 8 each, 1.648 -> 1.568 s; a first run, 6 each, 1.694 -> 1.635 s. This
bench, main and this work alternated twice (--rounds 3, load 3.0-5.3), floor+lxml ratios of wall
(CPU): first run 2.12x/1.32x -> 2.07x/1.67x (1.76x/1.83x -> 1.74x/1.68x), no change 1.64x/1.19x ->
1.36x/1.31x (1.57x/1.49x -> 1.38x/1.48x), 5% changed 1.41x/0.89x -> 1.39x/1.27x (1.64x/1.63x ->
1.72x/1.61x): the 1.3x is met or missed by the load of the moment, never by a margin. A no-change
cycle fetches each page once (500 requests; the second fetch is made at a page's first change only,
25 in the 5% cycle). Where a no-change noisy cycle's CPU goes now (thread_time, load 3-4): the main
thread 0.94-1.0 s (importing 0.27-0.31 s, SQLAlchemy 0.14 s of it, against 0.12 s for the floor's
httpx, httpcore and lxml; the pool's bookkeeping 0.06-0.08 s, 36 us a call; _load 0.05 s; the
challenge markers 0.05 s, 0.1 ms a page, 0.2 ms before), the other threads 0.25 s (recording
0.09-0.13 s in 26 batches, whose commits wait about 8.5 ms each for the disk under synchronous FULL;
handing bodies to the worker), the worker 0.33-0.40 s (normalising 0.5 ms a page at this load:
decoding 0.03, parsing 0.10, the walk 0.12, lines and collapsing 0.15, the ignore rule 0.04; lxml's
parse and text_content take 0.12-0.2), and the server 0.43 s of the same 2 cores. What was taken:
the 8 challenge markers holding "$" or "_" are not searched for in a body without that byte, and a
noisy page whose text is the accepted one comes back from the worker as its hash alone. Tried and
dropped: html_to_text as lxml's text_content (lines collapsed as pdf's are) gives the same text in 7
of the 19 HTML cases of tests/data/normalise only (no block lines, scripts and navigation kept):
content hashes would change, not switched. A raw-bytes fast path (a body equal to the kept one but
in a run of digits taken as the same text) was not built: it needs the kept body (a query and zlib,
about 0.1 ms a page, on the checker's side), and which line the changed digits fall in, and so what
the ignore rule leaves of it, depends on the parse (inline neighbours, hidden or dropped ancestors,
and the tokenizer's state: in a tag name h1/h2, a character reference &#49; or a meta charset label
digits mean other things), so a sound shortcut needs the new body's tree at least (0.1 ms) and a
claim about libxml2 no test can make for every page, for at most 0.3 of the worker's 0.5 ms, off the
main thread. gc.disable() while importing and gc.freeze() after: garbage collection 0.046 -> 0.013 s
a cycle, the main thread 0.99 -> 0.95 s (3 runs each), a process-wide switch for 3%, not kept;
gc.freeze() just before forking the worker alone: no change (the one full collection comes during
the imports).

Does a changed page cost more as sources grow? No: what looked like it (10,000 pages at rest,
--rounds 1: 5% changed CPU 13.62 s against 8.49 s with no change, about 10 ms a changed page, where
500 pages gave 7 ms) did not come back. Measured on main 1f77d67, one database restored before each
run (the same 500 of 10,000 pages, or 25 of 500, changed on the server), thread_time around each
stage, load 1.5-2.6: 500 pages, the process 0.81-0.82 s against 0.64-0.67 s with no change (6.5 ms
a changed page, lxml's import included); 10,000 pages, 9.30-9.95 s against 7.40-7.45 s (4.4-5.1 ms
a changed page). Per changed page, 500 -> 10,000: assessing (two normalisings, reading the old
snapshot, compressing) 2.2-2.5 -> 1.5-1.7 ms, raising proposals 0.7-0.75 -> 0.6 ms, recording
0.7-0.8 -> 0.5-0.9 ms (planning, the diff, 0.45-0.5 -> 0.4-0.45 of it); cProfile on the
10,000-page process showed no statement or loop that grows with the sources, and the garbage
collector took 0.27 s against 0.20 s with no change. At 10,000 the bodies held for proposals (2 MB)
cover 76 of the 1,000 bodies and 924 snapshots are read again (about 0.15-0.18 ms each, some
0.15 s a cycle); holding them all would cost about 25 MB of peak where the cycle is at 98 MB, so it
stays. This bench again right after (--rounds 1 --no-urlwatch, load 1.5-2.5): no change 0.81x the
floor (CPU 7.61 s), 5% changed 1.06x (CPU 10.27 s, 5.3 ms a changed page), peak 97.8 MB; the first
run is the cycle over its target at this size, 1.71x (CPU 22.64 s, 2.39x, the worker's included).

Peak memory, session 8 (issue 18). Measured on fixed databases (before a first run, after one, after
a 5% change) copied afresh before each run against one server, main e0e0932 and the change
alternated, 3 runs each, medians of ru_maxrss (load 2.8-4.3): no change 59.6 -> 59.2 MB, 5% changed
69.1 -> 68.8 MB, first run 65.4 -> 64.7 MB, the noisiest (over every batch of the session, 10 runs
old 63.7-66.5, median 64.3, 12 new 63.5-65.2, median 64.05); the floor 38.4-39.5 MB. The change:
`tracker check` has a CLI module of its own (cli/check_cmd.py), so a check no longer imports the
services of the `sources` commands (history, capture, register_queries, sources_admin). This bench,
old then new twice (--rounds 3, load 2.9-3.2, the larger of each cycle's runs): first run 64.0 ->
63.8/63.8, no change 59.7 -> 59.4/59.5, 5% changed 69.0 -> 69.6/68.7 MB (1.55x no change, 1.62x
first run, 1.79-1.81x 5% changed). Events, payloads, snapshots, versions and state rows identical
(sorted dumps of all tables after each cycle, times, correlation ids, chain hashes, positions and
row ids masked). 10,000 pages afterwards (--rounds 1, load 5.2): first run 82.8 MB, no change 82.2,
5% changed 97.8, within the 100 MB.

Why 1.5x is out of reach. What is resident is almost all code: a process that imports, one after the
other, what a no-change check imports holds (MB, cumulative): the interpreter 10.7; asyncio, hashlib
and json 20.8 (ssl and libcrypto come with asyncio); httpx, httpcore, anyio and trio (the floor's
own) 32.4; SQLAlchemy 46.1 (+13.7); sqlite3 and SQLAlchemy's SQLite dialect 47.8 (+1.6); click,
multiprocessing and the other standard modules a check uses 49.9 (+2.1); the tracker's own modules
53.5 (+3.6: every tracker module at once, so no module left out of a check saves more than a few
hundred KB). That is 1.39x the floor's whole run before any work is done. The floor then uses 6-7 MB
(its client with the CA bundle, 1.8 MB, its tasks and bodies); 1.5x would leave the tracker 1.5 x
that - 4.9 MB = 4.1-5.7 MB, and a no-change cycle uses 5.7: SQLite 1.4 MB (sqlite3_memory_highwater:
the schema, 0.4 MB a connection, pages and statements), the 500 sources and their state 0.85 MB
(tracemalloc), the fetcher's client as the floor's. A 5%-changed cycle adds 9.6 MB: lxml 5.1 MB
(importing lxml.etree, its libxml2 linked in; it normalises the changed pages and reads the rows
proposals compare, so the process that does either imports it), SQLite 1.9 MB (an assessing thread
reads the old snapshot while the recorder keeps the write connection: two connections, high water
3.3 MB), the bodies held for proposals 0.6 MB, the rest texts, trees and bodies in flight. A first
run adds about 5 MB in the checker (the worker reads the pages, about 56 MB of its own): batches of
bodies, texts and compressed copies waiting for their transaction (1.1 MB traced of the worker's
digests), SQLite 2.0 MB high water, multiprocessing 0.3-0.6 MB. The tracker's Python objects are not
the peak: tracemalloc, from loading the sources to the largest point, finds 2.2 MB beyond imports in
a no-change cycle, 3.8 MB in a first run. 1.5x needs the check path without SQLAlchemy (13.7 MB,
more than the 1.5x leaves) or, for changed pages, normalising and proposals' rows out of the
checking process (lxml's 5.1 MB): architecture, not tuning. The ratio is worse in a venv without
the test extras: trio (about 4 MB, loaded by httpcore when installed) leaves both sides, the
tracker's excess stays.

Tried and dropped (same fixed databases, 2-3 runs each, medians, first run / no change / 5% changed
against the same code without it): glibc's mmap threshold fixed at 16 KB (GLIBC_TUNABLES)
+0.4/+0.1/+0.2 MB and more CPU; trim_threshold 0 (trim at every free) -0.5/-0.1/-0.2, so malloc
holds little that is free and malloc_trim after a phase has nothing to give back (one arena is
already set, cli/context.py); PYTHONMALLOC=malloc +1.3/+2.1/+2.0; gc.collect() after each batch
+0.3/-0.1/-0.1 (noise; gc.collect() before start-up's gc.freeze finds 402 objects); PRAGMA
cache_size 512 KiB +0.2/-0.6/-0.6, not worth a setting every command's connections would share
untested on large databases; HELD_BYTES 0 +0.4/0.0/-0.6 for re-reading two snapshots a changed page;
1 assessing thread instead of 2, 5% changed -0.1; BATCH_BYTES 250,000, first run, 6 alternated
pairs: 64.2 -> 63.8 MB, wall 2.32 -> 2.66 s (medians). The registers' parsers out of a check's
imports would save 0.2 MB, but the fetcher follows their next pages; the projections other than
sources imported only by a Projector that needs them (App.fresh("sources") with a Projector of that
one) -0.0/-0.5/-0.4 (3 alternated runs), not kept as tried: `serve`'s tick calls
App.fresh("sources"), and a Projector made for each call loses the cache of read models with nothing
new (Projector._nothing_new) that the tick relies on, and with those two and the smaller page cache
a no-change cycle would still be about 58.1 MB, 1.51x. Making the TLS context (1.8 MB) on first use
would only help this bench, whose pages are http://.

A first run's time, session 8 (issue 18). Measured by hand on this bench's server and pages, one
registered database copied before each first run, 500 pages, with a sitecustomize hook giving each
thread's CPU, the event loop's time in select and the main thread's run-queue wait (schedstat). The
checker's event loop never idled (0.02-0.08 s in select a run) while the worker idled more than half
the run, so the checker's own CPU is a first run's wall time at rest. It was: start-up to the first
request 0.27-0.33 s; the fetch loop 0.73-0.77 s (the Fetcher alone 0.54-0.57 s against 0.68-0.69 s
for the floor's httpx loop, the two alternated in one process); the recording thread 0.11-0.14 s (26
batches of about 19 pages, the 500 KB cap); the ProcessPoolExecutor's manager and feeder threads
0.11-0.16 and 0.03-0.05 s, woken by each write of the event loop and holding the GIL it then waited
for (cProfile put 0.68 s of the loop's time in that write); and for each page on the loop, the
challenge markers (0.2 ms; 0.11 ms with 5e3f6a2's memchr) and the body's SHA-256 (0.04 ms). Now the
event loop writes each body to the worker over a socket pair and reads the digests in a Protocol, no
thread between them (check_pool.Pool), and a first check's body is screened for a challenge and
hashed by the worker (FetchRequest.screen=False; the status and headers are still the fetcher's to
judge). Alternated pairs, by hand, 8 each (load 3.5-5.4, where wall time followed the run queue: the
checker waited 0.3-2.2 s for a core): the checker's CPU 1.688 -> 1.551 s and 1.417 -> 1.300 s (the
socket pair), 1.171 -> 1.025 s (screening in the worker); with the worker's, 2.327 -> 2.223, 1.981
-> 1.848 and 1.664 -> 1.587 s. Events, snapshots, versions and state rows identical (sorted dumps,
times and order blanked). This bench, main before (da392fc) and after (50eec91), four runs each
alternated, --rounds 3, load 1.1-2.1: first run 1.58x/1.87x/1.79x/1.96x -> 1.44x/1.26x/1.29x/1.44x
the floor (CPU 2.08x/1.94x/1.93x/1.99x -> 1.83x/1.80x/1.67x/1.71x; one first run a bench, so noisy
figures), no change 0.92-0.94x -> 0.96-1.01x (CPU 0.92-0.96x -> 0.96-0.97x), 5% changed 1.11-1.14x
-> 1.09-1.27x (CPU 1.11-1.18x -> 1.08-1.23x). Those two cycles run the same code as before (no
worker under 64 first checks): ten no-change runs each by hand, alternated on one database (load
2.1), CPU median 0.836 -> 0.833 s, wall 0.902 -> 0.888 s. Peak in a first run 64.1-64.6 -> 64.5-67.1
MB: the checker itself 63.7-63.8 -> 65.1-66.2 MB (the worker 52 MB), as the faster loop now waits
for the worker with more fetched bodies in hand (sending the body to the worker unpickled, with no
joined copy, changed nothing: 64.8-66.8 MB). 2,000 pages, one run each (load 1.6-2.2): first run
1.67x -> 1.61x (CPU 5.36 -> 4.90 s), no change 0.82x -> 0.85x, 5% changed 1.00x -> 1.02x; by hand
right after (load 2.1), a 2,000-page first run took 3.2-3.4 s against the floor's 2.7-2.8 s, the
checker's own CPU 2.6-2.8 s, the worker's 1.9 s beside it.

Tried and dropped (by hand, alternated, the checker's CPU medians): sys.setswitchinterval(0.0005),
so the loop would take the GIL back sooner, 6 pairs: wall 2.51 -> 2.60 s, CPU 3.00 -> 3.25 s; one
poll(0) over every pooled connection per pass of the pool instead of one per idle connection, 8
pairs: 1.140 -> 1.134 s; the loop's writes to the worker coalesced into one per loop iteration, 6
pairs: 1.194 -> 1.209 s; recording batches of 2.5 MB (5 of 100 pages), 8 pairs: 1.310 -> 1.249 s,
for 9 MB more peak (65 -> 74 MB) against the memory targets; a first check's text not sent back (a
baseline needs its hash only) with 1.25 MB batches at the same peak, 8 pairs: 1.135 -> 1.122 s, not
worth changing decide_check; a body shorter than 30,000 bytes padded so that CPython's two-way
search scans for the markers: 0.20 -> 0.23 ms a page. A cheaper zlib level for first snapshots was
not tried again: compressing is the worker's, which idles, and level 1 stores 17% more (above). What
stays on the checker's critical path: httpx (cheaper than the floor's own loop), start-up (about
0.15 s more than the floor's, SQLAlchemy's import 0.12 s of it) and recording.

The pool's retries, session 8 (issue 18: 2,000 pages 1.61x where 500 gave 1.26-1.44x). Nothing
per page was found to grow with the pages: the checker's main thread took 1-1.5 ms of CPU a page
at both sizes, the recording thread 104 batches at 2,000 pages (0.50-0.58 s of CPU, 1.4-1.7 s of
wall waiting for the disk beside the loop; the last batches 4-5 ms of CPU each, as the first).
What cost most on the loop was the same at both sizes: httpcore gives a queued request the first
idle connection, which stays idle until that request's task runs, so one queued in the meantime
got the same connection, found it taken (ConnectionNotAvailable) and went round the pool again:
5,900 retries over 2,000 pages (2.95 a page, 1,486 over 500), each a pass of the bookkeeping
(9,800 passes instead of 4,000) and wake-ups. transport._Pool now hands an HTTP/1.1 connection to
one request at a time (no retries left). By hand, first runs of 2,000 pages on copies of one
registered database, old and new alternated, 5 pairs (load 1.5-4.3): the checker's main thread CPU
median 3.107 -> 2.543 s, the process's with the worker 5.98 -> 5.44 s; 500 pages, 4 pairs (load
4.3-4.7): 1.05-1.39 -> 1.05-1.15 s, within the noise. This bench, main (e429296) and the change
alternated (--rounds 1, load 1.7-2.7), 2,000 pages: first run 1.11x/1.76x -> 1.30x/1.48x the floor
(CPU 1.79x/1.74x -> 1.63x/1.53x; 5.34/5.04 -> 4.53/4.18 s), no change 0.94x/0.83x -> 0.65x/0.57x
(CPU 2.39/2.28 -> 1.66/1.61 s: a sweep of 304s went round the pool as often), 5% changed
1.04x/0.99x -> 0.85x/0.85x (CPU 3.00/2.98 -> 2.09/2.25 s); 500 pages (--rounds 3, load 4.8, the
floor itself at wall twice its CPU): first run 1.49x -> 1.41x (CPU 1.75x -> 1.48x), no change 0.91x
-> 0.81x (CPU 0.85 -> 0.72 s), 5% changed 1.19x -> 0.77x (CPU 0.98 -> 0.84 s). Peak: 2,000 pages
first run 70.1/70.8 -> 71.8/71.8 MB (by hand, the checker's own, 73.8-74.3 -> 75.2-76.0 MB), no
change 63.7 -> 63.5-63.7, 5% changed 75.0-75.4 -> 74.9-75.8; 500 pages first run 64.2 -> 66.9 MB
(one run each; by hand 66.4-67.2 -> 65.9-67.9), no change 59.5 -> 59.6, 5% changed 69.3 -> 69.0.
10,000 pages, main then the change (--rounds 1, load 2.8-3.5): first run 1.50x -> 1.37x the floor
(CPU 25.46 -> 22.39 s), no change 0.89x -> 0.53x (CPU 9.70 -> 8.34 s), 5% changed 1.29x -> 0.99x
(CPU 12.44 -> 12.33 s); peak 85.5 -> 89.4 MB first run (one run each; this session's first runs at
10,000 gave 82.8-93.3 MB before), no change 82.4 -> 82.3, 5% changed 98.2 -> 96.9, within the 100 MB.
A first run's peak is 1-4 MB higher with the faster loop, more so the more pages: the loop now
waits for the worker more often, with fetched bodies in hand (below). Events, snapshots, versions
and state rows identical after a first run, no change, 25 changed and no change again (sorted
dumps, times and positions masked). Main afterwards (8e07e86, with startup2's cuts before the first
request), one invocation each, load 1.4-2.1: 500 pages (--rounds 3) first run 1.24x (CPU 1.68x), no
change 0.81x, 5% changed 0.94x, peak 66.4/59.0/68.5 MB; 2,000 pages (--rounds 1) 1.05x (CPU 1.57x),
0.61x, 0.84x, 71.3/62.8/74.8 MB; 10,000 pages 1.07x (CPU 1.77x), 0.58x, 0.69x, 86.9/78.6/94.5 MB.

Why this bench's first-run ratio is not what the same run gives by hand (1.61x here against 3.2-3.4
s for the floor's 2.7-2.8 s by hand): the run queue. One first run an invocation, on a machine
other work shares, and a first run keeps three processes busy (the checker, its worker and the
server) where the floor keeps two. By hand (schedstat of the checker's main thread, 2,000 pages,
load 2.0-2.5): wall 4.6-7.0 s for 1.9-2.0 s of the main thread's CPU, which waited 1.7-3.9 s for a
core; the worker was forked every time (no other thread at the fork). In one hour the bench gave
2.03x and 2.09x (wall 8.53 and 6.07 s for 5.80 and 6.13 s of the process's CPU: on average less
than one core between the checker and its worker) and by hand in between 3.1-5.5 s (4 of 6 runs
under 3.5 s, CPU 5.1-8.7 s) against the floor's 3.3-4.2 s. With the CPU ratio beside, the wall
ratio of one first run is the load of the moment.

Tried and dropped: the worker at nice 10, so the checker and the server go first: the main thread's
run-queue wait 2.4-3.9 -> 1.2-2.5 s, but wall 5.65-7.00 -> 5.67-7.86 s (4 pairs, load 2.6-4.9,
medians 6.33 -> 6.20 s): a starved worker stops the loop at its window instead. Not kept for lack
of time to measure it on every cycle: fetch_many's window of 32 tasks instead of 64 (finished
fetches wait there, 26 KB each, while the loop waits for the worker): the checker's peak 75.0-76.0
-> 74.1-75.2 MB at 2,000 pages, about half of what the faster loop added, the same CPU (3 pairs,
load 4.3-4.8); the window also keeps requests to other hosts going while one host's slots are full.

Session 9 (another machine, at rest, load 0.3-2.0). Where a noisy first run's time went, against
floor+lxml's (marks in the process, from after the interpreter's start, 5 runs on one database
restored before each): the first request at 0.30-0.33 s against the floor's 0.137 s (imports 0.26 s,
httpx's, httpcore's and trio's, which the floor pays too, among them; then _load 36 ms, the worker
forked 4 ms, the fetcher and its TLS context 22 ms), the fetch loop 0.69-0.70 s on both sides (the
worker's queue full, 15 of ASSESS_WINDOW's 16, throughout: the worker paces a first run of noisy
pages, and the machine's two cores are busy with it, the checker and the server), then 0.04-0.06 s
to the end (the worker's last pages, the last batch, the report). Of _load's 36 ms, 25 were the
sources read model projecting the 500 registrations this bench appended: `tracker sources add`
projects each as it registers it, so register_child now leaves them projected too and a first run
times the first check alone (_load 17 ms). A cycle that writes baselines only no longer imports
triage to find that no event of it may raise a proposal (vocabulary.RAISES_PROPOSALS; about 5 ms on
the serial tail). A noisy 5% cycle ends with raise_proposals, 23-33 ms for 25 pages (importing it 8
ms; each page's versions read and both bodies parsed for rows, about 1 ms). This bench, main before
(87eb59d) and after, at rest: --noisy first run 1.33x -> 1.14x/1.17x/1.20x/1.23x floor+lxml, no
change 1.15x -> 1.12x-1.15x, 5% changed 1.23x -> 1.21x-1.26x; peak 65.6-66.6/69.3-70.0/69.7-71.9 MB
(1.40-1.41x/1.46-1.48x/1.48-1.49x floor+lxml's). With validators, four runs: first run 1.07-1.17x,
no change 0.80-0.83x (urlwatch 1.53-1.59x the tracker's time), 5% changed 0.96-1.05x (urlwatch
1.26-1.34x); two runs at 2,000 pages 0.95-0.97x/0.66x/0.91x (urlwatch 1.82-1.88x/2.77-2.93x/
2.14-2.21x) and at 10,000 pages 0.98-1.07x/0.75-0.77x/1.07x, peak 84.0-84.1/78.4-78.6/93.1-93.5 MB.
The peak of --noisy's no-change cycles was its first one, the first check after the baseline, when
nothing yet said the pages were noisy and the checker's threads read all 500 (69.4 MB, 1.23 s,
against 61.5 MB and 0.99 s with the worker reading them: check_pool.read_there, 6 runs each on one
restored database); two runs after it: no change 1.10x/1.09x, peak 62.1/62.8 MB (1.31x/1.33x
floor+lxml's, from 1.46-1.48x); first run 1.15x/1.17x, 5% changed 1.24x/1.25x, peak 69.3/70.2 MB
(1.47x/1.49x: a changed page's previous text and rows are read in the checker, with lxml). Pages
without validators and without ignore rules stay in the checker: with the worker forked for them
too, --no-validators (static pages) went from 0.83-0.85x/1.03-1.05x to 0.88x/1.06-1.07x (no
change/5% changed, two runs each), a fork for nothing in most cycles.

Why peak memory stays above 1.5x the floor's at 500 pages (58.7-58.8 MB with no change, 65.9-66.5
first run, 68.9-69.0 with 5% changed, against 38.3-39.3), measured as ru_maxrss of a process that
only imports (python -c): httpx 25.3 MB; httpx, httpcore and anyio (what the floor has loaded by
its first request) 33.6 MB, so the floor's own work adds 4.8 MB; the same and SQLAlchemy 47.0 MB,
and sqlite3 48.2 MB; everything a check imports 50.9 MB, 1.33x the floor's whole run before the
tracker does anything. 1.5x leaves 6.6 MB for the work, where a no-change cycle uses 7.9 MB. A
first run's peak is the checker's own, not its worker's (ru_maxrss of each, 65-66 MB against 50 MB;
so is a noisy cycle's, 69 against 50): 11-12 MB after its first request, the bodies fetched and not
yet recorded (tracemalloc at one batch: 88 bodies of 26 KB waiting, 2.3 MB, and 1.3 MB of the
worker's answers). A changed page needs lxml (6.7 MB imported) in the checker too: its previous
text, its rows for proposals. Meeting
the 1.5x would take a check that does not import SQLAlchemy, or a worker started afresh that
imports lxml without it and does all of a cycle's HTML work (normalising, previous texts, rows):
the first breaks the one schema catalogue the brief asks for, the second is a redesign of the
check's processes for about 8 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import URLWATCH_VENV, install_urlwatch

WORDS = (
    "regulation guidance cell gene therapy product clinical trial manufacturing quality donor tissue "
    "approval marketing authorisation advanced medicinal committee review priority conditional "
    "safety efficacy vector potency release specification comparability registration 细胞 治疗 再生医療"
).split()
# The rule the tracker's sources carry in --noisy runs: the served-at line is ignored.
NOISE_RULE = r"^Served at \d+"


# -- the server (runs in its own process) -------------------------------------------------------


def render(index: int, edition: int, noise: int | None = None) -> bytes:
    rnd = random.Random(index)
    target = rnd.randint(5_000, 50_000)
    paragraphs: list[str] = []
    size = 600
    while size < target:
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(20, 90)))
        paragraphs.append(f"<p>{text}</p>")
        size += len(text.encode()) + 7
    paragraphs[len(paragraphs) // 2] = f"<p>Edition {edition}: text in force for page {index}.</p>"
    if noise is not None:
        paragraphs.insert(1, f"<p>Served at {noise}</p>")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Page {index}</title>"
        f"<script>var session='{rnd.random()}';</script><style>p {{ margin: 0 }}</style></head>"
        f"<body><header><nav><a href='/'>Home</a> | <a href='/a'>About</a></nav></header>"
        f"<main><h1>Official page {index}</h1>{''.join(paragraphs)}</main><footer>Contact us</footer></body></html>"
    ).encode()


async def _serve(pages: int, validators: bool, noisy: bool) -> None:
    editions = [0] * pages
    bodies = [render(i, 0) for i in range(pages)]
    served = [0]
    requests = [0]      # page requests since the last /_count (each side's count is printed)

    def answer(path: str, etag: str | None) -> tuple[int, bytes, bytes]:
        if path.startswith("/p/"):
            requests[0] += 1
            index = int(path[3:])
            if not 0 <= index < pages:
                return 404, b"no such page", b""
            tag = f'"{index}-{editions[index]}"'
            header = b"ETag: %s\r\n" % tag.encode() if validators else b""
            if validators and etag == tag:
                return 304, b"", header
            if noisy:
                served[0] += 1
                return 200, render(index, editions[index], served[0]), header
            return 200, bodies[index], header
        if path == "/_count":
            counted, requests[0] = requests[0], 0
            return 200, str(counted).encode(), b""
        if path.startswith("/_bump/"):
            for part in path[len("/_bump/"):].split(","):
                index = int(part)
                editions[index] += 1
                bodies[index] = render(index, editions[index])
            return 200, b"ok", b""
        return 404, b"not found", b""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                etag = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"if-none-match":
                        etag = value.strip().decode()
                status, body, extra = answer(path, etag)
                reason = {200: b"OK", 304: b"Not Modified"}.get(status, b"Not Found")
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n%sContent-Length: %d\r\n\r\n"
                    % (status, reason, extra, len(body)) + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- the floor (runs in its own process) ----------------------------------------------------------


async def _floor(urls: list[str], concurrency: int, etags: dict[str, str], to_text: bool) -> int:
    import httpx

    html_to_text: Callable[[str], str] | None = None
    if to_text:
        import lxml.html

        def html_to_text(text: str) -> str:
            return str(lxml.html.document_fromstring(text).text_content())

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def one(url: str) -> str:
            async with gate:
                headers = {"If-None-Match": etags[url]} if url in etags else {}
                response = await client.get(url, headers=headers)
            if response.status_code == 304:
                return etags[url]
            if "etag" in response.headers:
                etags[url] = response.headers["etag"]
            if html_to_text is not None:
                html_to_text(response.text)
            return hashlib.sha256(response.content).hexdigest()

        digests = await asyncio.gather(*(one(url) for url in urls))
    return len(digests)


def floor_child(state: str, concurrency: int, to_text: bool) -> None:
    path = Path(state)
    data = json.loads(path.read_text())
    assert asyncio.run(_floor(data["urls"], concurrency, data["etags"], to_text)) == len(data["urls"])
    path.write_text(json.dumps(data))


async def _floor_in_process(urls: list[str], concurrency: int) -> int:
    return await _floor(urls, concurrency, {}, False)


def floor_seconds(urls: list[str], concurrency: int, runs: int = 3) -> float:
    """A bare download in this process (bench_tick's floor): the best of ``runs``."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        assert asyncio.run(_floor_in_process(urls, concurrency)) == len(urls)
        best = min(best, time.perf_counter() - start)
    return best


# -- registering the pages with the tracker (runs in its own process) -----------------------------


def register_child(url: str, base: str, pages: int, noisy: bool) -> None:
    from tracker import migrate
    from tracker.core import Database, EventStore, NewEvent
    from tracker.core.projector import Projector
    from tracker.domain import vocabulary as v
    from tracker.domain.sources import Source
    from tracker.projections import projections_named

    db = Database(url)
    migrate.upgrade(db)
    ignore = (NOISE_RULE,) if noisy else ()
    sources = [Source(id=f"page-{i:05d}", url=f"{base}/p/{i}", kind="html", origin="operator", ignore=ignore)
               for i in range(pages)]
    store = EventStore(db)
    store.append([
        NewEvent(v.source_stream(s.id), v.SOURCE_REGISTERED, s.to_payload(), {"actor": "bench", "cause": "bench"})
        for s in sources
    ])
    # Projected, as registering them one by one with `tracker sources add` leaves them: the first
    # run times the first check, not the projection of every registration at once (about 25 ms
    # of 500; a first run took it until session 9).
    Projector(store, projections_named({"sources"})).catch_up()
    db.dispose()


# -- the measurements ---------------------------------------------------------------------------


def run_measured(command: list[str], env: dict[str, str], cwd: Path,
                 ok: tuple[int, ...] = (0,)) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak resident MB (the child's own, from wait4) and stdout of one fresh process."""
    out_path = cwd / "stdout.txt"
    with open(out_path, "wb") as out, open(cwd / "stderr.txt", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in ok:
        raise SystemExit(f"{' '.join(command[:5])} exited {child.returncode}: "
                         f"{(cwd / 'stderr.txt').read_text(errors='replace')[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out_path.read_text(errors="replace")


def count_requests(base: str) -> int:
    """Page requests the server answered since the last call (and start counting again)."""
    import urllib.request

    with urllib.request.urlopen(f"{base}/_count", timeout=30) as response:
        return int(response.read())


def bump(base: str, indexes: list[int]) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{base}/_bump/{','.join(map(str, indexes))}", timeout=30) as response:
        response.read()


class Sides:
    """Every side of the comparison as a command in its own folder, with its own state."""

    def __init__(self, workdir: Path, base: str, pages: int, concurrency: int, noisy: bool, urlwatch: bool) -> None:
        self.workdir, self.base, self.pages, self.noisy = workdir, base, pages, noisy
        python = sys.executable
        self.env = {k: val for k, val in os.environ.items() if not k.startswith("TRACKER_")}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package runs from .pyc files
        self.env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # the floor child is bench.bench_check
        urls = [f"{base}/p/{i}" for i in range(pages)]
        self.commands: dict[str, list[str]] = {}
        for name, to_text in (("floor", False), ("floor+lxml", True)):
            if to_text and not noisy:
                continue
            (workdir / name).mkdir()
            (workdir / name / "state.json").write_text(json.dumps({"urls": urls, "etags": {}}))
            self.commands[name] = [python, "-m", "bench.bench_check", "--floor-child", "state.json",
                                   "--concurrency", str(concurrency)] + (["--to-text"] if to_text else [])
        tracker = workdir / "tracker"
        tracker.mkdir()
        url = f"sqlite:///{tracker / 'tracker.db'}"
        (tracker / "tracker.toml").write_text(
            f'[database]\nurl = "{url}"\n[fetch]\nallow_hosts = "127.0.0.1"\nconcurrency = {concurrency}\n'
            f'per_host = {concurrency}\nhost_delay = 0.0\nretries = 0\ncontact = "bench@example.org"\n'
        )
        subprocess.run([python, "-m", "bench.bench_check", "--register-child", url, "--base", base,
                        "--pages", str(pages)] + (["--noisy"] if noisy else []), check=True, env=self.env,
                       cwd=Path.cwd())
        self.commands["tracker"] = [python, "-m", "tracker", "--config", "tracker.toml", "check", "--all", "--json"]
        if urlwatch:
            watch = workdir / "urlwatch"
            watch.mkdir()
            (watch / "urls.yaml").write_text("".join(f"---\nname: page {i}\nurl: {u}\n" for i, u in enumerate(urls)))
            (watch / "urlwatch.yaml").write_text(
                "report:\n  stdout:\n    enabled: false\n  text:\n    details: false\n"
            )
            self.commands["urlwatch"] = [str(URLWATCH_VENV / "bin" / "urlwatch"), "--urls", "urls.yaml", "--config",
                                         "urlwatch.yaml", "--cache", "cache.db", "--hooks", "hooks.py"]

    def run(self, name: str) -> tuple[float, float, float, str]:
        cwd = self.workdir / name
        # The tracker exits 3 when some source failed: the outcomes are checked by the caller.
        return run_measured(self.commands[name], self.env, cwd, ok=(0, 3) if name == "tracker" else (0,))


def changed_ids(stdout: str) -> tuple[dict[str, int], list[int]]:
    report = json.loads(stdout.strip().splitlines()[-1])
    counts = report["counts"]
    changed = sorted(int(o["id"].split("-")[1]) for o in report["sources"] if o["outcome"] == "changed")
    return counts, changed


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - one straight run of cycles
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-validators", action="store_true")
    parser.add_argument("--noisy", action="store_true", help="a line that changes on every request, ignored by a rule")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    parser.add_argument("--to-text", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--register-child", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    validators = not args.no_validators and not args.noisy  # a noisy page changes under one ETag: no validators
    if args.serve:
        asyncio.run(_serve(args.pages, validators, args.noisy))
        return 0
    if args.floor_child:
        floor_child(args.floor_child, args.concurrency, args.to_text)
        return 0
    if args.register_child:
        register_child(args.register_child, args.base, args.pages, args.noisy)
        return 0

    serve = [sys.executable, "-m", "bench.bench_check", "--serve", "--pages", str(args.pages)]
    serve += (["--no-validators"] if not validators else []) + (["--noisy"] if args.noisy else [])
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, text=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        urlwatch = not args.no_urlwatch and install_urlwatch()
        sides = Sides(workdir, base, args.pages, args.concurrency, args.noisy, urlwatch)
        total_kb = sum(len(render(i, 0)) for i in range(args.pages)) / 1024
        print(f"{args.pages} pages, {total_kb / args.pages:.1f} KB on average, concurrency {args.concurrency}, "
              f"{'ETags and conditional GETs' if validators else 'no validators'}"
              f"{', a line changing on every request (ignored by a rule)' if args.noisy else ''}; SQLite; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; medians of {args.rounds} rounds")

        seconds: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        memory: dict[tuple[str, str], float] = {}
        requests: dict[tuple[str, str], int] = {}
        exact = True
        rnd = random.Random(4)
        names = list(sides.commands)

        def cycle(kind: str, expect_changed: list[int] | None) -> None:
            nonlocal exact
            order = names[:]
            rnd.shuffle(order)
            for name in order:
                count_requests(base)
                took, used, peak, out = sides.run(name)
                requests[(kind, name)] = max(requests.get((kind, name), 0), count_requests(base))
                seconds.setdefault((kind, name), []).append(took)
                cpu.setdefault((kind, name), []).append(used)
                memory[(kind, name)] = max(memory.get((kind, name), 0.0), peak)
                if name == "tracker":
                    counts, changed = changed_ids(out)
                    if kind == "first run":
                        exact = exact and counts["baselined"] == args.pages
                    elif expect_changed is not None:
                        exact = exact and changed == expect_changed and sum(counts.values()) == args.pages

        cycle("first run", None)          # once: a first run happens once per side
        for _ in range(args.rounds):
            cycle("no change", [])
        for _ in range(args.rounds):
            picked = sorted(rnd.sample(range(args.pages), max(1, args.pages // 20)))
            bump(base, picked)
            cycle("5% changed", picked)
            cycle("no change", [])        # every side sees the change before the next round

        ok = exact
        targets = {"first run": 1.4, "no change": 1.1, "5% changed": 1.1}
        for kind in ("first run", "no change", "5% changed"):
            floor_name = "floor+lxml" if args.noisy else "floor"
            target = 1.3 if args.noisy else targets[kind]
            floor = statistics.median(seconds[(kind, floor_name)])
            floor_cpu = statistics.median(cpu[(kind, floor_name)])
            print(f"-- {kind}")
            for name in names:
                value = statistics.median(seconds[(kind, name)])
                used = statistics.median(cpu[(kind, name)])
                line = (
                    f"   {name:<12} {value:8.3f}s  {args.pages / value:7.0f} pages/s  {value / floor:5.2f}x "
                    f"{floor_name}"
                    f"  (CPU {used:6.2f}s, {used / floor_cpu:4.2f}x)"
                )
                if name == "tracker":
                    within = value <= target * floor
                    ok = ok and within
                    line += f" (target <= {target}x) {'OK' if within else 'ABOVE TARGET'}"
                    if (kind, "urlwatch") in seconds:
                        watch = statistics.median(seconds[(kind, "urlwatch")])
                        line += f"; urlwatch {watch / value:.2f}x the tracker's time"
                print(line)
        floor_name = "floor+lxml" if args.noisy else "floor"
        for kind in ("first run", "no change", "5% changed"):
            floor_peak = memory[(kind, floor_name)]
            peaks = "  ".join(
                f"{name} {memory[(kind, name)]:5.1f} MB ({memory[(kind, name)] / floor_peak:4.2f}x)" for name in names
            )
            within = memory[(kind, "tracker")] <= 1.5 * floor_peak
            ok = ok and within
            print(f"peak memory, {kind:<11} {peaks}  tracker target <= 1.5x: {'OK' if within else 'ABOVE TARGET'}")
        if args.pages >= 10_000:
            peak = max(memory[(kind, "tracker")] for kind in ("first run", "no change", "5% changed"))
            within = peak <= 100
            ok = ok and within
            print(f"peak memory over {args.pages:,} sources: tracker {peak:.1f} MB at most  target <= 100 MB: "
                  f"{'OK' if within else 'ABOVE TARGET'}")
        for kind in ("first run", "no change", "5% changed"):
            asked = "  ".join(f"{name} {requests[(kind, name)]}" for name in names)
            print(f"page requests, {kind:<11} {asked}  (the tracker fetches a page twice the first time its "
                  "text changes, the second time conditionally, to find lines that change on every request)")
        print(
            "changed pages reported: "
            f"{'exactly the changed pages' if exact else 'WRONG: not exactly the changed pages'}"
        )
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
