"""Reading pages work under a database role that may only read (PostgreSQL): TRACKER_WEB_READ_ONLY."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import POSTGRES_URL
from tests.fetching.localserver import LocalServer
from tests.monitoring.conftest import Clock
from tests.web.conftest import populate, web_settings
from tracker import migrate
from tracker.app import App
from tracker.web import create_app

pytestmark = pytest.mark.postgres

READING = ["/", "/items/cn-ct-guideline", "/replay?as_of=5&valid_at=2026-01-01", "/sources", "/sources/src-local",
           "/upcoming", "/audit", "/api/items?q=cures", "/api/items/jp-rm-guidance", "/api/replay", "/api/sources",
           "/api/upcoming", "/api/audit", "/healthz", "/metrics", "/upcoming.ics", "/changelog.atom"]


@pytest.fixture
def reader(db_url: str, tmp_path: Path, server: LocalServer) -> Iterator[tuple[TestClient, str]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("roles are a PostgreSQL feature")
    clock = Clock()
    writer = App(web_settings(db_url, tmp_path / "home"), clock=clock)  # type: ignore[arg-type]
    migrate.upgrade(writer.db)
    token, _ = populate(writer, server, clock)
    writer.fresh()
    writer.close()
    schema = str(sa.make_url(db_url).query["options"]).split("=", 1)[1]
    role = f"tracker_reader_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        for statement in (f"CREATE ROLE {role} LOGIN", f"GRANT USAGE ON SCHEMA {schema} TO {role}",
                          f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"):
            conn.exec_driver_sql(statement)
    url = sa.make_url(db_url).set(username=role, password=None).render_as_string(hide_password=False)
    settings = web_settings(url, tmp_path / "home", web__read_only=True)
    app = App(settings, clock=clock, read_only=True)  # type: ignore[arg-type]
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
            yield client, token
    finally:
        app.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_every_reading_page_works_with_a_role_that_may_only_read(reader: tuple[TestClient, str]) -> None:
    client, token = reader
    versions = client.get("/api/sources/src-local").json()["versions"]
    for url in [*READING, f"/sources/src-local/changes/{versions[0]['id']}", f"/unsubscribe/{token}"]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
    assert client.get("/healthz").json()["read_only"] is True


def test_writing_is_refused_clearly_under_a_read_only_role(reader: tuple[TestClient, str]) -> None:
    client, token = reader
    response = client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 503 and "read-only" in response.text
