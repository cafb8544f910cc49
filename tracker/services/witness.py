"""Witness check: does today's log still hold the head an old digest or changelog was made from?

Every digest (.eml: the X-Tracker-Head header and a footer line in both parts), Atom feed and
changelog (Markdown or HTML: a "Log head: position N, hash H" line) states the (position, hash) it
was made from. The check recomputes the whole chain (so no row was edited) and then requires the
event at that position to carry exactly that hash: history rewritten after the file went out fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.core import GENESIS_HASH, EventStore, verify_rows
from tracker.errors import ExportFileError, IntegrityError
from tracker.mail import witness_texts
from tracker.services.auditing import read_export

_LINE_RE = re.compile(r"Log head: position (\d+), hash ([0-9a-f]{64})")
_HEADER_RE = re.compile(r"^\s*(\d+)\s+([0-9a-f]{64})\s*$")


@dataclass(frozen=True, slots=True)
class WitnessReport:
    path: Path
    position: int
    hash: str
    log_head_position: int


def read_witness(path: Path) -> tuple[int, str]:
    """The (position, hash) a file states; ExportFileError if it states none or several."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror}") from None
    found: set[tuple[int, str]] = set()
    if path.suffix.lower() == ".eml" or data[:4096].lower().find(b"x-tracker-head:") >= 0:
        for text in witness_texts(data):
            header = _HEADER_RE.match(text)
            if header:
                found.add((int(header.group(1)), header.group(2)))
            found.update((int(p), h) for p, h in _LINE_RE.findall(text))
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExportFileError(f"{path}: not UTF-8 text: {exc.reason}") from None
        found.update((int(p), h) for p, h in _LINE_RE.findall(text))
    if not found:
        raise ExportFileError(f"{path}: states no log head (expected an .eml digest, an Atom feed or a changelog)")
    if len(found) > 1:
        heads = ", ".join(f"{p} {h[:12]}" for p, h in sorted(found))
        raise ExportFileError(f"{path}: states more than one log head ({heads})")
    return found.pop()


def verify_witness(store: EventStore, path: Path) -> WitnessReport:
    """Verify the chain, then that the stated head is still in it; IntegrityError names the position."""
    return _against(store.rows(), path, "the log")


def verify_witness_export(export: Path, path: Path) -> WitnessReport:
    """The same check against an export file (`tracker verify --file EXPORT --witness FILE`)."""
    return _against(read_export(export), path, f"the export {export.name}")


def verify_witness_text(store: EventStore, text: str) -> WitnessReport:
    """The same check for a pasted witness: text holding one "Log head: position N, hash H" line
    (or the two values of an X-Tracker-Head header)."""
    header = _HEADER_RE.match(text.strip())
    found = {(int(header.group(1)), header.group(2))} if header else set()
    found.update((int(p), h) for p, h in _LINE_RE.findall(text))
    if not found:
        raise ExportFileError('the text states no log head (expected a line "Log head: position N, hash H")')
    if len(found) > 1:
        raise ExportFileError("the text states more than one log head; paste one")
    position, digest = found.pop()
    return _stated(store.rows(), position, digest, Path("pasted text"), "the log")


def _against(rows: Iterable[Sequence[Any]], path: Path, what: str) -> WitnessReport:
    position, digest = read_witness(path)
    return _stated(rows, position, digest, path, what)


def _stated(rows: Iterable[Sequence[Any]], position: int, digest: str, path: Path, what: str) -> WitnessReport:
    seen: list[str] = []

    def watched() -> Iterator[Sequence[Any]]:  # one pass: the chain verified, the stated row noted
        for row in rows:
            if row[0] == position:
                seen.append(row[11])
            yield row

    report = verify_rows(watched())
    if not report.ok:
        assert report.bad_position is not None and report.problem is not None
        raise IntegrityError(report.bad_position, report.problem)
    if position > report.head_position:
        raise IntegrityError(position, f"the witness {path.name} names position {position}, "
                                       f"but {what} ends at {report.head_position}: history was cut")
    stored = GENESIS_HASH if position == 0 else (seen[0] if seen else None)
    if stored != digest:
        raise IntegrityError(position, f"the witness {path.name} holds hash {digest}, {what} now has {stored}: "
                                       "history was rewritten after it was made")
    return WitnessReport(path, position, digest, report.head_position)
