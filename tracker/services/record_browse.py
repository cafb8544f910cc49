"""Browse the record: items filtered by jurisdiction, kind, status and topic, searched by words in
either language, a page at a time (the web interface's record page and ``/api/items``).

Reads the record projection only; callers bring it up to date first (``App.fresh("record")``).
Words match the id, the Chinese title and the English title (case-insensitive for Latin script);
every word must match somewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tracker.core import EventStore
from tracker.domain import vocabulary as v
from tracker.domain.dates import precision_of
from tracker.errors import ValidationError
from tracker.schema.read_models import record_items

PAGE_SIZE = 100
MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: str
    kind: str
    jurisdiction: str
    title_zh: str
    title_en: str
    status: str | None
    status_date: str | None
    topics: tuple[str, ...]
    url: str  # the official link ("" when the record has none)

    @property
    def precision(self) -> str | None:
        return precision_of(self.status_date)

    def as_json(self) -> dict[str, Any]:
        precision = self.precision
        return {"id": self.id, "kind": self.kind, "jurisdiction": self.jurisdiction, "title_zh": self.title_zh,
                "title_en": self.title_en, "status": self.status, "status_date": self.status_date,
                "date_known": bool(self.status_date), "precision": precision,
                "approximate": precision is not None and precision != "day", "topics": list(self.topics),
                "url": self.url or None}


@dataclass(frozen=True, slots=True)
class ItemQuery:
    jurisdiction: str | None = None
    kind: str | None = None
    status: str | None = None
    topic: str | None = None
    q: str = ""
    page: int = 1

    def words(self) -> list[str]:
        found = self.q.split()
        if len(found) > MAX_WORDS:
            raise ValidationError(f"search at most {MAX_WORDS} words at once")
        return found


@dataclass(frozen=True, slots=True)
class ItemPage:
    query: ItemQuery
    rows: tuple[ItemRow, ...]
    total: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def as_json(self) -> dict[str, Any]:
        return {"total": self.total, "page": self.query.page, "pages": self.pages, "page_size": self.page_size,
                "items": [row.as_json() for row in self.rows]}


def _first_url(attributes: dict[str, Any]) -> str:
    urls = attributes.get("urls")
    if isinstance(urls, list):
        return next((u for u in urls if isinstance(u, str) and u.startswith(("http://", "https://"))), "")
    return urls if isinstance(urls, str) and urls.startswith(("http://", "https://")) else ""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(query: ItemQuery) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if query.jurisdiction:
        found.append(record_items.c.jurisdiction == query.jurisdiction.upper())
    if query.kind == "instrument":
        found.append(record_items.c.kind.in_(sorted(v.INSTRUMENT_KINDS)))
    elif query.kind:
        found.append(record_items.c.kind == query.kind)
    if query.status:
        found.append(record_items.c.status == query.status)
    if query.topic:
        found.append(record_items.c.topics.like(_like(json.dumps(query.topic)), escape="\\"))
    for word in query.words():
        pattern = _like(word.lower())
        found.append(sa.or_(
            sa.func.lower(record_items.c.id).like(pattern, escape="\\"),
            record_items.c.title_zh.like(_like(word), escape="\\"),
            sa.func.lower(record_items.c.title_en).like(pattern, escape="\\"),
        ))
    return found


def browse(store: EventStore, query: ItemQuery, *, page_size: int = PAGE_SIZE) -> ItemPage:
    """One page of the items that match, by jurisdiction and id."""
    if query.page < 1:
        raise ValidationError("page numbers start at 1")
    where = _conditions(query)
    columns = (record_items.c.id, record_items.c.kind, record_items.c.jurisdiction, record_items.c.title_zh,
               record_items.c.title_en, record_items.c.status, record_items.c.status_date, record_items.c.topics,
               record_items.c.attributes)
    with store.db.read() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(record_items).where(*where)).scalar_one())
        rows = conn.execute(
            sa.select(*columns).where(*where).order_by(record_items.c.jurisdiction, record_items.c.id)
            .limit(page_size).offset((query.page - 1) * page_size)
        ).all()
    return ItemPage(query, tuple(
        ItemRow(r.id, r.kind, r.jurisdiction, r.title_zh, r.title_en, r.status, r.status_date,
                tuple(json.loads(r.topics)), _first_url(json.loads(r.attributes)))
        for r in rows
    ), total, page_size)


def facets(store: EventStore) -> dict[str, list[str]]:
    """The values the filters can take, as the record holds them now."""
    with store.db.read() as conn:
        jurisdictions = sorted(conn.execute(sa.select(record_items.c.jurisdiction).distinct()).scalars())
        kinds = sorted(conn.execute(sa.select(record_items.c.kind).distinct()).scalars())
        statuses = sorted(s for s in conn.execute(sa.select(record_items.c.status).distinct()).scalars() if s)
    return {"jurisdiction": jurisdictions, "kind": kinds, "status": statuses}
