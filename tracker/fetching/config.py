"""FetchConfig: the knobs of a Fetcher, built once from the fetch settings and passed down."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tracker import __version__
from tracker.settings import FetchSettings

# The contact shipped as the default: it reaches nobody (see tracker.services.checking).
PLACEHOLDER_CONTACT = "tracker-operator@localhost"


@dataclass(frozen=True)
class FetchConfig:
    """How politely and how defensively to fetch. Times are seconds, sizes bytes.

    The values operators may set come from tracker.settings.FetchSettings (their defaults and help
    are declared there, once); the two below them are fixed here.
    """

    contact: str
    allow_hosts: tuple[str, ...]           # host names or CIDRs allowed although private/loopback
    concurrency: int                       # requests in flight overall
    per_host: int                          # requests in flight per host
    host_delay: float                      # between the starts of two requests to one host
    connect_timeout: float
    read_timeout: float                    # between two reads of the socket
    attempt_timeout: float                 # one whole attempt, so a trickling server cannot hold us
    retries: int                           # after a transient failure (connect, timeout, 429, 5xx)
    backoff_base: float                    # full jitter: sleep uniform(0, min(backoff_max, base * 2**n))
    max_retry_after: float                 # a Retry-After above this is capped, not obeyed
    max_redirects: int
    max_bytes: int                         # counted on the decompressed body
    backoff_max: float = 30.0
    robots_max_bytes: int = 512 * 1024     # RFC 9309 asks parsers to handle at least 500 KiB
    robots_ttl: float = 86400.0            # how long a robots.txt is kept (RFC 9309: at most 24 hours)
    max_crawl_delay: float = 120.0         # a site's Crawl-delay above this is capped, not obeyed
    max_pages: int = 20                    # pages of a paginated register followed after the first

    @property
    def user_agent(self) -> str:
        return f"tracker/{__version__} (+mailto:{self.contact})"

    @classmethod
    def from_settings(cls, fetch: FetchSettings) -> FetchConfig:
        """Build from the ``fetch.*`` settings (see tracker.settings)."""
        return cls(
            contact=fetch.contact, allow_hosts=fetch.allowed_hosts, concurrency=fetch.concurrency,
            per_host=fetch.per_host, host_delay=fetch.host_delay, connect_timeout=fetch.connect_timeout,
            read_timeout=fetch.read_timeout, attempt_timeout=fetch.attempt_timeout, retries=fetch.retries,
            backoff_base=fetch.backoff_base, max_retry_after=fetch.max_retry_after,
            max_redirects=fetch.max_redirects, max_bytes=fetch.max_bytes,
        )

    @classmethod
    def default(cls, **changes: Any) -> FetchConfig:
        """The configuration of the default settings, with `changes` applied."""
        return replace(cls.from_settings(FetchSettings()), **changes)
