"""The monitoring commands against a real local server: in process (click's runner, for speed),
and once as a real process for the one-line error at the edge."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner, Result

from tests.conftest import cli_env
from tests.fetching.localserver import LocalServer, Reply
from tests.monitoring.conftest import html
from tracker.cli.main import cli
from tracker.errors import TrackerError

ENV = {"TRACKER_ALLOW_HOSTS": "127.0.0.1", "TRACKER_FETCH_HOST_DELAY": "0", "TRACKER_FETCH_RETRIES": "0"}


def tracker(db_url: str, *args: str) -> Result:
    env = {k: None for k in os.environ if k.startswith("TRACKER_")} | ENV | {"TRACKER_DATABASE_URL": db_url}
    return CliRunner().invoke(cli, list(args), env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def one_line_error(result: Result) -> str:
    """What the edge prints for a TrackerError (main() turns it into `error: <message>`)."""
    assert isinstance(result.exception, TrackerError), (result.output, result.exception)
    message = str(result.exception)
    assert "\n" not in message
    return message


def test_a_bad_url_is_one_line_on_stderr_and_exit_1(db_url: str) -> None:
    env = cli_env(db_url, **ENV)
    run = [sys.executable, "-m", "tracker"]
    subprocess.run([*run, "init"], env=env, capture_output=True, timeout=60, check=True)
    result = subprocess.run(
        [*run, "sources", "add", "gopher://example.org/"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: URL 'gopher://example.org/' must start with http:// or https://"


def test_sources_check_diff_try_remove(db_url: str, server: LocalServer) -> None:
    page = {"text": "<p>Version 1</p><p>Printed 2026-01-01</p>"}
    server.route("/page", lambda _s: html(page["text"]))
    server.route("/challenge", Reply(412, {"Content-Type": "text/html"}, b"<html><script>x</script></html>"))
    ok(tracker(db_url, "init"))

    assert "must start with http:// or https://" in one_line_error(tracker(db_url, "sources", "add", "file:///etc/passwd"))
    assert "not a regular expression" in one_line_error(
        tracker(db_url, "sources", "add", server.url("/page"), "--ignore", "((")
    )
    assert "not a duration" in one_line_error(tracker(db_url, "sources", "add", server.url("/page"), "--every", "soon"))
    assert "added source page" in ok(
        tracker(db_url, "sources", "add", server.url("/page"), "--id", "page", "--every", "6h", "--tag", "US")
    )
    assert "already exists" in one_line_error(tracker(db_url, "sources", "add", server.url("/page"), "--id", "page"))
    ok(tracker(db_url, "sources", "add", server.url("/challenge"), "--id", "nmpa"))

    first = tracker(db_url, "check")
    assert first.exit_code == 3, first.output       # some source could not be checked
    assert "checked 2 source(s)" in first.stdout and "1 baselined, 1 failed" in first.stdout
    assert (
        "page: baselined" in first.stderr and "nmpa: failed (blocked:" in first.stderr
    )  # one line per source, not a tty
    listing = ok(tracker(db_url, "sources", "list", "--state", "failing"))
    assert "nmpa" in listing and "NEEDS A MANUAL CHECK" in listing and "page" not in listing

    page["text"] = "<p>Version 2</p><p>Printed 2026-02-01</p>"
    assert "1 changed" in ok(tracker(db_url, "check", "--source", "page"))
    diff = ok(tracker(db_url, "diff", "page"))
    assert "-Version 1" in diff and "+Version 2" in diff
    tried = ok(tracker(db_url, "sources", "try", "page", "--ignore", r"Printed \S+", "--adopt"))
    assert "reported    (still reported)" in tried and "adopted" in tried
    assert "SourceRulesAdopted" in ok(tracker(db_url, "log", "--stream", "source/page"))
    assert "no source 'nope'" in one_line_error(tracker(db_url, "diff", "nope"))
    ok(tracker(db_url, "sources", "remove", "nmpa", "--reason", "manual checks only"))
    assert "nmpa" not in ok(tracker(db_url, "sources", "list"))
    assert "verify" in ok(tracker(db_url, "verify"))


def test_fetched_text_cannot_drive_the_terminal(db_url: str, server: LocalServer) -> None:
    filler = b"Section text of the notice, unchanged between the versions.\n" * 10
    doc = {"text": filler + b"Notice 1\n"}
    server.route("/notice.txt", lambda _s: Reply(200, {"Content-Type": "text/plain; charset=utf-8"}, doc["text"]))
    ok(tracker(db_url, "init"))
    ok(tracker(db_url, "sources", "add", server.url("/notice.txt"), "--id", "notice", "--kind", "text"))
    ok(tracker(db_url, "check"))
    doc["text"] = filler + b"Notice 2 \x1b]0;owned\x07\x1b[2J\n"
    assert "1 changed" in ok(tracker(db_url, "check", "--all"))
    shown = ok(tracker(db_url, "diff", "notice"))
    assert "\x1b" not in shown and "\x07" not in shown
    assert "+Notice 2 \\x1b]0;owned\\x07\\x1b[2J" in shown


def test_impossible_values_are_refused_before_anything_is_written(db_url: str) -> None:
    """Issue 10 item 2 / issue 13 "Bad input": one line, exit 1, nothing appended."""
    env = cli_env(db_url, **ENV)
    run = [sys.executable, "-m", "tracker"]
    subprocess.run([*run, "init"], env=env, capture_output=True, timeout=60, check=True)
    for args, message in (
        (["https://example.org/a", "--every", "99999999999999999999d"], "is longer than 366 days"),
        (["https://example.org/a", "--every", "500000w"], "is longer than 366 days"),
        (["http://[::1/"], "URL 'http://[::1/' is malformed: Invalid IPv6 URL"),
        (["https://example.org/a", "--tag", "a\x1bb"], "contains a control character"),
        (["https://example.org/a", "--title", "x" * 501], "at most 500"),
    ):
        result = subprocess.run([*run, "sources", "add", *args], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (args, result.stderr)
    head = subprocess.run([*run, "log", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert head.returncode == 0 and head.stdout == ""
