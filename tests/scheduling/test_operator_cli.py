"""The operator's commands through the real CLI: status --json, config show, a bad configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scheduling.conftest import Pages, make_app, run_cli, serve_env
from tests.scheduling.helpers import make_due, register_sources
from tracker import migrate
from tracker.core import Database
from tracker.services import heartbeat


def test_status_json_after_a_serve_once(ready_url: str, tmp_path: Path, pages: Pages) -> None:
    app = make_app(ready_url, tmp_path)
    ids = register_sources(app, pages, 4)
    del pages.bodies[f"/{ids[3]}"]         # a 404: a failing source
    env = serve_env(ready_url, tmp_path, TRACKER_SMTP_PASSWORD="hunter2-secret")
    once = run_cli(env, "serve", "--once", "--log-format", "json", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    lines = [json.loads(line) for line in once.stderr.splitlines()]       # every line one JSON object
    assert {line["job"] for line in lines if "job" in line} == {"tick", "digest-catch-up", "outbox", "checkpoint"}
    assert "hunter2-secret" not in once.stderr
    make_due(app, [ids[0]])
    result = run_cli(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"generated_at", "database", "scheduler", "sources", "digests", "events", "projections"}
    sched = report["scheduler"]
    assert sched["last_tick_by"].split(":")[1].isdigit() and sched["last_tick_at"]
    assert sched["last_tick"]["claimed"] == 4
    assert sched["processes"][0]["role"] == "once"
    sources = report["sources"]
    assert sources["by_state"]["ok"] == 3 and sources["by_state"]["failing"] == 1
    assert sources["total"] == 4 and sources["due"] == 1
    assert [row["id"] for row in sources["worst"]] == [ids[3]]
    assert sources["worst"][0]["error_class"] == "http-status"
    assert {row["id"] for row in sources["next_due"]} <= set(ids)
    head = app.store.head()
    assert report["events"] == {"count": app.store.count(), "head_position": head.position,
                                "head_hash": head.hash, "head_recorded_at": head.recorded_at}
    assert report["digests"]["available"] is True and "outbox" in report["digests"]
    text = run_cli(env, "status")
    assert text.returncode == 0 and f"head position {head.position} hash {head.hash}" in text.stdout
    assert ids[3] in text.stdout
    app.close()


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text('[schedule]\ntick = 5\ntimezone = "Asia/Shanghai"\n[mail]\nfrom = "追踪 <t@example.org>"\n',
                      encoding="utf-8")
    env = serve_env("postgresql+psycopg://tracker:dbsecret@db.example:5432/tracker", tmp_path,
                    TRACKER_SMTP_URL="smtps://mailer:smtpsecret@mail.example:465",
                    TRACKER_SMTP_PASSWORD="hunter2")
    result = run_cli(env, "--config", str(config), "config", "show")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for secret in ("dbsecret", "smtpsecret", "hunter2"):
        assert secret not in out
    lines = {line.split("=", 1)[0].strip(): line for line in out.splitlines()}
    assert "postgresql+psycopg://tracker:****@db.example:5432/tracker" in lines["database.url"]
    assert lines["database.url"].endswith("# TRACKER_DATABASE_URL")
    assert '"****"' in lines["smtp.password"] and lines["smtp.password"].endswith("# TRACKER_SMTP_PASSWORD")
    # The environment wins over the file: the file says 5, TRACKER_TICK_SECONDS says 1.
    assert lines["schedule.tick"].endswith("# TRACKER_TICK_SECONDS") and "1.0" in lines["schedule.tick"]
    assert lines["schedule.timezone"].endswith(f"# {config}") and "Asia/Shanghai" in lines["schedule.timezone"]
    assert "追踪" in lines["mail.from"]
    assert lines["schedule.daily_at"].endswith("# default")
    as_json = json.loads(run_cli(env, "--config", str(config), "config", "show", "--json").stdout)
    assert as_json["smtp.url"] == {"value": "smtps://mailer:****@mail.example:465", "source": "TRACKER_SMTP_URL"}
    assert as_json["schedule.timezone"]["source"] == str(config)


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        ("", {"TRACKER_TICK_SECONDS": "often"}, "schedule.tick"),
        ('[schedule]\ntimezone = "Mars/Olympus_Mons"\n', {}, "schedule.timezone"),
        ('[schedule]\ndaily_at = "25:00"\n', {}, "schedule.daily_at"),
        ('[schedule]\nweekly_on = "someday"\n', {}, "schedule.weekly_on"),
    ],
)
def test_a_bad_configuration_is_refused_at_start_naming_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], key: str
) -> None:
    # Settings are refused before the database is touched: one backend is enough here.
    ready_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    migrate.upgrade(Database(ready_url))
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    result = run_cli(serve_env(ready_url, tmp_path, **env), "serve", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert key in result.stderr
    app = make_app(ready_url, tmp_path)
    assert heartbeat.recent(app.db) == []   # refused before anything was written
    app.close()
