"""The one place that decides what counts as a change of a monitored source.

The rules, in full:
  * Only a successful fetch whose body normalised cleanly is compared. A failure of any class
    (transient, an error status, a bot challenge, a truncated or undecodable body) is a state,
    never a change: it counts towards ``failure_threshold`` and nothing else.
  * The comparison is between SHA-256 hashes of the normalised text (UTF-8), computed under the
    source's current rules; no previous hash means a baseline.
  * A register (ecfr, federal-register, feed) reports each entry id it has not reported before
    (RegisterEntryAdded), and each entry known before whose date, title, type or deadlines
    changed under the same official id (RegisterEntryRevised, with the changes); its listing is a
    change (SourceChanged) only when an entry is gone or a line changed that no new entry or
    revision explains.
  * The diff in an event is unified, of the normalised text (so ignored text stays out), and
    bounded (``DIFF_MAX_LINES`` lines, ``DIFF_MAX_BYTES`` bytes); the full text stays derivable
    from the raw snapshot kept for every version.
  * ``decide_check`` applies all of the above to one check: the previous observation (what is
    accepted and the failure streak), the current one (a fetch, a 304 or a failure) and the
    threshold give the events to append and the state to keep. It is pure: recording loads
    what it needs and writes what it returns.
  * A new version that is empty or near-empty (fewer than ``NEAR_EMPTY_CHARS`` characters besides
    white space), or that keeps less than ``KEPT_FRACTION`` of the accepted text, is *suspect*: a
    good page briefly answering an empty 200, or a challenge page without a known marker. It is
    recorded only when the next successful check confirms it (the same hash again); until then the
    source is in the ``suspect`` state and nothing is appended. Back to the accepted text, nothing
    happened at all.
  * The first time a page's text differs from its accepted version, the page is fetched twice:
    lines that differ between the two immediate fetches (a timestamp, a request id) are volatile,
    and ``volatile_patterns`` turns them into ignore patterns that this check records
    (SourceVolatileIgnored) and applies, to the accepted version too, and from then on, until an
    operator revokes them.
  * Idempotency keys make a replayed check (after a crash, or two checkers at once) write
    nothing twice: they are built from the source id, the hashes and the stream version the
    decision was taken at.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from tracker.core.events import normalise_valid_from
from tracker.domain import vocabulary as v
from tracker.errors import InvalidEventError

NEAR_EMPTY_CHARS: Final = 64
KEPT_FRACTION: Final = 0.5
DIFF_MAX_LINES: Final = 200
DIFF_MAX_BYTES: Final = 16 * 1024

Decision = Literal["baseline", "changed", "unchanged"]


def content_hash(text: str) -> str:
    """Hash of normalised text: what two checks compare."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_hash(body: bytes) -> str:
    """Hash of raw bytes: the address of a snapshot."""
    return hashlib.sha256(body).hexdigest()


def decide(old_hash: str | None, new_hash: str) -> Decision:
    if old_hash is None:
        return "baseline"
    return "unchanged" if old_hash == new_hash else "changed"


@dataclass(frozen=True)
class Diff:
    text: str
    truncated: bool


def unified_diff(
    old: str,
    new: str,
    *,
    old_label: str = "before",
    new_label: str = "after",
    max_lines: int | None = DIFF_MAX_LINES,
    max_bytes: int | None = DIFF_MAX_BYTES,
    context: int = 2,
) -> Diff:
    """A unified diff of two normalised texts, cut at a line boundary when over a bound."""
    lines = difflib.unified_diff(
        old.split("\n"), new.split("\n"), fromfile=old_label, tofile=new_label, lineterm="", n=context
    )
    kept: list[str] = []
    size = 0
    for line in lines:
        cost = len(line.encode("utf-8")) + 1
        if (max_lines is not None and len(kept) >= max_lines) or (max_bytes is not None and size + cost > max_bytes):
            return Diff("\n".join(kept), True)
        kept.append(line)
        size += cost
    return Diff("\n".join(kept), False)


def listing_line(
    entry_id: str, date: str, title: str, type: str = "", deadlines: Mapping[str, str] | None = None,
) -> str:
    """One line of a register's listing text (what is hashed and diffed for a register): what
    makes an entry revised when it changes (date, title, type, deadlines), nothing noisier."""
    line = f"{entry_id} | {date} | {' '.join(title.split())}"
    if type:
        line += f" | {type}"
    if deadlines:
        line += " | " + ", ".join(f"{kind} {day}" for kind, day in sorted(deadlines.items()))
    return line


def listing_changed_beyond_additions(old_text: str, new_text: str) -> bool:
    """True when a line of the old listing is missing from the new one (an edit or a removal)."""
    new_lines = set(new_text.split("\n"))
    return any(line not in new_lines for line in old_text.split("\n") if line)


