"""Counted nouns for people to read: "1 item", "3 items", "1 entry", "2 entries", never "1 items"."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
