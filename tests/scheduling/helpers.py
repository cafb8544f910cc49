"""Helpers of the scheduler tests: registering sources, reading what the serve processes did."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import sqlalchemy as sa

from tests.scheduling.conftest import Pages
from tracker.app import App
from tracker.core import NewEvent
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source

_state = sa.table("source_state", sa.column("source_id", sa.String), sa.column("state", sa.String),
                  sa.column("next_due_at", sa.String), sa.column("claimed_by", sa.String))


def register_sources(app: App, pages: Pages, count: int, *, prefix: str = "page", every: str = "1d") -> list[str]:
    """Serve `count` pages and register one source per page (one append, as seeds do)."""
    ids = []
    events = []
    for number in range(count):
        source_id = f"{prefix}-{number:05d}"
        path = f"/{source_id}"
        pages.set(path, f"<html><body><main><h1>Page {number}</h1><p>细胞治疗 {number}</p></main></body></html>")
        source = Source(
            id=source_id, url=pages.url(path), kind="html", jurisdiction="CN", title=f"Page {number}",
            items=(), tags=("test",), select=None, ignore=(), every=every, respect_robots=False, origin="operator",
        )
        events.append(NewEvent(v.source_stream(source_id), v.SOURCE_REGISTERED, source.to_payload(),
                               {"actor": "test", "cause": "cli:test"}))
        ids.append(source_id)
    for start in range(0, len(events), 1000):
        app.store.append(events[start:start + 1000])
    app.projector.catch_up(only=["sources"])
    return ids


def states(app: App) -> dict[str, str]:
    with app.db.read() as conn:
        return {row.source_id: row.state for row in conn.execute(sa.select(_state.c.source_id, _state.c.state))}


def checked(app: App) -> int:
    """How many sources have been checked at least once (left the state "new")."""
    return sum(1 for state in states(app).values() if state != "new")


def make_due(app: App, source_ids: list[str]) -> None:
    """What an operator's forced re-check amounts to: the sources are due now."""
    with app.db.write() as conn:
        conn.execute(_state.update().where(_state.c.source_id.in_(source_ids)).values(next_due_at=None))


def event_types(app: App) -> Counter[tuple[str, str]]:
    """(type, stream) -> count over the whole log."""
    return Counter((event.type, event.stream) for event in app.store.read())


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def tick_claims(log_text: str) -> int:
    return sum(int(line.get("claimed", 0)) for line in json_lines(log_text) if line.get("job") == "tick")
