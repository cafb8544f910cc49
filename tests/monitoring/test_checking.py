"""Checking pages served by a real local HTTP server: baselines, changes, silence, encodings."""

from __future__ import annotations

import gzip
from typing import Any

import sqlalchemy as sa

from tests.fetching.localserver import LocalServer, Reply, Seen
from tests.fetching.pdfs import make_pdf
from tests.monitoring.conftest import Clock, add, events_of, html, types_of
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.schema.operational import snapshots as snapshots_table
from tracker.services import snapshots
from tracker.services.checking import check_sources, due_sources
from tracker.services.sources_admin import list_sources

REGISTERED_BASELINED = [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]


def test_baseline_then_silence_then_change(app: App, server: LocalServer, clock: Clock) -> None:
    page = {"text": "<p>Guidance v1</p>"}
    server.route("/page", lambda _seen: html(page["text"]))
    add(app, "page", server.url("/page"))

    assert check_sources(app, ["page"]).by_source()["page"].outcome == "baselined"
    clock.advance(days=1)
    assert check_sources(app, ["page"]).by_source()["page"].outcome == "unchanged"
    page["text"] = "<p>Guidance v2</p>"
    clock.advance(days=1)
    assert check_sources(app, ["page"]).by_source()["page"].outcome == "changed"

    assert types_of(app, "page") == REGISTERED_BASELINED + [v.SOURCE_CHANGED]
    changed = events_of(app, "page")[-1].payload
    assert "-Guidance v1" in changed["diff"] and "+Guidance v2" in changed["diff"]
    assert changed["diff_truncated"] is False
    assert changed["http"]["status"] == 200 and changed["http"]["final_url"] == server.url("/page")
    assert changed["old_hash"] == events_of(app, "page")[1].payload["content_hash"]
    [view] = list_sources(app)
    assert view.state == "ok" and view.consecutive_failures == 0


def test_due_sources_follow_the_interval(app: App, server: LocalServer, clock: Clock) -> None:
    server.route("/a", html("<p>a</p>"))
    add(app, "hourly", server.url("/a"), every="1h")
    add(app, "daily", server.url("/a"))
    assert due_sources(app, clock.now) == ["daily", "hourly"]     # never checked: due now
    report = check_sources(app)                                   # default: what is due
    assert report.counts["baselined"] == 2
    assert due_sources(app, clock.now) == []
    assert due_sources(app, clock.advance(hours=1, seconds=1)) == ["hourly"]
    assert check_sources(app).by_source().keys() == {"hourly"}
    assert due_sources(app, clock.advance(days=1)) == ["hourly", "daily"]    # most overdue first


def test_304_answers_are_silent(app: App, server: LocalServer, clock: Clock) -> None:
    def page(seen: Seen) -> Reply:
        if seen.headers.get("if-none-match") == '"v1"':
            return Reply(304, {"ETag": '"v1"'})
        reply = html("<p>Stable page</p>")
        reply.headers["ETag"] = '"v1"'
        return reply

    server.route("/etag", page)
    add(app, "etag", server.url("/etag"))
    check_sources(app, ["etag"])
    clock.advance(days=1)
    report = check_sources(app, ["etag"])
    assert report.by_source()["etag"].outcome == "not_modified"
    assert server.requests[-1].headers.get("if-none-match") == '"v1"'
    assert server.requests[0].headers.get("if-none-match") is None
    assert types_of(app, "etag") == REGISTERED_BASELINED
    [view] = list_sources(app)
    assert (view.last_checked_at or "").startswith("2026-11-25") and view.last_status == 304


