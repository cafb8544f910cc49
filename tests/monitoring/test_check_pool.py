"""First checks digested in a worker process (services/check_pool.py) record what the process would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply
from tests.fetching.pdfs import make_pdf
from tests.monitoring.conftest import Clock, add, events_of, html
from tracker.app import App
from tracker.domain import changes
from tracker.domain.sources import Source
from tracker.fetching import BLOCKED, FetchResult, challenge_reason
from tracker.schema.operational import source_state
from tracker.services import check_pool, snapshots
from tracker.services.checking import _assess, _digest_first, _Known, _same_text
from tracker.services.content import derive
from tracker.services.recording import Work
from tracker.services.sources_admin import get_source

ROOT = Path(__file__).resolve().parents[2]
# A real `check --all` process (one thread, so the worker is forked) with the threshold at 1, and
# digest wrapped to write the pid of the process that ran it: the worker's, not the checker's.
CHILD = """
import functools, json, os, sys
from tracker.app import App
from tracker.services import check_pool
from tracker.services.checking import check_sources
from tracker.settings import load_settings

check_pool.FIRST_CHECKS_MIN = 1
inner = check_pool.digest

@functools.wraps(inner)
def digest(*args, **kwargs):
    kept = args[4] if len(args) > 4 else kwargs.get("keep", True)   # a first check's, or a noisy page's
    with open(sys.argv[1] + ("" if kept else ".noisy"), "a") as out:
        out.write(f"{os.getpid()}\\n")
    return inner(*args, **kwargs)

