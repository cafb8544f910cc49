"""Monitored sources: what a source is, how its fields are validated, how often it is checked.

A source is one official URL watched for change. Its ``kind`` says how its bytes become
comparable text: a page (html, pdf, json, text) or a structured register (ecfr,
federal-register, feed, fda-guidance, ema-medicines) whose entries each become a RegisterEntryAdded event. Its rules
(``select``, ``ignore``) say which part of the text counts. Validation here is pure (no
network, no HTML parser): the CSS selector itself is checked by the service that owns lxml.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from tracker.errors import ValidationError

PAGE_KINDS: Final = ("html", "pdf", "json", "text")
REGISTER_KINDS: Final = ("ecfr", "federal-register", "feed", "fda-guidance", "ema-medicines")
KINDS: Final = PAGE_KINDS + REGISTER_KINDS
ORIGINS: Final = ("seed", "operator")  # the usual ones; seeds may say more, e.g. "seed:us.toml"
STATES: Final = ("new", "ok", "failing", "unreachable", "blocked")
# States an operator must look at; "blocked" means a bot challenge: check the page by hand.
TROUBLE_STATES: Final = ("failing", "unreachable", "blocked")

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_EVERY_SECONDS: Final = 60


def parse_duration(text: str, *, what: str = "duration") -> int:
    """Seconds in "30m", "6h", "1d", "2w" (or "90s"); ValidationError names the bad value."""
    match = _DURATION_RE.match(str(text))
    if not match:
        raise ValidationError(f"{what} {text!r} is not a duration like 30m, 6h, 1d or 1w")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < MIN_EVERY_SECONDS:
        raise ValidationError(f"{what} {text!r} is shorter than {MIN_EVERY_SECONDS} seconds")
    return seconds


def format_duration(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host, without spaces; returned stripped."""
    url = str(url).strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError(f"URL {url!r} is malformed: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(f"URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValidationError(f"URL {url!r} has no host")
    if any(ch.isspace() for ch in url):
        raise ValidationError(f"URL {url!r} contains white space")
    return url


def validate_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """Ignore patterns must be valid Python regular expressions that cannot match empty text."""
    checked = []
    for pattern in patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValidationError(f"ignore pattern {pattern!r} is not a regular expression: {exc}") from None
        if compiled.fullmatch(""):
            # A pattern matching "" would be applied everywhere and hides nothing useful.
            raise ValidationError(f"ignore pattern {pattern!r} matches empty text")
        checked.append(pattern)
    return tuple(checked)


def validate_id(source_id: str) -> str:
    if not _ID_RE.match(source_id):
        raise ValidationError(
            f"source id {source_id!r} must be 1-120 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
        )
    return source_id


def id_from_url(url: str) -> str:
    """A readable, stable id for an operator-added URL: host and path slugged, hashed if long."""
    parts = urlsplit(url)
    raw = f"{parts.hostname or ''}{parts.path}{'-' + parts.query if parts.query else ''}"
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    slug = re.sub(r"^www-", "", slug) or "source"
    if len(slug) > 80:
        slug = f"{slug[:70].rstrip('-')}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
    return slug


@dataclass(frozen=True)
class Rules:
    """What part of a document counts: its kind, an optional CSS selector, ignore patterns."""

    kind: str
    select: str | None = None
    ignore: tuple[str, ...] = ()

    @property
    def hash(self) -> str:
        """Identifies the rules a content hash was computed under."""
        text = json.dumps([self.kind, self.select, list(self.ignore)], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    kind: str = "html"
    jurisdiction: str | None = None
    title: str = ""
    items: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    select: str | None = None
    ignore: tuple[str, ...] = ()
    every: str | None = None
    respect_robots: bool = True
    origin: str = "operator"
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        validate_id(self.id)
        object.__setattr__(self, "url", validate_url(self.url))
        if self.kind not in KINDS:
            raise ValidationError(f"source {self.id}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.select is not None and self.kind != "html":
            raise ValidationError(f"source {self.id}: a CSS selector applies to html sources only, not {self.kind}")
        if not self.origin:
            raise ValidationError(f"source {self.id}: origin is empty")
        object.__setattr__(self, "ignore", validate_patterns(self.ignore))
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "tags", tuple(self.tags))
        if self.every is not None:
            parse_duration(self.every, what=f"source {self.id}: every")

    @property
    def rules(self) -> Rules:
        return Rules(self.kind, self.select, self.ignore)

    def every_seconds(self, default: str) -> int:
        return parse_duration(self.every or default, what=f"source {self.id}: every")

    def to_payload(self) -> dict[str, Any]:
        """The SourceRegistered payload (see tracker.domain.vocabulary)."""
        return {
            "id": self.id, "url": self.url, "kind": self.kind, "jurisdiction": self.jurisdiction,
            "title": self.title, "items": list(self.items), "tags": list(self.tags),
            "select": self.select, "ignore": list(self.ignore), "every": self.every,
            "respect_robots": self.respect_robots, "origin": self.origin,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Source:
        return cls(
            id=str(payload["id"]), url=str(payload["url"]), kind=str(payload.get("kind") or "html"),
            jurisdiction=payload.get("jurisdiction"), title=str(payload.get("title") or ""),
            items=tuple(payload.get("items") or ()), tags=tuple(payload.get("tags") or ()),
            select=payload.get("select") or None, ignore=tuple(payload.get("ignore") or ()),
            every=payload.get("every") or None, respect_robots=bool(payload.get("respect_robots", True)),
            origin=str(payload.get("origin") or "operator"),
        )

    def with_rules(self, select: str | None, ignore: Sequence[str]) -> Source:
        return Source(
            self.id, self.url, self.kind, self.jurisdiction, self.title, self.items, self.tags,
            select, tuple(ignore), self.every, self.respect_robots, self.origin,
        )
