"""Seeding: events with their valid-from dates, idempotent, corrections only, removals reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.record.conftest import FIXTURE
from tracker.core import EventStore, Projector
from tracker.errors import SeedError
from tracker.services import record_queries
from tracker.services.seeding import seed


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """An editable copy of the fixture seeds."""
    target = tmp_path / "seeds"
    shutil.copytree(FIXTURE, target)
    return target


def test_seed_writes_registrations_steps_sources_and_references(cstore: EventStore, seeds: Path) -> None:
    report = seed(cstore, [seeds])
    events = list(cstore.read())
    by_key = {e.idempotency_key: e for e in events}
    reg = by_key["seed:cn-reg:registered"]
    assert (reg.stream, reg.type, reg.valid_from) == ("instrument/cn-reg", "InstrumentRegistered", None)
    assert reg.metadata["cause"] == "seed:record.toml" and reg.metadata["actor"] == "cli"
    effective = by_key["seed:cn-reg:step:effective:2026-05"]
    assert (effective.type, effective.valid_from) == ("InstrumentEffective", "2026-05")
    assert effective.payload == {"id": "cn-reg", "step": "effective", "date": "2026-05", "by": None, "citation": None,
                                 "note": "自2026年5月起施行 (month precision on purpose)"}
    product = by_key["seed:cn-product:registered"]
    assert (product.stream, product.type, product.valid_from) == ("product/cn-product", "ProductApproved", "2021-06")
    assert product.payload["attributes"]["brand_name"] == "奕凯达"
    program = by_key["seed:cn-program:registered"]
    assert (program.type, program.valid_from) == ("ProgramEstablished", "2020")
    fact = by_key["seed:us-fact:registered"]
    assert (fact.type, fact.payload["value"], fact.payload["metric"]) == (
        "FactReported",
        44,
        "rmat-designations-granted",
    )
    assert by_key["seed:us-otat:step:renamed:2022-09-16"].type == "AgencyRenamed"
    assert by_key["seed:cn-guide:step:trial:2017-12"].type == "InstrumentTrialIssued"
    assert by_key["seed:reference:1:registered"].stream == "reference/1"
    sources = {e.payload["url"]: e for e in events if e.type == "SourceRegistered"}
    # The item URL is listed in sources.toml too: one source, its own id, both items.
    gov = sources["https://www.gov.cn/zhengce/example.html"]
    assert gov.payload["id"] == "src-gov-cn" and gov.payload["items"] == ["cn-agency", "cn-reg"]
    assert gov.payload["origin"] == "seed" and gov.payload["every"] is None and gov.payload["respect_robots"] is True
    assert set(gov.payload) == {"id", "url", "kind", "jurisdiction", "title", "items", "tags", "select", "ignore",
                                "every", "respect_robots", "origin"}
    assert len(sources) == 2
    assert report.file("record.toml").new == 8 and report.written == len(events)


def test_item_url_not_in_sources_toml_gets_a_derived_id(cstore: EventStore, seeds: Path) -> None:
    (seeds / "sources.toml").unlink()
    seed(cstore, [seeds])
    sources = [e.payload for e in cstore.read(types=["SourceRegistered"])]
    import hashlib
    url = "https://www.gov.cn/zhengce/example.html"
    assert sources == [
        {**sources[0], "id": "src-" + hashlib.sha256(url.encode()).hexdigest()[:12], "items": ["cn-reg"]}
    ]


def test_seeding_twice_writes_nothing(cstore: EventStore, seeds: Path) -> None:
    seed(cstore, [seeds])
    head = cstore.head()
    again = seed(cstore, [seeds])
    assert again.written == 0 and cstore.head() == head
    assert again.file("record.toml").unchanged == 8


def test_editing_an_item_appends_only_a_correction(cstore: EventStore, seeds: Path, projector: Projector) -> None:
    seed(cstore, [seeds])
    projector.catch_up()
    head = cstore.head().position
    record = seeds / "record.toml"
    text = record.read_text(encoding="utf-8")
    text = text.replace(
        'title_en = "Regulation on Biomedical New Technologies"',
        'title_en = "Regulation on the Administration of Biomedical New Technologies"',
    )
    text = text.replace('note = "国务院正式公布"', 'note = "国务院正式公布(更正)"')
    record.write_text(text, encoding="utf-8")
    report = seed(cstore, [seeds])
    new = list(cstore.read(after=head))
    assert [e.type for e in new] == ["ItemCorrected"]
    changes = new[0].payload["changes"]
    assert changes["title_en"] == {
        "old": "Regulation on Biomedical New Technologies",
        "new": "Regulation on the Administration of Biomedical New Technologies",
    }
    assert changes["step:published:2025-09-28"]["new"]["note"] == "国务院正式公布(更正)"
    assert "record.toml" in new[0].payload["reason"] and new[0].idempotency_key == "seed:cn-reg:corrected:1"
    assert report.file("record.toml").corrected == 1 and report.written == 1
    assert seed(cstore, [seeds]).written == 0  # the correction is not made twice
    projector.catch_up()
    view = record_queries.show(cstore, "cn-reg")
    assert view.item["title_en"] == "Regulation on the Administration of Biomedical New Technologies"
    assert [s["note"] for s in view.steps if s["step"] == "published"] == ["国务院正式公布(更正)"]


def test_a_new_step_is_appended_as_a_step_event(cstore: EventStore, seeds: Path) -> None:
    seed(cstore, [seeds])
    head = cstore.head().position
    record = seeds / "record.toml"
    text = record.read_text(encoding="utf-8")
    anchor = 'note = "自2026年5月起施行 (month precision on purpose)"\n'
    record.write_text(
        text.replace(anchor, anchor + '\n[[items.steps]]\ntype = "repealed"\ndate = "2030-06"\n'), encoding="utf-8"
    )
    report = seed(cstore, [seeds])
    assert [(e.type, e.valid_from, e.stream) for e in cstore.read(after=head)] == [
        ("InstrumentRepealed", "2030-06", "instrument/cn-reg")
    ]
    assert report.file("record.toml").steps == 1 and report.file("record.toml").corrected == 0


def test_removing_an_item_is_reported_not_deleted(cstore: EventStore, seeds: Path) -> None:
    seed(cstore, [seeds])
    head = cstore.head().position
    record = seeds / "record.toml"
    text = record.read_text(encoding="utf-8")
    start = text.index('[[items]]\nid = "us-fact"')
    record.write_text(text[:start], encoding="utf-8")
    report = seed(cstore, [seeds])
    assert report.file("record.toml").removed == ["us-fact"]
    assert "NOT deleted" in report.file("record.toml").summary()
    assert cstore.head().position == head


def test_changing_the_kind_is_refused_and_writes_nothing(cstore: EventStore, seeds: Path) -> None:
    seed(cstore, [seeds])
    head = cstore.head()
    record = seeds / "record.toml"
    text = record.read_text(encoding="utf-8").replace(
        'id = "cn-reg"\njurisdiction = "CN"\nkind = "regulation"', 'id = "cn-reg"\njurisdiction = "CN"\nkind = "law"'
    )
    record.write_text(text, encoding="utf-8")
    with pytest.raises(SeedError, match="record.toml: item 'cn-reg': field 'kind': cannot change"):
        seed(cstore, [seeds])
    assert cstore.head() == head


def test_relations_may_point_at_items_already_recorded(cstore: EventStore, seeds: Path, tmp_path: Path) -> None:
    seed(cstore, [seeds])
    extra = tmp_path / "extra.toml"
    extra.write_text(
        '[[items]]\nid = "cn-later"\njurisdiction = "CN"\nkind = "law"\ntitle_zh = "药品管理法"\ntitle_en = "Drug '
        'Law"\n'
        'citation = { ref = [], quote = "药品管理法" }\n\n[[items.relations]]\ntype = "implements"\ntarget = '
        '"cn-reg"\n',
        encoding="utf-8",
    )
    report = seed(cstore, [extra])
    assert report.written == 1
    # Seeding one file never reports the items of other files as removed.
    assert report.file("extra.toml").removed == []


def test_correcting_a_dated_registration_moves_its_step(cstore: EventStore, seeds: Path, projector: Projector) -> None:
    from datetime import date

    from tracker.services.replay import replay
    seed(cstore, [seeds])
    record = seeds / "record.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace(
            'type = "approved"\ndate = "2021-06"', 'type = "approved"\ndate = "2021-07"'
        ),
        encoding="utf-8",
    )
    head = cstore.head().position
    seed(cstore, [seeds])
    [correction] = list(cstore.read(after=head))
    assert set(correction.payload["changes"]) == {"date", "step_folded"}
    projector.catch_up()
    view = record_queries.show(cstore, "cn-product")
    assert (view.item["status"], view.item["status_date"]) == ("approved", "2021-07")
    assert [(s["step"], s["date"]) for s in view.steps] == [("approved", "2021-07")]
    assert "cn-product" not in {s.id for s in replay(cstore, valid_at=date(2021, 6, 15))}
    assert {s.id: s.status_date for s in replay(cstore, valid_at=date(2021, 7, 1))}["cn-product"] == "2021-07"


def test_a_source_no_longer_linking_an_item_of_these_files_drops_it(
    cstore: EventStore, seeds: Path, tmp_path: Path
) -> None:
    seed(cstore, [seeds])
    sources = seeds / "sources.toml"
    sources.write_text(
        sources.read_text(encoding="utf-8").replace('items = ["cn-agency"]', "items = []"), encoding="utf-8"
    )
    seed(cstore, [seeds])
    gov = [e for e in cstore.read(types={"SourceRegistered"}) if e.payload["id"] == "src-gov-cn"]
    # cn-reg stays: its own `urls` name the page; cn-agency, defined in these files, is no longer tied to it.
    assert [e.payload["items"] for e in gov] == [["cn-agency", "cn-reg"], ["cn-reg"]]
    # Seeding the sources file alone keeps what the item files (not given) linked.
    extra = tmp_path / "alone"
    extra.mkdir()
    shutil.copy(sources, extra / "sources.toml")
    (extra / "sources.toml").write_text(
        sources.read_text(encoding="utf-8").replace('items = ["cn-guide"]', 'items = ["cn-guide", "cn-reg"]'),
        encoding="utf-8",
    )
    seed(cstore, [extra / "sources.toml"])
    cde = [e.payload["items"] for e in cstore.read(types={"SourceRegistered"}) if e.payload["id"] == "src-cde"]
    assert cde[-1] == ["cn-guide", "cn-reg"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_step_whose_date_was_wrong_is_replaced_not_kept_beside(
    cstore: EventStore, seeds: Path, projector: Projector
) -> None:
    from datetime import date

    from tracker.services.replay import replay
    seed(cstore, [seeds])
    head = cstore.head().position
    _edit(seeds / "record.toml", 'type = "effective"\ndate = "2026-05"', 'type = "effective"\ndate = "2026-07"')
    report = seed(cstore, [seeds])
    [corrected] = list(cstore.read(after=head))
    assert (corrected.type, corrected.valid_from, corrected.idempotency_key) == (
        "StepCorrected",
        "2026-07",
        "seed:cn-reg:step-corrected:1",
    )
    assert (
        corrected.payload["old"] == {"step": "effective", "date": "2026-05"}
        and corrected.payload["new"]["date"] == "2026-07"
    )
    assert report.file("record.toml").steps_corrected == 1 and report.file("record.toml").notes == []
    assert seed(cstore, [seeds]).written == 0  # the corrected step is now the recorded one
    projector.catch_up()
    view = record_queries.show(cstore, "cn-reg")
    assert [(s["step"], s["date"]) for s in view.steps if s["step"] == "effective"] == [("effective", "2026-07")]
    soon = record_queries.upcoming(cstore, days=400, today=date(2026, 1, 1))
    assert [(u.item_id, u.date) for u in soon if u.step == "effective"] == [("cn-reg", "2026-07")]
    assert {s.id: s.status for s in replay(cstore, valid_at=date(2026, 6, 1))}["cn-reg"] == "published"
    assert {s.id: s.status for s in replay(cstore, valid_at=date(2026, 7, 1))}["cn-reg"] == "effective"
    # As the tracker knew it before the correction, the old date still answers.
    assert {s.id: s.status for s in replay(cstore, as_of=head, valid_at=date(2026, 6, 1))}["cn-reg"] == "effective"


def test_a_step_whose_type_was_wrong_is_replaced_and_a_retracted_one_withdrawn(
    cstore: EventStore, seeds: Path, projector: Projector
) -> None:
    from datetime import date

    from tracker.services.replay import replay
    seed(cstore, [seeds])
    head = cstore.head().position
    _edit(seeds / "record.toml", 'type = "published"\ndate = "2025-09-28"', 'type = "trial"\ndate = "2025-09-28"')
    _edit(seeds / "record.toml", 'type = "effective"\ndate = "2026-05"\n', 'type = "superseded"\ndate = "2026-05"\n')
    seed(cstore, [seeds])
    # Two of the same date changed type: each pairs by its date.
    assert sorted((e.payload["old"]["step"], e.payload["new"]["step"]) for e in cstore.read(after=head)) == [
        ("effective", "superseded"), ("published", "trial")]
    head = cstore.head().position
    text = (seeds / "record.toml").read_text(encoding="utf-8")
    start = text.index('[[items.steps]]\ntype = "superseded"\ndate = "2026-05"\n')
    end = text.find("\n[[", start + 10)
    text = text[:start] + text[end + 1:]
    (seeds / "record.toml").write_text(
        text.replace(
            'id = "cn-reg"\n',
            'id = "cn-reg"\nretracted = [{ type = "superseded", date = "2026-05", reason = "not in the source" }]\n',
            1,
        ),
        encoding="utf-8",
    )
    seed(cstore, [seeds])
    [retraction] = list(cstore.read(after=head))
    assert retraction.type == "StepCorrected" and retraction.payload["new"] is None and retraction.valid_from is None
    projector.catch_up()
    assert [s["step"] for s in record_queries.show(cstore, "cn-reg").steps] == ["drafted", "trial"]
    assert {s.id: s.status for s in replay(cstore, valid_at=date(2027, 1, 1))}["cn-reg"] == "published"
    assert record_queries.show(cstore, "cn-reg").item["status"] == "published"


def test_corrects_names_the_step_a_new_one_replaces(cstore: EventStore, seeds: Path) -> None:
    seed(cstore, [seeds])
    head = cstore.head().position
    # Without `corrects` the drafted step would be kept beside a new step (no type or date in common).
    _edit(seeds / "record.toml", 'type = "drafted"\ndate = "2025"\nnote = "征求意见稿"\n',
          'type = "trial"\ndate = "2025-06"\ncorrects = { type = "drafted", date = "2025" }\n')
    seed(cstore, [seeds])
    [corrected] = list(cstore.read(after=head))
    assert (
        corrected.payload["old"] == {"step": "drafted", "date": "2025"} and corrected.payload["new"]["step"] == "trial"
    )
