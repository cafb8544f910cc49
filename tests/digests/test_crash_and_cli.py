"""Real processes: a digest process killed between DigestPrepared and DigestSent, and the commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.digests.conftest import CN_TITLE, record_changes, register_record
from tests.support.smtp import Mailbox
from tracker.app import App
from tracker.cli.main import main

# The injected transport is the test's only hook: it kills its own process (SIGKILL, no cleanup)
# at the first send, i.e. after the prepare transaction committed and before DigestSent.
KILLED_DIGEST = """
import os, signal
from tracker.app import App
from tracker.cli.main import main
from tracker.services import digesting
from tracker.settings import load_settings

class DieOnSend:
    name = "smtp"
    def send(self, message, *, sender, recipient, message_id, accepted=None):
        os.kill(os.getpid(), signal.SIGKILL)

digesting.run_digests(App(load_settings()), transport=DieOnSend())
"""


def tracker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_killed_between_prepared_and_sent_the_next_run_sends_the_same_message_once(
    app: App, db_url: str, tmp_path: Path, mailbox: Mailbox,
) -> None:
    env = cli_env(db_url, TRACKER_HOME=str(tmp_path / "home"))
    register_record(app)
    assert tracker(env, "subscribe", "qa@example.org", "--jurisdiction", "CN").returncode == 0
    record_changes(app)

    killed = subprocess.run([sys.executable, "-c", KILLED_DIGEST], env=env, capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -9, killed.stderr
    (prepared,) = list(app.store.read(types=["DigestPrepared"]))
    assert list(app.store.read(types=["DigestSent"])) == []

    env_smtp = {**env, "TRACKER_SMTP_URL": mailbox.url}
    resumed = tracker(env_smtp, "digest", "--send")
    assert resumed.returncode == 0, resumed.stderr
    assert f"sent {prepared.payload['message_id']}" in resumed.stdout
    assert [m["Message-ID"] for m in mailbox.messages] == [prepared.payload["message_id"]]
    assert "prepared" not in resumed.stdout  # the pending digest was sent, not a second one made

    again = tracker(env_smtp, "digest", "--send")
    assert again.returncode == 0 and "nothing to send" in again.stdout
    assert len(mailbox.messages) == 1
    (sent,) = list(app.store.read(types=["DigestSent"]))
    assert sent.payload["message_id"] == prepared.payload["message_id"]
    assert sent.payload["positions"] == prepared.payload["positions"]


class Run:
    """The command line in this process (tracker.cli.main.main, the real error boundary)."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_commands_outbox_witness_forget_and_changelog(
    app: App, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    for key, value in cli_env(db_url, TRACKER_HOME=str(home)).items():
        if key.startswith("TRACKER_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)

    def tracker(_env: object, *args: str) -> Run:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    env = None
    register_record(app)
    bad = tracker(env, "subscribe", "x@example.org\r\nBcc: y@example.org")
    assert (
        bad.returncode == 1
        and bad.stderr.startswith("error: e-mail address refused")
        and len(bad.stderr.splitlines()) == 1
    )
    made = tracker(env, "subscribe", "qa@example.org", "--jurisdiction", "CN", "--kind", "guidance",
                   "--cadence", "daily", "--name", "中国指南")
    assert made.returncode == 0 and "subscribed: sub-" in made.stdout
    record_changes(app)

    preview = tracker(env, "digest", "--preview")
    assert preview.returncode == 0 and CN_TITLE in preview.stdout
    assert list(app.store.read(types=["DigestPrepared"])) == []  # a preview records nothing

    sent = tracker(env, "digest", "--send")
    assert sent.returncode == 0, sent.stderr
    (eml,) = (home / "outbox").glob("*.eml")
    assert f"via outbox: {eml}" in sent.stdout
    (event,) = list(app.store.read(types=["DigestSent"]))
    assert event.payload["transport"] == "outbox"

    ok = tracker(env, "verify", "--witness", str(eml))
    assert ok.returncode == 0 and "ok: the log still holds position" in ok.stdout, ok.stderr
    forged = tmp_path / "forged.eml"
    head_line = next(line for line in eml.read_bytes().splitlines() if line.startswith(b"X-Tracker-Head:"))
    position, digest = head_line.split()[1:]
    forged.write_bytes(b"X-Tracker-Head: " + position + b" " + b"0" * 64 + b"\r\n\r\nforged\r\n")
    refused = tracker(env, "verify", "--witness", str(forged))
    assert refused.returncode == 1 and "rewritten" in refused.stderr and digest.decode() in refused.stderr

    listed = tracker(env, "subscriptions", "list")
    assert "qa@example.org" in listed.stdout and "jurisdiction=CN kind=guidance" in listed.stdout
    assert tracker(env, "forget", "qa@example.org").returncode == 0
    listed = tracker(env, "subscriptions", "list")
    assert "qa@example.org" not in listed.stdout and "(forgotten)" in listed.stdout
    assert tracker(env, "verify").returncode == 0

    written = tracker(env, "changelog")
    assert written.returncode == 0, written.stderr
    for name in ("changelog.md", "changelog.atom", "changelog.html"):
        target = home / "changelog" / name
        assert f"wrote {target}" in written.stdout
        assert tracker(env, "verify", "--witness", str(target)).returncode == 0
    one = tracker(env, "changelog", "--format", "md", "--jurisdiction", "CN", "--output", str(tmp_path / "cn.md"))
    assert one.returncode == 0 and CN_TITLE in (tmp_path / "cn.md").read_text(encoding="utf-8")
    assert "21st Century Cures Act" not in (tmp_path / "cn.md").read_text(encoding="utf-8")
