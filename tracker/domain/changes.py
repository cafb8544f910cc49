"""The one place that decides what counts as a change of a monitored source.

The rules, in full:
  * Only a successful fetch whose body normalised cleanly is compared. A failure of any class
    (transient, an error status, a bot challenge, a truncated or undecodable body) is a state,
    never a change: it counts towards ``failure_threshold`` and nothing else.
  * The comparison is between SHA-256 hashes of the normalised text (UTF-8), computed under the
    source's current rules; no previous hash means a baseline.
  * A register (ecfr, federal-register, feed) reports each entry id it has not reported before
    (RegisterEntryAdded); its listing is a change (SourceChanged) only when a line that was
    there is gone or altered, since additions are already reported as entries.
  * The diff in an event is unified, of the normalised text (so ignored text stays out), and
    bounded (``DIFF_MAX_LINES`` lines, ``DIFF_MAX_BYTES`` bytes); the full text stays derivable
    from the raw snapshot kept for every version.
  * Idempotency keys make a replayed check (after a crash, or two checkers at once) write
    nothing twice: they are built from the source id, the hashes and the stream version the
    decision was taken at.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

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


def listing_line(entry_id: str, date: str, title: str) -> str:
    """One line of a register's listing text (what is hashed and diffed for a register)."""
    flat = " ".join(title.split())
    return f"{entry_id} | {date} | {flat}"


def listing_changed_beyond_additions(old_text: str, new_text: str) -> bool:
    """True when a line of the old listing is missing from the new one (an edit or a removal)."""
    new_lines = set(new_text.split("\n"))
    return any(line not in new_lines for line in old_text.split("\n") if line)


# -- failures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureStep:
    state: str
    failures: int
    unreachable: bool    # emit SourceUnreachable now (the streak just reached the threshold)


def after_failure(failures_before: int, error_class: str, threshold: int) -> FailureStep:
    """The state after one more failed check. A bot challenge is its own state at once."""
    failures = failures_before + 1
    if error_class == "blocked":
        state = "blocked"
    else:
        state = "unreachable" if failures >= threshold else "failing"
    return FailureStep(state, failures, failures == threshold)


def recovers(failures_before: int, threshold: int) -> bool:
    """A success after a streak that was reported unreachable is reported as a recovery."""
    return failures_before >= threshold


# -- idempotency keys -------------------------------------------------------------------------


def baseline_key(source_id: str) -> str:
    return f"baseline:{source_id}"


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
