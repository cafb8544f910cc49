"""Monitored sources: what a source is, how its fields are validated, how often it is checked.

A source is one official URL watched for change. Its ``kind`` says how its bytes become
comparable text: a page (html, pdf, json, text) or a structured register (ecfr,
federal-register, feed, fda-guidance, ema-medicines) whose entries each become a RegisterEntryAdded event. Its rules
(``select``, ``ignore``) say which part of the text counts. Validation here is pure (no
network, no HTML parser): the CSS selector itself is checked by the service that owns lxml.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from tracker.domain import payloads_ops as o
from tracker.errors import ValidationError

PAGE_KINDS: Final = ("html", "pdf", "json", "text")
REGISTER_KINDS: Final = ("ecfr", "federal-register", "feed", "fda-guidance", "ema-medicines")
KINDS: Final = PAGE_KINDS + REGISTER_KINDS
ORIGINS: Final = ("seed", "operator")  # the usual ones; seeds may say more, e.g. "seed:us.toml"
STATES: Final = ("new", "ok", "suspect", "failing", "unreachable", "blocked")
# States an operator must look at; "blocked" means a bot challenge: check the page by hand.
TROUBLE_STATES: Final = ("failing", "unreachable", "blocked")

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_EVERY_SECONDS: Final = 60
# A source checked less than once a year is not monitored; the bound also keeps every stored
# interval (and next_due_at = now + interval) far inside what databases and datetime can hold.
MAX_EVERY_SECONDS: Final = 366 * 86400
MAX_URL_CHARS: Final = 2000
MAX_TEXT_CHARS: Final = 500         # a title, a tag, a selector, a pattern, a reason
MAX_LIST_ITEMS: Final = 100         # tags, items, ignore patterns
# Control characters (NUL among them, which PostgreSQL refuses in text) never belong in a field.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACE_RE = re.compile(r"\s")  # what str.isspace calls white space (re uses the same Unicode table)
# The usual URL: http(s), a host of ASCII letters, digits, dots and hyphens (no user, port or
# brackets), then printable ASCII without spaces. Such a URL passes every check of validate_url,
# so urlsplit (a third of validating a registration, issue 18) is asked only about the others.
_PLAIN_URL_RE = re.compile(r"https?://[a-z0-9.-]+(?:[/?#][!-~]*)?", re.ASCII | re.IGNORECASE)


def parse_duration(text: str, *, what: str = "duration") -> int:
    """Seconds in "30m", "6h", "1d", "2w" (or "90s"); ValidationError names the bad value."""
    match = _DURATION_RE.match(str(text)) if len(str(text)) <= 40 else None
    if not match:
        raise ValidationError(f"{what} {_shown(text)} is not a duration like 30m, 6h, 1d or 1w")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < MIN_EVERY_SECONDS:
        raise ValidationError(f"{what} {text!r} is shorter than {MIN_EVERY_SECONDS} seconds")
    if seconds > MAX_EVERY_SECONDS:
        raise ValidationError(f"{what} {_shown(text)} is longer than {MAX_EVERY_SECONDS // 86400} days")
    return seconds


def _shown(value: object, limit: int = 80) -> str:
    """A value as an error message quotes it: repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...'"


def validate_text(value: str, what: str, *, limit: int = MAX_TEXT_CHARS, empty: bool = True) -> str:
    """A one-line text field: no control characters, at most ``limit`` characters."""
    value = str(value)
    if not empty and not value.strip():
        raise ValidationError(f"{what} is empty")
    if len(value) > limit:
        raise ValidationError(f"{what} is {len(value)} characters long; at most {limit}")
    bad = _CONTROL_RE.search(value)
    if bad:
        raise ValidationError(f"{what} {_shown(value)} contains a control character ({ord(bad.group()):#04x})")
    return value


def validate_list(values: Sequence[str], what: str, *, limit: int = MAX_TEXT_CHARS) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValidationError(f"{what} must be a list of strings")
    if not values:
        return ()       # most sources have no items or volatile lines: nothing to walk (issue 18)
    if not all(isinstance(x, str) for x in values):
        raise ValidationError(f"{what} must be a list of strings")
    if len(values) > MAX_LIST_ITEMS:
        raise ValidationError(f"{what}: {len(values)} given; at most {MAX_LIST_ITEMS}")
    return tuple(validate_text(x, f"{what} value", limit=limit, empty=False) for x in values)


