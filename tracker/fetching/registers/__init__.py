"""Structured official registers behind one interface: ``parse_entries(kind, body, url)``.

Kinds (an explicit registry, see PARSERS; one module each):
  ecfr              eCFR versioner versions list: one entry per section version.
  federal-register  Federal Register documents.json, every page of it: one entry per document.
  feed              RSS 0.9x/1.0/2.0 or Atom: one entry per item.
  fda-guidance      FDA's guidance table (JSON), rows filtered by the URL fragment.
  ema-medicines     EMA's medicines data download (JSON), ATMPs only.
Each entry carries its official identifier, dates with their precision, type, titles, agency,
links and deadlines (see Entry). Entries come in the order of the document. Content that is
not of the kind raises ``FetchError("undecodable")``; an unknown kind raises ValidationError.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from tracker.errors import ValidationError
from tracker.fetching.registers import ecfr, ema, fda_guidance, federal_register, feeds
from tracker.fetching.registers.common import Entry, date_precision

PARSERS: dict[str, Callable[[bytes, str], list[Entry]]] = {
    ecfr.KIND: ecfr.parse,
    federal_register.KIND: federal_register.parse,
    feeds.KIND: feeds.parse,
    fda_guidance.KIND: fda_guidance.parse,
    ema.KIND: ema.parse,
}


def parse_entries(kind: str, body: bytes, url: str) -> list[Entry]:
    """The entries of a register document of ``kind`` fetched from ``url``."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise ValidationError(f"unknown register kind {kind!r} (one of {', '.join(sorted(PARSERS))})") from None
    # Thousands of cycle-free dicts and tuples: the cyclic collector would walk them again and again
    # (half the time of a 2,000-row FDA table, measured). Paused as tracker.core.collector does it
    # (which fetching may not import): left alone if the application turned it off.
    if not gc.isenabled():
        return parser(body, url)
    gc.disable()
    try:
        return parser(body, url)
    finally:
        gc.enable()


def next_page_url(kind: str, body: bytes) -> str | None:
    """The next page of a paginated register (Federal Register ``next_page_url``), or None."""
    return federal_register.next_page(body) if kind == federal_register.KIND else None


__all__ = ["PARSERS", "Entry", "date_precision", "next_page_url", "parse_entries"]