def _size(text: str) -> int:
    """Characters that are not whitespace (str.split() knows the same whitespace as str.isspace()):
    summing the pieces takes microseconds where a test per character took 7 ms a page (issue 18)."""
    return sum(map(len, text.split()))


def suspicious(old_text: str, new_text: str) -> bool:
    """A change to (near-)empty text, or a drop of most of it: confirmed by the next check first."""
    old_size = _size(old_text)
    if old_size < NEAR_EMPTY_CHARS:
        return False    # the accepted version is itself near-empty: nothing much to lose
    new_size = _size(new_text)
    return new_size < NEAR_EMPTY_CHARS or new_size < old_size * KEPT_FRACTION


# -- volatile lines ----------------------------------------------------------------------------

VOLATILE_MAX_LINES: Final = 10     # more lines than this differing at once is not noise: propose nothing
_TOKEN_RE = re.compile(r"\w+|\W+")
_DIGITS_RE = re.compile(r"^\d+$")
_MIN_LITERAL_CHARS: Final = 4      # a pattern must say which line it is about


def _line_pattern(old: str, new: str) -> str | None:
    """A pattern matching both versions of a volatile line (and the line's later versions):
    equal words literal, numbers and the words that differ generalised; None if too vague."""
    a, b = _TOKEN_RE.findall(old.strip()), _TOKEN_RE.findall(new.strip())
    if len(a) != len(b):
        return None
    parts: list[str] = []
    literal = 0
    for x, y in zip(a, b, strict=True):
        if _DIGITS_RE.match(x) and _DIGITS_RE.match(y):
            parts.append(r"\d+")
        elif x == y:
            parts.append(r"\s+" if x.isspace() else re.escape(x))
            literal += len(x.strip())
        elif x[0].isalnum() or x[0] == "_":
            parts.append(r"\w+")
        else:
            return None
    if literal < _MIN_LITERAL_CHARS:
        return None
    return "^" + "".join(parts) + "$"


def volatile_patterns(first: str, second: str) -> tuple[str, ...]:
    """Ignore patterns for the lines that differ between two immediate fetches of one page."""
    a, b = first.split("\n"), second.split("\n")
    found: list[str] = []
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        changed += max(i2 - i1, j2 - j1)
        if tag != "replace" or i2 - i1 != j2 - j1:
            continue    # lines that come and go are content, not a counter
        for old, new in zip(a[i1:i2], b[j1:j2], strict=True):
            pattern = _line_pattern(old, new)
            if pattern is not None and pattern not in found:
                found.append(pattern)
    return () if changed > VOLATILE_MAX_LINES else tuple(found)


# -- failures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureStep:
    state: str
    failures: int
    unreachable: bool    # emit SourceUnreachable now (the streak just reached the threshold)


def after_failure(failures_before: int, error_class: str, threshold: int) -> FailureStep:
    """The state after one more failed check. A bot challenge is its own state at once."""
    failures = failures_before + 1
    state = "blocked" if error_class == "blocked" else "unreachable" if failures >= threshold else "failing"
    return FailureStep(state, failures, failures == threshold)


def recovers(failures_before: int, threshold: int) -> bool:
    """A success after a streak that was reported unreachable is reported as a recovery."""
    return failures_before >= threshold


# -- idempotency keys -------------------------------------------------------------------------


def baseline_key(source_id: str) -> str:
    return f"baseline:{source_id}"


def volatile_key(source_id: str) -> str:
    return f"volatile:{source_id}"


def change_key(source_id: str, old_hash: str, new_hash: str, stream_version: int) -> str:
    # The stream version tells A->B apart from a later A->B after a change back to A.
    return f"change:{source_id}:{old_hash}:{new_hash}:{stream_version}"


def entry_key(source_id: str, entry_id: str) -> str:
    key = f"entry:{source_id}:{entry_id}"
    if len(key) > 300:
        key = f"entry:{source_id}:sha256:{hashlib.sha256(entry_id.encode('utf-8')).hexdigest()}"
    return key


def unreachable_key(source_id: str, stream_version: int) -> str:
    return f"unreachable:{source_id}:{stream_version}"


def recovered_key(source_id: str, stream_version: int) -> str:
    return f"recovered:{source_id}:{stream_version}"


def new_entries(old_ids: Sequence[str] | None, new_ids: Sequence[str]) -> list[str]:
    """Entry ids not reported before, in document order; everything at a baseline."""
    if old_ids is None:
        return list(dict.fromkeys(new_ids))
    seen = set(old_ids)
    return [entry for entry in dict.fromkeys(new_ids) if entry not in seen]


