"""The Fetcher: polite, bounded, defensive HTTP GETs that always end in a FetchResult.

httpx is used here and nowhere else in the tracker; every httpx (and socket) exception is
translated in ``_translate`` into one of the error classes of ``result.py``. Nothing raises out
of ``fetch()`` for a network problem: failures are results.

Per request: the URL policy on every hop (before any connection), robots.txt unless the
request opts out, a per-host slot (``per_host`` in flight, ``host_delay`` or the site's
Crawl-delay, whichever is longer, between starts) and an
overall slot, a conditional GET, redirects followed by hand, the body streamed and decompressed
under the cap, bot challenges recognised. Transient failures (connect, timeout, truncated,
429, 500, 502, 503, 504) are retried with exponential backoff and full jitter; Retry-After on
429/503 is honoured up to ``max_retry_after``.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import random
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC
from types import TracebackType
from typing import Protocol
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from tracker.errors import FetchError, TrackerError
from tracker.fetching.blocked import SMALL_PAGE, challenge_reason
from tracker.fetching.body import ACCEPT_ENCODING, read_body
from tracker.fetching.config import FetchConfig
from tracker.fetching.policy import Resolver, UrlPolicy
from tracker.fetching.registers import next_page_url
from tracker.fetching.result import (
    BLOCKED,
    CONNECT,
    DNS,
    HTTP_STATUS,
    REDIRECT,
    TIMEOUT,
    TLS,
    TOO_LARGE,
    TRUNCATED,
    UNSUPPORTED_SCHEME,
    FetchRequest,
    FetchResult,
)
from tracker.fetching.robots import RobotsCache, RobotsStore, origin_of
from tracker.fetching.transport import guarded_transport

PAGINATED = frozenset({"federal-register"})
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CONTENT_STATUSES = {200, 203}
RETRY_STATUSES = {429, 500, 502, 503, 504}
RETRY_AFTER_STATUSES = {429, 503}
RETRY_CLASSES = {CONNECT, TIMEOUT, TRUNCATED}
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,application/pdf,application/json,*/*;q=0.8"
ACCEPT_BY_KIND = {
    "pdf": "application/pdf,*/*;q=0.5",
    "json": "application/json,*/*;q=0.5",
    "ecfr": "application/json,*/*;q=0.5",
    "federal-register": "application/json,*/*;q=0.5",
    "fda-guidance": "application/json,*/*;q=0.5",
    "ema-medicines": "application/json,*/*;q=0.5",
    "feed": "application/atom+xml,application/rss+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5",
}


@dataclass(frozen=True)
class _Redirect:
    location: str


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# What a person should read for the OS-level causes that httpx reports with an empty message.
_PLAIN_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionResetError, "the server reset the connection"),
    (ConnectionRefusedError, "the server refused the connection"),
    (ConnectionAbortedError, "the connection was aborted"),
    (BrokenPipeError, "the server closed the connection while we were sending"),
)
_PLAIN_TYPES: tuple[tuple[type[BaseException], str], ...] = (
    (httpx.RemoteProtocolError, "the server closed the connection before the end of its answer"),
    (httpx.ReadError, "the connection failed while reading the answer"),
    (httpx.WriteError, "the connection failed while sending the request"),
    (httpx.ConnectError, "could not connect"),
)


def explain(exc: BaseException) -> str:
    """One line saying what went wrong, never empty: the plain cause if the OS gave one, else the
    first message in the chain, else what the exception's type means; its type name in brackets."""
    causes = list(_chain(exc))
    text = next((plain for c in causes for kind, plain in _PLAIN_CAUSES if isinstance(c, kind)), None)
    if text is None:
        text = next((" ".join(str(c).split()) for c in causes if str(c).strip()), None)
    if text is None:
        text = next((plain for kind, plain in _PLAIN_TYPES if isinstance(exc, kind)), "no detail given")
    return _one_line(f"{text} ({type(exc).__name__})")