def test_a_timestamp_only_change_is_ignored_and_stays_out_of_the_diff(
    app: App, server: LocalServer, clock: Clock
) -> None:
    state: dict[str, Any] = {"n": 0, "rule": "Rule text A"}

    def page(_seen: Seen) -> Reply:
        state["n"] += 1
        return html(f"<p>{state['rule']}</p><p>Page generated at 2026-11-24 10:0{state['n']}:00</p>")

    server.route("/ts", page)
    add(app, "ts", server.url("/ts"), ignore=[r"Page generated at [0-9: -]+"])
    check_sources(app, ["ts"])
    clock.advance(hours=1)
    assert check_sources(app, ["ts"]).by_source()["ts"].outcome == "unchanged"
    state["rule"] = "Rule text B"
    clock.advance(hours=1)
    assert check_sources(app, ["ts"]).by_source()["ts"].outcome == "changed"
    assert types_of(app, "ts") == REGISTERED_BASELINED + [v.SOURCE_CHANGED]
    diff = events_of(app, "ts")[-1].payload["diff"]
    assert "+Rule text B" in diff and "generated" not in diff
    with app.db.read() as conn:
        # The body that changed in ignored text only is kept by its hash, not stored (issue 18).
        assert len(snapshots.versions(conn, "ts")) == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshots_table)).scalar() == 2


def test_gb18030_page_diff_shows_the_exact_chinese_text(app: App, server: LocalServer) -> None:
    page = {"text": "<p>细胞治疗产品生产质量管理指南（试行）</p><p>第一版 𠀀</p>"}
    served: list[bytes] = []

    def handler(_seen: Seen) -> Reply:
        reply = html(page["text"], "gb18030")
        served.append(reply.body)  # type: ignore[arg-type]
        return reply

    server.route("/cn", handler)
    add(app, "cn", server.url("/cn"))
    check_sources(app, ["cn"])
    page["text"] = "<p>细胞治疗产品生产质量管理指南（试行）</p><p>第二版 𠀀</p>"
    check_sources(app, ["cn"])
    diff = events_of(app, "cn")[-1].payload["diff"]
    assert "-第一版 𠀀" in diff and "+第二版 𠀀" in diff
    with app.db.read() as conn:
        stored = [snapshots.load_snapshot(conn, ver.snapshot).body for ver in snapshots.versions(conn, "cn")]
    assert stored == list(dict.fromkeys(served))      # raw bytes kept byte-exact (a first change is fetched twice)


def test_shift_jis_page_diff_shows_the_exact_japanese_text(app: App, server: LocalServer) -> None:
    page = {"text": "<p>再生医療等製品の承認について</p><p>第1版</p>"}
    server.route("/jp", lambda _s: Reply(200, {"Content-Type": "text/html; charset=Shift_JIS"},
                                         f"<html><body>{page['text']}</body></html>".encode("shift_jis")))
    add(app, "jp", server.url("/jp"))
    check_sources(app, ["jp"])
    page["text"] = "<p>再生医療等製品の承認について</p><p>第2版（改訂）</p>"
    check_sources(app, ["jp"])
    diff = events_of(app, "jp")[-1].payload["diff"]
    assert "-第1版" in diff and "+第2版（改訂）" in diff


def test_a_pdf_whose_text_changes(app: App, server: LocalServer) -> None:
    doc = {"lines": ["Annex 1", "Version 1"]}
    server.route("/doc.pdf", lambda _s: Reply(200, {"Content-Type": "application/pdf"}, make_pdf(doc["lines"])))
    add(app, "pdf", server.url("/doc.pdf"), kind="pdf")
    check_sources(app, ["pdf"])
    check_sources(app, ["pdf"])
    doc["lines"] = ["Annex 1", "Version 2"]
    check_sources(app, ["pdf"])
    assert types_of(app, "pdf") == REGISTERED_BASELINED + [v.SOURCE_CHANGED]
    diff = events_of(app, "pdf")[-1].payload["diff"]
    assert "-Version 1" in diff and "+Version 2" in diff


def test_invalid_html_is_read_and_compared(app: App, server: LocalServer) -> None:
    page = {"text": b"<html><body><p>unclosed <div><b>Notice 1<td>cell</table></i>"}
    server.route("/bad", lambda _s: Reply(200, {"Content-Type": "text/html"}, page["text"]))
    add(app, "bad", server.url("/bad"))
    check_sources(app, ["bad"])
    page["text"] = page["text"].replace(b"Notice 1", b"Notice 2")
    check_sources(app, ["bad"])
    assert types_of(app, "bad") == REGISTERED_BASELINED + [v.SOURCE_CHANGED]
    assert "+" in events_of(app, "bad")[-1].payload["diff"]


