"""Shared fixtures: a fresh database per test on SQLite (a real file) and, when
TRACKER_TEST_POSTGRES_URL is set, on PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests.fetching.localserver import LocalServer
from tests.support.smtp import Mailbox
from tracker import migrate
from tracker.core import Database, EventStore
from tracker.domain.upcasters import build_upcaster
from tracker.fetching.robots import ROBOTS_RULES

POSTGRES_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_schema_url(schema: str) -> str:
    base = sa.make_url(POSTGRES_URL)
    url = base.set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need TRACKER_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> EventStore:
    return EventStore(db, upcaster=build_upcaster())


@pytest.fixture(autouse=True)
def fresh_robots_rules() -> Iterator[None]:
    """robots.txt rules outlive a Fetcher within a process; a test's server (whose port the
    system may give again later) must not inherit an earlier test's rules."""
    ROBOTS_RULES.clear()
    yield
    ROBOTS_RULES.clear()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 driven by a route table."""
    local = LocalServer().start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1."""
    box = Mailbox()
    yield box
    box.stop()


def cli_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_DATABASE_URL"] = db_url
    env.update(extra)
    return env


__all__ = ["quote", "cli_env", "postgres_schema_url"]
