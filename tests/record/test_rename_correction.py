"""A renamed step whose date was wrong is replaced by a StepCorrected like any other step, and the
item is named again by the latest-dated rename left: in the record projection, replay and the
digest index alike (the record's one fold, tracker.domain.record_fold)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.record.conftest import FIXTURE
from tracker.core import EventStore, Projector
from tracker.projections.digest_index import DigestIndexProjection, load_refs
from tracker.projections.record import RecordProjection
from tracker.services import record_queries
from tracker.services.replay import replay
from tracker.services.seeding import seed

ORIGINAL = ("细胞制品研究与评价技术指导原则", "Guideline for Cell Products")
RENAMED = ("细胞治疗产品研究与评价技术指导原则(试行)", "Guideline for Cell Therapy Products (Trial)")
RENAME = 'type = "renamed"\ndate = "2017-12"\n'
SECOND = ("细胞治疗产品技术指导原则", "Guideline for Cell Therapy Products")


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(FIXTURE, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _titles(
    store: EventStore, as_of: int | None = None, valid_at: date = date(2100, 1, 1)
) -> dict[str, tuple[str, str]]:
    """cn-guide's title in the read model, the digest index and a replay (as_of, valid_at)."""
    Projector(store, [RecordProjection(), DigestIndexProjection()]).catch_up()
    item = record_queries.show(store, "cn-guide").item
    with store.db.read() as conn:
        indexed = load_refs(conn, ["item:cn-guide"])["item:cn-guide"]
    [state] = [s for s in replay(store, as_of=as_of, valid_at=valid_at) if s.id == "cn-guide"]
    return {"record": (item["title_zh"], item["title_en"]), "digest": (indexed.title_zh, indexed.title_en),
            "replay": (state.title_zh, state.title_en)}


def _rename_dates(store: EventStore) -> list[str]:
    return [s["date"] for s in record_queries.show(store, "cn-guide").steps if s["step"] == "renamed"]


def test_a_rename_whose_date_was_wrong_is_replaced_and_the_title_refolded(cstore: EventStore, seeds: Path) -> None:
    seed(cstore, [seeds])
    before = cstore.head().position
    _edit(seeds / "record.toml", RENAME, 'type = "renamed"\ndate = "2018-06"\n')
    report = seed(cstore, [seeds])
    [corrected] = list(cstore.read(after=before))
    assert corrected.type == "StepCorrected" and report.file("record.toml").steps_corrected == 1
    assert corrected.payload["old"] == {"step": "renamed", "date": "2017-12"}
    assert (corrected.payload["new"]["date"], corrected.payload["new"]["title_zh"]) == ("2018-06", RENAMED[0])
    assert seed(cstore, [seeds]).written == 0  # the corrected rename is now the recorded one
    # One rename date in the item's steps; its title is the rename's, from the corrected date on.
    assert _titles(cstore) == {"record": RENAMED, "digest": RENAMED, "replay": RENAMED}
    assert _rename_dates(cstore) == ["2018-06"]
    assert record_queries.show(cstore, "cn-guide").item["attributes"]["renamed_on"] == "2018-06"
    assert [h.summary for h in record_queries.history(cstore, "cn-guide") if h.step == "corrected"] == [
        f"step renamed 2017-12 -> renamed 2018-06: {corrected.payload['reason']}"]
    assert _titles(cstore, valid_at=date(2018, 1, 1))["replay"] == ORIGINAL
    # As the tracker knew it before the correction, the old date still named it on 2018-01-01.
    assert _titles(cstore, as_of=before, valid_at=date(2018, 1, 1))["replay"] == RENAMED


def test_the_latest_dated_rename_left_names_the_item_after_a_correction_or_a_retraction(
    cstore: EventStore, seeds: Path
) -> None:
    second = f'type = "renamed"\ndate = "2019"\ntitle_zh = "{SECOND[0]}"\ntitle_en = "{SECOND[1]}"\n'
    _edit(seeds / "record.toml", RENAME, second + '\n[[items.steps]]\n' + RENAME)
    seed(cstore, [seeds])
    assert set(_titles(cstore).values()) == {SECOND}
    before = cstore.head().position
    # The second rename was in fact before the first: the first names the item again.
    _edit(seeds / "record.toml", 'date = "2019"\n', 'date = "2016"\n')
    seed(cstore, [seeds])
    assert set(_titles(cstore).values()) == {RENAMED}
    assert sorted(_rename_dates(cstore)) == ["2016", "2017-12"]
    assert _titles(cstore, as_of=before)["replay"] == SECOND
    # The first rename retracted: the one left names the item; none left, its own title does.
    text = (seeds / "record.toml").read_text(encoding="utf-8")
    first = '[[items.steps]]\n' + RENAME + f'title_zh = "{RENAMED[0]}"\ntitle_en = "{RENAMED[1]}"\n\n'
    assert text.count(first) == 1
    text = text.replace(first, "").replace(
        'id = "cn-guide"\n',
        'id = "cn-guide"\nretracted = [{ type = "renamed", date = "2017-12", reason = "not in the source" }]\n',
        1,
    )
    (seeds / "record.toml").write_text(text, encoding="utf-8")
    seed(cstore, [seeds])
    assert set(_titles(cstore).values()) == {SECOND} and _rename_dates(cstore) == ["2016"]
    text = text.replace("[[items.steps]]\n" + second.replace("2019", "2016") + "\n", "").replace(
        'reason = "not in the source" }]',
        'reason = "not in the source" }, { type = "renamed", date = "2016", reason = "no" }]',
        1,
    )
    (seeds / "record.toml").write_text(text, encoding="utf-8")
    seed(cstore, [seeds])
    assert set(_titles(cstore).values()) == {ORIGINAL} and _rename_dates(cstore) == []
    assert "renamed_from" not in record_queries.show(cstore, "cn-guide").item["attributes"]
