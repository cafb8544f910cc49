"""The real seeds (seeds/*.toml) against the review, checked by hand: every Table 1 guideline and
Table 2 product, the regulatory history from 1993 to 2026, and Chinese text byte-exact end to end."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.record.conftest import REAL_SEEDS, Clock
from tracker.core import EventStore, Projector
from tracker.projections.record import RecordProjection
from tracker.schema.read_models import record_items
from tracker.services import auditing, record_queries
from tracker.services.replay import ItemState, replay
from tracker.services.seeding import seed

BIOMED = "cn-biomed-new-tech-regulation"

# 表1 细胞与基因治疗产品相关技术指导原则, in the table's order: 13 clinical, 4 non-clinical, 6 CMC.
TABLE_1 = [
    "免疫细胞治疗产品临床试验技术指导原则(试行)",
    "嵌合抗原受体T细胞(CAR-T)治疗产品申报上市临床风险管理计划技术指导原则",
    "溶瘤病毒类药物临床试验设计指导原则(试行)",
    "人源性干细胞及其衍生细胞治疗产品临床试验技术指导原则(试行)",
    "基因治疗血友病临床试验设计技术指导原则",
    "基因治疗产品长期随访临床研究技术指导原则(试行)",
    "细胞和基因治疗产品临床相关沟通交流技术指导原则",
    "罕见病基因治疗产品临床试验技术指导原则",
    "间充质干细胞防治移植植物抗宿主病临床试验技术指导原则",
    "肿瘤主动免疫治疗产品临床试验技术指导原则(试行)",
    "嵌合抗原受体T细胞治疗血液淋巴系统恶性肿瘤临床试验技术指导原则(试行)",
    "细胞治疗产品临床药理学研究技术指导原则(试行)",
    "地中海贫血基因治疗产品临床试验技术指导原则(试行)",
    "基因修饰细胞治疗产品非临床研究技术指导原则(试行)",
    "基因治疗产品非临床研究与评价技术指导原则(试行)",
    "人源干细胞产品非临床研究技术指导原则",
    "腺相关病毒载体基因治疗产品非临床研究技术指导原则",
    "免疫细胞治疗产品药学研究与评价技术指导原则(试行)",
    "人源干细胞产品药学研究与评价技术指导原则(试行)",
    "体内基因治疗产品药学研究与评价技术指导原则(试行)",
    "体外基因修饰系统药学研究与评价技术指导原则(试行)",
    "溶瘤病毒产品药学研究与评价技术指导原则(试行)",
    "重组腺相关病毒载体类体内基因治疗产品临床试验申请药学研究与评价技术指导原则",
]
TABLE_1_DISCIPLINES = ["clinical"] * 13 + ["non-clinical"] * 4 + ["cmc"] * 6

# 表2 我国已获批上市的细胞与基因治疗产品: generic name, brand name, approval month.
TABLE_2 = [
    ("阿基仑赛注射液", "奕凯达", "2021-06"),
    ("瑞基奥仑赛注射液", "倍诺达", "2021-09"),
    ("伊基奥仑赛注射液", "福可苏", "2023-06"),
    ("泽沃基奥仑赛注射液", "赛恺泽", "2024-03"),
    ("纳基奥仑赛注射液", "源瑞达", "2023-11"),
    ("西达基奥仑赛注射液", "卡卫荻", "2024-08"),
    ("艾米迈托赛注射液", "睿铂生", "2025-01"),
    ("雷尼基奥仑赛注射液", "恒凯莱", "2025-07"),
    ("波哌达可基注射液", "信致凝", "2025-04"),
    ("普基奥仑赛注射液", "普利得凯", "2025-11"),
]


def _without_items(folder: Path, ids: set[str]) -> set[str]:
    """Cut these items, and every item that names one of them, from the seed files in folder."""
    removed = set(ids)
    while True:
        grew = False
        for path in folder.glob("*.toml"):
            text = path.read_text(encoding="utf-8")
            blocks = text.split("[[items]]\n")
            kept = [blocks[0]]
            for block in blocks[1:]:
                own = block.split('"', 2)[1]
                if own in removed or any(f'"{i}"' in block for i in removed):
                    grew |= own not in removed
                    removed.add(own)
                else:
                    kept.append(block)
            path.write_text("[[items]]\n".join(kept), encoding="utf-8")
        if not grew:
            return removed


@pytest.fixture
def seeded(cstore: EventStore, clock: Clock, tmp_path: Path) -> tuple[EventStore, int]:
    """All the real seeds, the biomedical regulation recorded a day after the rest.

    Returns the store and the last position recorded before the regulation was.
    """
    early = tmp_path / "seeds"
    shutil.copytree(REAL_SEEDS, early, ignore=shutil.ignore_patterns("*.md"))
    # The regulation, and the regimes, pathways and watch items that name it (they come with it).
    late = _without_items(early, {BIOMED})
    sources = early / "sources.toml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(f'"{BIOMED}", ', ""), encoding="utf-8")
    seed(cstore, [early])
    before = cstore.head().position
    clock.advance(days=1)
    report = seed(cstore, [REAL_SEEDS])
    # The regulation with its two steps, and the two pages that document it registered again.
    assert report.file("cn.toml").new == 1 and report.file("cn.toml").written == 3
    assert report.file("sources.toml").sources == 2 and report.file("sources.toml").written == 2
    assert report.file("structure.toml").new == len(late) - 1
    return cstore, before


def at(store: EventStore, day: str, **kw) -> dict[str, ItemState]:  # type: ignore[no-untyped-def]
    return {s.id: s for s in replay(store, valid_at=date.fromisoformat(day), **kw)}


def test_biomedical_regulation_published_then_effective_then_absent_before_recorded(
    seeded: tuple[EventStore, int], clock: Clock
) -> None:
    store, before = seeded
    assert at(store, "2026-04-30")[BIOMED].status == "published"
    assert at(store, "2026-04-30")[BIOMED].status_date == "2025-09-28"
    assert at(store, "2026-05-01")[BIOMED].status == "effective"
    assert BIOMED not in at(store, "2026-05-01", as_of=before)
    assert BIOMED not in at(store, "2026-05-01", as_of=clock.now.replace(day=clock.now.day - 1))
    assert at(store, "2026-05-01", as_of=clock.now)[BIOMED].status == "effective"
    assert BIOMED not in at(store, "2025-09-27")


# (valid-at day, item id, expected status or "absent", expected Chinese title or None), checked by hand
# against the review's section 2.1 (China 1993-2026), 1.1 (US), 1.2 (EU), 1.3 (Japan) and Table 2.
HISTORY = [
    ("1993-12-31", "cn-1993-somatic-cell-gene-therapy-qc-points", "published", None),  # 1993 通知, 质控要点
    ("1993-12-31", "cn-2003-somatic-cell-therapy-guideline", "absent", None),
    ("1993-12-31", "us-21-cfr-1271", "absent", None),
    ("1999-12-31", "cn-1999-new-biologics-approval-measures", "published", None),
    ("2001-12-31", "eu-directive-2001-83", "published", None),
    ("2003-12-31", "cn-2003-somatic-cell-therapy-guideline", "published", None),  # 2003 CDE 指导原则
    ("2003-12-31", "cn-drug-registration-measures-2002", "published", None),
    ("2004-12-31", "eu-directive-2001-83", "published", None),  # amended 2003: still in force
    ("2005-06-30", "us-21-cfr-1271", "published", None),  # 2005 年 21CFR1271
    ("2007-12-31", "eu-atmp-regulation", "published", None),
    ("2009-05-21", "cn-2009-third-class-medical-technology-catalogue", "absent", None),
    ("2009-05-22", "cn-2009-third-class-medical-technology-catalogue", "published", None),
    ("2009-06-30", "cn-2009-autologous-immune-cell-therapy-tech-spec", "draft", None),
    ("2014-12-31", "jp-rm-act", "effective", None),  # 2014 RM Act
    ("2014-12-31", "jp-dual-track", "established", None),
    ("2015-05-31", "cn-2009-third-class-medical-technology-catalogue", "published", None),
    ("2015-06-01", "cn-2009-third-class-medical-technology-catalogue", "repealed", None),  # 2015年6月 废止
    ("2015-07-01", "cn-stem-cell-clinical-research-measures", "published", None),  # 2015年7月 试行
    ("2015-12-31", "cn-quasi-dual-track", "established", None),
    ("2016-12-01", "cn-cell-therapy-product-research-evaluation-guideline", "draft", "细胞制品研究与评价技术指导原则"),
    (
        "2017-12-01",
        "cn-cell-therapy-product-research-evaluation-guideline",
        "published",
        "细胞治疗产品研究与评价技术指导原则(试行)",
    ),
    ("2021-05-31", "cn-product-axicabtagene-ciloleucel", "absent", None),
    ("2021-06-01", "cn-product-axicabtagene-ciloleucel", "approved", "阿基仑赛注射液"),
    ("2022-09-15", "us-otp", "absent", None),
    ("2022-09-16", "us-otp", "renamed", "治疗产品办公室"),
    ("2025-09-28", BIOMED, "published", "生物医学新技术临床研究和临床转化应用管理条例"),
    ("2026-05-01", BIOMED, "effective", None),
]


def test_replay_across_the_history_1993_to_2026(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    by_day: dict[str, dict[str, ItemState]] = {}
    for day, item_id, expected, title in HISTORY:
        states = by_day.setdefault(day, at(store, day))
        found = states.get(item_id)
        assert (found.status if found else "absent") == expected, (day, item_id)
        if title is not None:
            assert found is not None and found.title_zh == title, (day, item_id)


def test_every_table_1_guideline_and_table_2_product_is_recorded(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    Projector(store, [RecordProjection()]).catch_up()
    with store.db.read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(record_items)).mappings()]
    guidelines = {
        r["title_zh"]: r
        for r in rows
        if r["kind"] == "guidance" and json.loads(r["attributes"])["seed_file"] == "cn_guidelines.toml"
    }
    assert len(guidelines) == 23
    for title, discipline in zip(TABLE_1, TABLE_1_DISCIPLINES, strict=True):
        assert title in guidelines, title
        assert guidelines[title]["discipline"] == discipline, title
    products = {json.loads(r["attributes"])["generic_name"]: r for r in rows if r["kind"] == "product"}
    assert len(products) == 10
    for generic, brand, month in TABLE_2:
        row = products[generic]
        assert json.loads(row["attributes"])["brand_name"] == brand
        assert (row["status"], row["status_date"]) == ("approved", month)


def test_chinese_text_round_trips_byte_exact(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    title = "生物医学新技术临床研究和临床转化应用管理条例"
    quote = "国务院正式公布《生物医学新技术临床研究和临床转化应用管理条例》"
    source = (REAL_SEEDS / "cn.toml").read_bytes()
    assert title.encode("utf-8") in source and quote.encode("utf-8") in source
    registered = next(e for e in store.read(stream=f"instrument/{BIOMED}") if e.type == "InstrumentRegistered")
    assert registered.payload["title_zh"] == title and registered.payload["citation"]["quote"] == quote
    with store.db.read() as conn:
        stored = conn.execute(
            sa.text("SELECT payload FROM events WHERE position = :p"), {"p": registered.position}
        ).scalar_one()
    assert title.encode("utf-8") in stored.encode("utf-8") and quote.encode("utf-8") in stored.encode("utf-8")
    line = next(line for line in auditing.export_lines(store) if f'"position": {registered.position},' in line)
    assert title.encode("utf-8") in line.encode("utf-8")  # not \\u-escaped
    assert json.loads(json.loads(line)["payload"])["title_zh"] == title
    assert at(store, "2026-05-01")[BIOMED].title_zh == title
    Projector(store, [RecordProjection()]).catch_up()
    with store.db.read() as conn:
        assert conn.execute(sa.select(record_items.c.title_zh).where(record_items.c.id == BIOMED)).scalar_one() == title


REVIEW = Path(os.environ.get("TRACKER_REVIEW", "/work/shared/review/000_dde8682a6f3e818a.txt"))


def _quotes(value: object) -> list[str]:
    """Every citation quote anywhere in a seed table (items, steps, classes, flags, ...)."""
    if isinstance(value, dict):
        found = [value["quote"]] if isinstance(value.get("quote"), str) else []
        return found + [q for v in value.values() for q in _quotes(v)]
    if isinstance(value, list):
        return [q for v in value for q in _quotes(v)]
    return []


@pytest.mark.skipif(not REVIEW.is_file(), reason=f"the review is not at {REVIEW} (set TRACKER_REVIEW)")
def test_every_quote_is_an_exact_substring_of_the_review() -> None:
    review = REVIEW.read_text(encoding="utf-8")
    quotes = [
        q
        for path in sorted(REAL_SEEDS.glob("*.toml"))
        for q in _quotes(tomllib.loads(path.read_text(encoding="utf-8")))
    ]
    assert len(quotes) > 150
    assert [q for q in quotes if q not in review] == []


# Which route applied to CGT in China on a day: the regimes in force (status effective) then.
ROUTES = [
    ("1992-12-31", []),
    ("1995-06-30", ["cn-regime-drug-route"]),
    ("2009-02-28", ["cn-regime-drug-route"]),
    ("2009-03-01", ["cn-regime-medical-technology"]),
    ("2012-08-01", ["cn-regime-medical-technology"]),
    ("2015-08-01", ["cn-regime-quasi-dual-track"]),
    ("2026-04-30", ["cn-regime-quasi-dual-track"]),
    ("2026-05-01", ["cn-regime-dual-track"]),
]


def test_replay_says_which_route_applied_on_a_day(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    for day, expected in ROUTES:
        regimes = at(store, day, jurisdiction="CN", kind="regime")
        assert sorted(i for i, s in regimes.items() if s.status == "effective") == expected, day
    switches = [
        e.valid_from for e in store.read(stream="regime/cn-regime-quasi-dual-track") if e.type == "RegimeSwitched"
    ]
    assert switches == ["2015-06", "2015-07", "2017-12", "2018"]


def test_the_analysts_corrections_hold(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    on = at(store, "2025-12-31")
    assert on["us-guidance-expedited-programs-regenerative-medicine"].status == "draft"
    assert on["us-guidance-expedited-programs-regenerative-medicine-2019"].status == "published"
    Projector(store, [RecordProjection()]).catch_up()
    relations = {
        (r["relation"], r["target_id"]): r
        for r in record_queries.show(store, "cn-drug-registration-measures-2020").relations
    }
    assert relations[("supersedes", "cn-drug-registration-measures-2007")]["details"]["inferred"] is True
    assert record_queries.show(store, "cn-drug-registration-measures-2007").relations == []
    assert ("based-on", "cn-quasi-dual-track") not in {
        (r["relation"], r["target_id"]) for r in record_queries.show(store, BIOMED).relations
    }
    notice = record_queries.show(store, "cn-2011-stem-cell-self-inspection-notice")
    assert [s["step"] for s in notice.steps] == ["published"]
    assert notice.item["attributes"]["flags"][0]["type"] == "anachronism"
    [renamed] = [s for s in record_queries.show(store, "us-otp").steps if s["step"] == "renamed"]
    assert renamed["details"]["date_basis"] == "external" and "87 FR 58806" in renamed["details"]["source"]
    lineage = {r["target_id"]: r["details"] for r in record_queries.show(store, "cn-nmpa").relations}
    assert lineage["cn-cfda"] == {"date": "2018-03", "external": True, "source": lineage["cn-cfda"]["source"]}
    assert "cn-sda" in lineage


def test_every_figure_says_where_its_date_comes_from(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    facts = [e for e in store.read(types={"FactReported"}) if "kind" in e.payload]
    assert len(facts) == 27
    bases = {e.payload["id"]: e.payload["step_folded"]["date_basis"] for e in facts}
    assert sorted(i for i, b in bases.items() if b == "review") == sorted(
        i for i, e in ((e.payload["id"], e) for e in facts) if e.payload["date"] == "2025"
    )
    assert sum(b == "review" for b in bases.values()) == 9 and sum(b == "cited-source" for b in bases.values()) == 6
    Projector(store, [RecordProjection()]).catch_up()
    for item_id in ("us-fact-rmat-requests", "us-fact-rmat-granted"):
        [flag] = record_queries.show(store, item_id).item["attributes"]["flags"]
        assert (flag["type"], flag["against"], flag["external"]) == (
            "conflict",
            "src-fda-rmat-requests-by-fiscal-year",
            True,
        )


def test_agencies_sharing_a_chinese_title_say_why() -> None:
    items = [
        i
        for p in sorted(REAL_SEEDS.glob("*.toml"))
        for i in tomllib.loads(p.read_text(encoding="utf-8")).get("items", [])
    ]
    agencies = [i for i in items if i["kind"] == "agency"]
    linked = {
        frozenset((i["id"], r["target"]))
        for i in agencies
        for r in i.get("relations", [])
        if r["type"] == "same-title-as"
    }
    pairs = [
        (a["id"], b["id"]) for n, a in enumerate(agencies) for b in agencies[n + 1 :] if a["title_zh"] == b["title_zh"]
    ]
    assert pairs and all(frozenset(p) in linked for p in pairs)


def test_replay_says_where_a_status_date_comes_from(seeded: tuple[EventStore, int]) -> None:
    store, _ = seeded
    on = at(store, "2025-12-31")
    assert (
        on["us-fact-cgt-approvals-breakthrough"].status_date,
        on["us-fact-cgt-approvals-breakthrough"].date_basis,
    ) == ("2024", "cited-source")
    assert on["us-fact-fda-cgt-guidances"].as_json()["date_basis"] == "review"
    assert (on["us-otp"].status_date, on["us-otp"].date_basis) == ("2022-09-16", "external")
    assert on["cn-regime-quasi-dual-track"].date_basis == "stated"
    assert on[BIOMED].date_basis is None  # a step that does not say: the review states it
