"""The sources read model: seeds' and operators' sources, removal, rules, and rebuild from the log."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.monitoring.conftest import Clock, add
from tracker.app import App
from tracker.core import NewEvent
from tracker.domain import vocabulary as v
from tracker.errors import NotFoundError, ValidationError
from tracker.schema.operational import source_state
from tracker.schema.read_models import sources
from tracker.services import sources_admin
from tracker.services.checking import check_sources, due_sources

SEED_PAYLOAD = {
    "id": "nmpa-cgt-guidelines", "url": "https://www.nmpa.gov.cn/yaopin/ypfgwj/index.html", "kind": "html",
    "jurisdiction": "CN", "title": "细胞和基因治疗产品技术指导原则", "items": ["cn-cell-therapy-guideline-2017"],
    "tags": ["CN", "guidance"], "select": "div.list", "ignore": [r"\d{4}-\d{2}-\d{2}"], "every": "1d",
    "respect_robots": True, "origin": "seed",
}


def test_a_seed_source_is_listed_and_due_at_once(app: App, clock: Clock) -> None:
    app.store.append([NewEvent(v.source_stream("nmpa-cgt-guidelines"), v.SOURCE_REGISTERED, SEED_PAYLOAD,
                               {"actor": "seed", "cause": "seed:cn.toml"})])
    [view] = sources_admin.list_sources(app)
    assert (view.id, view.origin, view.state, view.every_seconds) == ("nmpa-cgt-guidelines", "seed", "new", 86400)
    assert view.title == "细胞和基因治疗产品技术指导原则" and view.items == ("cn-cell-therapy-guideline-2017",)
    with app.db.read() as conn:   # a state row for the scheduler to claim, due now
        row = conn.execute(sa.select(source_state)).one()
    assert (row.source_id, row.state, row.next_due_at) == ("nmpa-cgt-guidelines", "new", None)
    assert due_sources(app, clock.now) == ["nmpa-cgt-guidelines"]
    source = sources_admin.get_source(app, "nmpa-cgt-guidelines")
    assert source.select == "div.list" and source.ignore == (r"\d{4}-\d{2}-\d{2}",)


def test_remove_keeps_history_and_stops_checks(app: App, clock: Clock) -> None:
    add(app, "fda", "https://www.fda.gov/cgt", tags=["US"])
    sources_admin.remove_source(app, "fda", "retired")
    assert sources_admin.list_sources(app) == []
    assert [s.active for s in sources_admin.list_sources(app, include_removed=True)] == [False]
    assert due_sources(app, clock.now) == []
    with pytest.raises(NotFoundError, match="was removed"):
        check_sources(app, ["fda"])
    # A scheduler batch claimed before the removal skips it instead of failing the whole batch.
    assert check_sources(app, ["fda", "never-existed"], skip_removed=True).outcomes == []
    assert [e.type for e in app.store.read(stream="source/fda")] == [v.SOURCE_REGISTERED, v.SOURCE_REMOVED]
    with pytest.raises(NotFoundError, match="was removed"):
        sources_admin.remove_source(app, "fda")
    add(app, "fda", "https://www.fda.gov/cgt-new")      # the id may be used again
    types = [e.type for e in app.store.read(stream="source/fda")]
    assert types == [v.SOURCE_REGISTERED, v.SOURCE_REMOVED, v.SOURCE_REGISTERED]


def test_bad_input_writes_nothing(app: App) -> None:
    add(app, "fda", "https://www.fda.gov/cgt")
    count = app.store.count()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"url": "https://www.fda.gov/other", "source_id": "fda"}, "already exists"),
        ({"url": "https://www.fda.gov/x", "select": "div[["}, "CSS selector"),
        ({"url": "https://www.fda.gov/x", "every": "daily"}, "not a duration"),
        ({"url": "https://www.fda.gov/x", "kind": "pdf", "select": "main"}, "html sources only"),
        ({"url": "https://www.fda.gov/x", "ignore": ["[a-"]}, "not a regular expression"),
    ]
    for kwargs, message in cases:
        url = kwargs.pop("url")
        with pytest.raises(ValidationError, match=message):
            sources_admin.add_source(app, str(url), **kwargs)
    with pytest.raises(NotFoundError):
        check_sources(app, ["nope"])
    assert app.store.count() == count


def test_a_rebuild_equals_the_incremental_result(app: App) -> None:
    add(app, "a", "https://www.ema.europa.eu/a", every="6h", tags=["EU"])
    add(app, "b", "https://www.pmda.go.jp/b", kind="pdf", items=["jp-pmd-act"])
    sources_admin.adopt_rules(app, "a", "main", [r"Last updated \S+"])
    sources_admin.remove_source(app, "b")
    query = sa.select(sources).order_by(sources.c.id)
    with app.db.read() as conn:
        before = conn.execute(query).all()
    app.projector.rebuild(only=["sources"])
    with app.db.read() as conn:
        after = conn.execute(query).all()
    assert before == after and len(after) == 2
    assert after[0].select_css == "main" and after[1].active is False


def test_a_registered_source_this_code_cannot_use_is_reported_not_skipped(app: App, server) -> None:  # type: ignore[no-untyped-def]
    from tests.monitoring.conftest import html

    server.route("/ok", html("<p>fine</p>"))
    add(app, "fine", server.url("/ok"))
    odd = dict(SEED_PAYLOAD, id="odd", kind="rss", select=None)
    app.store.append([NewEvent(v.source_stream("odd"), v.SOURCE_REGISTERED, odd, {"actor": "seed"})])
    bad_css = dict(SEED_PAYLOAD, id="bad-css", url=server.url("/ok"), select="div[[")
    app.store.append([NewEvent(v.source_stream("bad-css"), v.SOURCE_REGISTERED, bad_css, {"actor": "seed"})])
    report = check_sources(app, all=True).by_source()
    assert report["fine"].outcome == "baselined"
    # A registration the sources projection cannot apply is quarantined and shown by `status`
    # (tests/monitoring/test_quarantine.py); one it stores but cannot check fails every check.
    assert "odd" not in report
    (odd_q,) = app.projector.quarantined(["sources"])
    assert odd_q.stream == "source/odd" and "kind 'rss'" in odd_q.reason
    assert (report["bad-css"].outcome, report["bad-css"].error_class) == ("failed", "config")
    assert "CSS selector" in (report["bad-css"].error or "")
