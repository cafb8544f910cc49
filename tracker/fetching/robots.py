"""robots.txt rules (RFC 9309), parsed with protego, kept per origin for ``robots_ttl`` seconds.

A robots.txt that answers 2xx is obeyed (rule precedence and wildcards as RFC 9309 and Google
read them, which urllib.robotparser does not); 4xx (none, forbidden, or a bot challenge) allows
everything; 5xx means "unreachable" and disallows everything for now (not kept, so the next check
asks again). A network failure while reading it is the fetch's failure. Its ``Crawl-delay`` for
our user agent (capped at ``max_crawl_delay``) raises the per-host delay: the delay between two
requests to a host is the larger of the configured one and the site's.

Rules outlive a Fetcher: a process keeps them in ROBOTS_RULES (a Fetcher takes another store if
given one), so a scheduler checking every minute asks each site once per ``robots_ttl``, not once
per batch. The tracker's own processes share them through the database as well
(tracker.services.robots_rules), so `tracker check` run from cron asks each site once a day, not
once a run. RFC 9309 asks crawlers not to keep a robots.txt longer than 24 hours.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from tracker.errors import FetchError
from tracker.fetching.result import BLOCKED, HTTP_STATUS, ROBOTS, TOO_LARGE, FetchResult

RobotsLoader = Callable[[str], Awaitable[FetchResult]]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class Rules:
    """What one robots.txt says to us: may we fetch a URL, and how long to wait between requests."""

    parser: Protego | None          # None: no rules, everything allowed
    text: str | None = None         # the robots.txt the parser was built from, kept to be shared

    @classmethod
    def from_text(cls, text: str | None) -> Rules:
        """Rules from a robots.txt's text; None stands for "no rules" (a 4xx answer)."""
        return cls(None) if text is None else cls(Protego.parse(text), text)

    def allows(self, url: str, user_agent: str) -> bool:
        return self.parser is None or bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(user_agent)
        return max(0.0, float(delay)) if delay is not None else 0.0


def rules_from(result: FetchResult) -> Rules:
    """The rules a robots.txt fetch result stands for; FetchError if they cannot be known."""
    if result.outcome == "ok":
        return Rules.from_text(result.body.decode("utf-8", errors="replace"))
    if result.error_class in {BLOCKED, TOO_LARGE} or (
        result.error_class == HTTP_STATUS and result.status is not None and 400 <= result.status < 500
    ):
        return Rules(None)
    if result.error_class == HTTP_STATUS:
        raise FetchError(ROBOTS, f"robots.txt unreachable (HTTP {result.status}): treated as disallowing all for now")
    raise FetchError(result.error_class or ROBOTS, f"robots.txt: {result.error}")


class RobotsStore:
    """Rules by origin with the time they expire (monotonic clock); thread-safe, loop-free."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rules: dict[str, tuple[Rules, float]] = {}
        self._lock = threading.Lock()

    def get(self, origin: str) -> Rules | None:
        with self._lock:
            found = self._rules.get(origin)
            if found is None:
                return None
            if found[1] <= self._clock():
                del self._rules[origin]
                return None
            return found[0]

    def put(self, origin: str, rules: Rules, ttl: float) -> None:
        with self._lock:
            self._rules[origin] = (rules, self._clock() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


ROBOTS_RULES = RobotsStore()


class RobotsCache:
    """Robots rules for one Fetcher: loaded once per origin even when many fetches ask at once."""

    def __init__(
        self, load: RobotsLoader, user_agent: str, *, store: RobotsStore | None = None,
        ttl: float = 86400.0, max_crawl_delay: float = 120.0,
    ) -> None:
        self._load = load
        self._user_agent = user_agent
        self._store = store if store is not None else ROBOTS_RULES
        self._ttl = ttl
        self._max_crawl_delay = max_crawl_delay
        self._locks: dict[str, asyncio.Lock] = {}
        self._delays: dict[str, float] = {}

    async def check(self, url: str) -> None:
        """Raise FetchError("robots") if robots.txt disallows ``url`` for our user agent."""
        origin = origin_of(url)
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            rules = self._store.get(origin)
            if rules is None:
                rules = rules_from(await self._load(f"{origin}/robots.txt"))
                self._store.put(origin, rules, self._ttl)
        self._delays[origin] = min(self._max_crawl_delay, rules.crawl_delay(self._user_agent))
        if not rules.allows(url, self._user_agent):
            raise FetchError(ROBOTS, f"robots.txt of {origin} disallows {url}")

    def crawl_delay(self, url: str) -> float:
        """The site's Crawl-delay for us, in seconds, as last read (0 when none or not read)."""
        return self._delays.get(origin_of(url), 0.0)
