"""What a fetch asks for and what it gives back: plain frozen dataclasses, no httpx types.

Error classes are strings, named once here. A failed fetch is a result carrying one of them,
never an exception: the layer above records it as a fact with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

DNS: Final = "dns"                                  # the host name does not resolve
CONNECT: Final = "connect"                          # refused, reset, or a protocol error on the wire
TIMEOUT: Final = "timeout"                          # connect, read or whole-attempt deadline passed
TLS: Final = "tls"                                  # handshake or certificate failure
HTTP_STATUS: Final = "http-status"                  # a 4xx/5xx (or another non-content status)
BLOCKED: Final = "blocked"                          # a bot challenge (HTTP 412, JavaScript challenge page)
TOO_LARGE: Final = "too-large"                      # body above the cap, counted after decompression
TRUNCATED: Final = "truncated"                      # connection dropped before the body was complete
UNDECODABLE: Final = "undecodable"                  # bytes that are not text / a broken compressed stream
ROBOTS: Final = "robots"                            # robots.txt disallows the URL (or is unreachable, 5xx)
REDIRECT: Final = "redirect"                        # a redirect loop, too many hops, or a bad Location
REFUSED_ADDRESS: Final = "refused-address"          # resolves to a private/loopback/... address not allowed
UNSUPPORTED_SCHEME: Final = "unsupported-scheme"    # not http(s), or not a URL at all

ERROR_CLASSES: Final = frozenset(
    {DNS, CONNECT, TIMEOUT, TLS, HTTP_STATUS, BLOCKED, TOO_LARGE, TRUNCATED, UNDECODABLE,
     ROBOTS, REDIRECT, REFUSED_ADDRESS, UNSUPPORTED_SCHEME}
)

Outcome = Literal["ok", "not_modified", "failed"]


@dataclass(frozen=True)
class FetchRequest:
    """One URL to fetch for one source. ``etag``/``last_modified`` make it a conditional GET."""

    source_id: str
    url: str
    kind: str = "html"
    etag: str | None = None
    last_modified: str | None = None
    respect_robots: bool = True
    # SHA-256 of the body last accepted as this source's content: the very same bytes are not
    # scanned for a bot challenge again (status and headers still are).
    known_content: str | None = None
    # False: the body of a 200 or 203 answer is screened for a bot challenge by the caller, not
    # here (a check's first look at a page, in its worker process: services/check_pool.py).
    screen: bool = True


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch (all retries and redirects included).

    ``body`` holds the decompressed bytes and is empty unless ``outcome == "ok"``.
    ``headers`` has lower-case names; ``error`` is one line.
    """

    source_id: str
    url: str
    final_url: str
    outcome: Outcome
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error_class: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    attempts: int = 0
    # SHA-256 of ``body`` (hex) when the fetch computed it (to compare with known_content), else None.
    body_hash: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")
