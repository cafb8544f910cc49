"""Operators' use cases on sources: add, remove, list. Each change is an event; history stays.

Seeds register their sources themselves (SourceRegistered with origin "seed"); an operator's
source has origin "operator". Bad input is refused with one line naming the field, before
anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from tracker.app import App
from tracker.core import NewEvent
from tracker.domain import vocabulary as v
from tracker.domain.sources import TROUBLE_STATES, Source, id_from_url, validate_id, validate_text, validate_url
from tracker.errors import NotFoundError, ValidationError
from tracker.schema.operational import source_state
from tracker.schema.read_models import sources
from tracker.services.content import validate_rules


@dataclass(frozen=True)
class SourceView:
    """A source with what its last check found (for `tracker sources list` and the digests)."""

    id: str
    url: str
    kind: str
    title: str
    jurisdiction: str | None
    tags: tuple[str, ...]
    items: tuple[str, ...]
    active: bool
    origin: str
    every_seconds: int | None
    state: str
    last_checked_at: str | None
    next_due_at: str | None
    consecutive_failures: int
    last_status: int | None
    last_error_class: str | None
    last_error: str | None
    volatile: tuple[str, ...] = ()    # ignore patterns proposed at the first change (revocable)

    @property
    def needs_manual_check(self) -> bool:
        """A bot challenge stands between us and the page: a person must look at it."""
        return self.state == "blocked"


def _cli_metadata(command: str) -> dict[str, str | None]:
    return {"actor": "operator", "cause": f"cli:{command}", "correlation_id": None, "causation_id": None}


def _row(app: App, source_id: str) -> sa.Row | None:  # type: ignore[type-arg]
    with app.db.read() as conn:
        return conn.execute(sa.select(sources).where(sources.c.id == source_id)).first()


def get_source(app: App, source_id: str) -> Source:
    """The active source ``source_id`` (NotFoundError otherwise)."""
    from tracker.projections.sources import row_to_source

    try:
        validate_id(source_id)
    except ValidationError as exc:
        raise NotFoundError(f"no source: {exc}") from None
    app.fresh("sources")
    row = _row(app, source_id)
    if row is None:
        raise NotFoundError(f"no source {source_id!r} (see `tracker sources list`)")
    if not row.active:
        raise NotFoundError(f"source {source_id!r} was removed")
    return row_to_source(row)


def add_source(
    app: App,
    url: str,
    *,
    source_id: str | None = None,
    kind: str = "html",
    select: str | None = None,
    ignore: Sequence[str] = (),
    every: str | None = None,
    tags: Sequence[str] = (),
    items: Sequence[str] = (),
    title: str = "",
    jurisdiction: str | None = None,
    respect_robots: bool = True,
    origin: str = "operator",
) -> Source:
    """Register a source (SourceRegistered); refuses a bad field or an id already in use."""
    url = validate_url(url)     # first: the default id is made from it
    source = Source(
        id=source_id or id_from_url(url), url=url, kind=kind, jurisdiction=jurisdiction, title=title,
        items=tuple(items), tags=tuple(tags), select=select or None, ignore=tuple(ignore), every=every,
        respect_robots=respect_robots, origin=origin,
    )
    validate_rules(source.rules)
    app.fresh("sources")
    existing = _row(app, source.id)
    if existing is not None and existing.active:
        raise ValidationError(f"source {source.id!r} already exists (for {existing.url}); choose another --id")
    stream = v.source_stream(source.id)
    app.store.append(
        [NewEvent(stream, v.SOURCE_REGISTERED, source.to_payload(), _cli_metadata("sources add"),
                  schema_version=app.store.upcaster.current_version(v.SOURCE_REGISTERED))],
        expect={stream: app.store.stream_version(stream)},
    )
    app.fresh("sources")
    return source


def remove_source(app: App, source_id: str, reason: str = "") -> None:
    """Stop checking a source (SourceRemoved); its events, snapshots and versions stay."""
    validate_text(reason, "--reason")
    get_source(app, source_id)
    stream = v.source_stream(source_id)
    app.store.append(
        [NewEvent(stream, v.SOURCE_REMOVED, {"id": source_id, "reason": reason}, _cli_metadata("sources remove"))],
        expect={stream: app.store.stream_version(stream)},
    )
    app.fresh("sources")


def adopt_rules(app: App, source_id: str, select: str | None, ignore: Sequence[str], reason: str = "") -> Source:
    """Record new noise rules for a source (SourceRulesAdopted); later checks compare under them."""
    validate_text(reason, "--reason")
    source = get_source(app, source_id).with_rules(select or None, ignore)
    validate_rules(source.rules)
    stream = v.source_stream(source_id)
    app.store.append(
        [NewEvent(stream, v.SOURCE_RULES_ADOPTED,
                  {"id": source_id, "select": source.select, "ignore": list(source.ignore), "reason": reason},
                  _cli_metadata("sources try --adopt"))],
        expect={stream: app.store.stream_version(stream)},
    )
    app.fresh("sources")
    return source


def revoke_volatile(app: App, source_id: str, patterns: Sequence[str] = (), reason: str = "") -> tuple[str, ...]:
    """Take back volatile-line patterns proposed at the first change (all of them by default):
    SourceVolatileRevoked. Returns the patterns revoked."""
    validate_text(reason, "--reason")
    source = get_source(app, source_id)
    unknown = [p for p in patterns if p not in source.volatile]
    if unknown:
        raise NotFoundError(f"source {source_id!r} ignores no volatile pattern {unknown[0]!r} "
                            f"(it has {list(source.volatile)})")
    revoked = tuple(patterns) or source.volatile
    if not revoked:
        raise NotFoundError(f"source {source_id!r} has no volatile-line patterns to revoke")
    stream = v.source_stream(source_id)
    app.store.append(
        [NewEvent(stream, v.SOURCE_VOLATILE_REVOKED, {"id": source_id, "ignore": list(revoked), "reason": reason},
                  _cli_metadata("sources revoke"))],
        expect={stream: app.store.stream_version(stream)},
    )
    app.fresh("sources")
    return revoked


def list_sources(app: App, state: str | None = None, *, include_removed: bool = False) -> list[SourceView]:
    """Sources with their check state. ``state="failing"`` means any trouble (failing,
    unreachable or blocked); another state name selects exactly that state."""
    app.fresh("sources")
    query = sa.select(sources, source_state).select_from(
        sources.outerjoin(source_state, source_state.c.source_id == sources.c.id)
    ).order_by(sources.c.id)
    if not include_removed:
        query = query.where(sources.c.active.is_(True))
    if state == "failing":
        query = query.where(source_state.c.state.in_(TROUBLE_STATES))
    elif state is not None:
        query = query.where(sa.func.coalesce(source_state.c.state, "new") == state)
    with app.db.read() as conn:
        rows = conn.execute(query).all()
    return [
        SourceView(
            r.id, r.url, r.kind, r.title, r.jurisdiction, tuple(json.loads(r.tags)), tuple(json.loads(r.items)),
            bool(r.active), r.origin, r.every_seconds, r.state or "new", r.last_checked_at, r.next_due_at,
            int(r.consecutive_failures or 0), r.last_status, r.last_error_class, r.last_error,
            tuple(json.loads(r.volatile or "[]")),
        )
        for r in rows
    ]
