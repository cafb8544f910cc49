"""robots.txt rules (RFC 9309), parsed with urllib.robotparser and cached per Fetcher.

A robots.txt that answers 2xx is obeyed; 4xx (none, forbidden, or a bot challenge) allows
everything; 5xx means "unreachable" and disallows everything for now (not cached, so the
next check asks again). A network failure while reading it is the fetch's failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from tracker.errors import FetchError
from tracker.fetching.result import BLOCKED, HTTP_STATUS, ROBOTS, TOO_LARGE, FetchResult

RobotsLoader = Callable[[str], Awaitable[FetchResult]]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def rules_from(result: FetchResult) -> RobotFileParser:
    """The rules a robots.txt fetch result stands for; FetchError if they cannot be known."""
    parser = RobotFileParser(result.final_url)
    if result.outcome == "ok":
        parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
        return parser
    if result.error_class in {BLOCKED, TOO_LARGE} or (
        result.error_class == HTTP_STATUS and result.status is not None and 400 <= result.status < 500
    ):
        parser.parse([])            # no rules: everything allowed
        return parser
    if result.error_class == HTTP_STATUS:
        raise FetchError(ROBOTS, f"robots.txt unreachable (HTTP {result.status}): treated as disallowing all for now")
    raise FetchError(result.error_class or ROBOTS, f"robots.txt: {result.error}")


class RobotsCache:
    """One parsed robots.txt per origin, loaded once even when many fetches ask at the same time."""

    def __init__(self, load: RobotsLoader, user_agent: str) -> None:
        self._load = load
        self._user_agent = user_agent
        self._rules: dict[str, RobotFileParser] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: str) -> None:
        """Raise FetchError("robots") if robots.txt disallows ``url`` for our user agent."""
        origin = origin_of(url)
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            rules = self._rules.get(origin)
            if rules is None:
                rules = rules_from(await self._load(f"{origin}/robots.txt"))
                self._rules[origin] = rules
        if not rules.can_fetch(self._user_agent, url):
            raise FetchError(ROBOTS, f"robots.txt of {origin} disallows {url}")
