"""What a digest says: a welcome first, then one entry per item ordered by what needs action."""

from __future__ import annotations

import json

from tests.digests.conftest import CN_TITLE, DIFF, register_record
from tracker.app import App
from tracker.core import NewEvent
from tracker.services import digesting, subscribing


def test_welcome_then_one_entry_per_item_in_order_of_action(app: App) -> None:
    register_record(app)
    sub = subscribing.subscribe(app, "qa@example.org")
    (welcome,), _ = digesting.render_digests(app)
    assert welcome.subject == "CGT digest (everything): welcome: 3 items of the record match"
    assert (
        "Welcome. This subscription covers everything (weekly digests): 3 items of the record match it today."
        in welcome.text
    )
    assert CN_TITLE not in welcome.text  # a welcome is not a dump of the record
    digesting.run_digests(app, send=False)
    digesting.send_pending(app)

    store = app.store
    store.append(
        [
            NewEvent(
                "source/src-us",
                "SourceRegistered",
                {
                    "id": "src-us",
                    "url": "https://a.example.gov/x",
                    "kind": "html",
                    "jurisdiction": "US",
                    "title": "US page",
                    "items": [],
                    "tags": [],
                },
            ),
            NewEvent(
                "source/src-eu",
                "SourceRegistered",
                {
                    "id": "src-eu",
                    "url": "https://b.example.eu/y",
                    "kind": "html",
                    "jurisdiction": "EU",
                    "title": "EU page",
                    "items": [],
                    "tags": [],
                },
            ),
            NewEvent(
                "fact/us-fact",
                "FactReported",
                {
                    "id": "us-fact",
                    "jurisdiction": "US",
                    "kind": "fact",
                    "title_zh": "RMAT申请",
                    "title_en": "RMAT requests",
                    "topics": [],
                    "metric": "rmat-requests",
                    "value": 471,
                    "unit": "requests",
                    "date": "2025",
                    "step_folded": {"step": "reported", "date": "2025", "date_basis": "conventional"},
                },
                valid_from="2025",
            ),
            NewEvent(
                "instrument/us-cures-act",
                "InstrumentAmended",
                {"id": "us-cures-act", "step": "amended", "date": "2016-12-13"},
                valid_from="2016-12-13",
            ),
            NewEvent(
                "instrument/cn-ct-guideline",
                "InstrumentDrafted",
                {"id": "cn-ct-guideline", "step": "drafted", "date": "2025-03"},
                valid_from="2025-03",
            ),
            NewEvent(
                "instrument/cn-ct-guideline",
                "InstrumentPublished",
                {"id": "cn-ct-guideline", "step": "published", "date": "2025-09-28", "note": "国家药监局发布"},
                valid_from="2025-09-28",
            ),
            *(
                NewEvent(
                    "source/src-cn-nmpa",
                    "SourceChanged",
                    {
                        "id": "src-cn-nmpa",
                        "url": "https://www.nmpa.gov.cn/notice",
                        "old_hash": f"{n:064x}",
                        "new_hash": f"{n + 1:064x}",
                        "diff": DIFF,
                        "diff_truncated": False,
                        "snapshot": f"{n + 1:064x}",
                        "http": {"status": 200},
                    },
                )
                for n in range(2)
            ),
            *(
                NewEvent(
                    f"source/{s}",
                    "SourceUnreachable",
                    {"id": s, "error_class": "dns", "error": f"cannot resolve {s}", "failures": 3},
                )
                for s in ("src-us", "src-eu")
            ),
            NewEvent(
                "source/src-cn-nmpa",
                "SourceUnreachable",
                {"id": "src-cn-nmpa", "error_class": "blocked", "error": "HTTP 412 bot challenge", "failures": 3},
            ),
        ]
    )
    (digest,), _ = digesting.render_digests(app)
    text = digest.text
    assert digest.subject == ("CGT digest (everything): 1 document, 1 status change, 1 page change, 1 figure, "
                              "3 sources failing (US, CN)")
    # One entry per item, its steps listed under it; the status change first.
    assert text.count(CN_TITLE) == 1
    actions = text.split("== Status changes and official documents ==")[1].split("\n== ")[0]
    assert actions.index(CN_TITLE) < actions.index("21st Century Cures Act")
    assert "status change; status now: published, 2025-09-28 (guidance, cn-ct-guideline)" in actions
    assert "  - draft for comment: 2025-03\n  - published: 2025-09-28. 国家药监局发布" in actions
    assert "changed (law, us-cures-act)" in actions
    # Pages not yet tied to an item: one entry per page, with its link and a bounded diff.
    pages = text.split("== Monitored pages that changed (not yet tied to an item) ==")[1].split("\n== ")[0]
    assert "NMPA notices 通知公告: 2 changes observed" in pages and "https://www.nmpa.gov.cn/notice" in pages
    assert "[diff shortened: the latest change only]" in pages
    figures = text.split("== Reported figures ==")[1].split("\n== ")[0]
    assert "reported: 2025 (conventional date)" in figures
    # Failures grouped by class, with counts and hosts, one line each.
    attention = text.split("== Sources needing attention ==")[1].split("\n--")[0]
    assert "* dns: 2 sources unreachable (a.example.gov, b.example.eu)" in attention
    assert "* blocked: 1 source unreachable (www.nmpa.gov.cn)" in attention
    assert "registered" not in text and "1 items" not in text

    preview = json.loads(json.dumps(digesting.preview_json(digest), ensure_ascii=False))
    assert preview["subject"] == digest.subject and preview["subscription"] == sub.id and preview["welcome"] is None
    assert [a["ref_id"] for a in preview["actions"]] == ["cn-ct-guideline", "us-cures-act"]
    assert [s["label"] for s in preview["actions"][0]["steps"]] == ["draft for comment", "published"]
    assert preview["attention"][0] == {"error_class": "dns", "state": "unreachable", "count": 2,
                                       "hosts": ["a.example.gov", "b.example.eu"]}
    assert "unsubscribe_url" not in preview and preview["text"] == text
