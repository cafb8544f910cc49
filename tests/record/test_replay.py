"""Bitemporal replay on the fixture record: valid time with the month-precision rule, record time."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.record.conftest import FIXTURE, Clock
from tracker.core import EventStore, Projector
from tracker.domain.dates import parse_partial, start_of
from tracker.errors import NotFoundError
from tracker.projections.sources import SourcesProjection
from tracker.services import record_queries
from tracker.services.replay import ItemState, replay
from tracker.services.seeding import seed


def states(store: EventStore, **kw) -> dict[str, ItemState]:  # type: ignore[no-untyped-def]
    return {s.id: s for s in replay(store, **kw)}


def status(store: EventStore, item_id: str, day: str, **kw) -> str | None:  # type: ignore[no-untyped-def]
    found = states(store, valid_at=date.fromisoformat(day), **kw).get(item_id)
    return "absent" if found is None else found.status


def test_month_precision_rule() -> None:
    assert parse_partial("2025-09").start == date(2025, 9, 1) and parse_partial("2025-09").precision == "month"
    assert parse_partial("2017").start == date(2017, 1, 1) and parse_partial("2017").precision == "year"
    assert parse_partial("2026-05-01").precision == "day" and not parse_partial("2026-05-01").approximate
    assert start_of("2026-05-01T08:00:00Z") == date(2026, 5, 1)
    for bad in ["2025-02-30", "2025-13", "25", "2025-9"]:
        with pytest.raises(ValueError):
            parse_partial(bad)


def test_status_follows_valid_time(cstore: EventStore) -> None:
    seed(cstore, [FIXTURE])
    # drafted "2025" counts from 2025-01-01; published 2025-09-28; effective "2026-05" from 2026-05-01.
    assert status(cstore, "cn-reg", "2024-12-31") == "absent"
    assert status(cstore, "cn-reg", "2025-01-01") == "draft"
    assert status(cstore, "cn-reg", "2025-09-27") == "draft"
    assert status(cstore, "cn-reg", "2025-09-28") == "published"
    assert status(cstore, "cn-reg", "2026-04-30") == "published"
    assert status(cstore, "cn-reg", "2026-05-01") == "effective"
    # A 试行 issue is published; the rename of the same month applies from its first day.
    guide = states(cstore, valid_at=date(2017, 11, 30))["cn-guide"]
    assert (guide.status, guide.title_zh) == ("draft", "细胞制品研究与评价技术指导原则")
    guide = states(cstore, valid_at=date(2017, 12, 1))["cn-guide"]
    assert (guide.status, guide.status_date, guide.title_zh) == (
        "published",
        "2017-12",
        "细胞治疗产品研究与评价技术指导原则(试行)",
    )
    assert status(cstore, "cn-guide", "2030-01-01") == "superseded"
    assert status(cstore, "cn-product", "2021-05-31") == "absent"
    assert status(cstore, "cn-product", "2021-06-01") == "approved"
    # An item is known to exist from its first dated step, whatever its type (here the renaming).
    assert status(cstore, "us-otat", "2022-09-15") == "absent"
    otp = states(cstore, valid_at=date(2022, 9, 16))["us-otat"]
    assert (otp.status, otp.title_en, otp.title_zh) == (
        "renamed",
        "Office of Therapeutic Products (OTP)",
        "治疗产品办公室",
    )


def test_json_marks_approximate_dates(cstore: EventStore) -> None:
    seed(cstore, [FIXTURE])
    found = states(cstore, valid_at=date(2026, 5, 1))
    assert found["cn-reg"].as_json() | {} == found["cn-reg"].as_json()
    assert {k: found["cn-reg"].as_json()[k] for k in ("status", "status_date", "precision", "approximate")} == \
        {"status": "effective", "status_date": "2026-05", "precision": "month", "approximate": True}
    assert found["us-otat"].as_json()["precision"] == "day" and found["us-otat"].as_json()["approximate"] is False


def test_undated_items_are_shown_on_every_day_with_date_not_given_never_from_the_recording_day(
    cstore: EventStore, clock: Clock,
) -> None:
    seed(cstore, [FIXTURE])
    recorded = clock.now.date()
    for day in (date(1990, 1, 1), recorded - timedelta(days=1), recorded):
        found = states(cstore, valid_at=day)["cn-undated"]
        assert found.status is None and found.status_date is None and found.kind == "guidance"
        assert found.as_json()["date_known"] is False
    assert "cn-undated" not in states(cstore, valid_at=recorded, dated_only=True)
    dated = states(cstore, valid_at=date(2026, 5, 1), dated_only=True)
    assert dated["cn-reg"].as_json()["date_known"] is True and "cn-reg" in dated


def test_as_of_shows_what_was_known_then(cstore: EventStore, clock: Clock, tmp_path: Path) -> None:
    first = tmp_path / "first.toml"
    text = (FIXTURE / "record.toml").read_text(encoding="utf-8")
    first.write_text(
        text.replace('[[items.relations]]\ntype = "designated"\ntarget = "cn-program"\n', ""), encoding="utf-8"
    )
    # Record everything but the product first, then (a day later) the product.
    cut = text.index('[[items]]\nid = "cn-product"')
    end = text.index('[[items]]\nid = "us-otat"')
    first.write_text(text[:cut] + text[end:], encoding="utf-8")
    seed(cstore, [first])
    known_then = clock.now
    head_then = cstore.head().position
    clock.advance(days=1)
    second = tmp_path / "second.toml"
    second.write_text(text[cut:end], encoding="utf-8")
    seed(cstore, [second])
    day = date(2026, 5, 1)
    assert "cn-product" not in states(cstore, as_of=known_then, valid_at=day)
    assert "cn-product" not in states(cstore, as_of=head_then, valid_at=day)
    assert states(cstore, as_of=clock.now, valid_at=day)["cn-product"].status == "approved"
    assert states(cstore, valid_at=day)["cn-product"].status == "approved"
    assert states(cstore, as_of=0, valid_at=day) == {}


def test_filters(cstore: EventStore) -> None:
    seed(cstore, [FIXTURE])
    day = date(2026, 5, 1)
    assert set(states(cstore, valid_at=day, jurisdiction="us")) == {"us-otat", "us-fact"}
    assert set(states(cstore, valid_at=day, kind="instrument")) == {"cn-reg", "cn-guide", "cn-undated"}
    assert set(states(cstore, valid_at=day, kind="product")) == {"cn-product"}


def test_history_has_both_times_and_causes(cstore: EventStore, clock: Clock) -> None:
    seed(cstore, [FIXTURE])
    entries = record_queries.history(cstore, "cn-reg")
    assert [(e.step, e.valid_from) for e in entries] == [
        ("added to the record", None),
        ("drafted", "2025"),
        ("published", "2025-09-28"),
        ("effective", "2026-05"),
    ]
    assert {e.cause for e in entries} == {"seed:record.toml"}
    assert entries[0].recorded_at == "2026-01-10T09:00:00.000000Z"
    assert entries[3].as_json()["precision"] == "month"
    with pytest.raises(NotFoundError, match="no item 'cn-nothing' in the record"):
        record_queries.history(cstore, "cn-nothing")


def test_show_relations_both_ways_and_sources(cstore: EventStore, projector: Projector) -> None:
    seed(cstore, [FIXTURE])
    projector.catch_up()
    Projector(cstore, [SourcesProjection()]).catch_up()  # show reads an item's sources from their read model
    view = record_queries.show(cstore, "cn-program")
    assert view.item["status"] == "established" and view.item["status_date"] == "2020"
    assert {(r["item_id"], r["relation"]) for r in view.related_by} == {
        ("cn-reg", "based-on"),
        ("cn-product", "designated"),
    }
    reg = record_queries.show(cstore, "cn-reg")
    assert [(r["relation"], r["target_id"]) for r in reg.relations] == [("based-on", "cn-program")]
    assert [s["id"] for s in reg.sources] == ["src-gov-cn"]
    assert reg.item["attributes"]["urls"] == ["https://www.gov.cn/zhengce/example.html"]
    with pytest.raises(NotFoundError):
        record_queries.show(cstore, "cn-nothing")


def test_upcoming_counts_month_dates_from_their_first_day(cstore: EventStore, projector: Projector) -> None:
    seed(cstore, [FIXTURE])
    projector.catch_up()
    found = record_queries.upcoming(cstore, days=90, today=date(2026, 4, 1))
    assert [(u.item_id, u.step, u.date, u.starts) for u in found] == [
        ("cn-reg", "effective", "2026-05", date(2026, 5, 1))
    ]
    assert found[0].as_json()["precision"] == "month"
    assert record_queries.upcoming(cstore, days=29, today=date(2026, 4, 1)) == []
    # A month date stays due until the month is over (it may mean any of its days).
    assert [u.item_id for u in record_queries.upcoming(cstore, days=90, today=date(2026, 5, 31))] == ["cn-reg"]
    assert record_queries.upcoming(cstore, days=90, today=date(2026, 6, 1)) == []
    assert record_queries.upcoming(cstore, days=90, today=date(2026, 4, 1), jurisdiction="US") == []
