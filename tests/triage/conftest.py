"""Fixtures of the triage tests: an App on each backend (tests/monitoring's), a small record, and
register entries recorded as checks record them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.monitoring.conftest import Clock, add, make_settings
from tracker import migrate
from tracker.app import App
from tracker.core import NewEvent, RecordedEvent
from tracker.domain import seed_events as se
from tracker.domain import vocabulary as v
from tracker.domain.seeds import SeedItem

ITEMS: list[dict[str, Any]] = [
    {"id": "us-potency-guidance", "jurisdiction": "US", "kind": "guidance", "title_zh": "细胞和基因治疗产品效力保证",
     "title_en": "Potency Assurance for Cellular and Gene Therapy Products", "urls": []},
    {"id": "us-21-cfr-1271", "jurisdiction": "US", "kind": "regulation", "title_zh": "人体细胞、组织及其制品",
     "title_en": "21 CFR 1271 Human Cells, Tissues, and Cellular and Tissue-Based Products", "urls": []},
    {"id": "cn-cell-therapy-guideline", "jurisdiction": "CN", "kind": "guidance",
     "title_zh": "细胞治疗产品研究与评价技术指导原则", "title_en": "Technical guideline for cell therapy products",
     "urls": ["https://www.cde.org.cn/main/news/viewInfoCommon/abc123"]},
    {"id": "jp-pmd-act", "jurisdiction": "JP", "kind": "law", "title_zh": "药品医疗器械等法",
     "title_en": "Pharmaceuticals and Medical Devices Act", "urls": []},
    {"id": "eu-kymriah", "jurisdiction": "EU", "kind": "product", "title_zh": "Kymriah", "title_en": "Kymriah",
     "urls": []},
]


def seed_item(fields: dict[str, Any]) -> SeedItem:
    record = {"issuer": None, "topics": [], "discipline": None, "citation": {"ref": [], "quote": "q"}, "notes": None,
              "relations": [], "attributes": {}, "seed_file": "test.toml", **fields}
    return SeedItem("test.toml", record, [])


def add_record(app: App, items: list[dict[str, Any]] = ITEMS) -> None:
    meta = {"actor": "test", "cause": "seed:test.toml"}
    app.store.append([se.registration_event(seed_item(item), meta) for item in items])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db_url: str, clock: Clock) -> Iterator[App]:
    application = App(make_settings(db_url), clock=clock)
    migrate.upgrade(application.db)
    add_record(application)
    yield application
    application.close()


def entry_event(source_id: str, entry: Mapping[str, Any], revised: bool = False) -> NewEvent:
    payload = {"id": source_id, "fields": {}, "titles": {}, "links": {}, "dates": {}, "deadlines": {}, "agency": "",
               "type": "", "url": None, **entry}
    payload.setdefault("precision", "day" if len(str(payload.get("date") or "")) == 10 else None)
    kind = v.REGISTER_ENTRY_REVISED if revised else v.REGISTER_ENTRY_ADDED
    return NewEvent(v.source_stream(source_id), kind, payload, metadata={"actor": "test"},
                    idempotency_key=f"test:{kind}:{source_id}:{entry['entry_id']}:{entry.get('type')}:{entry.get('date')}")


def record_entries(app: App, source_id: str, *entries: Mapping[str, Any]) -> list[RecordedEvent]:
    return list(app.store.append([entry_event(source_id, e) for e in entries]))


__all__ = ["Clock", "ITEMS", "add", "add_record", "entry_event", "record_entries", "seed_item"]
