"""First checks digested in a worker process, beside the event loop.

A page's first check normalises its body and compresses it to keep (about 0.8 ms of CPU for
26 KB). Almost all of normalising is Python that holds the GIL (html_to_text's walk of the
tree), so the assessing threads run it in turn with the event loop, not beside it: a first run
over 500 pages used one core of two (issue 18: 1.9x the floor's time, about as much as its
CPU). When a cycle has many first checks, a worker process forked at its start does that work
for them while the event loop fetches and records. So does a noisy page (one whose last check
found other bytes with the same text, text its rules ignore changing on every request): its
text and the text's hash are read there, the comparing stays in the process. Everything else,
and every later check (which compares with stored versions), stays in the process.

The worker is forked only from a process that runs a single thread (the CLI's `tracker check`
before it fetches), so it inherits no lock another thread held, and only on a machine with
more than one core. A worker that dies is not fatal: the pages it was given are digested in
the process instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from typing import Any

from tracker.domain import changes
from tracker.domain.sources import PAGE_KINDS, Rules, Source
from tracker.errors import FetchError
from tracker.fetching import FetchResult
from tracker.services import snapshots
from tracker.services.content import Content, derive

log = logging.getLogger(__name__)

# First checks and noisy pages in one cycle from which a worker pays for its fork (about 10 ms)
# and the copies of each body and text to and from it (about 30 us a page).
FIRST_CHECKS_MIN = 64
MAX_WORKERS = 2


def first_check(kind: str, state: Any) -> bool:
    """A page with no accepted version and no kept body: its check is a pure function of the body."""
    return kind in PAGE_KINDS and (state is None or (state.content_hash is None and state.last_snapshot is None))


def noisy(kind: str, state: Any) -> bool:
    """A page whose last check fetched other bytes than the body kept and found the same text (text
    its rules ignore changes on every request): it will most likely be normalised again, and its
    text is a pure function of the body, so the worker can read it."""
    return kind in PAGE_KINDS and state is not None and state.content_hash is not None \
        and state.last_body_hash is not None and state.last_body_hash != state.last_snapshot


@dataclass(frozen=True)
class Digest:
    """What the worker reads of a body: its content and that content's hash, and the body
    compressed to keep (a first check's only); or why it could not be read. The accepted text
    again comes back as its hash alone (``content`` None, no error)."""

    content: Content | None
    content_hash: str | None
    compressed: bytes | None
    error_class: str | None = None
    error: str | None = None


def digest(
    rules: Rules, body: bytes, headers: Mapping[str, str], url: str, keep: bool = True, accepted: str | None = None,
) -> Digest:
    """The worker's work on one body (or the process's, when there is no worker): its content and
    that content's hash, and, with ``keep`` (a first check, whose body is kept), the body
    compressed. A noisy page's body whose text is the accepted one is kept by its hash only, and
    _assess compresses any other. A text whose hash is ``accepted`` (the source's accepted text,
    read under the same rules and code) is not sent back: the process needs its hash only, as for
    the very bytes it holds (issue 18: no 27 KB text pickled, sent and unpickled a noisy page;
    500 of them, 8 alternated runs, the checker's main thread 1.12 -> 1.08 s of CPU)."""
    try:
        content = derive(rules, body, headers, url)
    except FetchError as exc:
        return Digest(None, None, None, exc.error_class, exc.message)
    content_hash = changes.content_hash(content.text)
    if content_hash == accepted:
        return Digest(None, content_hash, None)
    return Digest(content, content_hash, snapshots.compress(body) if keep else None)


async def read(
    loop: asyncio.AbstractEventLoop, pool: Executor, source: Source, result: FetchResult, *, keep: bool,
    accepted: str | None = None,
) -> Digest | None:
    """``digest`` of a fetched body, by the worker; None if the worker is gone (the page is then
    read in the process, by _assess, which also records why a body is unreadable)."""
    try:
        return await loop.run_in_executor(pool, digest, source.rules, result.body, result.headers,
                                          result.final_url or source.url, keep, accepted)
    except BrokenExecutor:
        log.warning("source %s: the worker process is gone; read here", source.id)
        return None


def open_pool(pages: int) -> Executor | None:
    """A worker process for this cycle's ``pages`` first checks and noisy pages, forked now; None
    when it would not pay or could not be forked safely."""
    cores = os.cpu_count() or 1
    if pages < FIRST_CHECKS_MIN or cores < 2 or threading.active_count() > 1:
        return None
    # Imported here (about 5 ms): a cycle with few first checks, the usual one, needs neither.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = ProcessPoolExecutor(min(MAX_WORKERS, cores - 1), mp_context=multiprocessing.get_context("fork"))
    try:
        pool.submit(int).result()      # forks the workers now, while this process runs one thread
    except (OSError, BrokenExecutor):
        log.warning("no worker process for first checks; they are digested in this process", exc_info=True)
        pool.shutdown(wait=False, cancel_futures=True)
        return None
    return pool
