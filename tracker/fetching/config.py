"""FetchConfig: the knobs of a Fetcher, read once from settings and passed down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker import __version__


@dataclass(frozen=True)
class FetchConfig:
    """How politely and how defensively to fetch. Times are seconds, sizes bytes."""

    contact: str = "tracker-operator@localhost"
    allow_hosts: tuple[str, ...] = ()      # host names or CIDRs allowed although private/loopback
    concurrency: int = 16                  # requests in flight overall
    per_host: int = 2                      # requests in flight per host
    host_delay: float = 1.0                # between the starts of two requests to one host
    connect_timeout: float = 10.0
    read_timeout: float = 30.0             # between two reads of the socket
    attempt_timeout: float = 120.0         # one whole attempt, so a trickling server cannot hold us
    retries: int = 2                       # after a transient failure (connect, timeout, 429, 5xx)
    backoff_base: float = 1.0              # full jitter: sleep uniform(0, min(backoff_max, base * 2**n))
    backoff_max: float = 30.0
    max_retry_after: float = 120.0         # a Retry-After above this is capped, not obeyed
    max_redirects: int = 5
    max_bytes: int = 20 * 1024 * 1024      # counted on the decompressed body
    robots_max_bytes: int = 512 * 1024     # RFC 9309 asks parsers to handle at least 500 KiB
    robots_ttl: float = 86400.0            # how long a robots.txt is kept (RFC 9309: at most 24 hours)
    max_crawl_delay: float = 120.0         # a site's Crawl-delay above this is capped, not obeyed
    max_pages: int = 20                    # pages of a paginated register followed after the first

    @property
    def user_agent(self) -> str:
        return f"tracker/{__version__} (+mailto:{self.contact})"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "FetchConfig":
        """Build from the ``fetch.*`` settings (see tracker.settings)."""
        allow = tuple(h.strip() for h in str(settings["fetch.allow_hosts"]).split(",") if h.strip())
        return cls(
            contact=str(settings["fetch.contact"]),
            allow_hosts=allow,
            concurrency=int(settings["fetch.concurrency"]),
            per_host=int(settings["fetch.per_host"]),
            host_delay=float(settings["fetch.host_delay"]),
            connect_timeout=float(settings["fetch.connect_timeout"]),
            read_timeout=float(settings["fetch.read_timeout"]),
            retries=max(0, int(settings["fetch.retries"])),
            max_redirects=max(0, int(settings["fetch.max_redirects"])),
            max_bytes=int(settings["fetch.max_bytes"]),
            backoff_base=float(settings["fetch.backoff_base"]),
            max_retry_after=float(settings["fetch.max_retry_after"]),
            attempt_timeout=float(settings["fetch.attempt_timeout"]),
        )
