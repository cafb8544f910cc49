"""Fetching: official pages and registers to normalised text or entries. httpx lives only here.

    async with Fetcher(FetchConfig.from_settings(settings.fetch)) as fetcher:
        result = await fetcher.fetch(FetchRequest("fda-cgt", "https://www.fda.gov/..."))
        if result.ok:
            text = normalise("html", result.body, result.headers, select="main")

Nothing here knows the event store, the database, scheduling or rendering; a failed fetch is a
FetchResult with an error class (see ``ERROR_CLASSES``), never an exception.
"""

from typing import TYPE_CHECKING, Any

from tracker.fetching.blocked import challenge_reason
from tracker.fetching.config import FetchConfig
from tracker.fetching.decode import decode
from tracker.fetching.normalise import NORMALISERS, normalise, validate_filters
from tracker.fetching.policy import UrlPolicy
from tracker.fetching.registers import PARSERS, Entry, next_page_url, parse_entries
from tracker.fetching.result import (
    BLOCKED,
    CONNECT,
    DNS,
    ERROR_CLASSES,
    HTTP_STATUS,
    REDIRECT,
    REFUSED_ADDRESS,
    ROBOTS,
    TIMEOUT,
    TLS,
    TOO_LARGE,
    TRUNCATED,
    UNDECODABLE,
    UNSUPPORTED_SCHEME,
    FetchRequest,
    FetchResult,
    Outcome,
)

if TYPE_CHECKING:
    from tracker.fetching.client import Fetcher, Pacer, parse_retry_after

# The client (httpx with its transports, about 50 ms to import) is loaded by the first use of one
# of these names, not by every command that imports a result type (bench/bench_startup.py).
_CLIENT = frozenset({"Fetcher", "Pacer", "parse_retry_after"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        from tracker.fetching import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BLOCKED", "CONNECT", "DNS", "ERROR_CLASSES", "HTTP_STATUS", "REDIRECT", "REFUSED_ADDRESS", "ROBOTS",
    "TIMEOUT", "TLS", "TOO_LARGE", "TRUNCATED", "UNDECODABLE", "UNSUPPORTED_SCHEME",
    "NORMALISERS", "PARSERS",
    "Entry", "FetchConfig", "FetchRequest", "FetchResult", "Fetcher", "Outcome", "Pacer", "UrlPolicy",
    "challenge_reason", "decode", "next_page_url", "normalise", "parse_entries", "parse_retry_after",
    "validate_filters",
]
