"""Fixtures of the digest tests: an App on each backend, a real SMTP server, a small bilingual record."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tracker import migrate
from tracker.app import App
from tracker.core import Database, NewEvent, RecordedEvent
from tracker.settings import load_settings

CN_TITLE = "细胞治疗产品临床试验技术指导原则"
JP_TITLE = "再生医療等製品の承認申請に関するガイダンス"
SCRIPT = "<script>alert('x')</script>"
DIFF = (
    "--- old\n+++ new\n@@ -1,2 +1,2 @@\n context line\n-旧的通知\n"
    f"+新的通知：{SCRIPT} 生效\n"
)





def make_app(db_url: str, home: Path, **env: str) -> App:
    settings = load_settings(environ={"TRACKER_HOME": str(home), "TRACKER_DATABASE_URL": db_url, **env})
    return App(settings)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    application = make_app(db_url, tmp_path / "home")
    yield application
    application.close()


def register_record(app: App) -> Sequence[RecordedEvent]:
    """A CN guidance, a JP guidance, a US law, and a monitored CN page, as their events."""
    return app.store.append([
        NewEvent("instrument/cn-ct-guideline", "InstrumentRegistered", {
            "id": "cn-ct-guideline", "jurisdiction": "CN", "kind": "guidance", "title_zh": CN_TITLE,
            "title_en": "Technical Guideline for Clinical Trials of Cell Therapy Products",
            "topics": ["cell-therapy"], "urls": ["https://www.cde.org.cn/ct"],
        }),
        NewEvent("instrument/jp-rm-guidance", "InstrumentRegistered", {
            "id": "jp-rm-guidance", "jurisdiction": "JP", "kind": "guidance", "title_zh": "再生医疗产品审批指南",
            "title_en": "Guidance on approval of regenerative medical products", "topics": ["stem-cell"],
        }),
        NewEvent("instrument/us-cures-act", "InstrumentRegistered", {
            "id": "us-cures-act", "jurisdiction": "US", "kind": "law", "title_zh": "21世纪治愈法案",
            "title_en": "21st Century Cures Act", "topics": ["expedited"],
        }),
        NewEvent("source/src-cn-nmpa", "SourceRegistered", {
            "id": "src-cn-nmpa", "url": "https://www.nmpa.gov.cn/notice", "kind": "html", "jurisdiction": "CN",
            "title": "NMPA notices 通知公告", "items": ["cn-ct-guideline"], "tags": ["notices"],
        }),
    ])


def record_changes(app: App) -> Sequence[RecordedEvent]:
    """Steps of each item and a change of the monitored page (with <script> in its fetched text)."""
    return app.store.append([
        NewEvent("instrument/cn-ct-guideline", "InstrumentPublished",
                 {"id": "cn-ct-guideline", "step": "published", "date": "2025-09-28", "note": "国家药监局发布"},
                 valid_from="2025-09-28"),
        NewEvent("instrument/jp-rm-guidance", "InstrumentPublished",
                 {"id": "jp-rm-guidance", "step": "published", "date": "2025-10", "note": JP_TITLE},
                 valid_from="2025-10"),
        NewEvent("instrument/us-cures-act", "InstrumentAmended",
                 {"id": "us-cures-act", "step": "amended", "date": "2016-12-13"}, valid_from="2016-12-13"),
        NewEvent("source/src-cn-nmpa", "SourceChanged", {
            "id": "src-cn-nmpa", "url": "https://www.nmpa.gov.cn/notice", "old_hash": "a" * 64,
            "new_hash": "b" * 64, "diff": DIFF, "diff_truncated": False, "snapshot": "b" * 64, "http": {"status": 200},
        }),
    ])
