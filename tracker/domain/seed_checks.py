"""Collecting seed problems, and the field checks that name file, item and field in each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.errors import SeedError


class Problems:
    """Every problem found, reported as one line: the first, and how many more."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, file: str, where: str, problem: str) -> None:
        self.messages.append(f"{file}: {where}: {problem}")

    def raise_if_any(self) -> None:
        if self.messages:
            more = len(self.messages) - 1
            suffix = (
                f" (and {more} more problem{'s' if more > 1 else ''}; nothing was written)"
                if more
                else " (nothing was written)"
            )
            raise SeedError(self.messages[0] + suffix)


class ItemChecker:
    """Field checks for one table, each problem naming file, item and field."""

    def __init__(self, file: str, where: str, problems: Problems) -> None:
        self.file, self.where, self.problems = file, where, problems
        self.ok = True

    def bad(self, field_name: str, problem: str) -> None:
        self.ok = False
        self.problems.add(self.file, f"{self.where}: field {field_name!r}", problem)

    def text(self, raw: Mapping[str, Any], key: str, *, required: bool = False, prefix: str = "") -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.bad(prefix + key, "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(prefix + key, f"must be a non-empty string, not {value!r}")
            return None
        return value

    def texts(self, raw: Mapping[str, Any], key: str, prefix: str = "") -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(prefix + key, f"must be a list of strings, not {value!r}")
            return []
        return list(value)

    def unknown(self, raw: Mapping[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
        for key in raw:
            if key not in allowed:
                self.bad(prefix + key, "unknown field")

    def citation(self, value: Any, key: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(key, "must be a table { ref = [..], quote = \"..\" }")
            return None
        for name in value:
            if name not in {"ref", "quote"}:
                self.bad(f"{key}.{name}", "unknown field")
        refs = value.get("ref", [])
        if not isinstance(refs, list) or not all(
            isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in refs
        ):
            self.bad(f"{key}.ref", f"must be a list of reference numbers, not {refs!r}")
        quote = value.get("quote")
        if not isinstance(quote, str) or not quote.strip():
            self.bad(f"{key}.quote", "is required: a short quote from the review")
        return {"ref": refs, "quote": quote}
