"""Scripts and operators (issue 10): `check` exits 0 or 3; the documented --json shapes."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import html
from tracker.cli.main import cli


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_check_exit_status_and_the_json_shapes(db_url: str, server: LocalServer) -> None:
    env = cli_env(db_url, TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_RETRIES="0", TRACKER_FETCH_HOST_DELAY="0")
    page = {"text": "<p>Version 1 of the guidance, with enough words to be a page of its own.</p>"}
    server.route("/ok", lambda _s: html(page["text"]))
    server.route("/gone", Reply(404, {}, b"not here"))
    assert invoke(env, "init").exit_code == 0
    assert invoke(env, "subscribe", "qa@example.org", "--name", "QA").exit_code == 0
    assert invoke(env, "sources", "add", server.url("/ok"), "--id", "ok").exit_code == 0

    first = invoke(env, "check", "--all", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert set(report) >= {"correlation_id", "seconds", "counts", "failed", "sources"}
    assert report["failed"] == 0 and report["counts"]["baselined"] == 1
    assert report["sources"][0]["id"] == "ok" and report["sources"][0]["events"] == ["SourceBaselined"]

    assert invoke(env, "sources", "add", server.url("/gone"), "--id", "gone").exit_code == 0
    some_failed = invoke(env, "check", "--all")
    assert some_failed.exit_code == 3, some_failed.output
    assert "gone: failed (http-status: HTTP 404" in some_failed.output      # per source on stderr
    assert json.loads(invoke(env, "check", "--source", "gone", "--json").stdout)["failed"] == 1

    page["text"] = "<p>Version 2 of the guidance, with enough words to be a page of its own.</p>"
    assert invoke(env, "check", "--source", "ok").exit_code == 0
    shown = json.loads(invoke(env, "diff", "ok", "--json").stdout)
    assert set(shown) == {"source", "old", "new", "diff"} and "+Version 2" in shown["diff"]
    assert set(shown["old"]) == {"position", "fetched_at", "content_hash", "snapshot"}
    tried = json.loads(invoke(env, "sources", "try", "ok", "--ignore", r"Version \d", "--json").stdout)
    assert tried["versions"] == 2 and tried["suppressed"] == 1 and tried["adopted"] is False
    assert tried["steps"][0]["reported"] is True and tried["steps"][0]["would_report"] is False

    verified = json.loads(invoke(env, "verify", "--json").stdout)
    assert verified["ok"] is True and verified["events"] >= 4
    assert set(json.loads(invoke(env, "projections", "status", "--json").stdout)) == {
        "head_position", "projections", "quarantined", "uncorrected"}
    [sub] = [json.loads(line) for line in invoke(env, "subscriptions", "list", "--json").stdout.splitlines()]
    assert (sub["address"], sub["name"], sub["status"]) == ("qa@example.org", "QA", "active")
    previews = [json.loads(line) for line in invoke(env, "digest", "--preview", "--json").stdout.splitlines()]
    assert previews and set(previews[0]) >= {"subscription", "subject", "count", "positions", "text"}
