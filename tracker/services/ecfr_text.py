"""What changed in a regulation's text, not only that it changed: eCFR text at two dates.

When the eCFR versions list of a part shows new section versions, the part's text is fetched
from the versioner (``full/{date}/title-N.xml?part=P``) on the new amendment date and on the
latest date known before it, and each new section version gets a bounded unified diff of that
section's text. The diff rides in the section's RegisterEntryAdded (``text_diff``,
``text_diff_truncated``, ``text_from``). A text that cannot be fetched or read leaves the entry
without a diff (``text_error`` says why): the entry is reported all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tracker.domain.changes import unified_diff
from tracker.errors import FetchError
from tracker.fetching import Entry, FetchRequest
from tracker.fetching.registers import ecfr

if TYPE_CHECKING:
    from tracker.fetching import Fetcher  # the client is imported only when a check fetches

log = logging.getLogger(__name__)

MAX_DATES = 4           # new amendment dates diffed per check, at most (each costs two fetches)
TEXT_DIFF_MAX_LINES = 120
TEXT_DIFF_MAX_BYTES = 12 * 1024


async def _sections(fetcher: Fetcher, source_id: str, url: str, respect_robots: bool) -> dict[str, str]:
    result = await fetcher.fetch(FetchRequest(source_id, url, "text", respect_robots=respect_robots))
    if not result.ok:
        raise FetchError(result.error_class or "unknown", f"{url}: {result.error}")
    return ecfr.section_texts(result.body)


async def text_diffs(
    fetcher: Fetcher, source_id: str, versions_url: str, old: Sequence[Entry] | None, new: Sequence[Entry],
    *, respect_robots: bool = True,
) -> dict[str, dict[str, Any]]:
    """entry_id -> the text diff fields of each section version in ``new`` that ``old`` lacks.

    Nothing at a baseline (``old`` None): the whole history would cost two fetches per date.
    """
    if old is None:
        return {}
    known = {e.entry_id for e in old}
    fresh = [e for e in new if e.entry_id not in known and e.date]
    old_dates = sorted({e.date for e in old if e.date})
    diffs: dict[str, dict[str, Any]] = {}
    texts: dict[str, dict[str, str]] = {}
    for date in sorted({e.date for e in fresh})[-MAX_DATES:]:
        before = [d for d in old_dates if d < date]
        entries = [e for e in fresh if e.date == date]
        if not before:
            continue
        try:
            for day in (before[-1], date):
                if day not in texts:
                    url = ecfr.full_text_url(versions_url, day)
                    if url is None:
                        return {}
                    texts[day] = await _sections(fetcher, source_id, url, respect_robots)
        except FetchError as exc:
            log.warning("source %s: eCFR text on %s not read: %s", source_id, date, exc.message)
            for entry in entries:
                diffs[entry.entry_id] = {"text_error": f"{exc.error_class}: {exc.message}"}
            continue
        for entry in entries:
            section = entry.entry_id.rsplit("@", 1)[0]
            diff = unified_diff(
                texts[before[-1]].get(section, ""), texts[date].get(section, ""),
                old_label=f"{section} on {before[-1]}", new_label=f"{section} on {date}",
                max_lines=TEXT_DIFF_MAX_LINES, max_bytes=TEXT_DIFF_MAX_BYTES,
            )
            diffs[entry.entry_id] = {"text_from": before[-1], "text_diff": diff.text,
                                     "text_diff_truncated": diff.truncated}
    return diffs
