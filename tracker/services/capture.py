"""Manual capture: a page an operator saved in a browser becomes a source's next version.

Official pages that answer automated clients with a bot challenge (NMPA, CDE) stay ``blocked``:
a person opens them in a browser, saves the page (HTML or PDF) and records it with

    tracker sources capture src-nmpa-drug-regulation-news saved.html --fetched-at 2026-12-01T09:30:00Z

The file goes through the same normalisation, diff and change detection as a fetched body,
under the source's rules, and its events say who brought it: actor ``operator``, cause
``capture:<source>``, and a ``capture`` object in SourceBaselined / SourceChanged (the URL the
page was saved from and when). A capture does not pretend the site answered: the source's state
(blocked, its failure count, when it is next due) stays as the automatic checks left it; only
the accepted version moves, so the next automatic success compares with the captured page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from tracker.app import App
from tracker.domain import changes
from tracker.domain.sources import validate_url
from tracker.errors import FetchError, ValidationError
from tracker.fetching import FetchResult
from tracker.services import snapshots
from tracker.services.content import derive
from tracker.services.recording import SourceOutcome, Work, record_batch
from tracker.services.sources_admin import get_source

MAX_CAPTURE_BYTES = 50 * 1024 * 1024


def parse_fetched_at(text: str) -> datetime:
    """An ISO instant with a zone (2026-12-01T09:30:00Z or +08:00); ValidationError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"--fetched-at {text!r} is not an ISO date-time like 2026-12-01T09:30:00Z") from None
    if moment.tzinfo is None:
        raise ValidationError(f"--fetched-at {text!r} has no time zone: add Z or an offset such as +08:00")
    return moment.astimezone(UTC)


def _content_type(body: bytes, name: str) -> str:
    if body.lstrip()[:5] == b"%PDF-":
        return "application/pdf"
    return "text/html" if not name.lower().endswith((".txt", ".json", ".xml")) else "text/plain"


def capture(
    app: App, source_id: str, path: Path, *, url: str | None = None, fetched_at: datetime | None = None,
) -> SourceOutcome:
    """Record the saved page at ``path`` as ``source_id``'s next version; everything is checked
    (the source, the file, the URL, the time, that the body reads as the source's kind) before
    anything is written."""
    source = get_source(app, source_id)
    if url is not None:
        url = validate_url(url)
    when = fetched_at or app.clock()
    if when > app.clock():
        raise ValidationError(f"--fetched-at {when.isoformat()} is in the future")
    try:
        size = path.stat().st_size
        if size > MAX_CAPTURE_BYTES:
            raise ValidationError(f"{path}: {size} bytes is above the capture limit of {MAX_CAPTURE_BYTES}")
        body = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not body.strip():
        raise ValidationError(f"{path}: the file is empty")
    content_type = _content_type(body, path.name)
    rules = source.rules
    if content_type == "application/pdf" and source.kind != "pdf":
        # A page printed to PDF: read as a PDF, the source's ignore patterns still apply.
        rules = type(rules)("pdf", None, rules.ignore)
    headers = {"content-type": content_type}
    try:
        content = derive(rules, body, headers, url or source.url)
    except FetchError as exc:
        raise ValidationError(f"{path}: not readable as {rules.kind} ({exc.message})") from None
    result = FetchResult(source.id, url or source.url, url or source.url, "ok", None, headers, body)
    work = Work(source, result, when, 0)
    work.body_hash = changes.body_hash(body)
    work.content = content
    work.content_hash = changes.content_hash(content.text)
    work.compressed = snapshots.compress(body)
    work.capture = {"url": url or source.url, "saved_at": when.isoformat().replace("+00:00", "Z")}
    (outcome,) = record_batch(app.store, [work], threshold=app.settings.fetch.failure_threshold,
                              correlation_id=f"capture-{uuid.uuid4().hex[:12]}")
    return outcome
