"""First checks digested in a worker process, beside the event loop.

A page's first check normalises its body and compresses it to keep (about 0.8 ms of CPU for
26 KB). Almost all of normalising is Python that holds the GIL (html_to_text's walk of the
tree), so the assessing threads run it in turn with the event loop, not beside it: a first run
over 500 pages used one core of two (issue 18: 1.9x the floor's time, about as much as its
CPU). When a cycle has many first checks, a worker process forked at its start does that work
for them while the event loop fetches and records. So does a noisy page (one whose last check
found other bytes with the same text, text its rules ignore changing on every request), and a
page without validators whose rules ignore some of its text (read_there): its text and the text's
hash are read there, the comparing stays in the process. Everything else stays in the process.

The worker is forked only from a process that runs a single thread (the CLI's `tracker check`
before it fetches), so it inherits no lock another thread held, and only on a machine with
more than one core. A worker that dies is not fatal: the pages it was given are digested in
the process instead.

The event loop talks to each worker over a socket pair of its own, each message its length and
a pickle: the loop writes a body as it is fetched and reads the digest when it comes back, with
no thread in between (a ProcessPoolExecutor woke two threads of its own for every page, whose
turns with the GIL the event loop waited for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import struct
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracker.domain import changes
from tracker.domain.sources import PAGE_KINDS, Rules, Source
from tracker.errors import FetchError
from tracker.fetching import BLOCKED, FetchResult, challenge_reason
from tracker.services import snapshots
from tracker.services.content import Content, derive

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess  # multiprocessing is imported when a worker is forked

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


def read_there(source: Source, state: Any) -> bool:
    """A page with an accepted text whose new bytes the worker reads: a noisy one, or one without
    validators (no ETag, no Last-Modified) whose rules ignore some of its text (the operator's
    patterns, or volatile lines found): its ignored text is expected to change, and only reading
    tells a new body apart. That covers the first check after a noisy page's baseline, before
    anything said it was noisy, which read 500 such pages in the checker's threads (issue 18, 8 runs
    each alternated: wall 1.23 -> 0.98 s, CPU with the worker's 1.19 -> 1.06 s, peak 69.6 -> 61.6
    MB). A page without validators and without such rules is most likely static, and stays in the
    process: a worker forked for 500 of them that all came back the same cost 3.5% of the cycle."""
    kind = source.kind
    return noisy(kind, state) or (
        kind in PAGE_KINDS and state is not None and state.content_hash is not None
        and state.etag is None and state.last_modified is None and bool(source.ignore or source.volatile))


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
    body_hash: str | None = None        # a first check's (the event loop did not hash its body)


def digest(
    rules: Rules, body: bytes, headers: Mapping[str, str], url: str, keep: bool = True, accepted: str | None = None,
    status: int | None = None,
) -> Digest:
    """The worker's work on one body (or the process's, when there is no worker): its content and
    that content's hash, and, with ``keep`` (a first check, whose body is kept), the body's hash
    and the body compressed. A noisy page's body whose text is the accepted one is kept by its
    hash only, and _assess compresses any other. A text whose hash is ``accepted`` (the source's
    accepted text, read under the same rules and code) is not sent back: the process needs its
    hash only, as for the very bytes it holds (issue 18: no 27 KB text pickled, sent and unpickled
    a noisy page; 500 of them, 8 alternated runs, the checker's main thread 1.12 -> 1.08 s of CPU).
    With ``status`` (a first check, which the fetcher left unscreened), a bot challenge is
    recognised first: the fetch failed, as the fetcher says."""
    if status is not None:
        reason = challenge_reason(status, headers, body)
        if reason:
            return Digest(None, None, None, BLOCKED, reason)
    hashed = changes.body_hash(body) if keep else None
    try:
        content = derive(rules, body, headers, url)
    except FetchError as exc:
        return Digest(None, None, None, exc.error_class, exc.message, hashed)
    content_hash = changes.content_hash(content.text)
    if content_hash == accepted:
        return Digest(None, content_hash, None, body_hash=hashed)
    return Digest(content, content_hash, snapshots.compress(body) if keep else None, body_hash=hashed)


async def read(
    pool: Pool, source: Source, result: FetchResult, *, keep: bool, accepted: str | None = None,
    screen: bool = False,
) -> Digest | None:
    """``digest`` of a fetched body, by a worker (``screen``: for a bot challenge too); None if the
    worker is gone (the page is then read in the process)."""
    try:
        return await pool.digest(source.rules, result.body, result.headers, result.final_url or source.url, keep,
                                 accepted, result.status if screen else None)
    except BrokenWorkerError:
        log.warning("source %s: the worker process is gone; read here", source.id)
        return None


class BrokenWorkerError(Exception):
    """The worker process died, or its socket closed, before it answered."""


_HEAD = struct.Struct("!I")     # every message: its length, then its pickle


class _Channel(asyncio.Protocol):
    """The event loop's end of one worker's socket: requests written as they come, answers read
    in the order they were asked (the worker answers one at a time, in turn)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.broken = False
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= _HEAD.size:
            (size,) = _HEAD.unpack_from(self._buffer)
            if len(self._buffer) < _HEAD.size + size:
                return
            ok, value = pickle.loads(memoryview(self._buffer)[_HEAD.size:_HEAD.size + size])
            del self._buffer[:_HEAD.size + size]
            future = self.waiting.popleft()
            if future.done():
                continue        # its caller was cancelled
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.broken = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(BrokenWorkerError("the worker process is gone"))

    def ask(self, request: bytes) -> asyncio.Future[Any]:
        if self.broken or self.transport is None or self.transport.is_closing():
            raise BrokenWorkerError("the worker process is gone")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.transport.writelines((_HEAD.pack(len(request)), request))
        return future


class Pool:
    """Worker processes forked at a cycle's start, each fed over its socket by the event loop."""

    def __init__(self, workers: list[tuple[BaseProcess, _Channel]]) -> None:
        self._workers = workers

    @classmethod
    async def fork(cls, count: int) -> Pool:
        """``count`` workers forked now (call it while this process runs one thread: a fork copies
        no other thread, nor releases a lock one held); ValueError where fork is not offered."""
        # Imported here (about 2 ms): a cycle with few first checks, the usual one, needs none.
        import multiprocessing

        context = multiprocessing.get_context("fork")
        loop = asyncio.get_running_loop()
        workers: list[tuple[BaseProcess, _Channel]] = []
        try:
            for _ in range(count):
                ours, theirs = socket.socketpair()
                try:
                    process = context.Process(target=_serve, args=(theirs,), daemon=True, name="check-worker")
                    process.start()
                finally:
                    theirs.close()
                try:
                    _, channel = await loop.create_connection(_Channel, sock=ours)
                except BaseException:
                    ours.close()
                    raise
                workers.append((process, channel))
        except BaseException:
            cls(workers).shutdown()
            raise
        return cls(workers)

    async def digest(
        self, rules: Rules, body: bytes, headers: Mapping[str, str], url: str, keep: bool,
        accepted: str | None = None, status: int | None = None,
    ) -> Digest:
        """``digest(...)`` run by the least busy worker; BrokenWorkerError if none is left."""
        live = [channel for _, channel in self._workers if not channel.broken]
        if not live:
            raise BrokenWorkerError("no worker process is left")
        channel = min(live, key=lambda c: len(c.waiting))
        request = pickle.dumps((rules, body, dict(headers), url, keep, accepted, status), pickle.HIGHEST_PROTOCOL)
        answer: Digest = await channel.ask(request)
        return answer

    @property
    def pids(self) -> list[int | None]:
        return [process.pid for process, _ in self._workers]

    def shutdown(self) -> None:
        """End the workers (each reads the end of its socket and returns) and wait for them."""
        for _, channel in self._workers:
            if channel.transport is not None:
                # Shut down now: the transport itself closes the socket only when the loop next runs.
                with contextlib.suppress(OSError):
                    channel.transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
                channel.transport.abort()
        for process, _ in self._workers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


def _serve(sock: socket.socket) -> None:
    """The worker: answer each request with ``digest(...)``, one at a time, until the socket closes."""
    with sock, sock.makefile("rb") as stream:
        while head := stream.read(_HEAD.size):
            if len(head) < _HEAD.size:
                return
            (size,) = _HEAD.unpack(head)
            request = stream.read(size)
            if len(request) < size:
                return
            try:
                answer: tuple[bool, Any] = (True, digest(*pickle.loads(request)))
            except Exception as exc:  # raised in the checker, as a call in the process would be
                answer = (False, exc)
            try:
                data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # an exception that does not pickle
                data = pickle.dumps((False, RuntimeError(f"worker: {exc!r}")), pickle.HIGHEST_PROTOCOL)
            sock.sendall(_HEAD.pack(len(data)) + data)


async def open_pool(pages: int) -> Pool | None:
    """Worker processes for this cycle's ``pages`` first checks and noisy pages, forked now; None
    when they would not pay or could not be forked safely."""
    cores = os.cpu_count() or 1
    if pages < FIRST_CHECKS_MIN or cores < 2 or threading.active_count() > 1:
        return None
    try:
        return await Pool.fork(min(MAX_WORKERS, cores - 1))
    except (OSError, ValueError):
        log.warning("no worker process for first checks; they are digested in this process", exc_info=True)
        return None
