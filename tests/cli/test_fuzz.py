"""Make the class impossible (issue 10): every CLI command, driven with generated values for every
argument and option, ends with exit status 0, 1 or 2, never a traceback, at most one error line,
and leaves a store that verifies and read models that rebuild.

The commands and their options are read from click itself, so a command added later is fuzzed
without editing this file. Values mix the adversarial (huge and negative numbers, impossible dates,
empty and very long strings, control characters, CJK, malformed URLs and addresses) with valid
ones taken from the seeded database, so that commands get past their first check too.

Bounded in the suite (TRACKER_FUZZ_EXAMPLES, default 40, on SQLite); `make fuzz` runs it longer.
Left out, each for a reason: `serve` (runs until stopped; its one-shot tick checks real sites), `web`
(serves until stopped; tests/web runs it),
`--debug` (shows tracebacks by design), `--db` (the database under test), and fetching of the
seeded real sites (`check --all`, `run` without `--no-check`: the network is not reachable here).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import cli_env
from tracker.app import App
from tracker.cli.main import cli
from tracker.errors import TrackerError
from tracker.services import auditing
from tracker.settings import load_settings

EXAMPLES = int(os.environ.get("TRACKER_FUZZ_EXAMPLES", "40"))
SKIPPED_COMMANDS = {("serve",), ("web",)}
SKIPPED_OPTIONS = {"debug", "db_url", "help", "version"}
FIXTURE_SEEDS = Path(__file__).resolve().parent.parent / "data" / "seeds" / "fixture"

# Values that broke or could break something: overflow, impossible dates, odd text.
NASTY = [
    "", " ", "0", "-1", "-99999999999999999999", "99999999999999999999", str(10**20), "1e309", "nan", "0x10",
    "2026-02-30", "2026-13-01", "9999-99-99", "0000-00-00", "-2026-01-01", "2026-01-01T25:61:00Z", "10000-01-01",
    "99999999999999999999d", "500000w", "0s", "1.5h", "-1d", "http://[::1/", "http://", "https://exa mple.org/",
    "javascript:alert(1)", "ftp://example.org/", "file:///etc/passwd", "https://example.org/" + "a" * 3000,
    "a@b", "@example.org", "a@", "a" * 300 + "@example.org", "Erase.Me+Tag@Example.ORG", "x\x00y", "\x1b[31mred",
    "line\nbreak", "细胞治疗", "再生医療", "\u202e", "\ud7ff", "NaN", "null", "[]", "{}", "'; DROP TABLE events; --",
    "../../etc/passwd", "*", "?", "(", "a{99999}", "(a+)+$", "sub-00000000", "instrument/x", "x" * 10_000,
]
VALID = [
    "cn-biomed-new-tech-regulation", "src-fixture-page", "CN", "US", "guidance", "regulation", "daily", "weekly",
    "2026-01-01", "2025-09", "1d", "6h", "https://example.org/page", "qa@example.org", "record", "sources",
    "InstrumentPublished", "md", "atom", "1", "90",
]
TEXT = st.one_of(
    st.sampled_from(NASTY), st.sampled_from(VALID),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
)
# Paths stay inside the working folder (the tests run as whatever user: never write elsewhere).
PATH = st.one_of(
    st.sampled_from(["out.jsonl", "missing/folder/out.jsonl", ".", "", "seeds", "x.toml", "out.atom"]),
    st.text(alphabet=string.ascii_letters + string.digits + "._-细", min_size=1, max_size=20),
)


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name, command in ((n, group.get_command(ctx, n)) for n in group.list_commands(ctx)):
        assert command is not None
        path = prefix + (name,)
        if path in SKIPPED_COMMANDS:
            continue
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


COMMANDS = list(commands(cli))


def _value(param: click.Parameter) -> st.SearchStrategy[str]:
    if isinstance(param.type, click.Choice):
        return st.one_of(st.sampled_from([str(c) for c in param.type.choices]), TEXT)
    if isinstance(param.type, click.Path):
        return PATH
    return TEXT


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS))
    args: list[str] = list(path)
    for param in command.params:
        if param.name in SKIPPED_OPTIONS:
            continue
        if isinstance(param, click.Argument):
            count = (
                draw(st.integers(0, 2)) if param.nargs == -1 else (1 if param.required or draw(st.booleans()) else 0)
            )
            args.extend(draw(_value(param)) for _ in range(count))
            continue
        assert isinstance(param, click.Option)
        if not draw(st.booleans()):
            continue
        name = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
        if param.is_flag:
            args.append(name)
        else:
            for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
                args.extend([name, draw(_value(param))])
    if path == ("run",) and "--no-check" not in args:
        args.append("--no-check")       # the seeded sources are real sites: no network here
    if path == ("check",) and "--all" in args:
        args.remove("--all")
    return args


ERROR_LINE = re.compile(r"^(error|Error)\b", re.MULTILINE)


def _outcome(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=True)
    output = result.output
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit):
        return result.exit_code, output
    if isinstance(exc, TrackerError):       # what main() prints as one line, exit 1
        message = str(exc)
        assert "\n" not in message, (args, message)
        return 1, output + f"error: {message}\n"
    raise AssertionError(f"tracker {args!r} raised {type(exc).__name__}: {exc}") from exc


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    home = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{home / 'tracker.db'}"
    env = cli_env(url, TRACKER_HOME=str(home), TRACKER_ALLOW_HOSTS="127.0.0.1", TRACKER_FETCH_RETRIES="0",
                  TRACKER_FETCH_HOST_DELAY="0", TRACKER_CONTACT="fuzz@localhost")
    for args in (["init"], ["seed", str(FIXTURE_SEEDS)], ["subscribe", "qa@example.org", "--name", "QA"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 0, (args, result.output, result.exception)
    yield home, env


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
@given(args=invocations())
def test_no_generated_input_breaks_the_cli(seeded: tuple[Path, dict[str, str]], args: list[str]) -> None:
    home, env = seeded
    cwd = os.getcwd()
    os.chdir(home)          # relative paths land in the test's folder
    try:
        code, output = _outcome(args, env)
    finally:
        os.chdir(cwd)
    assert code in (0, 1, 2, 3 if args[0] == "check" else 0), (args, code, output)
    assert "Traceback" not in output, (args, output)
    assert len(ERROR_LINE.findall(output)) <= 1, (args, output)
    app = App(load_settings(environ=env))
    try:
        auditing.verify_store(app.store)
        app.projector.rebuild()
    finally:
        app.close()


def test_every_command_is_fuzzed() -> None:
    fuzzed = {" ".join(path) for path, _ in COMMANDS}
    assert {"sources add", "upcoming", "check", "export", "subscribe", "replay", "verify", "forget"} <= fuzzed
