"""Checking sources: fetch, assess, record. The use case behind `tracker check` and the scheduler.

    report = check_sources(app)                      # what is due
    report = check_sources(app, ["fda-cgt"])         # these, due or not
    report = check_sources(app, all=True)            # every active source
    ids = due_sources(app, now)

The fetcher runs many requests at once (bounded overall and per host); each result is assessed
off the event loop (hashing, normalising, compressing; a cycle with many first checks has a
worker process digest those, check_pool.py) and recorded in batches, one transaction per batch
(see recording.py). A routine check that finds nothing new writes no event, only its
state row. A crash loses at most the batch in flight, which the next cycle simply redoes.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import time
import uuid
from collections import Counter, namedtuple
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from tracker.app import App
from tracker.core import Database
from tracker.core.events import format_time
from tracker.domain import changes
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source
from tracker.errors import FetchError, NotFoundError, ValidationError
from tracker.fetching import FetchRequest, FetchResult
from tracker.fetching.config import PLACEHOLDER_CONTACT
from tracker.fetching.versions import normaliser_version
from tracker.projections.sources import row_to_source
from tracker.schema.operational import source_state
from tracker.schema.read_models import sources
from tracker.services import check_pool, check_volatile, ecfr_text, snapshots
from tracker.services.content import Content, derive, validate_rules
from tracker.services.recording import OUTCOMES, SourceOutcome, Work, record_batch

if TYPE_CHECKING:
    from tracker.fetching import Fetcher  # the client is imported only when a check fetches

log = logging.getLogger(__name__)

BATCH_SIZE = 100          # results recorded per transaction, at most
BATCH_SECONDS = 0.5       # and at least this often while results come in
# And at most this many body bytes: a batch holds each body, its text and its compressed copy
# until it commits, while the next batch fills (issue 18: 100 new pages of 27 KB held about 9 MB;
# with this cap a first run's peak over 500 pages fell from 80 to 73 MB, over 10,000 from 104 to 95).
BATCH_BYTES = 500_000
ASSESS_WINDOW = 16        # bodies waiting for or in normalising at once, at most
# Threads that normalise: the work holds the GIL most of the time, so threads beyond the cores add
# memory (a malloc arena and a page's texts each), not speed (issue 18: 6 threads, the default,
# made a first run's peak about 4 MB higher than 2 for the same time).
ASSESS_THREADS = 2
# Raw bodies of changed pages held until proposals are raised, at most: the rows of a changed list
# page are read from its two versions, which the check has just fetched and read (issue 18: loading
# and decompressing them again was about 0.4 ms a changed page of bench_check).
HELD_BYTES = 2_000_000

Progress = Callable[[SourceOutcome], None]


@dataclass
class CheckReport:
    """The outcome of one check cycle, one entry per source checked, in the order they finished."""

    correlation_id: str
    outcomes: list[SourceOutcome] = field(default_factory=list)
    seconds: float = 0.0
    proposals: list[str] = field(default_factory=list)     # ids of the proposals raised after recording

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(o.outcome for o in self.outcomes)
        return {name: counted.get(name, 0) for name in OUTCOMES}

    def by_source(self) -> dict[str, SourceOutcome]:
        return {o.source_id: o for o in self.outcomes}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in self.counts.items() if n)
        return f"checked {len(self.outcomes)} source(s) in {self.seconds:.1f}s: {counts or 'nothing to do'}"

    @property
    def failed(self) -> list[SourceOutcome]:
        """The sources this cycle could not check (any failure class, blocked included)."""
        return [o for o in self.outcomes if o.outcome in ("failed", "unreachable")]

    def as_json(self) -> dict[str, Any]:
        """The shape of `tracker check --json` (README, "JSON output")."""
        return {
            "correlation_id": self.correlation_id, "seconds": round(self.seconds, 3), "counts": self.counts,
            "failed": len(self.failed),
            "sources": [
                {"id": o.source_id, "outcome": o.outcome, "error_class": o.error_class, "error": o.error,
                 "status": o.status, "events": list(o.events), "entries": o.entries, "recovered": o.recovered}
                for o in self.outcomes
            ],
        }


@dataclass(frozen=True)
class _Known:
    source: Source
    state: Any     # the source's source_state columns (a _State), or None


# The source_state columns a check reads (those _request, _quick, _assess and check_pool ask of a
# source's state), held for the whole cycle: the joined row they come in with repeats what the
# Source holds, and values many sources share (their rules' hash, the normaliser's version) are
# kept once by _load (issue 18: at 10,000 sources 18.8 MB of rows, 7.6 MB). Only these are read:
# the eleven others (when it was checked, the last error, the claim) are recording's, which reads
# them again in its write transaction (issue 18: at 500 sources, turning all twenty into these
# tuples took 4.6-5.9 ms of the 17-19 their loading took, these nine about 1.5).
_STATE_COLUMNS = ("source_id", "etag", "last_modified", "content_hash", "rules_hash", "last_snapshot",
                  "normaliser_version", "last_body_hash", "volatile_probed")
_State = namedtuple("_State", _STATE_COLUMNS)  # type: ignore[misc]  # columns of the table
_SOURCE_COLUMNS = tuple(sources.c)
_FIRST_STATE = len(_SOURCE_COLUMNS)


def _load(
    app: App, ids: Sequence[str] | None, every: bool, now: datetime, skip_removed: bool = False,
) -> tuple[list[_Known], list[SourceOutcome]]:
    app.fresh("sources")
    with app.db.read() as conn:
        query = sa.select(*_SOURCE_COLUMNS, *(source_state.c[name] for name in _STATE_COLUMNS)).select_from(
            sources.outerjoin(source_state, source_state.c.source_id == sources.c.id)
        )
        if ids is not None:
            query = query.where(sources.c.id.in_(list(ids)))
        else:
            query = query.where(sources.c.active.is_(True))
            if not every:
                query = query.where(_due_clause(format_time(now)))
        rows = conn.execute(query.order_by(sources.c.id)).all()
    if ids is not None:
        found = {row.id: row for row in rows}
        if skip_removed:  # a claimed source removed since the claim is simply not checked
            ids = [i for i in ids if i in found and found[i].active]
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"no source {', '.join(repr(m) for m in missing)} (see `tracker sources list`)")
        removed = [i for i in ids if not found[i].active]
        if removed:
            raise NotFoundError(f"source {', '.join(repr(r) for r in removed)} was removed")
        rows = [found[i] for i in dict.fromkeys(ids)]
    known: list[_Known] = []
    unusable: list[SourceOutcome] = []
    shared: dict[str, str] = {}     # text only: 1 == True would merge a count with a flag
    for row in rows:
        try:
            source = row_to_source(row)
            validate_rules(source.rules)
        except ValidationError as exc:
            # Registered with fields this code cannot use: reported in every cycle, never skipped silently.
            log.error("source %s cannot be checked: %s", row.id, exc)
            unusable.append(SourceOutcome(row.id, "failed", error_class="config", error=str(exc)))
            continue
        state = _State._make([shared.setdefault(value, value) if isinstance(value, str) else value
                              for value in row[_FIRST_STATE:]]) if row.source_id is not None else None
        known.append(_Known(source, state))
    return known, unusable


def _due_clause(now_text: str) -> Any:
    return sa.and_(
        sa.or_(source_state.c.next_due_at.is_(None), source_state.c.next_due_at <= now_text),
        sa.or_(source_state.c.claimed_until.is_(None), source_state.c.claimed_until <= now_text),
    )


def due_sources(app: App, now: datetime | None = None) -> list[str]:
    """Ids of active sources due at ``now`` and not claimed by a live claim, most overdue first."""
    now = now or app.clock()
    app.fresh("sources")
    with app.db.read() as conn:
        rows = conn.execute(
            sa.select(sources.c.id)
            .select_from(sources.outerjoin(source_state, source_state.c.source_id == sources.c.id))
            .where(sources.c.active.is_(True), _due_clause(format_time(now)))
            .order_by(sa.nulls_first(source_state.c.next_due_at), sources.c.id)
        ).all()
    return [row.id for row in rows]


def _request(known: _Known, screen: bool = True) -> FetchRequest:
    state = known.state
    # Ask "has it changed?" only when we hold the version the validators describe.
    conditional = state is not None and state.content_hash is not None and state.last_snapshot is not None
    return FetchRequest(
        known.source.id, known.source.url, known.source.kind,
        etag=state.etag if conditional else None,
        last_modified=state.last_modified if conditional else None,
        respect_robots=known.source.respect_robots,
        known_content=state.last_snapshot if state is not None else None,
        screen=screen,
    )


def _quick(
    known: _Known, result: FetchResult, fetched_at: datetime, every_seconds: int, first: bool = False,
) -> tuple[Work, bool]:
    """The cheap cases, done on the event loop: a failure, a 304, or the very bytes we hold.

    The work and whether it is done; if not, it carries the body's hash for _assess (not for a
    ``first`` check, which holds no bytes to compare with: the worker hashes its body)."""
    work = Work(known.source, result, fetched_at, every_seconds)
    if not result.ok:
        return work, True
    if first:
        return work, False
    state = known.state
    work.body_hash = result.body_hash or changes.body_hash(result.body)   # the fetch's, when it hashed
    if state is not None and work.body_hash in (state.last_snapshot, state.last_body_hash) and state.content_hash \
            and _same_rules(known):
        # The same bytes under the same rules and code give the same text: no need to normalise again
        # (the last body kept, or the last one accepted whose changes were all ignored).
        work.content_hash = state.content_hash
        return work, True
    return work, False


_contact_warned = False


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _warn_placeholder_contact(contact: str, known: Sequence[_Known]) -> None:
    """Once per process: real sites are about to be asked with a User-Agent that names nobody."""
    global _contact_warned
    if _contact_warned or contact != PLACEHOLDER_CONTACT:
        return
    hosts = sorted({h for k in known if (h := urlsplit(k.source.url).hostname) and not _loopback(h)})
    if hosts:
        _contact_warned = True
        log.warning(
            "TRACKER_CONTACT is the placeholder %s: the User-Agent sent to %s%s carries no real contact; "
            "set TRACKER_CONTACT to an address where site operators can reach you",
            PLACEHOLDER_CONTACT,
            ", ".join(hosts[:3]),
            f" and {len(hosts) - 3} more host(s)" if len(hosts) > 3 else "",
        )


def _same_rules(known: _Known) -> bool:
    """The source's state was read under its rules and the normaliser of now: the same bytes give
    the same text."""
    state, source = known.state, known.source
    return state is not None and state.rules_hash == source.rules.hash \
        and state.normaliser_version == normaliser_version(source.kind)


def _same_text(known: _Known, content_hash: str | None) -> bool:
    """The accepted text, under the same rules and code."""
    return known.state is not None and known.state.content_hash == content_hash and _same_rules(known)


def _assess(
    db: Database, known: _Known, result: FetchResult, fetched_at: datetime, every_seconds: int,
    body_hash: str | None = None, content: Content | None = None, content_hash: str | None = None,
) -> Work:
    """Normalise, hash and compress a new body (runs in a worker thread); ``content`` and its hash
    are the body's, when the worker process has read it already.

    When the text differs from the last one recorded, the previous version's text is derived
    here too, so the write transaction only compares and appends.
    """
    work = Work(known.source, result, fetched_at, every_seconds)
    source, state = known.source, known.state
    work.body_hash = body_hash or changes.body_hash(result.body)
    try:
        work.content = content if content is not None else derive(
            source.rules, result.body, result.headers, result.final_url or source.url)
    except FetchError as exc:
        work.error_class, work.error = exc.error_class, exc.message
        return work
    work.content_hash = content_hash or changes.content_hash(work.content.text)   # given with content only
    same_text = _same_text(known, work.content_hash)
    if (state is None or state.last_snapshot != work.body_hash) and not same_text:
        # Compressed here, off the write transaction, only if it may be kept (recording.py keeps a
        # body whose text is the accepted one by its hash only).
        work.compressed = snapshots.compress(result.body)
    if state is not None and state.last_snapshot and state.content_hash \
            and state.content_hash != work.content_hash and _same_rules(known):
        try:
            with db.read() as conn:
                snap = snapshots.load_snapshot(conn, state.last_snapshot)
            work.previous = derive(source.rules, snap.body, snap.headers, source.url)
            work.previous_snapshot, work.previous_body = state.last_snapshot, snap.body
        except (FetchError, NotFoundError):
            pass    # the write transaction tries again and logs why
    return work


async def _digest_first(
    pool: check_pool.Pool, threads: Executor | None, known: _Known, result: FetchResult, fetched_at: datetime,
    every_seconds: int, body_hash: str | None,
) -> Work:
    """A first check digested by the worker process (check_pool.py), in a thread if the worker is
    gone: what _assess gives for a page with no accepted version and no kept body. Its body is
    screened for a bot challenge there too (the fetcher left that to the worker): one makes the
    check a failed fetch, as the fetcher would have."""
    digest = await check_pool.read(pool, known.source, result, keep=True, screen=True)
    if digest is None:
        digest = await asyncio.get_running_loop().run_in_executor(threads, functools.partial(
            check_pool.digest, known.source.rules, result.body, result.headers, result.final_url or known.source.url,
            keep=True, status=result.status))
    work = Work(known.source, result, fetched_at, every_seconds)
    work.body_hash = body_hash or digest.body_hash
    work.content, work.content_hash, work.compressed = digest.content, digest.content_hash, digest.compressed
    work.error_class, work.error = digest.error_class, digest.error
    return work


async def _assess_and_read_texts(
    fetcher: Fetcher, db: Database, known: _Known, result: FetchResult, fetched_at: datetime, every_seconds: int,
    body_hash: str | None = None, threads: Executor | None = None, pool: check_pool.Pool | None = None,
) -> Work:
    """Assess in a worker thread; for an eCFR versions list with new section versions, fetch the
    part's text on the dates around them, so each new version carries what changed in its text.

    A page whose text changed for the first time is fetched a second time (check_volatile.py),
    here, beside the other fetches, rather than in the loop that hands results out, which made a
    first run wait for each second fetch in turn (issue 18: a first run took 4.4x the floor)."""
    loop = asyncio.get_running_loop()
    work: Work | None = None
    read = None
    if pool is not None and check_pool.first_check(known.source.kind, known.state):
        work = await _digest_first(pool, threads, known, result, fetched_at, every_seconds, body_hash)
    elif pool is not None and check_pool.read_there(known.source, known.state):
        accepted = known.state.content_hash if _same_rules(known) else None
        read = await check_pool.read(pool, known.source, result, keep=False, accepted=accepted)
    if read is not None and read.error_class is None and _same_text(known, read.content_hash):
        # Read in the worker, on the other core: the accepted text again (the usual case), which
        # leaves nothing to read, load or compress. Its hash is what _quick gives the very bytes
        # held, and the work is the same.
        work = Work(known.source, result, fetched_at, every_seconds)
        work.body_hash, work.content_hash = body_hash or changes.body_hash(result.body), read.content_hash
    elif read is not None and read.content is not None:
        args = (db, known, result, fetched_at, every_seconds, body_hash, read.content, read.content_hash)
        work = await loop.run_in_executor(threads, _assess, *args)
    elif work is None:
        work = await loop.run_in_executor(threads, _assess, db, known, result, fetched_at, every_seconds, body_hash)
    if check_volatile.probe_due(known.source, known.state, work):
        again = await fetcher.fetch(check_volatile.again_request(_request(known), result))
        await loop.run_in_executor(threads, check_volatile.apply_probe, work, again)
    if known.source.kind == "ecfr" and work.content is not None and work.previous is not None \
            and work.content.entries is not None and work.previous.entries is not None:
        work.text_diffs = await ecfr_text.text_diffs(
            fetcher, known.source.id, known.source.url, work.previous.entries, work.content.entries,
            respect_robots=known.source.respect_robots)
    return work


# The check pipeline (fetch, assess, record in batches) shares its state through closures.
async def check_sources_async(  # noqa: C901
    app: App,
    source_ids: Sequence[str] | None = None,
    *,
    all: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    skip_removed: bool = False,
) -> CheckReport:
    """Check the given sources (or all active ones, or those due) and record what they show.

    Unknown or removed ids are an error, unless ``skip_removed`` (the scheduler's claimed batches:
    a source removed after its claim is skipped, not a reason to fail the whole batch).
    The fetcher is the app's (App.fetcher); ``now`` fixes the clock;
    ``progress`` is called with each source's outcome as it is recorded; ``on_start`` with the
    number of sources about to be checked.
    """
    started = time.monotonic()
    report = CheckReport(correlation_id=f"check-{uuid.uuid4().hex[:12]}")
    cycle_now = now or app.clock()
    known, unusable = _load(app, list(source_ids) if source_ids else None, all, cycle_now, skip_removed)
    report.outcomes.extend(unusable)
    if on_start is not None:
        on_start(len(known))
    if not known:
        return report
    settings = app.settings
    threshold = settings.fetch.failure_threshold
    default_every = settings.fetch.default_every
    _warn_placeholder_contact(settings.fetch.contact, known)
    by_id = {k.source.id: k for k in known}
    every = {k.source.id: k.source.every_seconds(default_every) for k in known}
    pending: list[Work] = []
    pending_bytes = 0
    held: dict[str, bytes] = {}     # raw bodies by snapshot hash, for proposals (HELD_BYTES)
    held_bytes = 0
    assessing: set[asyncio.Task[Work]] = set()
    recording: asyncio.Task[None] | None = None
    last_flush = time.monotonic()

    async def record(batch: list[Work]) -> None:
        outcomes = await asyncio.to_thread(
            record_batch, app.store, batch, threshold=threshold, correlation_id=report.correlation_id
        )
        for outcome in outcomes:
            report.outcomes.append(outcome)
            if progress is not None:
                progress(outcome)

    async def flush() -> None:
        # One batch records while the next is fetched; batches commit one after the other.
        nonlocal pending, pending_bytes, last_flush, recording
        batch, pending, pending_bytes, last_flush = pending, [], 0, time.monotonic()
        if recording is not None:
            await recording
        recording = asyncio.ensure_future(record(batch)) if batch else None

    async def keep(work: Work) -> None:
        nonlocal pending_bytes, held_bytes
        if work.previous_body is not None and work.previous_snapshot and work.body_hash \
                and work.source.kind == "html":
            size = len(work.previous_body) + len(work.result.body)
            if held_bytes + size <= HELD_BYTES:
                held[work.previous_snapshot], held[work.body_hash] = work.previous_body, work.result.body
                held_bytes += size
        work.previous_body = None
        pending.append(work)
        pending_bytes += len(work.result.body)
        if len(pending) >= BATCH_SIZE or pending_bytes >= BATCH_BYTES:
            await flush()

    async def harvest() -> None:
        for task in [t for t in assessing if t.done()]:
            assessing.discard(task)
            await keep(task.result())

    # Forked before any thread of this cycle starts (the assessing threads, the fetcher's). Pages
    # likely normalised on this check (first checks, noisy pages, pages without validators that
    # ignore some text: read_there) are read there, on the other core: a no-change sweep of 500 noisy
    # pages took 16% less wall time for 1.3% more CPU (issue 18).
    firsts = {k.source.id for k in known if check_pool.first_check(k.source.kind, k.state)}
    pool = await check_pool.open_pool(len(firsts) + sum(check_pool.read_there(k.source, k.state)
                                                        for k in known if k.source.id not in firsts))
    # Their first checks are screened for bot challenges and hashed there too, off the event loop
    # (about 0.25 ms a page of 27 KB, issue 18).
    first = firsts if pool else set()
    threads = ThreadPoolExecutor(ASSESS_THREADS, thread_name_prefix="assess")
    try:
        async with app.fetcher() as fetcher:
            try:
                async for result in fetcher.fetch_many(_request(k, k.source.id not in first) for k in known):
                    item = by_id[result.source_id]
                    fetched_at = now or app.clock()
                    every_seconds = every[item.source.id]
                    quick, done = _quick(item, result, fetched_at, every_seconds, item.source.id in first)
                    if done:
                        await keep(quick)
                    else:
                        assessing.add(asyncio.ensure_future(
                            _assess_and_read_texts(fetcher, app.db, item, result, fetched_at, every_seconds,
                                                   body_hash=quick.body_hash, threads=threads, pool=pool)))
                        if len(assessing) >= ASSESS_WINDOW:
                            await asyncio.wait(assessing, return_when=asyncio.FIRST_COMPLETED)
                    await harvest()
                    if time.monotonic() - last_flush >= BATCH_SECONDS:
                        await flush()
            finally:
                # Whatever was fetched is assessed and recorded even if the cycle is failing: the next
                # cycle picks up after it. (Inside the fetcher: an eCFR assessment may still fetch texts.)
                if assessing:
                    await asyncio.wait(assessing)
                    await harvest()
                await flush()
                if recording is not None:
                    await recording
    finally:
        threads.shutdown(wait=False)
        if pool is not None:
            pool.shutdown()
    # What the cycle knew of each source goes before triage loads what it needs: at 10,000 sources
    # the two together made the peak (issue 18: 500 changed of 10,000, 111.5 -> 108.2 MB).
    del known, by_id, every, first, firsts
    if any(v.RAISES_PROPOSALS.intersection(o.events) for o in report.outcomes):
        # Imported here: a sweep with no change (the usual one) or only baselines does not load triage.
        from tracker.services import proposing

        # Through the log: the changes just recorded are read back and derived (services/proposing.py).
        report.proposals = (await asyncio.to_thread(proposing.raise_proposals, app, held=held)).raised
    report.seconds = time.monotonic() - started
    return report


def check_sources(
    app: App,
    source_ids: Sequence[str] | None = None,
    *,
    all: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    skip_removed: bool = False,
) -> CheckReport:
    """Synchronous wrapper of ``check_sources_async`` (runs its own event loop)."""
    return asyncio.run(check_sources_async(
        app, source_ids, all=all, now=now, progress=progress, on_start=on_start,
        skip_removed=skip_removed,
    ))
