"""Schema state and upgrades, through Alembic only: no table is created any other way."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from tracker import resources
from tracker.core.db import Database, one_line
from tracker.errors import (
    DatabaseError,
    NotATrackerDatabaseError,
    UninitialisedDatabaseError,
    UnknownMigrationError,
)

MIGRATIONS = resources.MIGRATIONS


def alembic_config() -> Config:
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
    config = alembic_config()
    try:
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migration failed on {db.display_url}: {one_line(exc)}") from None
    return state.current, state.head