def _translate(exc: BaseException) -> tuple[str, str]:
    """The error class and one-line message of a network-level exception."""
    message = explain(exc)
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return TIMEOUT, message
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return UNSUPPORTED_SCHEME, message
    causes = list(_chain(exc))
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return TLS, message
    if any(isinstance(c, socket.gaierror) for c in causes):
        return DNS, message
    return CONNECT, message


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class Pacer(Protocol):
    """The per-host pace shared with other processes (tracker.services.host_pace keeps it in the database)."""

    def reserve(self, host: str, delay: float) -> float:
        """Take the next start for `host`, `delay` after the last one any process took; the
        seconds to wait for it. Raises TrackerError if the shared pace cannot be reached."""
        ...


class Fetcher:
    """Fetches FetchRequests into FetchResults. Use as ``async with Fetcher(config) as f:``.

    ``transport`` replaces httpx's network transport (tests; an injected transport does not
    re-check addresses at connect time); ``resolve`` replaces the DNS look-up of the URL policy
    and of the default transport; ``robots`` replaces the process's store of robots.txt rules;
    ``pacer`` spaces requests to one host across processes.
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolve: Resolver | None = None,
        robots: RobotsStore | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.config = config or FetchConfig.default()
        self._pacer = pacer
        self._transport = transport
        self._policy = UrlPolicy(self.config.allow_hosts, resolve)
        self._robots = RobotsCache(self._load_robots, self.config.user_agent, store=robots,
                                   ttl=self.config.robots_ttl, max_crawl_delay=self.config.max_crawl_delay)
        self._client: httpx.AsyncClient | None = None
        self._overall = asyncio.Semaphore(self.config.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._host_next: dict[str, float] = {}

    async def __aenter__(self) -> Fetcher:
        cfg = self.config
        limits = httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency)
        self._client = httpx.AsyncClient(
            transport=self._transport or guarded_transport(self._policy, limits),
            timeout=httpx.Timeout(connect=cfg.connect_timeout, read=cfg.read_timeout,
                                  write=cfg.read_timeout, pool=None),
            limits=limits,
            headers={"User-Agent": cfg.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            trust_env=False,   # no proxy or netrc from the environment: the URL policy must see the real target
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- public -------------------------------------------------------------------------

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one URL, retrying transient failures; never raises for a network problem.

        A paginated register (Federal Register) is followed to its last page, at most
        ``max_pages`` pages: the result's body is the pages' bodies as fetched, one after the
        other, and any page failing fails the whole (a partial listing would read as removals).
        """
        started = time.monotonic()
        result = await self._fetch_one(request, self.config.max_bytes)
        if result.ok and request.kind in PAGINATED:
            result = await self._follow_pages(request, result)
        return replace(result, elapsed=time.monotonic() - started)

    async def _fetch_one(self, request: FetchRequest, max_bytes: int) -> FetchResult:
        attempts = 0
        while True:
            attempts += 1
            result = await self._attempt(request, max_bytes, request.respect_robots)
            delay = self._retry_delay(result, attempts)
            if delay is None:
                return replace(result, attempts=attempts)
            await asyncio.sleep(delay)

    async def _follow_pages(self, request: FetchRequest, first: FetchResult) -> FetchResult:
        bodies, attempts, result = [first.body], first.attempts, first
        size = len(first.body)
        for _page in range(1, self.config.max_pages + 1):
            try:
                following = next_page_url(request.kind, result.body)
            except FetchError as exc:
                return _failed(request, result.final_url, exc.error_class, exc.message, first.status, first.headers)
            if following is None:
                return replace(first, body=b"\n".join(bodies), attempts=attempts, body_hash=None)
            if origin_of(following) != origin_of(first.final_url):
                return _failed(request, following, REDIRECT, f"next page on another site: {following}",
                               first.status, first.headers)
            page = FetchRequest(request.source_id, following, request.kind, respect_robots=request.respect_robots)
            result = await self._fetch_one(page, self.config.max_bytes - size)
            attempts += result.attempts
            if not result.ok:
                message = f"page {len(bodies) + 1} ({following}): {result.error}"
                return replace(result, url=request.url, error=_one_line(message), attempts=attempts)
            bodies.append(result.body)
            size += len(result.body) + 1
        return _failed(
            request,
            result.final_url,
            TOO_LARGE,
            f"more than {self.config.max_pages} pages of results: narrow the query",
            first.status,
            first.headers,
        )

    async def fetch_many(self, requests: Iterable[FetchRequest]) -> AsyncIterator[FetchResult]:
        """Fetch many, yielding results as they complete; a bounded number of tasks at a time."""
        window = self.config.concurrency * 4
        pending: set[asyncio.Task[FetchResult]] = set()
        queue = iter(requests)
        try:
            while True:
                for request in queue:
                    pending.add(asyncio.ensure_future(self.fetch(request)))
                    if len(pending) >= window:
                        break
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # -- one attempt: policy, robots, redirects -------------------------------------------

    def _retry_delay(self, result: FetchResult, attempts: int) -> float | None:
        cfg = self.config
        if result.outcome != "failed" or attempts > cfg.retries:
            return None
        if result.error_class == HTTP_STATUS and result.status in RETRY_STATUSES:
            if result.status in RETRY_AFTER_STATUSES:
                after = parse_retry_after(result.headers.get("retry-after"))
                if after is not None:
                    return min(after, cfg.max_retry_after)
        elif result.error_class not in RETRY_CLASSES:
            return None
        return random.uniform(0, min(cfg.backoff_max, cfg.backoff_base * 2 ** (attempts - 1)))

    async def _load_robots(self, robots_url: str) -> FetchResult:
        robots = FetchRequest("robots.txt", robots_url, kind="text", respect_robots=False)
        return await self._attempt(robots, self.config.robots_max_bytes, respect_robots=False)

    async def _attempt(self, request: FetchRequest, max_bytes: int, respect_robots: bool) -> FetchResult:
        url = request.url
        seen = [url]
        try:
            for _hop in range(self.config.max_redirects + 1):
                try:
                    async with asyncio.timeout(self.config.connect_timeout):
                        await self._policy.check(url)
                except TimeoutError:
                    raise FetchError(DNS, f"resolving the host of {url} timed out") from None
                if respect_robots:
                    await self._robots.check(url)
                async with self._slot(url):
                    async with asyncio.timeout(self.config.attempt_timeout):
                        outcome = await self._exchange(request, url, max_bytes)
                if isinstance(outcome, FetchResult):
                    return outcome
                target = urldefrag(urljoin(url, outcome.location)).url
                if target in seen:
                    raise FetchError(REDIRECT, f"redirect loop: {' -> '.join([*seen, target])}")
                seen.append(target)
                url = target
            raise FetchError(REDIRECT, f"more than {self.config.max_redirects} redirects from {request.url}")
        except FetchError as exc:
            return _failed(request, url, exc.error_class, exc.message)
        except (httpx.HTTPError, httpx.InvalidURL, OSError, TimeoutError) as exc:
            error_class, message = _translate(exc)
            return _failed(request, url, error_class, message)

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        key = _host_key(url)
        slots = self._host_slots.setdefault(key, asyncio.Semaphore(self.config.per_host))
        async with slots:
            async with self._host_locks.setdefault(key, asyncio.Lock()):
                # The larger of our delay and the site's Crawl-delay (known once robots.txt is read).
                delay = max(self.config.host_delay, self._robots.crawl_delay(url))
                wait = self._host_next.get(key, 0.0) - time.monotonic()
                if self._pacer is not None and delay > 0:  # and the pace of every other process
                    wait = max(wait, await self._shared_wait(key, delay))
                if wait > 0:
                    await asyncio.sleep(wait)
                self._host_next[key] = time.monotonic() + delay
            async with self._overall:
                yield

    async def _shared_wait(self, key: str, delay: float) -> float:
        """The wait the shared pace asks for; if it cannot be reached, this process's own pace
        still holds (a check goes on, politely, rather than failing on the pace table)."""
        assert self._pacer is not None
        try:
            return await asyncio.to_thread(self._pacer.reserve, key, delay)
        except TrackerError:
            return 0.0

    # -- one HTTP exchange ----------------------------------------------------------------

    async def _exchange(self, request: FetchRequest, url: str, max_bytes: int) -> FetchResult | _Redirect:
        if self._client is None:
            raise RuntimeError("use the Fetcher as an async context manager: async with Fetcher(...) as f")
        conditional: dict[str, str] = {}
        extra = {"Accept": ACCEPT_BY_KIND.get(request.kind, ACCEPT)}
        if request.etag:
            conditional["If-None-Match"] = request.etag
        if request.last_modified:
            conditional["If-Modified-Since"] = request.last_modified
        response = await self._client.send(
            self._client.build_request("GET", url, headers={**extra, **conditional}), stream=True
        )
        try:
            return await self._answer(request, url, response, bool(conditional), max_bytes)
        finally:
            await response.aclose()

    async def _answer(
        self, request: FetchRequest, url: str, response: httpx.Response, conditional: bool, max_bytes: int
    ) -> FetchResult | _Redirect:
        status = response.status_code
        headers = {name.lower(): value for name, value in response.headers.items()}
        encoding = headers.get("content-encoding", "")

        def failed(error_class: str, message: str) -> FetchResult:
            return _failed(request, url, error_class, message, status, headers)

        if status in REDIRECT_STATUSES:
            location = headers.get("location")
            if location:
                await _drain(response)
            return _Redirect(location) if location else failed(REDIRECT, f"HTTP {status} without a Location")
        if status == 304 and conditional:
            await _drain(response)
            return FetchResult(request.source_id, request.url, url, "not_modified", status, headers)
        if status not in CONTENT_STATUSES:
            try:
                peek = await read_body(response.aiter_raw(), encoding, SMALL_PAGE)
            except (FetchError, httpx.HTTPError):
                peek = b""
            reason = challenge_reason(status, headers, peek)
            if reason:
                return failed(BLOCKED, reason)
            return failed(HTTP_STATUS, _one_line(f"HTTP {status} {response.reason_phrase}".strip()))
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            return failed(TOO_LARGE, f"Content-Length {length} is above the cap of {max_bytes} bytes")
        try:
            body = await read_body(response.aiter_raw(), encoding, max_bytes)
        except FetchError as exc:
            return failed(exc.error_class, exc.message)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            return failed(TRUNCATED, _one_line(f"connection dropped during the body: {explain(exc)}"))
        digest = (hashlib.sha256(body).hexdigest()
                  if request.known_content is not None and len(body) <= SMALL_PAGE else None)
        known = digest is not None and digest == request.known_content
        reason = challenge_reason(status, headers, b"" if known else body) if request.screen else None
        if reason:
            return failed(BLOCKED, reason)
        return FetchResult(request.source_id, request.url, url, "ok", status, headers, body, body_hash=digest)


async def _drain(response: httpx.Response) -> None:
    """Read the end of a short answer (a 304, a redirect) so its connection goes back to the pool.

    A response closed before its end closes its connection: a sweep of conditional GETs answered
    304 opened a new connection for every page (issue 18). A body longer than SMALL_PAGE, or one
    that fails, is not worth the wait: the connection is closed as before.
    """
    try:
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > SMALL_PAGE:
                return
    except httpx.HTTPError:
        return


def _failed(
    request: FetchRequest, url: str, error_class: str, message: str,
    status: int | None = None, headers: dict[str, str] | None = None,
) -> FetchResult:
    return FetchResult(
        request.source_id, request.url, url, "failed", status, headers or {}, b"", error_class, _one_line(message)
    )



