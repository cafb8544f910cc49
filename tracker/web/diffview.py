"""A side-by-side diff of two normalised texts, changed characters marked within changed lines.

Character-level marking suits Chinese and Japanese text, which has no spaces to split words on: a
one-character edit in a long line of 汉字 shows as that character. Long unchanged runs are folded
to a few lines of context. Segments are plain text; the template escapes them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from itertools import zip_longest

CONTEXT = 3
MAX_ROWS = 4000
MAX_CHAR_DIFF = 3000  # longer lines are marked whole (SequenceMatcher is quadratic in the worst case)

Segment = tuple[str, bool]  # (text, changed)


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "same", "changed", "added", "removed", "fold"
    old_no: int | None
    old: tuple[Segment, ...]
    new_no: int | None
    new: tuple[Segment, ...]
    folded: int = 0  # lines hidden by a "fold" row


@dataclass(frozen=True, slots=True)
class SideBySide:
    rows: tuple[Row, ...]
    added: int
    removed: int
    changed: int
    truncated: bool


def _chars(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    if len(old) > MAX_CHAR_DIFF or len(new) > MAX_CHAR_DIFF:
        return ((old, True),), ((new, True),)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if a2 > a1:
            left.append((old[a1:a2], op != "equal"))
        if b2 > b1:
            right.append((new[b1:b2], op != "equal"))
    return tuple(left), tuple(right)


def _fold(rows: list[Row]) -> list[Row]:
    """Unchanged runs longer than twice the context keep CONTEXT lines each side of a change."""
    kept: list[Row] = []
    run: list[Row] = []

    def flush(last: bool) -> None:
        first = not kept
        head = 0 if first else CONTEXT
        tail = 0 if last else CONTEXT
        if len(run) > head + tail + 1:
            kept.extend(run[:head])
            kept.append(Row("fold", None, (), None, (), folded=len(run) - head - tail))
            kept.extend(run[len(run) - tail:] if tail else [])
        else:
            kept.extend(run)
        run.clear()

    for row in rows:
        if row.kind == "same":
            run.append(row)
            continue
        flush(last=False)
        kept.append(row)
    flush(last=True)
    return kept


def side_by_side(old_text: str, new_text: str) -> SideBySide:
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    rows: list[Row] = []
    added = removed = changed = 0
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(Row("same", a1 + i + 1, ((line, False),), b1 + i + 1, ((line, False),))
                        for i, line in enumerate(old_lines[a1:a2]))
            continue
        pairs = zip_longest(range(a1, a2), range(b1, b2))
        for a, b in pairs:
            if a is not None and b is not None:
                left, right = _chars(old_lines[a], new_lines[b])
                rows.append(Row("changed", a + 1, left, b + 1, right))
                changed += 1
            elif a is not None:
                rows.append(Row("removed", a + 1, ((old_lines[a], True),), None, ()))
                removed += 1
            elif b is not None:
                rows.append(Row("added", None, (), b + 1, ((new_lines[b], True),)))
                added += 1
    folded = _fold(rows)
    truncated = len(folded) > MAX_ROWS
    return SideBySide(tuple(folded[:MAX_ROWS]), added, removed, changed, truncated)
