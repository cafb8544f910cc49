"""Every example in `--help` can be copied and run (issue 10): run each against a seeded database.

The examples are read from the help text as click prints it (so a rewrapped block shows here as a
broken command), joined across shell line continuations and split as a shell would. They run in
a folder laid out like a checkout (seeds/ beside var/), in the order an operator would meet them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from tests.conftest import cli_env
from tracker.cli.main import cli
from tracker.errors import TrackerError

SEEDS = Path(__file__).resolve().parent.parent.parent / "seeds"
# Commands that cannot run here, each with the reason.
NOT_RUN = {
    "serve": "runs until stopped, against PostgreSQL on another host (tests/scheduling runs serve)",
    "web": "serves until stopped (tests/web/test_browser.py runs it)",
}
# Examples that need what only fetching real sites gives (stored versions, volatile lines found at
# a first change): the sites are not reachable here, so these end in their one-line error, exit 1.
NEEDS_FETCHED_HISTORY = {"diff", "sources try", "sources revoke"}
# Examples that name a proposal: proposals come from changes that checks of the real sites find,
# so on a freshly seeded database these end in their one-line error ("no proposal ..."), exit 1.
NEEDS_PROPOSALS = {"triage show", "triage accept", "triage reject", "triage defer", "triage assign", "triage assess"}
# Examples whose files stand for what other commands write (a proof, a checkpoint, a key): they
# show the shape of the call and end in their one-line error about the missing file.
PLACEHOLDER_FILES = ("tracker verify --proof ", "tracker verify --checkpoint ", "tracker prove --from ",
                     "tracker sources capture ")
ORDER = [
    "init",
    "seed",
    "keys",
    "checkpoint",
    "checkpoints",
    "prove",
    "subscribe",
    "sources add",
    "log",
    "replay",
    "history",
    "show",
    "upcoming",
    "projections",
    "status",
    "config",
    "sources",
    "check",
    "diff",
    "digest",
    "changelog",
    "export",
    "verify",
    "unsubscribe",
    "forget",
    "sources remove",
    "run",
    "web-token",
]


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name, command in ((n, group.get_command(ctx, n)) for n in group.list_commands(ctx)):
        assert command is not None
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from walk(command, prefix + (name,))


def shown_examples(path: tuple[str, ...]) -> list[str]:
    """The example commands of one command's help, as printed, continuations joined."""
    text = CliRunner().invoke(cli, [*path, "--help"]).output
    block = text.split("Example:", 1)[1] if "Example:" in text else ""
    lines: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = raw.strip()
        if not line:
            continue
        if pending:
            line, pending = pending + " " + line, ""
        if line.endswith("\\"):
            pending = line[:-1].strip()
            continue
        if line.startswith("tracker ") or re.match(r"^[A-Z_]+=\S+ tracker ", line):
            lines.append(line)
        elif not lines:
            break
    return lines


def rank(path: tuple[str, ...]) -> int:
    name = " ".join(path)
    return min((i for i, key in enumerate(ORDER) if name == key or name.startswith(key + " ")), default=len(ORDER))


EXAMPLES = [(path, line) for path, _ in sorted(walk(cli), key=lambda pc: (rank(pc[0]), pc[0]))
            for line in shown_examples(path)]


def test_every_command_shows_a_runnable_example() -> None:
    shown = {path for path, _ in EXAMPLES}
    for path, _command in walk(cli):
        assert path in shown, f"`tracker {' '.join(path)} --help` shows no example command (a \\b block?)"


def test_every_help_example_runs_against_a_seeded_database(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    env = cli_env("sqlite:///var/tracker.db", TRACKER_FETCH_RETRIES="0", TRACKER_CONTACT="examples@localhost")
    env.pop("TRACKER_DATABASE_URL")      # the default, var/tracker.db, as a new operator has it
    cwd = os.getcwd()
    os.chdir(tmp_path)
    ran = []
    try:
        for path, line in EXAMPLES:
            name = " ".join(path)
            if path[0] in NOT_RUN:
                continue
            words = shlex.split(line, comments=True)   # a "# ..." note after an example is the shell's comment
            assert words[0] == "tracker", line
            target = None
            if ">" in words:        # a shell redirection of the output into a file
                words, target = words[:words.index(">")], words[words.index(">") + 1]
            result = CliRunner().invoke(cli, words[1:], env=env)
            if target is not None:
                Path(target).write_text(result.stdout, encoding="utf-8")
            exc = result.exception
            if name in NEEDS_FETCHED_HISTORY | NEEDS_PROPOSALS or line.startswith(PLACEHOLDER_FILES):
                assert isinstance(exc, TrackerError) and "\n" not in str(exc), (line, result.output, exc)
                continue
            expected = (0, 3) if path[0] in ("check",) else (0,)
            assert result.exit_code in expected and (exc is None or isinstance(exc, SystemExit)), (
                line, result.exit_code, result.output, exc)
            ran.append(line)
    finally:
        os.chdir(cwd)
    assert len(ran) >= 25