check_pool.digest = digest
report = check_sources(App(load_settings()), all=True)
print(json.dumps({"pid": os.getpid(), "outcomes": {o.source_id: o.outcome for o in report.outcomes}}))
"""

PDF = make_pdf(["Notice 12", "In force"])
BAD_JSON = b"{not json"
# A bot challenge served with a 200: the fetcher leaves a first check's body to the worker to screen.
CHALLENGE = b"<html><head><title>Just a moment...</title></head><body><script>cf_chl_opt={}</script></body></html>"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the worker is forked only on more than one core")
def test_a_first_run_digested_by_the_worker(app: App, server: LocalServer, tmp_path: Path) -> None:
    pages = {
        "a": ("html", html("<p>Guidance A</p><p>Second line</p>")),
        "b": ("html", html("<p>细胞治疗 指导原则</p>")),
        "pdf": ("pdf", Reply(200, {"Content-Type": "application/pdf"}, PDF)),
        "bad": ("json", Reply(200, {"Content-Type": "application/json"}, BAD_JSON)),
        "wall": ("html", Reply(200, {"Content-Type": "text/html"}, CHALLENGE)),
    }
    for source_id, (kind, reply) in pages.items():
        server.route(f"/{source_id}", reply)
        add(app, source_id, server.url(f"/{source_id}"), kind=kind)

    pids = tmp_path / "pids.txt"
    env = cli_env(app.settings.database.url, TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_HOST_DELAY="0",
                  TRACKER_FETCH_RETRIES="0", PYTHONPATH=str(ROOT))
    child = subprocess.run([sys.executable, "-c", CHILD, str(pids)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode in (0, 3), child.stderr      # 3: a source failed (the bad JSON)
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["outcomes"] == {"a": "baselined", "b": "baselined", "pdf": "baselined", "bad": "failed",
                                  "wall": "failed"}
    digested_in = pids.read_text().split()
    assert len(digested_in) == len(pages) and str(report["pid"]) not in digested_in
    with app.db.read() as conn:
        wall = conn.execute(sa.select(source_state).where(source_state.c.source_id == "wall")).one()
    reason = challenge_reason(200, {"content-type": "text/html"}, CHALLENGE)
    assert (wall.state, wall.last_error_class, wall.last_error, wall.last_status) == ("blocked", BLOCKED, reason, 200)

    for source_id, (_, reply) in pages.items():
        source = get_source(app, source_id)
        assert isinstance(reply.body, bytes)
        headers = {name.lower(): value for name, value in reply.headers.items()}
        if source_id in ("bad", "wall"):
            assert len(events_of(app, source_id)) == 1      # registered only: an unreadable body fails
            continue
        [_, baselined] = events_of(app, source_id)
        content = derive(source.rules, reply.body, headers, source.url)
        assert baselined.payload["content_hash"] == changes.content_hash(content.text)
        assert baselined.payload["snapshot"] == changes.body_hash(reply.body)
        with app.db.read() as conn:
            assert snapshots.load_snapshot(conn, changes.body_hash(reply.body)).body == reply.body


@pytest.mark.parametrize(("kind", "body"), [("html", b"<html><body><p>One</p><p>Two</p></body></html>"),
                                            ("pdf", PDF), ("json", BAD_JSON)])
def test_digest_is_what_assess_gives_a_first_check(app: App, clock: Clock, kind: str, body: bytes) -> None:
    source = Source(id="s", url="http://127.0.0.1/s", kind=kind)
    headers = {"content-type": {"html": "text/html", "pdf": "application/pdf", "json": "application/json"}[kind]}
    result = FetchResult("s", source.url, source.url, "ok", 200, headers, body)
    assert check_pool.first_check(kind, None)
    work = _assess(app.db, _Known(source, None), result, clock(), 3600)
    digest = check_pool.digest(source.rules, body, headers, source.url)
    assert (digest.content, digest.content_hash, digest.error_class, digest.error) == (
        work.content, work.content_hash, work.error_class, work.error)
    assert (digest.compressed is None) == (work.compressed is None)
    if digest.compressed is not None:
        assert zlib.decompress(digest.compressed) == body


def test_a_broken_worker_leaves_first_checks_to_the_process(app: App, clock: Clock) -> None:
    source = Source(id="s", url="http://127.0.0.1/s")
    result = FetchResult("s", source.url, source.url, "ok", 200, {"content-type": "text/html"}, b"<p>x</p>")

    async def digest_first() -> tuple[Work, Work]:
        pool = await check_pool.Pool.fork(1)
        try:
            given = await _digest_first(pool, None, _Known(source, None), result, clock(), 3600, None)
            for pid in pool.pids:
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
            return given, await _digest_first(pool, None, _Known(source, None), result, clock(), 3600, None)
        finally:
            pool.shutdown()

    given, after = asyncio.run(digest_first())       # the second read in a thread of the process
    alone = _assess(app.db, _Known(source, None), result, clock(), 3600)
    for work in (given, after):
        assert (work.content, work.content_hash, work.body_hash, work.error_class) == (
            alone.content, alone.content_hash, alone.body_hash, alone.error_class)
        assert work.compressed is not None and zlib.decompress(work.compressed) == result.body


@pytest.mark.parametrize(("status", "body"), [(200, CHALLENGE), (200, b"<html><body><p>x</p></body></html>"),
                                              (203, CHALLENGE)])
def test_digest_screens_a_first_check_as_the_fetcher_would(status: int, body: bytes) -> None:
    source = Source(id="s", url="http://127.0.0.1/s")
    headers = {"content-type": "text/html"}
    digest = check_pool.digest(source.rules, body, headers, source.url, keep=True, status=status)
    reason = challenge_reason(status, headers, body)
    assert (digest.error_class, digest.error) == ((BLOCKED, reason) if reason else (None, None))
    assert (digest.content is None) == (reason is not None)


def test_an_error_in_the_worker_is_raised_in_the_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    def digest(*args: object) -> check_pool.Digest:
        raise ValueError("a bug in a normaliser")

    monkeypatch.setattr(check_pool, "digest", digest)     # before the fork: the worker calls this one

    async def ask() -> None:
        pool = await check_pool.Pool.fork(1)
        try:
            with pytest.raises(ValueError, match="a bug in a normaliser"):
                await pool.digest(Source(id="s", url="http://127.0.0.1/s").rules, b"<p>x</p>", {}, "u", True)
        finally:
            pool.shutdown()

    asyncio.run(ask())


STAMP = r"Served at \d+"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the worker is forked only on more than one core")
def test_a_noisy_page_read_by_the_worker(app: App, server: LocalServer, tmp_path: Path) -> None:
    served = [0]

    def page(_: object) -> Reply:
        served[0] += 1
        return html(f"<p>Guidance A</p><p>Served at {served[0]}</p>")

    server.route("/n", page)
    add(app, "n", server.url("/n"), ignore=[STAMP])
    pids = tmp_path / "pids.txt"
    env = cli_env(app.settings.database.url, TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_HOST_DELAY="0",
                  TRACKER_FETCH_RETRIES="0", PYTHONPATH=str(ROOT))
    outcomes, noisy_pids = [], []
    for _ in range(3):
        child = subprocess.run([sys.executable, "-c", CHILD, str(pids)], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, child.stderr
        report = json.loads(child.stdout.strip().splitlines()[-1])
        outcomes.append(report["outcomes"]["n"])
        noted = tmp_path / "pids.txt.noisy"
        noisy_pids.append((report["pid"], noted.read_text().split() if noted.exists() else []))
        noted.unlink(missing_ok=True)
    # The baseline, then bodies that differ in ignored text only, each read by the worker: the
    # second check's too, before anything said the page was noisy (no validators, and a rule that
    # ignores some of its text: check_pool.read_there). The same text: no new version, no event.
    assert outcomes == ["baselined", "unchanged", "unchanged"]
    for pid, read_in in noisy_pids[1:]:
        assert len(read_in) == 1 and read_in[0] != str(pid)
    assert len(events_of(app, "n")) == 2      # registered, baselined


def test_pages_read_by_the_worker_are_noisy_or_without_validators_and_ignoring_some_text() -> None:
    source = Source(id="s", url="http://127.0.0.1/s", kind="html", ignore=(STAMP,))
    kept = "a" * 64
    baselined = _state(source, "c" * 64, kept, last_body_hash=kept)
    assert check_pool.read_there(source, baselined)              # no validators, text ignored: read there
    assert not check_pool.noisy("html", baselined)
    static = Source(id="s", url="http://127.0.0.1/s", kind="html")
    assert not check_pool.read_there(static, baselined)          # nothing ignored: most likely static
    assert check_pool.read_there(replace(static, volatile=("^Served at",)), baselined)   # volatile lines found
    validated = baselined._replace(etag='"v1"')
    assert not check_pool.read_there(source, validated)          # a 200 there means a change
    assert check_pool.read_there(static, validated._replace(last_body_hash="b" * 64))   # but a noisy one is
    assert not check_pool.read_there(source, baselined._replace(content_hash=None))     # a first check
    assert not check_pool.read_there(source, None)
    assert not check_pool.read_there(replace(source, kind="ecfr"), baselined)           # a register


@pytest.mark.parametrize("body", [b"<html><body><p>One</p><p>Served at 2</p></body></html>",
                                  b"<html><body><p>Two</p><p>Served at 3</p></body></html>"])
def test_digest_of_a_noisy_page_is_what_assess_reads(app: App, clock: Clock, body: bytes) -> None:
    source = Source(id="s", url="http://127.0.0.1/s", kind="html", ignore=(STAMP,))
    headers = {"content-type": "text/html"}
    first = b"<html><body><p>One</p><p>Served at 1</p></body></html>"
    result = FetchResult("s", source.url, source.url, "ok", 200, headers, body)
    text = derive(source.rules, first, headers, source.url).text
    state = _state(source, changes.content_hash(text), changes.body_hash(first))
    known = _Known(source, state)
    assert check_pool.noisy("html", state)
    alone = _assess(app.db, known, result, clock(), 3600)
    read = check_pool.digest(source.rules, body, headers, source.url, keep=False)
    given = _assess(app.db, known, result, clock(), 3600, None, read.content, read.content_hash)
    assert (given.content, given.content_hash, given.compressed, given.error_class) == (
        alone.content, alone.content_hash, alone.compressed, alone.error_class)
    assert _same_text(known, read.content_hash) == (body == b"<html><body><p>One</p><p>Served at 2</p></body></html>")


def _state(source: Source, content_hash: str | None, snapshot: str, last_body_hash: str = "0" * 64) -> Any:
    from tracker.fetching.versions import normaliser_version
    from tracker.services.checking import _State

    columns: dict[str, object] = dict.fromkeys(_State._fields)
    columns.update(source_id=source.id, content_hash=content_hash, last_snapshot=snapshot,
                   last_body_hash=last_body_hash, rules_hash=source.rules.hash,
                   normaliser_version=normaliser_version(source.kind))
    return _State(**columns)


def test_the_accepted_text_comes_back_as_its_hash_alone() -> None:
    source = Source(id="s", url="http://127.0.0.1/s", kind="html", ignore=(STAMP,))
    headers = {"content-type": "text/html"}
    accepted = changes.content_hash(derive(source.rules, b"<p>One</p><p>Served at 1</p>", headers, source.url).text)
    same = check_pool.digest(source.rules, b"<p>One</p><p>Served at 2</p>", headers, source.url, False, accepted)
    other = check_pool.digest(source.rules, b"<p>Two</p><p>Served at 3</p>", headers, source.url, False, accepted)
    assert (same.content, same.content_hash, same.compressed, same.error_class) == (None, accepted, None, None)
    assert other.content is not None and other.content_hash == changes.content_hash(other.content.text) != accepted
