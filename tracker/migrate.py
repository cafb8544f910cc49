"""Schema state and upgrades, through Alembic only: no table is created any other way.

Alembic is imported only to upgrade or to explain a database that is not ready: a command on a
current database checks its one `alembic_version` row against the head read from the migration
files' `revision` lines (`script_head`; tests/core/test_migrations.py holds it equal to Alembic's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from tracker import resources
from tracker.core.db import Database, one_line
from tracker.errors import (
    DatabaseError,
    DatabaseUnreachableError,
    NotATrackerDatabaseError,
    UninitialisedDatabaseError,
    UnknownMigrationError,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = resources.MIGRATIONS

_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)


@cache
def script_head() -> str | None:
    """The one head of the migration chain, read from the files' text; None when unsure (then ask Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current_revision(db: Database) -> str | None:
    """The revision recorded in the database, or None when it cannot be read simply."""
    try:
        with db.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except (DatabaseUnreachableError, UninitialisedDatabaseError):
        raise
    except DatabaseError:  # no alembic_version table: schema_state explains what the database is
        return None
    return rows[0][0] if len(rows) == 1 else None


def alembic_config() -> Config:
    from alembic.config import Config

    if not (MIGRATIONS / "env.py").exists():
        raise DatabaseError(f"migrations not found at {MIGRATIONS}: the tracker is installed incompletely")
    config = Config(str(resources.ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["configure_logger"] = False
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    known: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema_state(db: Database) -> SchemaState:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    with db.connect() as conn:
        try:
            current = MigrationContext.configure(conn).get_current_revision()
            tables = set(sa.inspect(conn).get_table_names())
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot read the schema of {db.display_url}: {one_line(exc)}") from None
    if current is None and tables - {"alembic_version"}:
        raise NotATrackerDatabaseError(
            f"{db.display_url} is not a tracker database (it has tables {', '.join(sorted(tables)[:5])}"
            f"{', ...' if len(tables) > 5 else ''} but no tracker migration)"
        )
    known = current is None or _is_known(script, current)
    return SchemaState(current, head, known)


def _is_known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises several types for an unknown revision id
        return False


def ensure_ready(db: Database) -> None:
    """Refuse a database that is empty, foreign, newer than this code, or behind it."""
    head = script_head()
    if head is not None and _current_revision(db) == head:
        return
    state = schema_state(db)
    if state.current is None:
        raise UninitialisedDatabaseError(f"{db.display_url} is not initialised: run `tracker init`")
    if not state.known:
        raise UnknownMigrationError(
            f"{db.display_url} is at migration {state.current!r}, unknown to this version of the tracker"
        )
    if not state.up_to_date:
        raise UnknownMigrationError(
            f"{db.display_url} is at migration {state.current}, behind {state.head}: run `tracker init` to upgrade"
        )


def upgrade(db: Database) -> tuple[str | None, str]:
    """Upgrade to head (harmless when already there; creates a SQLite file); returns (before, after)."""
    db.allow_create()
    state = schema_state(db)
    if not state.known:
        raise UnknownMigrationError(
            f"{db.display_url} is at migration {state.current!r}, unknown to this version of the tracker"
        )
    from alembic import command

    config = alembic_config()
    try:
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migration failed on {db.display_url}: {one_line(exc)}") from None
    return state.current, state.head