def format_duration(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host, without spaces; returned stripped."""
    url = str(url).strip()
    if len(url) > MAX_URL_CHARS:
        raise ValidationError(f"URL {_shown(url)} is {len(url)} characters long; at most {MAX_URL_CHARS}")
    if _PLAIN_URL_RE.fullmatch(url):
        return url
    if _CONTROL_RE.search(url):
        raise ValidationError(f"URL {_shown(url)} contains a control character")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError(f"URL {_shown(url)} is malformed: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(f"URL {_shown(url)} must start with http:// or https://")
    if not parts.hostname:
        raise ValidationError(f"URL {_shown(url)} has no host")
    if _SPACE_RE.search(url):  # one regex scan: a generator over the characters cost a third of a rebuild
        raise ValidationError(f"URL {url!r} contains white space")
    return url


def validate_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """Ignore patterns must be valid Python regular expressions that cannot match empty text."""
    given = tuple(patterns)
    try:
        hash(given)
    except TypeError:  # a value that is not a string: refused below, as ever
        return _validated_patterns.__wrapped__(given)
    return _validated_patterns(given)


@lru_cache(maxsize=4096)
def _validated_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """Remembered once valid, as _check_pattern: sources share a few lists of rules, and walking
    each list again was a tenth of rebuilding the sources read model (issue 18)."""
    checked = validate_list(patterns, "ignore pattern")
    for pattern in checked:
        _check_pattern(pattern)
    return checked


@lru_cache(maxsize=4096)
def _check_pattern(pattern: str) -> None:
    """Remembered once valid (a refused pattern raises every time): sources share a few rules, and
    checking each again was a fifth of rebuilding the sources read model (issue 18)."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValidationError(f"ignore pattern {_shown(pattern)} is not a regular expression: {exc}") from None
    if compiled.fullmatch(""):
        # A pattern matching "" would be applied everywhere and hides nothing useful.
        raise ValidationError(f"ignore pattern {pattern!r} matches empty text")


def validate_id(source_id: str) -> str:
    if not isinstance(source_id, str) or not _ID_RE.fullmatch(source_id):
        raise ValidationError(
            f"source id {_shown(source_id)} must be 1-120 characters of a-z, 0-9, '.', '_' or '-', starting with a "
            "letter or digit"
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
    # Patterns for volatile lines found at the first change (SourceVolatileIgnored), applied after ``ignore``.
    volatile: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_id(self.id)
        object.__setattr__(self, "url", validate_url(self.url))
        if self.kind not in KINDS:
            raise ValidationError(f"source {self.id}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.select is not None and self.kind != "html":
            raise ValidationError(f"source {self.id}: a CSS selector applies to html sources only, not {self.kind}")
        validate_text(self.origin, f"source {self.id}: origin", limit=100, empty=False)
        validate_text(self.title, f"source {self.id}: title")
        if self.jurisdiction is not None:
            validate_text(self.jurisdiction, f"source {self.id}: jurisdiction", limit=20)
        if self.select is not None:
            validate_text(self.select, f"source {self.id}: CSS selector")
        object.__setattr__(self, "ignore", validate_patterns(self.ignore))
        object.__setattr__(self, "volatile", validate_patterns(self.volatile))
        object.__setattr__(self, "items", validate_list(tuple(self.items), f"source {self.id}: item"))
        object.__setattr__(self, "tags", validate_list(tuple(self.tags), f"source {self.id}: tag", limit=100))
        if self.every is not None:
            parse_duration(self.every, what=f"source {self.id}: every")

    @property
    def rules(self) -> Rules:
        return Rules(self.kind, self.select, self.ignore + tuple(p for p in self.volatile if p not in self.ignore))

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
    def from_payload(cls, payload: o.SourceRegistered) -> Source:
        """A SourceRegistered payload as decoded (payloads_registry.decode_as): its identity
        required, the fields it may leave out defaulted as every reader always has."""
        return cls(
            id=str(payload["id"]), url=str(payload["url"]), kind=str(payload["kind"] or "html"),
            jurisdiction=payload.get("jurisdiction"), title=str(payload.get("title") or ""),
            items=tuple(payload.get("items") or ()), tags=tuple(payload.get("tags") or ()),
            select=payload.get("select") or None, ignore=tuple(payload.get("ignore") or ()),
            every=payload.get("every") or None, respect_robots=bool(payload.get("respect_robots", True)),
            origin=str(payload.get("origin") or "operator"),
        )

    def with_rules(self, select: str | None, ignore: Sequence[str]) -> Source:
        return dataclasses.replace(self, select=select, ignore=tuple(ignore))

    def with_volatile(self, patterns: Sequence[str]) -> Source:
        return dataclasses.replace(self, volatile=tuple(patterns))
