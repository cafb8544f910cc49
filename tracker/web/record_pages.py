"""The record, one item with its history, and the bitemporal replay: HTML pages and /api twins."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from tracker.domain import choices
from tracker.domain.record import structure_lines
from tracker.errors import NotFoundError, ValidationError
from tracker.services import history as source_history
from tracker.services import record_browse, record_queries
from tracker.services import replay as replay_service
from tracker.services.record_browse import ItemQuery
from tracker.web.handling import Call, Page
from tracker.web.state import Web
from tracker.web.views import ItemDetail, PageChange, RecordView, ReplayView, TimelineStep, link, world

PAGE_CHANGES_SHOWN = 10  # per monitored page, newest first


def _jurisdiction(call: Call) -> str | None:
    value = call.param("jurisdiction")
    return choices.jurisdictions([value], "jurisdiction")[0] if value else None


def _kind(call: Call) -> str | None:
    value = call.param("kind")
    return choices.kinds([value], "kind", groups=True)[0] if value else None


def _page_number(call: Call) -> int:
    value = call.param("page") or "1"
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise ValidationError(f"page: {value!r} is not a page number")
    return int(value)


def record(web: Web, call: Call) -> Page:
    query = ItemQuery(jurisdiction=_jurisdiction(call), kind=_kind(call), status=call.param("status"),
                      topic=call.param("topic"), q=call.param("q") or "", page=_page_number(call))
    web.app.fresh("record")
    store = web.app.store
    found = record_browse.browse(store, query)
    view = RecordView(found, record_browse.facets(store), query)
    return Page("record.html", "Record 记录", view, found.as_json())


def _page_changes(web: Web, sources: list[dict[str, object]]) -> tuple[PageChange, ...]:
    found: list[PageChange] = []
    for source in sources:
        try:
            versions = source_history.list_versions(web.app, str(source["id"]))
        except NotFoundError:
            continue  # removed since the record was read: nothing to show for it
        found.extend(PageChange(v.source_id, v.id, v.fetched_at, v.position, i == 0)
                     for i, v in list(enumerate(versions))[-PAGE_CHANGES_SHOWN:])
    return tuple(sorted(found, key=lambda c: c.fetched_at, reverse=True))


def item(web: Web, call: Call) -> Page:
    item_id = call.path["item_id"]
    web.app.fresh("record", "sources")
    store = web.app.store
    shown = record_queries.show(store, item_id)
    history = record_queries.history(store, item_id)
    attributes = shown.item["attributes"]
    citation = attributes.get("citation") or {}
    urls = attributes.get("urls") or []
    view = ItemDetail(
        item=shown.item, status_world=world(shown.item["status_date"]),
        urls=tuple(u for u in (urls if isinstance(urls, list) else [urls])
                   if isinstance(u, str) and u.startswith(("https://", "http://"))),
        citation=str(citation.get("quote") or "") if isinstance(citation, dict) else str(citation),
        notes=str(attributes.get("notes") or ""), structure=tuple(structure_lines(attributes)),
        steps=tuple(shown.steps), relations=tuple(shown.relations),
        related_by=tuple(shown.related_by), sources=tuple(shown.sources),
        timeline=tuple(TimelineStep.of(entry) for entry in history), head_position=store.head().position,
        today=web.app.clock().date().isoformat(), page_changes=_page_changes(web, shown.sources),
    )
    data = {**shown.as_json(), "history": [entry.as_json() for entry in history],
            "page_changes": [{"source_id": c.source_id, "version": c.version_id, "fetched_at": c.fetched_at,
                              "position": c.position, "first": c.first} for c in view.page_changes]}
    return Page("item.html", f"{shown.item['title_zh']} / {shown.item['title_en']}", view, data)


def parse_as_of(text: str) -> int | datetime:
    """A log position, a day (its end, UTC) or an ISO time (UTC when no offset is given)."""
    text = text.strip()
    if text.isdigit():
        if len(text) > 18:
            raise ValidationError(f"as_of: {text!r} is not a log position")
        return int(text)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"as_of: {text!r} is neither a log position, a date (YYYY-MM-DD) nor an ISO time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay(web: Web, call: Call) -> Page:
    as_of_text, valid_text = call.param("as_of") or "", call.param("valid_at") or ""
    jurisdiction, kind = _jurisdiction(call), _kind(call)
    as_of = parse_as_of(as_of_text) if as_of_text else None
    valid_at = choices.day(valid_text, "valid_at") if valid_text else None
    store = web.app.store
    ran = call.url.startswith("/api/") or bool(as_of_text or valid_text or jurisdiction or kind or call.param("run"))
    position = replay_service.resolve_as_of(store, as_of)
    states = replay_service.replay(store, as_of, valid_at, jurisdiction, kind) if ran else []
    day = (valid_at or web.app.clock().date()).isoformat()
    view = ReplayView(as_of_text, valid_text, jurisdiction or "", kind or "", position, tuple(states),
                      link("/replay", as_of=as_of_text or str(position), valid_at=day, jurisdiction=jurisdiction,
                           kind=kind),
                      ran)
    data = {"as_of": as_of_text or None, "as_of_position": position, "valid_at": day,
            "jurisdiction": jurisdiction, "kind": kind, "items": [s.as_json() for s in states]}
    return Page("replay.html", "Replay 回放", view, data)
