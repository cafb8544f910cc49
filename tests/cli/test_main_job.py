"""`tracker run` end to end, as a real process: a seed set whose sources live on a local server."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply

PAGE = "<html><body><main><h1>细胞治疗产品指导原则</h1><p>版本 {n}</p></main></body></html>"


def write_seeds(folder: Path, server: LocalServer) -> None:
    folder.mkdir()
    (folder / "cn.toml").write_text('''
[[items]]
id = "cn-biomed-new-tech-regulation"
jurisdiction = "CN"
kind = "regulation"
title_zh = "生物医学新技术临床研究和临床转化应用管理条例"
title_en = "Regulation on the Clinical Research and Clinical Translational Application of Biomedical New Technologies"
issuer = "国务院 State Council"
citation = { ref = [], quote = "生物医学新技术" }

[[items.steps]]
type = "published"
date = "2025-09-28"

[[items.steps]]
type = "effective"
date = "2026-05-01"
''', encoding="utf-8")
    (folder / "sources.toml").write_text(f'''
[[sources]]
id = "src-local-guidance"
url = "{server.url('/guidance')}"
jurisdiction = "CN"
title = "本地指导原则页面"
items = ["cn-biomed-new-tech-regulation"]

[[sources]]
id = "src-local-gone"
url = "{server.url('/gone')}"
jurisdiction = "CN"
title = "A page that answers 500"
''', encoding="utf-8")


def run(tmp_path: Path, seeds: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(f"sqlite:///{tmp_path / 'home' / 'tracker.db'}", TRACKER_HOME=str(tmp_path / "home"),
                  TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_HOST_DELAY="0", TRACKER_FETCH_RETRIES="0")
    return subprocess.run([sys.executable, "-m", "tracker", "run", "--seeds", str(seeds), *args],
                          env=env, capture_output=True, text=True, timeout=180)


def test_main_job_seeds_checks_digests_and_says_where_everything_went(tmp_path: Path, server: LocalServer) -> None:
    version = {"n": 1}
    server.route("/guidance", lambda _seen: Reply(200, {"Content-Type": "text/html; charset=utf-8"},
                                                   PAGE.format(n=version["n"]).encode()))
    server.route("/gone", Reply(500, {}, b"oops"))
    seeds = tmp_path / "seeds"
    write_seeds(seeds, server)

    first = run(tmp_path, seeds, "--subscribe", "compliance@example.org")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "seeded: " in out and "sources.toml" in out
    assert "1 baselined" in out and "1 failed" in out and "1 http-status" in out
    outbox = tmp_path / "home" / "outbox"
    assert f"-> {outbox}" in out
    emls = list(outbox.glob("*.eml"))
    assert len(emls) == 1
    message = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The first digest is a short welcome, not the seeded record replayed as news.
    assert message["Subject"] == "CGT digest (everything): welcome: 1 item of the record matches"
    assert (
        "Welcome. This subscription covers everything" in text
        and "生物医学新技术临床研究和临床转化应用管理条例" not in text
    )
    assert "registered" not in text and "Nothing due in the next 30 days." in text
    for name in ("changelog.md", "changelog.atom", "changelog.html", "deadlines.ics"):
        assert f"changelog: {tmp_path / 'home' / 'changelog' / name}" in out
    assert "verified: " in out

    version["n"] = 2  # the page really changes; the second run reports it and digests it
    second = run(tmp_path, seeds, "--subscribe", "compliance@example.org")
    assert second.returncode == 0, second.stderr
    assert "seeded: 0 new events" in second.stdout
    assert "1 changed" in second.stdout and "changed: src-local-guidance" in second.stdout
    emls = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    assert len(emls) == 2
    later = email.message_from_bytes(emls[-1].read_bytes(), policy=email.policy.default)
    assert later["Subject"].startswith("CGT digest (everything): 1 page change")
    later_text = later.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Monitored pages that changed (not yet tied to an item)" in later_text and "1 change observed" in later_text


def test_subscribe_option_is_idempotent_in_canonical_form(tmp_path: Path, server: LocalServer) -> None:
    server.route("/guidance", Reply(200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.format(n=1).encode()))
    server.route("/gone", Reply(500, {}, b"oops"))
    seeds = tmp_path / "seeds"
    write_seeds(seeds, server)
    first = run(tmp_path, seeds, "--no-check", "--subscribe", "Team@Example.ORG", "--subscribe", "Team@example.org")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("subscribed: ") == 1  # one address, named twice
    again = run(tmp_path, seeds, "--no-check", "--subscribe", " Team@EXAMPLE.org ")
    assert again.returncode == 0, again.stderr
    assert "subscribed: " not in again.stdout