# -- one check, decided ------------------------------------------------------------------------


class EntryLike(Protocol):
    """An official register entry as the fetching layer parses it."""

    @property
    def entry_id(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...

    def identity(self) -> dict[str, Any]:
        """entry_id, date, precision, type, title, titles, agency, url, links, dates, deadlines."""
        ...


@dataclass(frozen=True)
class Version:
    """A version's comparable content under the source's current rules."""

    text: str
    entries: Sequence[EntryLike] | None = None    # registers only


@dataclass(frozen=True)
class Previous:
    """What the tracker holds about a source before this check."""

    content_hash: str | None = None     # the accepted version's hash under the current rules; None: no baseline
    content: Version | None = None      # its content, when it differs from the fetched one (None: unreadable)
    failures: int = 0                   # the current streak of failed checks
    suspect_hash: str | None = None     # a suspect version seen by the last check, awaiting confirmation


@dataclass(frozen=True)
class Fetched:
    """A successful fetch. ``content`` may be None only when the hash equals the accepted one,
    and for a 304 (``not_modified``), which carries neither hash nor content."""

    content_hash: str | None
    content: Version | None = None
    snapshot: str | None = None         # hash of the raw body
    http: Mapping[str, Any] = field(default_factory=dict)
    not_modified: bool = False
    volatile: tuple[str, ...] = ()      # at a first change: patterns for lines a second fetch changed


@dataclass(frozen=True)
class Failed:
    error_class: str
    error: str


@dataclass(frozen=True)
class Emit:
    """An event to append to the source's stream."""

    type: str
    payload: dict[str, Any]
    key: str
    valid_from: str | None = None


@dataclass(frozen=True)
class Step:
    """The decision: the events to append and the state to keep.

    ``accept``: the fetched version becomes the accepted one (its hash and snapshot are kept).
    ``suspect``: the hash of a suspect version to keep awaiting confirmation (None: none).
    ``outcome`` is one of the recording service's OUTCOMES.
    """

    outcome: str
    state: str
    failures: int
    events: tuple[Emit, ...] = ()
    error_class: str | None = None
    error: str | None = None
    accept: bool = False
    entries: int = 0
    recovered: bool = False
    suspect: str | None = None


def _valid_from(date: str) -> str | None:
    try:
        return normalise_valid_from(date) if date else None
    except InvalidEventError:
        return None     # an official date we cannot read is kept in the payload, not as valid_from


def _entry(source_id: str, entry: EntryLike, *, baseline: bool = False) -> Emit:
    payload: dict[str, Any] = {"id": source_id, **entry.identity(), "fields": dict(entry.fields)}
    if baseline:
        payload["baseline"] = True  # listed at the register's first check: its history, not news
    return Emit(v.REGISTER_ENTRY_ADDED, payload, entry_key(source_id, entry.entry_id), _valid_from(entry.date))


# What a revision of an entry is: a change of one of these under the same official id (the same
# parts of an entry its listing line shows, so a revision is always a change of the listing).
REVISED_KEYS: Final = ("date", "title", "type", "deadlines")


def revisions(old: Sequence[EntryLike], new: Sequence[EntryLike]) -> list[tuple[EntryLike, dict[str, Any]]]:
    """Entries of ``new`` known in ``old`` under the same id whose REVISED_KEYS differ, with the
    changes {key: {"old": .., "new": ..}}, in document order."""
    before = {e.entry_id: e.identity() for e in old}
    found = []
    for entry in new:
        was = before.get(entry.entry_id)
        if was is None:
            continue
        now = entry.identity()
        changed = {
            key: {"old": was.get(key), "new": now.get(key)} for key in REVISED_KEYS if was.get(key) != now.get(key)
        }
        if changed:
            found.append((entry, changed))
    return found


def revised_key(source_id: str, entry_id: str, changes: Mapping[str, Any], stream_version: int) -> str:
    digest = hashlib.sha256(json.dumps(changes, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
    key = f"revised:{source_id}:{entry_id}:{digest}:{stream_version}"
    if len(key) > 300:
        hashed = hashlib.sha256(entry_id.encode("utf-8")).hexdigest()
        key = f"revised:{source_id}:sha256:{hashed}:{digest}:{stream_version}"
    return key


def _revised(source_id: str, entry: EntryLike, changed: dict[str, Any], stream_version: int) -> Emit:
    return Emit(
        v.REGISTER_ENTRY_REVISED,
        {"id": source_id, **entry.identity(), "fields": dict(entry.fields), "changes": changed},
        revised_key(source_id, entry.entry_id, changed, stream_version), _valid_from(entry.date),
    )


def decide_check(
    source_id: str,
    url: str,
    previous: Previous,
    current: Fetched | Failed,
    *,
    threshold: int,
    stream_version: Callable[[], int],
) -> Step:
    """What one check of a source means. ``stream_version`` is the source stream's version before
    this check; it is asked for only when an event needs it in its idempotency key."""
    if isinstance(current, Failed):
        failed = after_failure(previous.failures, current.error_class, threshold)
        events: tuple[Emit, ...] = ()
        if failed.unreachable:
            events = (Emit(
                v.SOURCE_UNREACHABLE,
                {"id": source_id, "error_class": current.error_class, "error": current.error,
                 "failures": failed.failures},
                unreachable_key(source_id, stream_version()),
            ),)
        # A failure confirms nothing and refutes nothing: a suspect version stays suspect.
        return Step("unreachable" if failed.unreachable else "failed", failed.state, failed.failures, events,
                    current.error_class, current.error, suspect=previous.suspect_hash)

    emitted: list[Emit] = []
    recovered = recovers(previous.failures, threshold)
    if recovered:
        emitted.append(Emit(v.SOURCE_RECOVERED, {"id": source_id, "after_failures": previous.failures},
                            recovered_key(source_id, stream_version())))

    def step(outcome: str, *, accept: bool = True, entries: int = 0) -> Step:
        if recovered and outcome in ("unchanged", "not_modified"):
            outcome = "recovered"       # nothing new but the recovery
        return Step(outcome, "ok", 0, tuple(emitted), accept=accept, entries=entries, recovered=recovered)

    if current.not_modified:
        return step("not_modified", accept=False)
    assert current.content_hash is not None and current.snapshot is not None
    if current.volatile:
        emitted.append(Emit(
            v.SOURCE_VOLATILE_IGNORED,
            {"id": source_id, "ignore": list(current.volatile),
             "reason": "lines that differed between two immediate fetches at the page's first change"},
            volatile_key(source_id),
        ))
    decision = decide(previous.content_hash, current.content_hash)
    if decision == "unchanged":
        return step("unchanged")
    content = current.content
    assert content is not None, "a new version comes with its content"
    if decision == "baseline":
        payload: dict[str, Any] = {
            "id": source_id, "url": url, "content_hash": current.content_hash, "snapshot": current.snapshot,
            "http": dict(current.http),
        }
        entries = list(content.entries or ())
        if content.entries is not None:
            payload["entries"] = len(entries)
        emitted.append(Emit(v.SOURCE_BASELINED, payload, baseline_key(source_id)))
        # The whole history of a register is what auditors want: every entry, at the baseline too.
        emitted.extend(_entry(source_id, entry, baseline=True) for entry in entries)
        return step("baselined", entries=len(entries))

    old_hash = previous.content_hash
    assert old_hash is not None
    old = previous.content
    old_text = old.text if old is not None else ""
    if old is not None and previous.suspect_hash != current.content_hash and suspicious(old_text, content.text):
        return Step("suspect", "suspect", 0, tuple(emitted), recovered=recovered, suspect=current.content_hash)
    outcome, added = "changed", 0
    report_change = True
    if content.entries is not None:
        old_ids = [e.entry_id for e in old.entries or ()] if old is not None else None
        fresh = set(new_entries(old_ids, [e.entry_id for e in content.entries]))
        new = [e for e in content.entries if e.entry_id in fresh]
        emitted.extend(_entry(source_id, entry) for entry in new)
        added = len(new)
        revised = revisions(old.entries or (), content.entries) if old is not None else []
        emitted.extend(_revised(source_id, entry, changed, stream_version()) for entry, changed in revised)
        # The listing itself is a change when an entry is gone, or a line changed that neither a
        # new entry nor a revision explains.
        kept = {e.entry_id for e in content.entries}
        removed = old is not None and any(e.entry_id not in kept for e in old.entries or ())
        report_change = old is None or removed or (
            not revised and listing_changed_beyond_additions(old_text, content.text))
        if not report_change and not new and not revised:
            outcome = "unchanged"
    if report_change:
        diff = unified_diff(old_text, content.text, old_label=f"{source_id} {old_hash}",
                            new_label=f"{source_id} {current.content_hash}")
        emitted.append(Emit(
            v.SOURCE_CHANGED,
            {"id": source_id, "url": url, "old_hash": old_hash, "new_hash": current.content_hash,
             "diff": diff.text, "diff_truncated": diff.truncated, "snapshot": current.snapshot,
             "http": dict(current.http)},
            change_key(source_id, old_hash, current.content_hash, stream_version()),
        ))
    return step(outcome, entries=added)