def test_a_long_diff_is_bounded_in_the_event(app: App, server: LocalServer) -> None:
    page = {"n": 0}
    server.route("/long", lambda _s: html("".join(f"<p>line {i} edition {page['n']}</p>" for i in range(1000))))
    add(app, "long", server.url("/long"))
    check_sources(app, ["long"])
    page["n"] = 1
    check_sources(app, ["long"])
    payload = events_of(app, "long")[-1].payload
    assert payload["diff_truncated"] is True
    assert len(payload["diff"].split("\n")) <= 200 and len(payload["diff"].encode()) <= 16 * 1024


def test_a_gzip_bomb_is_refused_as_too_large(db_url: str, clock: Clock, server: LocalServer) -> None:
    from tests.monitoring.conftest import make_settings
    from tracker import migrate

    app = App(make_settings(db_url, fetch__max_bytes=1_000_000), clock=clock)
    migrate.upgrade(app.db)
    bomb = gzip.compress(b"<p>" + b"0" * 50_000_000 + b"</p>", 9)
    server.route("/bomb", Reply(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, bomb))
    add(app, "bomb", server.url("/bomb"))
    outcome = check_sources(app, ["bomb"]).by_source()["bomb"]
    assert (outcome.outcome, outcome.error_class) == ("failed", "too-large")
    assert types_of(app, "bomb") == [v.SOURCE_REGISTERED]
    app.close()


def test_one_batch_records_many_sources_and_a_source_twice(app: App, server: LocalServer, clock: Clock) -> None:
    # record_batch plans every source, then writes the batch in a few statements; a source that
    # comes twice in one batch is written after its first result, as two batches would write it.
    from tracker.fetching import FetchResult
    from tracker.services.checking import _assess, _Known
    from tracker.services.recording import record_batch

    sources = {name: add(app, name, server.url(f"/{name}")) for name in ("a", "b", "c")}

    def work(name: str, text: str) -> Any:
        body = f"<html><body><main><p>{text}</p></main></body></html>".encode()
        result = FetchResult(name, server.url(f"/{name}"), server.url(f"/{name}"), "ok", 200,
                             {"content-type": "text/html; charset=utf-8"}, body)
        return _assess(app.db, _Known(sources[name], None), result, clock.now, 86400)

    batch = [work("a", "A one"), work("b", "B one"), work("a", "A one"), work("c", "C one")]
    outcomes = record_batch(app.store, batch, threshold=3, correlation_id="check-test")
    assert [(o.source_id, o.outcome, o.events) for o in outcomes] == [
        ("a", "baselined", (v.SOURCE_BASELINED,)), ("b", "baselined", (v.SOURCE_BASELINED,)),
        ("a", "baselined", (v.SOURCE_BASELINED,)), ("c", "baselined", (v.SOURCE_BASELINED,)),
    ]
    with app.db.read() as conn:
        for name in "abc":
            assert types_of(app, name) == REGISTERED_BASELINED      # the repeated baseline is written once
            baselined = events_of(app, name)[1].position
            assert {version.position for version in snapshots.versions(conn, name)} == {baselined}
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshots_table)).scalar() == 3


def test_batches_hold_at_most_batch_bytes_of_bodies(
    app: App, server: LocalServer, clock: Clock, monkeypatch: Any
) -> None:
    # Each body is held, with its text and compressed copy, until its batch commits: a batch is
    # recorded once its bodies reach BATCH_BYTES, however few results it has and however fast they came.
    from tracker.services import checking, recording

    page = ("<p>" + "guidance text " * 700 + "</p>").encode()     # about 10 KB
    for i in range(6):
        server.route(f"/p{i}", html(page.decode()))
        add(app, f"p{i}", server.url(f"/p{i}"))
    batches: list[list[int]] = []
    record = recording.record_batch

    def spy(store: Any, batch: list[Any], **kwargs: Any) -> Any:
        batches.append([len(work.result.body) for work in batch])
        return record(store, batch, **kwargs)

    monkeypatch.setattr(checking, "record_batch", spy)
    monkeypatch.setattr(checking, "BATCH_BYTES", 2 * len(page))
    monkeypatch.setattr(checking, "BATCH_SECONDS", 3600.0)
    report = check_sources(app, all=True)
    assert report.counts["baselined"] == 6
    assert sorted(len(batch) for batch in batches) == [2, 2, 2]
