"""Monitored sources: their states, each one's versions, a change side by side, the raw snapshot."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict

from tracker.domain.sources import TROUBLE_STATES
from tracker.errors import NotFoundError, ValidationError
from tracker.services import history, sources_admin
from tracker.web.diffview import side_by_side
from tracker.web.handling import Call, Page
from tracker.web.state import Web
from tracker.web.views import ChangeView, SourceDetail, SourcesView, VersionRow

STATES = ("ok", "suspect", "failing", "unreachable", "blocked", "new")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _source(web: Web, source_id: str) -> sources_admin.SourceView:
    found = [s for s in sources_admin.list_sources(web.app, include_removed=True) if s.id == source_id]
    if not found:
        raise NotFoundError(f"no source {source_id!r}")
    return found[0]


def _source_json(source: sources_admin.SourceView) -> dict[str, object]:
    return {**asdict(source), "needs_manual_check": source.needs_manual_check}


def sources(web: Web, call: Call) -> Page:
    state = call.param("state") or ""
    if state and state not in (*STATES, "failing", "manual"):
        raise ValidationError(f"state: {state!r} is not one of {', '.join(STATES)} or manual")
    listed = sources_admin.list_sources(web.app)
    counts = Counter(s.state for s in listed)
    if state == "manual":
        shown = [s for s in listed if s.needs_manual_check]
    elif state == "failing":
        shown = [s for s in listed if s.state in TROUBLE_STATES]
    else:
        shown = [s for s in listed if not state or s.state == state]
    view = SourcesView(tuple(shown), state, {name: counts.get(name, 0) for name in STATES})
    return Page(
        "sources.html", "Sources 来源", view, {"counts": view.counts, "sources": [_source_json(s) for s in shown]}
    )


def source(web: Web, call: Call) -> Page:
    found = _source(web, call.path["source_id"])
    versions = history.list_versions(web.app, found.id)
    rows = tuple(VersionRow(v.id, v.fetched_at, v.position, v.content_hash, v.snapshot) for v in reversed(versions))
    view = SourceDetail(found, rows)
    data = {"source": _source_json(found), "versions": [asdict(row) for row in rows]}
    return Page("source.html", f"Source {found.id}", view, data)


def _version_id(call: Call) -> int:
    text = call.path["version_id"]
    if not text.isdigit() or len(text) > 18:
        raise ValidationError(f"{text!r} is not a version number")
    return int(text)


def change(web: Web, call: Call) -> Page:
    found = _source(web, call.path["source_id"])
    texts = history.change_texts(web.app, found.id, _version_id(call))
    diff = side_by_side(texts.old_text, texts.new_text)
    data = {"source_id": found.id, "old": asdict(texts.old) if texts.old else None, "new": asdict(texts.new),
            "old_text": texts.old_text, "new_text": texts.new_text,
            "added": diff.added, "removed": diff.removed, "changed": diff.changed}
    return Page("change.html", f"Change of {found.id}", ChangeView(found, texts, diff), data)


def snapshot(web: Web, call: Call) -> tuple[bytes, str]:
    """The raw body of one version and a file name for it (served as a download, never rendered)."""
    source_id = call.path["source_id"]
    version_id = _version_id(call)
    snap = history.raw_snapshot(web.app, source_id, version_id)
    kind = snap.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    extension = {"text/html": "html", "application/pdf": "pdf", "application/json": "json", "text/plain": "txt",
                 "application/xml": "xml", "text/xml": "xml"}.get(kind, "bin")
    return snap.body, f"{_SAFE_NAME.sub('_', source_id)}-v{version_id}.{extension}"
