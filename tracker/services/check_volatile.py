"""Volatile lines: told apart from a real change by a second, immediate fetch, once per page.

A page may carry lines that change on every request (a timestamp, a request id). The first time
a page's text differs from its accepted version, the page is fetched again at once: lines that
differ between those two immediate fetches are volatile, become ignore patterns
(SourceVolatileIgnored) and are applied to this check, so that what is compared with the
accepted version is what a person would call the page. A source is probed once (its state's
``volatile_probed``); a page that never changes is never fetched twice (issue 18: fetching every
page twice at its baseline made a first run take 3x the floor).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from tracker.domain import changes
from tracker.domain.sources import PAGE_KINDS, Source
from tracker.errors import FetchError
from tracker.fetching import FetchRequest, FetchResult
from tracker.services.content import derive
from tracker.services.recording import Work

log = logging.getLogger(__name__)


def probe_due(source: Source, state: Any, work: Work) -> bool:
    """A page not yet probed whose text, just derived, differs from its accepted version."""
    return (source.kind in PAGE_KINDS and state is not None and state.content_hash is not None
            and not state.volatile_probed and work.error_class is None and work.content_hash is not None
            and work.content_hash != state.content_hash)


def again_request(request: FetchRequest, first: FetchResult) -> FetchRequest:
    """The second fetch: conditional on the first answer's strong ETag, if it had one.

    A 304 to it says the bytes are the same (a strong validator promises byte-identical bodies),
    so nothing is volatile and no body is sent or normalised again; a weak ETag or a Last-Modified
    date promises less, and the page is fetched whole.
    """
    etag = first.headers.get("etag")
    strong = etag if etag and not etag.startswith(("W/", "w/")) else None
    return dataclasses.replace(request, etag=strong, last_modified=None)


def apply_probe(work: Work, again: FetchResult) -> None:
    """Lines the second fetch changed become ignore patterns, applied to this check (in a worker thread).

    The probe counts as done when the second fetch answered (a 304 or a body); after a failure the
    page is probed at its next change instead.
    """
    if again.outcome not in ("ok", "not_modified"):
        return
    work.probed = True
    source, result = work.source, work.result
    if not again.ok or work.content is None or again.body == result.body:
        return      # the same bytes give the same text: nothing volatile, and no second normalising
    try:
        other = derive(source.rules, again.body, again.headers, again.final_url or source.url)
        patterns = changes.volatile_patterns(work.content.text, other.text)
        if not patterns:
            return
        ignoring = source.with_volatile(source.volatile + patterns)
        content = derive(ignoring.rules, result.body, result.headers, result.final_url or source.url)
    except FetchError:
        return
    log.info("source %s: %d volatile line(s) are ignored from now on", source.id, len(patterns))
    work.source = ignoring
    work.volatile = patterns
    work.content = content
    work.content_hash = changes.content_hash(content.text)
    # Derived under the rules before the probe: recording reads the accepted version again under the new ones.
    work.previous = work.previous_snapshot = work.previous_body = None
