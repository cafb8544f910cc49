"""Commands that do little load little (issue 18): heavy libraries are imported only where they are used.

Each case runs in a fresh interpreter (an import, once made, stays) and lists the top-level
packages loaded by the end. bench/bench_startup.py measures what this buys.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fetching.localserver import LocalServer, Reply
from tracker import migrate
from tracker.app import App
from tracker.core import Database
from tracker.services import sources_admin
from tracker.settings import load_settings

# Used by some commands only: rendering, scheduling, migrations, mail channels, signing, HTML parsing.
HEAVY = {"alembic", "jinja2", "apscheduler", "apprise", "lxml", "cryptography", "mako", "icalendar", "markdown",
         "charset_normalizer", "pypdf"}

PROBE = """
import json, sys
from tracker.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
tops = {name.split(".")[0] for name in sys.modules}
print(json.dumps(sorted(tops | {n for n in sys.modules if n.startswith(("tracker.", "sqlalchemy."))})))
"""


def loaded_by(args: list[str], tmp_path: Path, url: str, **environ: str) -> set[str]:
    env = {"PATH": "/usr/bin:/bin", "TRACKER_DATABASE_URL": url, "HOME": str(tmp_path), **environ}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture
def ready_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    migrate.upgrade(Database(url))
    return url


def test_help_imports_no_command_module_and_no_database_library(tmp_path: Path, ready_sqlite: str) -> None:
    loaded = loaded_by(["--help"], tmp_path, ready_sqlite)
    assert not {m for m in loaded if m.startswith("tracker.cli.") and m != "tracker.cli.main"}
    assert not loaded & (HEAVY | {"sqlalchemy", "httpx"})


@pytest.mark.parametrize("args", [["status"], ["check"]], ids=" ".join)
def test_commands_that_do_little_load_no_heavy_library(tmp_path: Path, ready_sqlite: str, args: list[str]) -> None:
    loaded = loaded_by(args, tmp_path, ready_sqlite)
    assert not loaded & HEAVY, f"`tracker {' '.join(args)}` imported {sorted(loaded & HEAVY)}"
    # On SQLite, nothing of PostgreSQL (its dialect: 14 ms) and not SQLAlchemy's ORM (30 ms).
    unused = {m for m in loaded if m.startswith(("sqlalchemy.dialects.postgresql", "psycopg", "sqlalchemy.orm"))}
    assert not unused, f"`tracker {' '.join(args)}` imported {sorted(unused)}"


def test_check_loads_no_service_of_the_sources_commands(tmp_path: Path, ready_sqlite: str) -> None:
    # Every module a check imports stays resident for its whole run (issue 18: peak memory).
    loaded = loaded_by(["check"], tmp_path, ready_sqlite)
    others = {f"tracker.services.{name}" for name in ("history", "capture", "sources_admin", "register_queries")}
    assert not loaded & (others | {"tracker.cli.source_cmds"}), sorted(loaded & (others | {"tracker.cli.source_cmds"}))


def test_a_first_check_that_only_baselines_loads_no_triage(tmp_path: Path, ready_sqlite: str,
                                                           server: LocalServer) -> None:
    # A baseline raises no proposal: triage's modules (proposals, derivation, dates: about 5 ms)
    # are imported only when an event that may raise one was written (vocabulary.RAISES_PROPOSALS).
    server.route("/page", Reply(200, {"Content-Type": "text/html"}, b"<html><body><p>In force</p></body></html>"))
    app = App(load_settings(environ={}).with_overrides(database__url=ready_sqlite, fetch__allow_hosts="127.0.0.1"))
    sources_admin.add_source(app, server.url("/page"), source_id="page")
    app.close()
    loaded = loaded_by(["check", "--all"], tmp_path, ready_sqlite, TRACKER_ALLOW_HOSTS="127.0.0.1",
                       TRACKER_FETCH_HOST_DELAY="0", TRACKER_CONTACT="tests@localhost")
    assert "tracker.services.check_pool" in loaded   # the check ran
    triage = {m for m in loaded if m.startswith(("tracker.services.proposing", "tracker.domain.proposals"))}
    assert not triage, sorted(triage)
    with Database(ready_sqlite).read() as conn:
        baselined = conn.execute(sa.text("SELECT count(*) FROM events WHERE type = 'SourceBaselined'")).scalar()
    assert baselined == 1


def test_the_composition_root_imports_no_adapter_library() -> None:
    code = ("import json, sys, tracker.app, tracker.settings, tracker.cli.context; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(json.loads(done.stdout))
    assert not loaded & (HEAVY | {"httpx", "smtplib"}), sorted(loaded & (HEAVY | {"httpx", "smtplib"}))


def test_the_migration_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert migrate.script_head() == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def test_check_imports_no_projection_but_the_sources_one(tmp_path: Path, ready_sqlite: str) -> None:
    # The other read models' modules (triage's proposals, the record's fold, the digest index) cost
    # a check 8.2 ms under -X importtime before its first request (issue 18); a change raises proposals later.
    loaded = loaded_by(["check", "--all"], tmp_path, ready_sqlite)
    projections = {m for m in loaded if m.startswith("tracker.projections.")}
    assert projections == {"tracker.projections.sources"}, sorted(projections)
    assert "tracker.domain.proposals" not in loaded
